//! [`SessionCore`]: what the Durable Object shell drives. Each input (a wake, a browser frame, a
//! gateway frame, a link change, an alarm) updates the stored state and returns an [`Output`]:
//! frames to send, what to do with the gateway socket, when to wake next, and the sessions-index
//! row to write. The core reads no clock (every input carries `now`) and does no I/O but SQL.

use shared_types::codec;
use shared_types::{
    ClientFrame, ErrorCode, EventEnvelope, GatewayCommand, GatewayFrame, PendingRequest, ServerFrame, SessionConfig, SessionMeta,
    SessionStatus, TimestampMs, Transcript,
};
use shared_types::gateway::GatewayControl;

use crate::batch::{self, Element, Frame, Incoming};
use crate::commands::{self, Accepted};
use crate::config::CoreConfig;
use crate::error::{CoreError, Result};
use crate::index::{IndexRow, IndexState};
use crate::link::{AlarmStep, Link, LinkAction};
use crate::pending::{self, PendingKind};
use crate::queue::{self, Enqueued};
use crate::replay::{self, Now, Replay};
use crate::sql::Sql;
use crate::status::{self, Facts};
use crate::{log, schema, state};

const META: &str = "meta";
const CONFIG: &str = "config";

/// What the shell does after an input, in this order: set (or delete) the alarm, send `reply`
/// to the socket the input came from, `broadcast` to every browser socket, page through
/// `replay` into the same socket as `reply`, send `to_gateway` on the gateway socket, apply
/// `link`, write `index` to D1.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Frames for the gateway, as JSON text: commands encoded once (a queued command is sent as
    /// it was stored, never decoded back). [`Output::commands`] reads them.
    pub to_gateway: Vec<String>,
    pub reply: Vec<ServerFrame>,
    pub broadcast: Vec<ServerFrame>,
    /// Continue with [`SessionCore::replay_page`] until it returns `None`.
    pub replay: Option<Replay>,
    pub link: LinkAction,
    /// When to wake next (`None`: no alarm needed).
    pub alarm: Option<TimestampMs>,
    /// A sessions-index row to write; report a failed write with [`SessionCore::index_failed`].
    pub index: Option<IndexRow>,
    /// The status after this input.
    pub status: SessionStatus,
    /// What happened that an operator may need to know (gateway errors, unreadable frames).
    pub notes: Vec<String>,
}

impl Output {
    fn new() -> Self {
        Output {
            to_gateway: Vec::new(),
            reply: Vec::new(),
            broadcast: Vec::new(),
            replay: None,
            link: LinkAction::Keep,
            alarm: None,
            index: None,
            status: SessionStatus::Starting,
            notes: Vec::new(),
        }
    }

    fn error(&mut self, code: ErrorCode, message: impl Into<String>, request_id: Option<String>) {
        self.reply.push(ServerFrame::Error { code, message: message.into(), request_id });
    }

    fn command(&mut self, command: &GatewayCommand) {
        self.to_gateway.push(codec::encode(command));
    }

    /// `to_gateway` decoded, for tests and tools (the shell sends the texts as they are; a text
    /// that does not decode is left out).
    pub fn commands(&self) -> Vec<GatewayCommand> {
        self.to_gateway.iter().filter_map(|text| codec::decode_command(text).ok()).collect()
    }
}

/// What an unnumbered gateway frame tells the operator (a pong tells nothing).
fn control_note(control: &GatewayControl) -> Option<String> {
    match control {
        GatewayControl::Pong => None,
        GatewayControl::Error { code, message } => Some(format!("the gateway refused a command ({code:?}): {message}")),
    }
}

/// The stored state an input's decisions depend on.
struct View {
    facts: Facts,
    link: Link,
    pending: Option<PendingKind>,
    meta: Option<SessionMeta>,
    waiting: u64,
}

impl View {
    fn status(&self) -> SessionStatus {
        status::derive(&self.facts, self.pending, self.link.down_since())
    }

    /// Whether the session needs its gateway link: it exists and is live, or the runner was
    /// never created, or commands wait. Idle, ended or failed with nothing waiting: no.
    fn wants_link(&self) -> bool {
        let live = status::derive(&self.facts, self.pending, None).is_live();
        self.meta.is_some() && !self.facts.ended && (!self.facts.created || self.waiting > 0 || live)
    }
}

/// One session's Durable Object logic over its SQLite.
pub struct SessionCore<S> {
    db: S,
    cfg: CoreConfig,
    /// The status the last [`Self::finish`] computed, taken by the next input as its "before"
    /// (saves re-reading the state on every event). `None` whenever the storage may have changed
    /// without `finish` knowing: after an error, or once [`Self::sql`] was lent out.
    known_status: Option<SessionStatus>,
    /// The input being handled is the alarm (the one time a row that only moves `last_seq` is
    /// written: see [`IndexState::due`]).
    in_alarm: bool,
}

impl<S: Sql> SessionCore<S> {
    /// Every wake (constructor of a new instance): migrates the schema and forgets the socket a
    /// previous instance held. Returns what to do now (dial, alarm, a status change to announce).
    pub fn wake(mut db: S, cfg: CoreConfig, now: TimestampMs) -> Result<(Self, Output)> {
        schema::migrate(&mut db)?;
        let mut core = SessionCore { db, cfg, known_status: None, in_alarm: false };
        let before = core.status_before()?;
        let mut link = Link::load(&mut core.db)?;
        link.woke(now);
        link.save(&mut core.db)?;
        let out = core.finish(Output::new(), before, now)?;
        Ok((core, out))
    }

    /// Records a new session (idempotent: an existing one is kept) and asks for the link so that
    /// `session.create` goes out.
    pub fn create(&mut self, meta: SessionMeta, config: SessionConfig, now: TimestampMs) -> Result<Output> {
        let before = self.status_before()?;
        if state::get::<SessionMeta>(&mut self.db, META)?.is_none() {
            state::put(&mut self.db, CONFIG, &config)?;
            state::put(&mut self.db, META, &meta)?;
        }
        self.finish(Output::new(), before, now)
    }

    /// A text frame from a browser socket of `user` (a user name, for `by`).
    pub fn on_client_text(&mut self, text: &str, user: &str, now: TimestampMs) -> Result<Output> {
        match codec::decode_client_frame(text) {
            Ok(frame) => self.on_client_frame(&frame, user, now),
            Err((e, request_id)) => {
                let before = self.status_before()?;
                let mut out = Output::new();
                out.error(e.code(), e.to_string(), request_id);
                self.finish(out, before, now)
            }
        }
    }

    /// A decoded browser frame.
    pub fn on_client_frame(&mut self, frame: &ClientFrame, user: &str, now: TimestampMs) -> Result<Output> {
        self.known_status = None;
        let view = self.view()?;
        let before = view.status();
        let mut out = Output::new();
        let request_id = frame.request_id.clone();
        if view.meta.is_none() {
            out.error(ErrorCode::NotFound, "this session was never created", request_id);
            return self.finish(out, before, now);
        }
        match commands::accept(&mut self.db, &view.facts, self.cfg.max_queued_commands, frame, user)? {
            Err(refusal) => out.error(refusal.code, refusal.message, request_id),
            Ok(Accepted::Pong) => out.reply.push(ServerFrame::Pong),
            Ok(Accepted::Sync { after_seq, batches }) => {
                if let Some(now_view) = self.now_view(&view)? {
                    let (snapshot, replay) = replay::sync(&mut self.db, &self.cfg, &now_view, after_seq, batches)?;
                    out.reply.push(snapshot);
                    out.replay = Some(replay);
                }
            }
            Ok(Accepted::Forward { key, command }) => {
                let text = codec::encode(&command);
                if queue::enqueue(&mut self.db, &key, &text)? == Enqueued::New && view.link.up {
                    if queue::is_fire_and_forget(&key) {
                        queue::remove(&mut self.db, &key)?;
                    }
                    out.to_gateway.push(text);
                }
            }
        }
        self.finish(out, before, now)
    }

    /// The next page of a replay started by `sync`, or `None` when it is done.
    pub fn replay_page(&mut self, replay: &mut Replay) -> Result<Option<Vec<ServerFrame>>> {
        replay::next_page(&mut self.db, &self.cfg, replay)
    }

    /// The gateway socket opened: create (until the runner confirms), attach after the
    /// contiguous seq, then flush the queued commands in order.
    pub fn link_up(&mut self, now: TimestampMs) -> Result<Output> {
        self.known_status = None;
        let view = self.view()?;
        let before = view.status();
        let mut link = view.link;
        link.opened(now);
        link.save(&mut self.db)?;
        let mut out = Output::new();
        if !view.facts.created {
            match state::get::<SessionConfig>(&mut self.db, CONFIG)? {
                Some(config) => out.command(&GatewayCommand::Create { config }),
                None => out.notes.push("no session config stored: session.create not sent".into()),
            }
        }
        out.command(&GatewayCommand::Attach { after_seq: view.facts.contiguous_seq, batches: true });
        for (key, text) in queue::waiting_commands(&mut self.db)? {
            if queue::is_fire_and_forget(&key) {
                queue::remove(&mut self.db, &key)?;
            }
            out.to_gateway.push(text);
        }
        self.finish(out, before, now)
    }

    /// A text frame from the gateway: one numbered event, an `events` batch, or a control
    /// frame. A numbered event that does not decode (a newer variant, an oversize frame, invalid
    /// fields) is stored as it came and counted like any other, so that the session never stalls
    /// on it; only a frame (or batch element) with no readable seq is dropped.
    pub fn on_gateway_text(&mut self, text: &str, now: TimestampMs) -> Result<Output> {
        self.on_gateway_texts(&[text], now)
    }

    /// Text frames from the gateway that were waiting together (the shell drains its socket):
    /// one input, so that their events are stored, acked and broadcast as one batch whatever
    /// frames they came in (an older gateway sends one frame per event).
    pub fn on_gateway_texts(&mut self, texts: &[impl AsRef<str>], now: TimestampMs) -> Result<Output> {
        let mut elements = Vec::new();
        let mut notes = Vec::new();
        for text in texts {
            match batch::read(text.as_ref()) {
                Frame::Events(more) => elements.extend(more),
                Frame::Control(control) => notes.extend(control_note(&control)),
                Frame::Refused(reason) => notes.push(format!("unreadable gateway frame ignored: {reason}")),
            }
        }
        self.on_gateway_elements(elements, notes, now)
    }

    /// A decoded gateway frame: store the events, apply what became contiguous, ack, broadcast.
    pub fn on_gateway_frame(&mut self, frame: GatewayFrame, now: TimestampMs) -> Result<Output> {
        let incoming = |e: EventEnvelope| -> Result<Element<'static>> {
            let body = serde_json::to_string(&e.event).map_err(|err| CoreError::corrupt("event", err))?;
            Ok(Element::Event(Incoming { seq: e.seq, event: e.event, body: body.into() }))
        };
        let (elements, notes) = match frame {
            GatewayFrame::Event(envelope) => (vec![incoming(envelope)?], Vec::new()),
            GatewayFrame::Events(batch) => (batch.events.into_iter().map(incoming).collect::<Result<Vec<_>>>()?, Vec::new()),
            GatewayFrame::Control(control) => (Vec::new(), control_note(&control).into_iter().collect()),
        };
        self.on_gateway_elements(elements, notes, now)
    }

    /// Numbered events from one gateway frame (one, or a batch), however they arrived: the new
    /// ones are stored in a constant number of statements ([`log::insert_batch`]), the run that
    /// continues the contiguous seq is applied from memory (never read back), the facts are
    /// saved, the ack goes out and browsers get one `events` frame, all once per frame.
    ///
    /// An element that cannot be read is stored as it came with its `session.unknown`
    /// stand-in, reported once (a resent copy is a duplicate). What was stored before this
    /// frame beyond the contiguous seq (out of order, or unreadable) is read back and applied
    /// after. A storage error is returned and nothing is acked: the gateway resends.
    /// `notes`: what the frames' reading already has to report.
    fn on_gateway_elements(&mut self, elements: Vec<Element<'_>>, notes: Vec<String>, now: TimestampMs) -> Result<Output> {
        let before = self.status_before()?;
        let mut link = Link::load(&mut self.db)?;
        link.received(now);
        link.save(&mut self.db)?;
        let mut out = Output::new();
        out.notes = notes;
        let mut facts = Facts::load(&mut self.db)?;
        let start = facts.contiguous_seq;
        let stored_before = log::max_seq(&mut self.db)?;
        let mut stored_raw = false;
        let mut fresh = Vec::with_capacity(elements.len());
        for element in elements {
            match element {
                Element::Event(e) if e.seq > log::MAX_SEQ => {
                    out.notes.push(format!("event seq {} is beyond {} and was ignored", e.seq, log::MAX_SEQ));
                }
                Element::Event(e) if e.seq <= start => {} // a duplicate: the first copy won
                Element::Event(e) => fresh.push(e),
                Element::Unreadable { seq, .. } if seq <= start => {}
                Element::Unreadable { seq, raw, original_type, reason } => {
                    let what = original_type.as_deref().map_or_else(|| "an event".to_string(), |t| format!("a {t:?} event"));
                    if log::insert_unreadable(&mut self.db, seq, raw, original_type.clone(), &reason)? {
                        stored_raw = true;
                        out.notes.push(format!(
                            "{what} at seq {seq} could not be read ({reason}); stored as it came ({} bytes) and shown as session.unknown",
                            raw.len()
                        ));
                    }
                }
                Element::Unnumbered { reason } => out.notes.push(format!("a gateway event was ignored (no seq to count): {reason}")),
            }
        }
        fresh.sort_by_key(|e| e.seq);
        fresh.dedup_by_key(|e| e.seq); // keeps the first copy of each seq
        if !fresh.is_empty() {
            log::insert_batch(&mut self.db, &fresh)?;
        }
        // The run that continues the log and was not stored before this frame: applied as it
        // came. Anything else waits for the read-back below.
        let mut applied = Vec::new();
        for e in fresh {
            if e.seq != facts.contiguous_seq + 1 || e.seq <= stored_before {
                break;
            }
            pending::apply(&mut self.db, e.seq, &e.event)?;
            queue::acknowledge(&mut self.db, &e.event)?;
            facts.apply(e.seq, &e.event);
            applied.push(EventEnvelope { seq: e.seq, event: e.event });
        }
        if stored_raw || stored_before > facts.contiguous_seq {
            self.apply_stored(&mut facts, &mut applied)?;
        }
        if facts.contiguous_seq <= start {
            return self.finish(out, before, now);
        }
        facts.save(&mut self.db)?;
        out.command(&GatewayCommand::Ack { seq: facts.contiguous_seq });
        let view = self.view_with(facts, link)?;
        out.broadcast.push(ServerFrame::Events { status: view.status(), events: applied });
        self.finish_with(out, before, now, Some(view))
    }

    /// The gateway socket closed or broke.
    pub fn link_closed(&mut self, now: TimestampMs) -> Result<Output> {
        let before = self.status_before()?;
        let mut link = Link::load(&mut self.db)?;
        if link.up {
            link.went_down(now, &self.cfg);
            link.save(&mut self.db)?;
        }
        self.finish(Output::new(), before, now)
    }

    /// A dial (started by a `LinkAction::Dial`) failed.
    pub fn dial_failed(&mut self, now: TimestampMs) -> Result<Output> {
        let before = self.status_before()?;
        let mut link = Link::load(&mut self.db)?;
        link.dial_failed(now, &self.cfg);
        link.save(&mut self.db)?;
        self.finish(Output::new(), before, now)
    }

    /// The alarm fired: heartbeat, silence, idle close, redial.
    pub fn on_alarm(&mut self, now: TimestampMs) -> Result<Output> {
        self.known_status = None;
        let view = self.view()?;
        let before = view.status();
        let mut link = view.link.clone();
        let step = link.on_alarm(view.wants_link(), now, &self.cfg);
        link.save(&mut self.db)?;
        let mut out = Output::new();
        match step {
            AlarmStep::Nothing => {}
            AlarmStep::Ping => out.command(&GatewayCommand::Ping),
            AlarmStep::Dial => out.link = LinkAction::Dial,
            AlarmStep::Close => out.link = LinkAction::Close,
        }
        self.in_alarm = true;
        let out = self.finish(out, before, now);
        self.in_alarm = false;
        out
    }

    /// The D1 write of the last index row failed: send it again next time.
    pub fn index_failed(&mut self) -> Result<()> {
        let mut index = IndexState::load(&mut self.db)?;
        index.status = None;
        index.save(&mut self.db)
    }

    pub fn status(&mut self) -> Result<SessionStatus> {
        Ok(self.view()?.status())
    }

    /// The highest seq with every seq before it stored.
    pub fn contiguous_seq(&mut self) -> Result<u64> {
        Ok(Facts::load(&mut self.db)?.contiguous_seq)
    }

    pub fn pending(&mut self) -> Result<Vec<PendingRequest>> {
        pending::requests(&mut self.db)
    }

    pub fn meta(&mut self) -> Result<Option<SessionMeta>> {
        Ok(self.view()?.meta)
    }

    /// The fold of the contiguous history (for HTTP reads and tests).
    pub fn transcript(&mut self) -> Result<Transcript> {
        let up_to = self.contiguous_seq()?;
        replay::fold_up_to(&mut self.db, &self.cfg, up_to)
    }

    /// The storage, for tests and tools (what they write is read afresh by the next input).
    pub fn sql(&mut self) -> &mut S {
        self.known_status = None;
        &mut self.db
    }

    /// The storage for tables that are not the core's (the Durable Object shell's own). Unlike
    /// [`Self::sql`] it keeps what the core knows, so it must not be used to write the core's.
    pub fn shell_sql(&mut self) -> &mut S {
        &mut self.db
    }

    /// Gives the storage back (the instance is evicted; a later `wake` picks it up).
    pub fn into_sql(self) -> S {
        self.db
    }

    /// Applies, in order, the stored events that continue the contiguous seq (read back page
    /// by page): those that arrived before the events they follow, and unreadable stand-ins.
    fn apply_stored(&mut self, facts: &mut Facts, applied: &mut Vec<EventEnvelope>) -> Result<()> {
        loop {
            let page = log::contiguous_after(&mut self.db, facts.contiguous_seq, self.cfg.page_events, self.cfg.page_bytes)?;
            if page.is_empty() {
                return Ok(());
            }
            for e in &page {
                pending::apply(&mut self.db, e.seq, &e.event)?;
                queue::acknowledge(&mut self.db, &e.event)?;
                facts.apply(e.seq, &e.event);
            }
            applied.extend(page);
        }
    }

    /// The status before an input: the one the last `finish` left, or read afresh.
    fn status_before(&mut self) -> Result<SessionStatus> {
        match self.known_status.take() {
            Some(status) => Ok(status),
            None => Ok(self.view()?.status()),
        }
    }

    fn view(&mut self) -> Result<View> {
        let facts = Facts::load(&mut self.db)?;
        let link = Link::load(&mut self.db)?;
        self.view_with(facts, link)
    }

    /// The view, given the facts and link the caller already holds.
    fn view_with(&mut self, facts: Facts, link: Link) -> Result<View> {
        Ok(View {
            facts,
            link,
            pending: pending::oldest_kind(&mut self.db)?,
            meta: state::get(&mut self.db, META)?,
            waiting: queue::waiting(&mut self.db)?,
        })
    }

    /// The snapshot's view of the session: the stored meta completed by what the runner said.
    fn now_view(&mut self, view: &View) -> Result<Option<Now>> {
        let Some(mut meta) = view.meta.clone() else { return Ok(None) };
        if let Some(id) = &view.facts.claude_session_id {
            meta.claude_session_id = Some(id.clone());
        }
        Ok(Some(Now {
            meta,
            status: view.status(),
            contiguous_seq: view.facts.contiguous_seq,
            pending: pending::requests(&mut self.db)?,
        }))
    }

    /// Common to every input: dial when needed, announce a status change, the index row, the
    /// next alarm.
    fn finish(&mut self, out: Output, before: SessionStatus, now: TimestampMs) -> Result<Output> {
        self.finish_with(out, before, now, None)
    }

    /// [`Self::finish`] with the current view when the caller has just read it.
    fn finish_with(&mut self, mut out: Output, before: SessionStatus, now: TimestampMs, view: Option<View>) -> Result<Output> {
        let mut view = match view {
            Some(view) => view,
            None => self.view()?,
        };
        let wants = view.wants_link();
        if out.link == LinkAction::Keep && view.link.should_dial(wants, now) {
            view.link.dial(now);
            view.link.save(&mut self.db)?;
            out.link = LinkAction::Dial;
        }
        let status = view.status();
        let events_sent = out.broadcast.iter().any(|f| f.last_seq().is_some());
        if status != before && !events_sent {
            if let Some(now_view) = self.now_view(&view)? {
                out.broadcast.push(now_view.snapshot());
            }
        }
        let mut index = IndexState::load(&mut self.db)?;
        let last_seq = view.facts.contiguous_seq;
        if let Some(meta) = &view.meta {
            if index.due(status, last_seq, now, self.in_alarm, &self.cfg) {
                index = IndexState { status: Some(status), last_seq, at: now };
                index.save(&mut self.db)?;
                out.index = Some(IndexRow { session_id: meta.id.clone(), status, last_seq, updated_at: now });
            }
        }
        let index_due = view.meta.as_ref().and_then(|_| index.due_at(status));
        out.alarm = match (view.link.next_alarm(wants, now, &self.cfg), index_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        out.status = status;
        self.known_status = Some(status);
        Ok(out)
    }
}
