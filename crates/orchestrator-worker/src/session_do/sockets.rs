//! Browser sockets: accepted with the hibernation API, so that the object may be evicted while
//! they stay open. Everything a socket needs after a wake lives in its attachment (who it is,
//! whether it has synced, how far it has seen), never only in the object's fields.

use serde::{Deserialize, Serialize};
use shared_types::{codec, ErrorCode, ServerFrame};
use worker::{State, WebSocket};

/// What a browser socket carries through hibernation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Attachment {
    pub user_id: String,
    pub user_name: String,
    /// The login the socket was opened with (empty on sockets from before logins were named):
    /// ending that login closes the socket.
    #[serde(default)]
    pub login_id: String,
    /// Sent `sync` and got its snapshot: live events go to it from then on (before that they
    /// would arrive ahead of the snapshot).
    #[serde(default)]
    pub synced: bool,
    /// The highest seq sent to this socket.
    #[serde(default)]
    pub cursor: u64,
    /// Its `sync` asked for `batches`: it reads `events` frames (an older dashboard gets one
    /// `event` frame per event).
    #[serde(default)]
    pub batches: bool,
}

impl Attachment {
    pub fn of(ws: &WebSocket) -> Option<Attachment> {
        ws.deserialize_attachment().ok().flatten()
    }

    pub fn save(&self, ws: &WebSocket) {
        if let Err(e) = ws.serialize_attachment(self) {
            worker::console_error!("could not store a browser socket's attachment: {e}");
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
