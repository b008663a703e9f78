//! `SessionSync`: the sans-IO core of a session client (the dashboard's `use_session`, the
//! end-to-end client, the bench client).
//!
//! It owns the cursor and the folded transcript, detects gaps, keeps every command that changes
//! the session until the session shows it took effect, and schedules reconnects. It does no I/O
//! and reads no clock: the caller feeds it frames and socket events and sends what it returns.

use crate::browser::{ClientCommand, ClientFrame, ServerFrame, SessionMeta};
use crate::codec;
use crate::error::ErrorCode;
use crate::fold::{fold, Transcript};
use crate::gateway::GatewayEvent;
use crate::status::SessionStatus;

/// The first reconnect delay; each failure doubles it, up to [`BACKOFF_MAX_MS`].
pub const BACKOFF_BASE_MS: u64 = 500;
pub const BACKOFF_MAX_MS: u64 = 30_000;

/// A session client's state.
#[derive(Debug, Clone, Default)]
pub struct SessionSync {
    transcript: Transcript,
    meta: Option<SessionMeta>,
    status: Option<SessionStatus>,
    link: Link,
    /// Commands not yet seen to take effect, in the order they were made.
    unacked: Vec<ClientFrame>,
    /// Consecutive failed connection attempts.
    failures: u32,
    /// A `sync` is in flight after a gap: later gaps wait for it.
    resyncing: bool,
    duplicates: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Link {
    #[default]
    Closed,
    /// Open, `sync` sent, no snapshot yet.
    Syncing,
    Live,
}

/// What a received frame meant for the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// The transcript or status changed: redraw.
    Changed,
    /// Nothing changed (a duplicate, a pong).
    Unchanged,
    /// A gap: send this `sync` to catch up.
    Resync(ClientFrame),
    /// The DO refused something; `request` is the refused command when it was one of ours.
    Error { code: ErrorCode, message: String, request: Option<ClientFrame> },
}

impl SessionSync {
    /// A client that holds nothing yet.
    pub fn new() -> Self {
        SessionSync::default()
    }

    /// A client resuming from a transcript it kept (e.g. before a reload).
    pub fn resume(transcript: Transcript) -> Self {
        SessionSync { transcript, ..SessionSync::default() }
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    pub fn meta(&self) -> Option<&SessionMeta> {
        self.meta.as_ref()
    }

    pub fn status(&self) -> Option<SessionStatus> {
        self.status
    }

    /// The highest contiguous seq held.
    pub fn cursor(&self) -> u64 {
        self.transcript.last_seq
    }

    pub fn is_live(&self) -> bool {
        self.link == Link::Live
    }

    /// Commands sent or queued that the session has not yet shown to take effect.
    pub fn unacked(&self) -> &[ClientFrame] {
        &self.unacked
    }

    /// How many duplicate events were received and ignored.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// The socket opened: send these frames, `sync` first, then every unacknowledged command.
    pub fn on_open(&mut self) -> Vec<ClientFrame> {
        self.link = Link::Syncing;
        self.resyncing = false;
        let mut frames = vec![ClientFrame::new(ClientCommand::Sync { after_seq: self.cursor(), batches: true })];
        frames.extend(self.unacked.iter().cloned());
        frames
    }

    /// The socket closed or failed: wait this many milliseconds before dialling again.
    /// `jitter` in `[0, 1)` spreads clients out (half the delay is fixed, half random).
    pub fn on_close(&mut self, jitter: f64) -> u64 {
        self.link = Link::Closed;
        let delay = backoff_delay(self.failures, jitter);
        self.failures = self.failures.saturating_add(1);
        delay
    }

    /// A user action. Returns the frame to send now, or `None` when it waits for the socket.
    /// Commands that change the session are kept until they take effect and resent on reconnect.
    pub fn command(&mut self, command: ClientCommand) -> Option<ClientFrame> {
        let frame = match request_id_for(&command) {
            Some(id) => ClientFrame::with_request_id(command, id),
            None => ClientFrame::new(command),
        };
        if frame.request_id.is_some() {
            self.unacked.retain(|f| f.request_id != frame.request_id);
            self.unacked.push(frame.clone());
        }
        (self.link != Link::Closed).then_some(frame)
    }

    /// Parses and applies a text frame from the DO.
    pub fn on_text(&mut self, text: &str) -> Update {
        match codec::decode_server_frame(text) {
            Ok(frame) => self.on_frame(frame),
            Err(e) => Update::Error { code: e.code(), message: e.to_string(), request: None },
        }
    }

    /// Applies a frame from the DO.
    pub fn on_frame(&mut self, frame: ServerFrame) -> Update {
        match frame {
            ServerFrame::Snapshot { meta, status, transcript, .. } => {
                self.meta = Some(meta);
                self.status = Some(status);
                self.link = Link::Live;
                self.failures = 0;
                self.resyncing = false;
                if let Some(t) = transcript.filter(|t| t.last_seq > self.cursor()) {
                    self.transcript = *t;
                    self.drop_acknowledged_by_transcript();
                }
                Update::Changed
            }
            ServerFrame::Event { seq, status, event } => self.on_event(seq, status, event),
            ServerFrame::Events { status, events } => {
                // Each event as its own frame would be; a gap asks for one resync.
                let mut update = Update::Unchanged;
                for e in events {
                    match self.on_event(e.seq, status, e.event) {
                        Update::Changed => update = Update::Changed,
                        Update::Unchanged => {}
                        resync => return resync,
                    }
                }
                self.status = Some(status);
                update
            }
            ServerFrame::Error { code, message, request_id } => {
                let request = request_id.and_then(|id| {
                    let pos = self.unacked.iter().position(|f| f.request_id.as_ref() == Some(&id))?;
                    Some(self.unacked.remove(pos))
                });
                Update::Error { code, message, request }
            }
            ServerFrame::Pong => Update::Unchanged,
        }
    }

    fn on_event(&mut self, seq: u64, status: SessionStatus, event: GatewayEvent) -> Update {
        self.status = Some(status);
        let cursor = self.cursor();
        if seq <= cursor {
            self.duplicates += 1;
            return Update::Unchanged;
        }
        if seq > cursor + 1 {
            if self.resyncing {
                return Update::Unchanged;
            }
            self.resyncing = true;
            return Update::Resync(ClientFrame::new(ClientCommand::Sync { after_seq: cursor, batches: true }));
        }
        self.resyncing = false;
        self.failures = 0;
        self.acknowledge(&event);
        fold(&mut self.transcript, seq, &event);
        Update::Changed
    }

    /// Drops the unacknowledged command this event shows took effect.
    fn acknowledge(&mut self, event: &GatewayEvent) {
        let done = match event {
            GatewayEvent::UserMessage { client_id, .. } => request_id_message(client_id),
            GatewayEvent::ToolResolved { tool_call_id, .. } => request_id_tool(tool_call_id),
            _ => return,
        };
        self.unacked.retain(|f| f.request_id.as_deref() != Some(done.as_str()));
    }

    /// After a snapshot jump, drops commands the transcript already shows.
    fn drop_acknowledged_by_transcript(&mut self) {
        let t = &self.transcript;
        self.unacked.retain(|f| match &f.command {
            ClientCommand::Message { client_id, .. } => !t.items.iter().any(
                |i| matches!(i, crate::fold::Item::User { client_id: c, .. } if c == client_id),
            ),
            ClientCommand::ToolApprove { tool_call_id, .. }
            | ClientCommand::ToolDeny { tool_call_id, .. }
            | ClientCommand::QuestionAnswer { tool_call_id, .. } => {
                t.pending.iter().any(|p| p.tool_call_id() == tool_call_id)
            }
            _ => true,
        });
    }
}

/// The reconnect delay after `failures` consecutive failures.
pub fn backoff_delay(failures: u32, jitter: f64) -> u64 {
    let full = BACKOFF_BASE_MS.saturating_mul(1u64 << failures.min(16)).min(BACKOFF_MAX_MS);
    let jitter = jitter.clamp(0.0, 1.0);
    full / 2 + ((full / 2) as f64 * jitter) as u64
}

fn request_id_message(client_id: &str) -> String {
    format!("msg:{client_id}")
}

fn request_id_tool(tool_call_id: &str) -> String {
    format!("tool:{tool_call_id}")
}

/// Commands that change the session get a stable request id (so a resend replaces, never
/// duplicates); others (sync, ping, interrupt, terminate) are fire-and-forget.
fn request_id_for(command: &ClientCommand) -> Option<String> {
    match command {
        ClientCommand::Message { client_id, .. } => Some(request_id_message(client_id)),
        ClientCommand::ToolApprove { tool_call_id, .. }
        | ClientCommand::ToolDeny { tool_call_id, .. }
        | ClientCommand::QuestionAnswer { tool_call_id, .. } => Some(request_id_tool(tool_call_id)),
        _ => None,
    }
}
