//! The runner's unix socket (`<runtime_dir>/sessions/<id>.sock`, mode 0600): the daemon connects
//! here and speaks the same GatewayCommand / GatewayEvent frames as NDJSON. Each connection is
//! a reader feeding the session's shell and a writer draining what the session sends it.
//!
//! On a connection whose `session.attach` asked for `batches`, the writer's [`Window`] sends
//! a lone event at once and joins the events that pile up behind unacknowledged frames into
//! `events` lines (up to [`MAX_BATCH_BYTES`]).

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use shared_types::codec::decode_command;
use shared_types::MAX_BATCH_BYTES;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::session::{Input, Outgoing};
use super::shell::Inbound;

/// Binds the socket with mode 0600 (the umask is narrowed around `bind`, so there is no moment
/// when others could connect).
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(path); // stale: we hold the session's lock
    // SAFETY: umask(2) only changes this process's file-creation mask.
    let old = unsafe { libc::umask(0o177) };
    let listener = UnixListener::bind(path);
    unsafe { libc::umask(old) };
    listener
}

/// Accepts connections until aborted. Every connection's writer holds a clone of `drained`, so
/// the runner can wait, before it exits, for what it sent to be written out.
pub async fn serve(listener: UnixListener, inputs: mpsc::UnboundedSender<Inbound>, drained: mpsc::Sender<()>) {
    let mut next = 0u64;
    while let Ok((stream, _)) = listener.accept().await {
        next += 1;
        tokio::spawn(connection(next, stream, inputs.clone(), drained.clone()));
    }
}

async fn connection(conn: u64, stream: UnixStream, inputs: mpsc::UnboundedSender<Inbound>, drained: mpsc::Sender<()>) {
    let (read, mut write) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    if inputs.send(Inbound::Connected { conn, tx }).is_err() {
        return;
    }
    let writer = tokio::spawn(async move {
        let _drained = drained;
        let mut window = Window::default();
        let mut out = String::new();
        loop {
            let stalled = window.stalled_since().map(|since| since + ACK_WAIT);
            tokio::select! {
                first = rx.recv() => {
                    let Some(first) = first else { break };
                    window.take(first, &mut out);
                    while let Ok(more) = rx.try_recv() {
                        window.take(more, &mut out);
                    }
                }
                _ = tokio::time::sleep_until(stalled.unwrap_or_else(Instant::now)), if stalled.is_some() => {
                    window.ack_overdue();
                }
            }
            window.flush(Instant::now(), &mut out);
            if !out.is_empty() && write.write_all(out.as_bytes()).await.is_err() {
                break;
            }
            out.clear();
        }
    });
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let input = match decode_command(&line) {
            Ok(command) => Input::Frame { conn, command },
            Err(e) => Input::BadFrame { conn, code: e.code(), message: e.to_string() },
        };
        if inputs.send(Inbound::Input(input)).is_err() {
            break;
        }
    }
    let _ = inputs.send(Inbound::Input(Input::Close { conn }));
    writer.abort();
}

/// Frames a batch-reading peer may have unacknowledged before further events wait and join.
pub const WINDOW: usize = 2;

/// How long the writer waits for an ack before it sends what waits anyway (a peer that does not
/// ack, or acks only what became contiguous, never stalls the link).
pub const ACK_WAIT: Duration = Duration::from_millis(50);

/// A batch-reading connection's flow: events go out at once while fewer than [`WINDOW`] frames
/// are unacknowledged; beyond that they wait and leave together, as one `events` frame (up to
/// [`MAX_BATCH_BYTES`]), when an ack opens the window. So a lone event is never delayed, and a
/// peer that falls behind gets fewer, larger frames instead of a growing queue of small ones:
/// the batch size follows the peer's pace (acks clock it, as in TCP).
#[derive(Debug, Default)]
pub struct Window {
    waiting: Vec<(u64, String)>,
    /// The last seq of each unacknowledged frame, oldest first.
    in_flight: VecDeque<u64>,
    /// When the window last moved: the first frame sent since the last ack (an ack clears it).
    oldest_sent: Option<Instant>,
}

impl Window {
    /// Takes one message from the session: a batchable event waits for [`Self::flush`], anything
    /// else is written to `out` now.
    pub fn take(&mut self, message: Outgoing, out: &mut String) {
        match message {
            Outgoing::Event { seq, text, batches: true } => self.waiting.push((seq, text)),
            Outgoing::Event { text, batches: false, .. } | Outgoing::Other(text) => line(out, &text),
            Outgoing::Acked(seq) => {
                while self.in_flight.front().is_some_and(|last| *last <= seq) {
                    self.in_flight.pop_front();
                    self.oldest_sent = None;
                }
            }
        }
    }

    /// The peer has not acked in [`ACK_WAIT`]: stop waiting for it.
    pub fn ack_overdue(&mut self) {
        self.in_flight.clear();
        self.oldest_sent = None;
    }

    /// Since when the window has not moved, while events wait behind it.
    pub fn stalled_since(&self) -> Option<Instant> {
        self.oldest_sent.filter(|_| !self.waiting.is_empty())
    }

    /// Writes what the window lets out: one frame per free slot, each a lone event or an
    /// `events` batch of what waits.
    pub fn flush(&mut self, now: Instant, out: &mut String) {
        while !self.waiting.is_empty() && self.in_flight.len() < WINDOW {
            let mut size = 0;
            let take = self
                .waiting
                .iter()
                .take_while(|(_, text)| {
                    size += text.len() + 1;
                    size <= MAX_BATCH_BYTES
                })
                .count()
                .max(1);
            let frame: Vec<(u64, String)> = self.waiting.drain(..take).collect();
            let last = frame[frame.len() - 1].0;
            if let [(_, text)] = &frame[..] {
                line(out, text);
            } else {
                out.push_str("{\"type\":\"events\",\"events\":[");
                for (i, (_, text)) in frame.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(text);
                }
                out.push_str("]}\n");
            }
            self.in_flight.push_back(last);
            self.oldest_sent.get_or_insert(now);
        }
    }
}

fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_types::codec::{decode_gateway_frame, encode};
    use shared_types::gateway::{GatewayControl, GatewayFrame, RunnerState};
    use shared_types::{EventEnvelope, GatewayEvent};

    fn event(seq: u64, batches: bool) -> Outgoing {
        let e = EventEnvelope { seq, event: GatewayEvent::Status { state: RunnerState::Running } };
        Outgoing::Event { seq, text: encode(&GatewayFrame::Event(e)), batches }
    }

    fn frames(out: &mut String) -> Vec<Vec<u64>> {
        let frames = out.lines().map(|l| match decode_gateway_frame(l).expect("every line is a frame") {
            GatewayFrame::Event(e) => vec![e.seq],
            GatewayFrame::Events(b) => b.events.iter().map(|e| e.seq).collect(),
            GatewayFrame::Control(_) => vec![],
        });
        let frames = frames.collect();
        out.clear();
        frames
    }

    /// Feeds `messages` and flushes, as the writer does when it wakes; returns the frames written.
    fn step(w: &mut Window, messages: Vec<Outgoing>) -> Vec<Vec<u64>> {
        let mut out = String::new();
        messages.into_iter().for_each(|m| w.take(m, &mut out));
        w.flush(Instant::now(), &mut out);
        frames(&mut out)
    }

    #[test]
    fn lone_events_go_at_once_and_a_backlog_leaves_as_one_batch_per_ack() {
        let mut w = Window::default();
        assert_eq!(step(&mut w, vec![event(1, true)]), vec![vec![1]], "no waiting for company");
        assert_eq!(step(&mut w, vec![Outgoing::Acked(1), event(2, true)]), vec![vec![2]]);
        assert_eq!(step(&mut w, vec![Outgoing::Acked(2)]), Vec::<Vec<u64>>::new());
        // The peer falls behind: two frames in flight, the rest waits and joins.
        assert_eq!(step(&mut w, vec![event(3, true)]), vec![vec![3]]);
        assert_eq!(step(&mut w, vec![event(4, true)]), vec![vec![4]]);
        assert_eq!(step(&mut w, (5..=9).map(|s| event(s, true)).collect()), Vec::<Vec<u64>>::new());
        assert!(w.stalled_since().is_some());
        assert_eq!(step(&mut w, vec![Outgoing::Acked(3)]), vec![vec![5, 6, 7, 8, 9]]);
        assert_eq!(step(&mut w, vec![event(10, true), Outgoing::Acked(9)]), vec![vec![10]]);
    }

    #[test]
    fn control_frames_and_single_event_peers_never_wait() {
        let mut w = Window::default();
        let pong = Outgoing::Other(encode(&GatewayFrame::Control(GatewayControl::Pong)));
        let written = step(&mut w, vec![event(1, true), event(2, true), event(3, true), pong, event(4, false)]);
        assert_eq!(written, vec![vec![], vec![4], vec![1, 2, 3]], "controls and old-peer events at once; what is ready, together");
    }

    #[test]
    fn an_overdue_ack_opens_the_window() {
        let mut w = Window::default();
        step(&mut w, vec![event(1, true)]);
        step(&mut w, vec![event(2, true)]);
        assert_eq!(step(&mut w, vec![event(3, true)]), Vec::<Vec<u64>>::new());
        w.ack_overdue();
        assert_eq!(step(&mut w, vec![]), vec![vec![3]]);
    }

    #[test]
    fn batches_stay_under_the_size_cap_and_a_big_event_goes_alone() {
        let big = EventEnvelope {
            seq: 3,
            event: GatewayEvent::ToolResult { tool_call_id: "t".into(), result: "x".repeat(MAX_BATCH_BYTES).into(), is_error: false },
        };
        let mut w = Window::default();
        let mut queued = vec![event(1, true), event(2, true)];
        queued.push(Outgoing::Event { seq: 3, text: encode(&GatewayFrame::Event(big)), batches: true });
        queued.extend((4..=5000).map(|s| event(s, true)));
        let mut out = String::new();
        queued.into_iter().for_each(|m| w.take(m, &mut out));
        let mut all = Vec::new();
        for _ in 0..10_000 {
            w.flush(Instant::now(), &mut out);
            for l in out.lines() {
                assert!(l.len() <= MAX_BATCH_BYTES + 64 || !l.starts_with("{\"type\""), "a batch over the cap");
            }
            let written = frames(&mut out);
            if written.is_empty() {
                break;
            }
            all.extend(written);
            w.take(Outgoing::Acked(u64::MAX), &mut out);
        }
        assert_eq!(all[0], vec![1, 2]);
        assert_eq!(all[1], vec![3], "the big event alone");
        assert_eq!(all.concat(), (1..=5000).collect::<Vec<_>>(), "every event once, in order");
    }
}
