//! A WebSocket relay between the SessionDO and the gateway that rewrites gateway events on the
//! way, for the tests of what the DO does with an event it cannot read. A rule names an event
//! `type` and what its frame becomes: the first event of that type fixes the rule's seq, and that
//! seq reaches the DO as the rule's text instead, every time the gateway sends it (a resend
//! included). It stands in for a gateway newer than the Worker (a variant the Worker does not
//! know) or one that sends an oversize frame, without touching cc-gateway: the seqs stay the
//! gateway's, the DO's acks reach the gateway, every other frame passes unchanged.
//!
//! Each connection from the DO is accepted as a WebSocket (its path and `Authorization` kept) and
//! dialled through to the gateway; WebSocket-level pings are answered on each hop.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

type Make = Box<dyn Fn(u64) -> String + Send>;

struct Rule {
    event_type: String,
    make: Make,
    /// The seq of the first event of `event_type`, once seen.
    seq: Option<u64>,
}

pub struct Rewriter {
    pub port: u16,
    rules: Arc<Mutex<Vec<Rule>>>,
    task: JoinHandle<()>,
}

impl Rewriter {
    /// Relays 127.0.0.1:<a free port> to the gateway on 127.0.0.1:`target`.
    pub async fn start(target: u16) -> Rewriter {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the rewriter");
        let port = listener.local_addr().expect("rewriter address").port();
        let rules: Arc<Mutex<Vec<Rule>>> = Arc::default();
        let shared = rules.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, target, shared.clone()));
            }
        });
        Rewriter { port, rules, task }
    }

    /// From now on the first gateway event of `event_type` reaches the DO as `make(seq)`.
    pub fn rewrite(&self, event_type: &str, make: impl Fn(u64) -> String + Send + 'static) {
        self.rules.lock().expect("rules").push(Rule { event_type: event_type.into(), make: Box::new(make), seq: None });
    }

    /// The seqs rewritten so far, per rule (in the order the rules were added).
    pub fn rewritten(&self) -> Vec<(String, Option<u64>)> {
        self.rules.lock().expect("rules").iter().map(|r| (r.event_type.clone(), r.seq)).collect()
    }
}

impl Drop for Rewriter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn config() -> WebSocketConfig {
    let max = 4 * shared_types::MAX_FRAME_BYTES;
    WebSocketConfig::default().max_message_size(Some(max)).max_frame_size(Some(max))
}

async fn relay(client: tokio::net::TcpStream, target: u16, rules: Arc<Mutex<Vec<Rule>>>) {
    let mut asked: Option<(String, Option<String>)> = None;
    let capture = |req: &Request, res: Response| {
        let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
        asked = Some((req.uri().path().to_string(), auth));
        Ok(res)
    };
    let Ok(down) = tokio_tungstenite::accept_hdr_async_with_config(client, capture, Some(config())).await else { return };
    let Some((path, auth)) = asked else { return };
    let Ok(mut request) = format!("ws://127.0.0.1:{target}{path}").into_client_request() else { return };
    if let Some(auth) = auth.and_then(|a| a.parse().ok()) {
        request.headers_mut().insert("authorization", auth);
    }
    let Ok((up, _)) = tokio_tungstenite::connect_async_with_config(request, Some(config()), false).await else { return };
    let (mut down_tx, mut down_rx) = down.split();
    let (mut up_tx, mut up_rx) = up.split();
    let to_gateway = async {
        while let Some(Ok(message)) = down_rx.next().await {
            match message {
                Message::Text(_) | Message::Binary(_) | Message::Close(_) => {
                    if up_tx.send(message).await.is_err() {
                        break;
                    }
                }
                _ => {}
            }
        }
        let _ = up_tx.close().await;
    };
    let to_do = async {
        'relay: while let Some(Ok(message)) = up_rx.next().await {
            let messages = match message {
                // A batch is split into single event frames (valid on any link), so each event
                // can be rewritten on its own; the DO joins them again as they arrive together.
                Message::Text(text) => singles(text.as_str())
                    .into_iter()
                    .map(|t| Message::text(rewritten(&rules, &t).unwrap_or(t)))
                    .collect(),
                Message::Binary(_) | Message::Close(_) => vec![message],
                _ => continue,
            };
            for message in messages {
                if down_tx.send(message).await.is_err() {
                    break 'relay;
                }
            }
        }
        let _ = down_tx.close().await;
    };
    tokio::select! {
        _ = to_gateway => {}
        _ = to_do => {}
    }
}

/// A gateway frame as single frames: an `events` batch's elements, anything else as it is.
fn singles(text: &str) -> Vec<String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) if v.get("type").and_then(|t| t.as_str()) == Some(shared_types::gateway::EVENTS_FRAME) => v
            .get("events")
            .and_then(|e| e.as_array())
            .map(|events| events.iter().map(|e| e.to_string()).collect())
            .unwrap_or_else(|| vec![text.to_string()]),
        _ => vec![text.to_string()],
    }
}

/// The text that replaces a gateway frame, if a rule takes it.
fn rewritten(rules: &Mutex<Vec<Rule>>, text: &str) -> Option<String> {
    let frame: serde_json::Value = serde_json::from_str(text).ok()?;
    let seq = frame.get("seq")?.as_u64()?;
    let kind = frame.get("event")?.get("type")?.as_str()?;
    let mut rules = rules.lock().ok()?;
    let rule = rules.iter_mut().find(|r| r.seq == Some(seq) || (r.seq.is_none() && r.event_type == kind))?;
    rule.seq = Some(seq);
    Some((rule.make)(seq))
}
