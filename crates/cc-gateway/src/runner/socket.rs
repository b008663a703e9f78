//! The runner's unix socket (`<runtime_dir>/sessions/<id>.sock`, mode 0600): the daemon connects
//! here and speaks the same GatewayCommand / GatewayEvent frames as NDJSON. Each connection is
//! a reader feeding the session actor and a writer draining what the actor sends it.
//!
//! On a connection whose `session.attach` asked for `batches`, the writer sends every event
//! that is waiting when it wakes (up to [`MAX_BATCH_BYTES`]) as one `events` line; a lone event
//! goes out at once, as a single event frame, so nothing waits for company.

use std::path::Path;

use shared_types::codec::decode_command;
use shared_types::MAX_BATCH_BYTES;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::session::Input;

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
pub async fn serve(listener: UnixListener, inputs: mpsc::UnboundedSender<Input>, drained: mpsc::Sender<()>) {
    let mut next = 0u64;
    while let Ok((stream, _)) = listener.accept().await {
        next += 1;
        tokio::spawn(connection(next, stream, inputs.clone(), drained.clone()));
    }
}

async fn connection(conn: u64, stream: UnixStream, inputs: mpsc::UnboundedSender<Input>, drained: mpsc::Sender<()>) {
    let (read, mut write) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    if inputs.send(Input::Open { conn, tx }).is_err() {
        return;
    }
    let writer = tokio::spawn(async move {
        let _drained = drained;
        let mut out = String::new();
        while let Some(first) = rx.recv().await {
            out.clear();
            let next = lines(first, &mut rx, &mut out);
            if write.write_all(out.as_bytes()).await.is_err() {
                break;
            }
            if let Some(next) = next {
                out.clear();
                next.write_to(&mut out);
                if write.write_all(out.as_bytes()).await.is_err() {
                    break;
                }
            }
        }
    });
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let input = match decode_command(&line) {
            Ok(command) => Input::Frame { conn, command },
            Err(e) => Input::BadFrame { conn, code: e.code(), message: e.to_string() },
        };
        if inputs.send(input).is_err() {
            break;
        }
    }
    let _ = inputs.send(Input::Close { conn });
    writer.abort();
}

/// What the session actor sends a connection's writer.
#[derive(Debug)]
pub enum Outgoing {
    /// A numbered event frame; `batches`: the peer reads `events` frames.
    Event { text: String, batches: bool },
    /// Anything else (a control frame): always on its own line.
    Other(String),
}

impl Outgoing {
    fn write_to(&self, out: &mut String) {
        let (Outgoing::Event { text, .. } | Outgoing::Other(text)) = self;
        out.push_str(text);
        out.push('\n');
    }
}

/// Writes `first` into `out`, joined with every batchable event already waiting in `rx` (up to
/// [`MAX_BATCH_BYTES`]) into one `events` line. Returns what it took from `rx` but could not
/// join (written after, in order).
fn lines(first: Outgoing, rx: &mut mpsc::UnboundedReceiver<Outgoing>, out: &mut String) -> Option<Outgoing> {
    let Outgoing::Event { text, batches: true } = first else {
        first.write_to(out);
        return None;
    };
    let mut joined = vec![text];
    let mut size = joined[0].len();
    let mut next = None;
    loop {
        match rx.try_recv() {
            Ok(Outgoing::Event { text, batches: true }) if size + text.len() < MAX_BATCH_BYTES => {
                size += text.len() + 1;
                joined.push(text);
            }
            Ok(other) => {
                next = Some(other);
                break;
            }
            Err(_) => break,
        }
    }
    if joined.len() == 1 {
        out.push_str(&joined[0]);
    } else {
        out.push_str("{\"type\":\"events\",\"events\":[");
        out.push_str(&joined.join(","));
        out.push_str("]}");
    }
    out.push('\n');
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_types::codec::{decode_gateway_frame, encode};
    use shared_types::gateway::{GatewayControl, GatewayFrame, RunnerState};
    use shared_types::{EventEnvelope, GatewayEvent};

    fn event(seq: u64, batches: bool) -> Outgoing {
        let e = EventEnvelope { seq, event: GatewayEvent::Status { state: RunnerState::Running } };
        Outgoing::Event { text: encode(&GatewayFrame::Event(e)), batches }
    }

    /// Runs the writer's joining over what is queued; returns the lines it would write.
    fn written(queued: Vec<Outgoing>) -> Vec<GatewayFrame> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        queued.into_iter().for_each(|o| tx.send(o).unwrap());
        let mut lines_out = String::new();
        while let Ok(first) = rx.try_recv() {
            if let Some(next) = lines(first, &mut rx, &mut lines_out) {
                next.write_to(&mut lines_out);
            }
        }
        lines_out.lines().map(|l| decode_gateway_frame(l).expect("every line is a frame")).collect()
    }

    fn seqs(frame: &GatewayFrame) -> Vec<u64> {
        match frame {
            GatewayFrame::Event(e) => vec![e.seq],
            GatewayFrame::Events(b) => b.events.iter().map(|e| e.seq).collect(),
            GatewayFrame::Control(_) => vec![],
        }
    }

    #[test]
    fn ready_events_go_out_as_one_batch_and_a_lone_event_as_itself() {
        let frames = written((1..=5).map(|s| event(s, true)).collect());
        assert!(matches!(&frames[..], [GatewayFrame::Events(_)]));
        assert_eq!(seqs(&frames[0]), vec![1, 2, 3, 4, 5]);
        let lone = written(vec![event(6, true)]);
        assert!(matches!(&lone[..], [GatewayFrame::Event(e)] if e.seq == 6), "no waiting for company");
    }

    #[test]
    fn a_peer_without_batches_and_control_frames_keep_one_frame_each_in_order() {
        let pong = Outgoing::Other(encode(&GatewayFrame::Control(GatewayControl::Pong)));
        let frames = written(vec![event(1, true), event(2, true), pong, event(3, true), event(4, false), event(5, false)]);
        let order: Vec<Vec<u64>> = frames.iter().map(seqs).collect();
        assert_eq!(order, vec![vec![1, 2], vec![], vec![3], vec![4], vec![5]]);
        assert!(matches!(frames[1], GatewayFrame::Control(GatewayControl::Pong)));
    }

    #[test]
    fn a_batch_stays_under_the_size_cap_and_a_big_event_goes_alone() {
        let big = EventEnvelope {
            seq: 3,
            event: GatewayEvent::ToolResult { tool_call_id: "t".into(), result: "x".repeat(MAX_BATCH_BYTES).into(), is_error: false },
        };
        let mut queued: Vec<Outgoing> = vec![event(1, true), event(2, true)];
        queued.push(Outgoing::Event { text: encode(&GatewayFrame::Event(big)), batches: true });
        queued.extend((4..=2000).map(|s| event(s, true)));
        let frames = written(queued);
        let order: Vec<Vec<u64>> = frames.iter().map(seqs).collect();
        assert_eq!(order[0], vec![1, 2]);
        assert_eq!(order[1], vec![3], "the big event alone");
        assert_eq!(order.concat(), (1..=2000).collect::<Vec<_>>(), "every event once, in order");
        for f in &frames {
            assert!(encode(f).len() <= MAX_BATCH_BYTES + 512 || seqs(f).len() == 1);
        }
    }
}
