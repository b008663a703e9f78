//! The Durable Object's link: `WS /sessions/{id}/ws`, relayed to the session's runner, plus the
//! session routes `GET /sessions` and `GET /sessions/{id}/status`.
//!
//! The daemon holds no session state: it checks every frame (a malformed, unknown or oversize
//! one gets an error frame and the link stays up), forwards the rest to the runner's socket and
//! the runner's frames back. A runner that is not running is started on demand: for
//! `session.create` in the worktree the config names (confined to the projects root), for any
//! other command when the session is known here. The link is known alive: the DO's `ping`s are
//! answered by the runner, the daemon pings every heartbeat, and a link silent for the silence
//! timeout (half-open included) is closed so the DO dials again.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use shared_types::codec::{decode_command, encode};
use shared_types::gateway::{GatewayControl, GatewayFrame};
use shared_types::{ErrorCode, GatewayCommand, MAX_FRAME_BYTES};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::time::Instant;
use tracing::Instrument;

use crate::api_error::ApiError;
use crate::checkout::checkout_dir;
use crate::config::valid_session_id;
use crate::state::{AppState, Checkouts, Runners};
use crate::supervisor::{self, SessionInfo};

/// Frames above the contract's limit are read (up to twice it) so they can be refused politely.
const WS_READ_LIMIT: usize = 2 * MAX_FRAME_BYTES;
/// How long a new link may take to say what it wants when no runner is up.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(30);
/// Close code when the runner went away (the DO redials on demand).
const CLOSE_RUNNER_GONE: u16 = 1012;
/// Close code for a link that went silent.
const CLOSE_SILENT: u16 = 1001;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(list))
        .route("/sessions/{id}/status", get(status))
        .route("/sessions/{id}/ws", get(upgrade))
}

fn checked(id: &str) -> Result<&str, ApiError> {
    if valid_session_id(id) {
        Ok(id)
    } else {
        Err(ApiError::InvalidInput(format!("invalid session id {id:?}: use 1-64 of A-Z a-z 0-9 - _")))
    }
}

async fn list(State(runners): State<Runners>) -> Json<Vec<SessionInfo>> {
    Json(supervisor::sessions(&runners.dirs))
}

async fn status(State(runners): State<Runners>, Path(id): Path<String>) -> Result<Json<SessionInfo>, ApiError> {
    let id = checked(&id)?;
    if !supervisor::known(&runners.dirs, id) {
        return Err(ApiError::NotFound(format!("no session {id} on this gateway")));
    }
    Ok(Json(supervisor::info(&runners.dirs, id)))
}

/// What one link needs: the runners it relays to, and the checkouts a `session.create` names.
struct Link {
    runners: Runners,
    checkouts: Checkouts,
}

async fn upgrade(
    State(runners): State<Runners>,
    State(checkouts): State<Checkouts>,
    Path(id): Path<String>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let id = checked(&id)?.to_string();
    let span = tracing::info_span!("link", session_id = %id);
    let state = Link { runners, checkouts };
    Ok(ws
        .max_message_size(WS_READ_LIMIT)
        .max_frame_size(WS_READ_LIMIT)
        .on_upgrade(move |socket| link(socket, id, state).instrument(span)))
}

async fn link(mut ws: WebSocket, id: String, state: Link) {
    tracing::info!("link open");
    let (runner, first) = match supervisor::connect(&state.runners.dirs, &id).await {
        Ok(runner) => (runner, None),
        Err(_) => match start_on_demand(&mut ws, &id, &state).await {
            Some(started) => started,
            None => return,
        },
    };
    relay(ws, runner, first, &state).await;
    tracing::info!("link closed");
}

/// No runner is up: read frames until one says what to start, answering errors meanwhile.
async fn start_on_demand(ws: &mut WebSocket, id: &str, state: &Link) -> Option<(UnixStream, Option<String>)> {
    let deadline = Instant::now() + FIRST_FRAME_TIMEOUT;
    loop {
        let text = match tokio::time::timeout_at(deadline, ws.recv()).await {
            Ok(Some(Ok(Message::Text(text)))) => text.to_string(),
            Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) | Err(_) => return None,
            Ok(Some(Ok(_))) => continue,
        };
        let started = match decode_command(&text) {
            Err(e) => Err((e.code(), e.to_string())),
            Ok(GatewayCommand::Ping) => {
                send(ws, &GatewayFrame::Control(GatewayControl::Pong)).await;
                continue;
            }
            Ok(GatewayCommand::Create { config }) => {
                let root = &state.checkouts.projects_root;
                match checkout_dir(root, &config.project, config.worktree.as_deref()).await {
                    Ok(cwd) => start(&state.runners, id, Some(&cwd)).await,
                    Err(e) => {
                        let e = ApiError::from(e);
                        Err((e.code(), e.to_string()))
                    }
                }
            }
            Ok(_) if supervisor::known(&state.runners.dirs, id) => start(&state.runners, id, None).await,
            Ok(_) => Err((ErrorCode::NotFound, format!("no session {id} on this gateway: send session.create first"))),
        };
        match started {
            Ok(runner) => return Some((runner, Some(text))),
            Err((code, message)) => send(ws, &GatewayFrame::Control(GatewayControl::Error { code, message })).await,
        }
    }
}

async fn start(runners: &Runners, id: &str, cwd: Option<&std::path::Path>) -> Result<UnixStream, (ErrorCode, String)> {
    supervisor::start(&runners.dirs, &runners.settings, id, cwd)
        .await
        .map_err(|e| (ErrorCode::Internal, e.to_string()))
}

async fn send(ws: &mut WebSocket, frame: &GatewayFrame) {
    let _ = ws.send(Message::Text(encode(frame).into())).await;
}

/// Relays frames both ways until either side goes away or the link falls silent.
async fn relay(ws: WebSocket, runner: UnixStream, first: Option<String>, state: &Link) {
    let settings = &state.runners.settings;
    let silence = Duration::from_secs(settings.silence_secs);
    let (mut sink, mut stream) = ws.split();
    let (runner_read, mut runner_write) = runner.into_split();
    let mut runner_lines = BufReader::new(runner_read).lines();
    if let Some(first) = first {
        if runner_write.write_all(format!("{first}\n").as_bytes()).await.is_err() {
            return;
        }
    }
    let mut heartbeat = tokio::time::interval(Duration::from_secs(settings.heartbeat_secs.max(1)));
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            message = stream.next() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        last_heard = Instant::now();
                        let error = GatewayControl::Error { code: ErrorCode::BadFrame, message: "frames are JSON text, not binary".into() };
                        if !push(&mut sink, Message::Text(encode(&GatewayFrame::Control(error)).into()), silence).await { break; }
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => { last_heard = Instant::now(); continue; }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                };
                last_heard = Instant::now();
                let forwarded = match decode_command(&text) {
                    Ok(_) => runner_write.write_all(format!("{text}\n").as_bytes()).await.is_ok(),
                    Err(e) => {
                        let error = GatewayControl::Error { code: e.code(), message: e.to_string() };
                        push(&mut sink, Message::Text(encode(&GatewayFrame::Control(error)).into()), silence).await
                    }
                };
                if !forwarded { break; }
            }
            line = runner_lines.next_line() => match line {
                Ok(Some(line)) => if !push(&mut sink, Message::Text(line.into()), silence).await { break },
                _ => {
                    tracing::info!("the runner closed its socket; closing the link (the DO redials when it needs the session)");
                    let close = CloseFrame { code: CLOSE_RUNNER_GONE, reason: "session runner exited".into() };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    break;
                }
            },
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > silence {
                    tracing::warn!("link silent for {}s (half-open?): closing it so the DO dials again", silence.as_secs());
                    let close = CloseFrame { code: CLOSE_SILENT, reason: "link silent".into() };
                    let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(Message::Close(Some(close)))).await;
                    break;
                }
                if !push(&mut sink, Message::Ping(Vec::new().into()), silence).await { break; }
            }
        }
    }
}

/// Sends within `within`: a peer that stops reading (a half-open link with full buffers) must
/// not stall the relay, or its silence could never be noticed.
async fn push(sink: &mut futures_util::stream::SplitSink<WebSocket, Message>, message: Message, within: Duration) -> bool {
    matches!(tokio::time::timeout(within, sink.send(message)).await, Ok(Ok(())))
}
