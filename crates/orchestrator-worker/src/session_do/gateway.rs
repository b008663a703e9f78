//! The outbound link to the gateway: a fetch with `Upgrade: websocket` and the bearer token in
//! `Authorization` (never in the URL), then a reader task that feeds every frame to the core in
//! order until the socket closes.
//!
//! The core decides when to dial, ping, close and redial (session-core's `link`); this file
//! carries it out. Each socket gets an epoch: a socket the shell closed on purpose (idle, silent,
//! replaced) never reports its own close, so the core hears about each link's end once.

use std::rc::Rc;

use futures_util::{FutureExt, StreamExt};
use worker::{Fetch, Headers, Method, Request, WebSocket, WebsocketEvent};

use super::Shell;

/// The most frames, and bytes of them, that one core input takes from the link's queue.
const DRAIN_FRAMES: usize = 256;
const DRAIN_BYTES: usize = 1024 * 1024;

/// How a dial ended.
pub enum Dialled {
    /// The socket is open; its reader reports `link_up` and everything after.
    Opened,
    Failed,
    /// A newer dial started meanwhile: this one's result was dropped.
    Stale,
}

/// Opens the link. Never fails loudly: an error is a `Failed` that the core backs off from.
pub async fn dial(shell: &Rc<Shell>) -> Dialled {
    let attempt = shell.dial_attempt.get() + 1;
    shell.dial_attempt.set(attempt);
    let session_id = match shell.with_core(|core| core.meta()) {
        Ok(Some(meta)) => meta.id,
        Ok(None) => return Dialled::Failed,
        Err(e) => {
            worker::console_error!("cannot dial: {e}");
            return Dialled::Failed;
        }
    };
    let Some(url) = shell.settings.link_url(&session_id) else {
        worker::console_error!("session {session_id}: CC_GATEWAY_URL is not set: the gateway cannot be reached (set it in wrangler.toml [vars] or .dev.vars)");
        return Dialled::Failed;
    };
    let request = match link_request(shell, &url) {
        Ok(r) => r,
        Err(e) => {
            worker::console_error!("session {session_id}: cannot build the link request to {url}: {e}");
            return Dialled::Failed;
        }
    };
    let result = Fetch::Request(request).send().await;
    if shell.dial_attempt.get() != attempt {
        if let Some(ws) = result.ok().and_then(|r| r.websocket()) {
            let _ = ws.close(Some(1000), Some("superseded"));
        }
        return Dialled::Stale;
    }
    match result {
        Ok(response) => {
            let status = response.status_code();
            match response.websocket() {
                Some(ws) => {
                    wasm_bindgen_futures::spawn_local(read(shell.clone(), ws));
                    Dialled::Opened
                }
                None => {
                    worker::console_error!("session {session_id}: the gateway at {url} answered {status} instead of a WebSocket (check CC_GATEWAY_SECRET and the URL)");
                    Dialled::Failed
                }
            }
        }
        Err(e) => {
            worker::console_warn!("session {session_id}: cannot reach the gateway at {url}: {e}; retrying with backoff");
            Dialled::Failed
        }
    }
}

fn link_request(shell: &Shell, url: &str) -> worker::Result<Request> {
    let headers = Headers::new();
    headers.set("Upgrade", "websocket")?;
    if let Some(secret) = &shell.settings.gateway_secret {
        headers.set("Authorization", &format!("Bearer {secret}"))?;
    }
    if let Some((id, secret)) = &shell.settings.access {
        headers.set("CF-Access-Client-Id", id)?;
        headers.set("CF-Access-Client-Secret", secret)?;
    }
    crate::outbound::request(url, Method::Get, &headers, None, crate::outbound::Redirect::Follow)
}

/// The link's reader: listens before accepting (a frame is never missed), reports `link_up`,
/// then each frame in order, then the close.
async fn read(shell: Rc<Shell>, ws: WebSocket) {
    let mut events = match ws.events() {
        Ok(events) => events,
        Err(e) => {
            worker::console_error!("cannot listen on the gateway link: {e}");
            shell.link_input(|core, now| core.dial_failed(now)).await;
            return;
        }
    };
    if let Err(e) = ws.accept() {
        worker::console_error!("cannot accept the gateway link: {e}");
        shell.link_input(|core, now| core.dial_failed(now)).await;
        return;
    }
    let epoch = shell.install_gateway(ws.clone());
    shell.link_input(|core, now| core.link_up(now)).await;
    let mut next = events.next().await;
    while let Some(event) = next.take() {
        if !shell.is_current_gateway(epoch) {
            return;
        }
        match event {
            Ok(WebsocketEvent::Message(message)) => {
                // Every message already waiting joins this one: one core input (one batch of
                // statements, one ack, one frame per browser) however the gateway framed them.
                let mut texts: Vec<String> = message.text().into_iter().collect();
                let mut bytes = texts.first().map_or(0, String::len);
                while bytes < DRAIN_BYTES && texts.len() < DRAIN_FRAMES {
                    match events.next().now_or_never() {
                        Some(Some(Ok(WebsocketEvent::Message(m)))) => match m.text() {
                            Some(text) => {
                                bytes += text.len();
                                texts.push(text);
                            }
                            None => worker::console_warn!("a binary frame from the gateway was ignored"),
                        },
                        Some(Some(other)) => {
                            next = Some(other);
                            break;
                        }
                        Some(None) => break, // the stream ended: the next read says so
                        None => break,
                    }
                }
                if !texts.is_empty() {
                    shell.link_input(|core, now| core.on_gateway_texts(&texts, now)).await;
                }
                if next.is_none() {
                    next = events.next().await;
                }
            }
            Ok(WebsocketEvent::Close(close)) => {
                worker::console_log!("the gateway closed the link ({} {})", close.code(), close.reason());
                break;
            }
            Err(e) => {
                worker::console_warn!("the gateway link failed: {e}");
                break;
            }
        }
    }
    if shell.is_current_gateway(epoch) {
        shell.forget_gateway();
        shell.link_input(|core, now| core.link_closed(now)).await;
    }
}
