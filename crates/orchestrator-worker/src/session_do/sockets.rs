//! Browser sockets: accepted with the hibernation API, so that the object may be evicted while
//! they stay open. Everything a socket needs after a wake lives in its attachment (who it is,
//! whether it has synced, how far it has seen), never only in the object's fields.

use shared_types::{codec, ErrorCode, ServerFrame};
use worker::wasm_bindgen::JsValue;
use worker::worker_sys::ext::WebSocketExt;
use worker::{State, WebSocket};

/// What a browser socket carries through hibernation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attachment {
    pub user_id: String,
    pub user_name: String,
    /// The login the socket was opened with: ending that login closes the socket.
    pub login_id: String,
    /// Sent `sync` and got its snapshot: live events go to it from then on (before that they
    /// would arrive ahead of the snapshot).
    pub synced: bool,
    /// The highest seq sent to this socket.
    pub cursor: u64,
    /// Its `sync` asked for `batches`: it reads `events` frames (an older dashboard gets one
    /// `event` frame per event).
    pub batches: bool,
}

impl Attachment {
    pub fn of(ws: &WebSocket) -> Option<Attachment> {
        Attachment::decode(&ws.as_ref().deserialize_attachment().ok()?.as_string()?)
    }

    pub fn save(&self, ws: &WebSocket) {
        if ws.as_ref().serialize_attachment(JsValue::from_str(&self.encode())).is_err() {
            worker::console_error!("could not store a browser socket's attachment");
        }
    }

    /// The attachment as one string, `a1` then tab-separated: synced, batches (`0`/`1`), cursor,
    /// user id, login id, and the user's name last (so that it may hold anything). Written by
    /// hand: a serde struct through `serde_wasm_bindgen` costs the Worker about 1.5 KB. A socket
    /// whose attachment does not read (one accepted by an older Worker, which stored an object)
    /// is treated as gone; its browser reconnects.
    pub fn encode(&self) -> String {
        let flag = |b: bool| if b { "1" } else { "0" };
        let fields = [flag(self.synced), flag(self.batches), &self.cursor.to_string(), &self.user_id, &self.login_id, &self.user_name];
        format!("a1\t{}", fields.join("\t"))
    }

    pub fn decode(text: &str) -> Option<Attachment> {
        let mut f = text.strip_prefix("a1\t")?.splitn(6, '\t');
        let mut flag = || match f.next()? {
            "0" => Some(false),
            "1" => Some(true),
            _ => None,
        };
        let (synced, batches) = (flag()?, flag()?);
        Some(Attachment {
            synced,
            batches,
            cursor: f.next()?.parse().ok()?,
            user_id: f.next()?.to_string(),
            login_id: f.next()?.to_string(),
            user_name: f.next()?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Attachment;

    #[test]
    fn an_attachment_reads_back_and_a_bad_one_does_not() {
        let a = Attachment { user_id: "u1".into(), user_name: "ada\tlovelace\n✓".into(), login_id: "l1".into(), synced: true, cursor: 42, batches: false };
        assert_eq!(Attachment::decode(&a.encode()), Some(a.clone()));
        let empty = Attachment::default();
        assert_eq!(Attachment::decode(&empty.encode()), Some(empty));
        for bad in ["", "a1", "a1\t1\t0\t42\tu1\tl1", "a1\t2\t0\t42\tu1\tl1\tn", "a1\t1\t0\t-1\tu1\tl1\tn", "{\"user_id\":\"u1\"}", "a2\t1\t0\t4\tu\tl\tn"] {
            assert_eq!(Attachment::decode(bad), None, "{bad:?}");
        }
    }
}

/// Sends one frame; a socket that is gone is closed by the platform and reported separately.
pub fn send(ws: &WebSocket, frame: &ServerFrame) {
    send_text(ws, &codec::encode(frame));
}

pub fn send_text(ws: &WebSocket, text: &str) {
    if let Err(e) = ws.send_with_str(text) {
        worker::console_log!("a browser socket refused a frame ({e}); it is closing");
    }
}

pub fn error_frame(code: ErrorCode, message: impl Into<String>) -> ServerFrame {
    ServerFrame::Error { code, message: message.into(), request_id: None }
}

/// Sends `frames` to every synced browser socket, each frame encoded once (a batch split into
/// single events only for sockets that do not read batches), and moves their cursors past the
/// last event sent.
pub fn broadcast(state: &State, frames: &[ServerFrame]) {
    if frames.is_empty() {
        return;
    }
    let batched: Vec<String> = frames.iter().map(codec::encode).collect();
    let mut singles: Option<Vec<String>> = None;
    let last_seq = frames.iter().rev().find_map(ServerFrame::last_seq);
    for ws in state.get_websockets() {
        let Some(mut attachment) = Attachment::of(&ws) else { continue };
        if !attachment.synced {
            continue;
        }
        let texts = if attachment.batches {
            &batched
        } else {
            singles.get_or_insert_with(|| {
                frames.iter().flat_map(|f| f.clone().into_single_events()).map(|f| codec::encode(&f)).collect()
            })
        };
        for text in texts {
            send_text(&ws, text);
        }
        if let Some(seq) = last_seq.filter(|seq| *seq > attachment.cursor) {
            attachment.cursor = seq;
            attachment.save(&ws);
        }
    }
}

/// The close code of a socket whose login ended (logout, password change, disabled user): the
/// browser should not reconnect with the same cookie.
pub const LOGIN_ENDED: u16 = 4001;

/// Closes every socket whose attachment `matches`; returns how many.
pub fn close_where(state: &State, reason: &str, matches: impl Fn(&Attachment) -> bool) -> usize {
    let mut closed = 0;
    for ws in state.get_websockets() {
        if Attachment::of(&ws).is_some_and(|a| matches(&a)) {
            let _ = ws.close(Some(LOGIN_ENDED), Some(reason));
            closed += 1;
        }
    }
    closed
}

/// Close codes 1005 (no status) and 1006 (abnormal) describe a close; they cannot be sent.
pub fn sendable_close_code(code: usize) -> u16 {
    match u16::try_from(code) {
        Ok(1005 | 1006) | Err(_) => 1000,
        Ok(c) if (1000..5000).contains(&c) => c,
        Ok(_) => 1000,
    }
}
