//! A browser's session socket (`GET /api/sessions/:id/ws` with the login cookie), driven by
//! `SessionSync` exactly as the dashboard's `use_session` drives it. Every frame received is
//! kept, so tests can check what arrived, in what order, and that nothing came twice.

use futures_util::{SinkExt, StreamExt};
use shared_types::sync::Update;
use shared_types::{codec, ClientCommand, ErrorCode, EventEnvelope, ServerFrame, SessionSync};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::STEP;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One browser tab on one session.
pub struct Browser {
    ws: Ws,
    pub sync: SessionSync,
    /// Every event frame received on every socket of this tab, in order (duplicates included).
    pub events: Vec<EventEnvelope>,
    /// Every error frame received.
    pub errors: Vec<(ErrorCode, String, Option<String>)>,
    pub snapshots: usize,
    /// How many frames carried events (one per batch).
    pub frames: usize,
    /// When each event arrived (for the bench), parallel to `events`.
    pub arrivals: Vec<std::time::Instant>,
}

impl Browser {
    /// Opens the socket and sends what `SessionSync` says to send first (`sync{after_seq}`).
    pub async fn open(port: u16, session_id: &str, cookie: &str) -> Browser {
        Self::resume(port, session_id, cookie, SessionSync::new(), Vec::new()).await
    }

    /// Reopens with the state a previous socket left (its cursor, transcript, unacked commands).
    pub async fn resume(port: u16, session_id: &str, cookie: &str, sync: SessionSync, events: Vec<EventEnvelope>) -> Browser {
        let ws = connect(port, session_id, cookie).await.unwrap_or_else(|e| panic!("browser socket: {e}"));
        let mut browser = Browser { ws, sync, events, errors: Vec::new(), snapshots: 0, frames: 0, arrivals: Vec::new() };
        for frame in browser.sync.on_open() {
            browser.send_raw(&codec::encode(&frame)).await;
        }
        browser
    }

    /// Closes this socket and opens a new one carrying the same client state.
    pub async fn reconnect(self, port: u16, session_id: &str, cookie: &str) -> Browser {
        let Browser { mut ws, mut sync, events, .. } = self;
        let _ = ws.close(None).await;
        sync.on_close(0.0);
        Self::resume(port, session_id, cookie, sync, events).await
    }

    /// Closes the socket, keeping the client state for [`Browser::resume`].
    pub async fn close(self) -> (SessionSync, Vec<EventEnvelope>) {
        let Browser { mut ws, mut sync, events, .. } = self;
        let _ = ws.close(None).await;
        sync.on_close(0.0);
        (sync, events)
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::Text(text.to_string().into())).await.expect("send on the browser socket");
    }

    /// A user action, through `SessionSync` (kept until it takes effect).
    pub async fn command(&mut self, command: ClientCommand) {
        if let Some(frame) = self.sync.command(command) {
            self.send_raw(&codec::encode(&frame)).await;
        }
    }

    /// Reads frames until `pred` holds on the client state; fails after [`STEP`].
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Browser) -> bool) {
        let deadline = tokio::time::Instant::now() + STEP;
        while !pred(self) {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!("timed out waiting for {what}; status {:?}, cursor {}, errors {:?}", self.sync.status(), self.sync.cursor(), self.errors),
                Ok(None) | Ok(Some(Err(_))) => panic!("the socket closed while waiting for {what}"),
                Ok(Some(Ok(Message::Close(c)))) => panic!("the socket closed ({c:?}) while waiting for {what}"),
                Ok(Some(Ok(Message::Text(text)))) => self.on_text(&text).await,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// The next error frame.
    pub async fn next_error(&mut self) -> (ErrorCode, String, Option<String>) {
        let n = self.errors.len();
        self.until("an error frame", |b| b.errors.len() > n).await;
        self.errors[n].clone()
    }

    async fn on_text(&mut self, text: &str) {
        let frame = codec::decode_server_frame(text).unwrap_or_else(|e| panic!("the DO sent an unreadable frame ({e}): {}", &text[..text.len().min(200)]));
        match &frame {
            ServerFrame::Event { .. } | ServerFrame::Events { .. } => {
                let at = std::time::Instant::now();
                for (seq, event) in frame.events() {
                    self.events.push(EventEnvelope { seq, event: event.clone() });
                    self.arrivals.push(at);
                }
                self.frames += 1;
            }
            ServerFrame::Error { code, message, request_id } => self.errors.push((*code, message.clone(), request_id.clone())),
            ServerFrame::Snapshot { .. } => self.snapshots += 1,
            ServerFrame::Pong => {}
        }
        if let Update::Resync(frame) = self.sync.on_frame(frame) {
            self.send_raw(&codec::encode(&frame)).await;
        }
    }
}

/// The upgrade with the login cookie (no `Origin`, as a non-browser client).
pub async fn connect(port: u16, session_id: &str, cookie: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut request = format!("ws://127.0.0.1:{port}/api/sessions/{session_id}/ws").into_client_request()?;
    request.headers_mut().insert("cookie", cookie.parse().expect("a cookie header"));
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(2 * shared_types::MAX_FRAME_BYTES))
        .max_frame_size(Some(2 * shared_types::MAX_FRAME_BYTES));
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
    Ok(ws)
}

/// Checks that `events` hold every seq from 1 to their last exactly once, in order.
pub fn assert_exactly_once(events: &[EventEnvelope]) {
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "every seq once, in order");
}
