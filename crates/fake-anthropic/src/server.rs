//! The HTTP side: routes, the request log, scripted errors and streaming.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};

use crate::demo;
use crate::directive::{self, error_type, ErrorSpec};
use crate::reply::{self, Turn};
use crate::sse::{self, Message};

/// One HTTP request as the fake received it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, e.g. `/v1/messages?beta=true`.
    pub path: String,
    /// Header names in lower case; values that are not UTF-8 are replaced lossily.
    pub headers: BTreeMap<String, String>,
    /// The body as JSON; a body that is not JSON is kept as a JSON string, an empty one as null.
    pub body: Value,
}

/// What the fake shares between requests.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) log: Mutex<Vec<RecordedRequest>>,
    /// Requests already failed per (session, prompt, step), for `[[error:N times=K]]`.
    errors_served: Mutex<HashMap<String, u32>>,
    ids: Ids,
    /// Demo mode (see [`crate::demo`]): a plain prompt plays the demo session.
    pub(crate) demo: AtomicBool,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Shared {
            log: Mutex::default(),
            errors_served: Mutex::default(),
            ids: Ids::new(),
            demo: AtomicBool::new(false),
        }
    }
}

/// Unique ids: a random prefix per fake instance, so a resumed session served by a new fake
/// never sees a message or tool id repeated (clients merge assistant blocks by message id).
#[derive(Debug)]
struct Ids {
    prefix: u64,
    next: AtomicU64,
}

impl Ids {
    fn new() -> Self {
        Ids {
            prefix: RandomState::new().hash_one(std::process::id()),
            next: AtomicU64::new(1),
        }
    }

    fn make(&self, kind: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{kind}_fake_{:016x}{n:06}", self.prefix)
    }
}

/// Requests can carry a long history; the API accepts far more than axum's 2 MB default.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/_fake/requests", get(list_requests))
        .route("/_fake/demo", get(demo_state).post(set_demo))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

async fn list_requests(State(shared): State<Arc<Shared>>) -> Json<Vec<RecordedRequest>> {
    Json(lock(&shared.log).clone())
}

/// `POST /_fake/demo` with `{"on": true|false}`: demo mode on or off.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoSwitch {
    on: bool,
}

/// `GET /_fake/demo`: `{"demo": bool}`.
async fn demo_state(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({"demo": shared.demo.load(Ordering::Relaxed)}))
}

/// `POST /_fake/demo`: turns demo mode on or off; answers `{"demo": bool}` (the new state), or
/// 400 naming what is wrong with the body.
async fn set_demo(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<DemoSwitch>(&body) {
        Ok(switch) => {
            shared.demo.store(switch.on, Ordering::Relaxed);
            tracing::info!(on = switch.on, "demo mode");
            Json(json!({"demo": switch.on})).into_response()
        }
        Err(e) => api_error(
            &shared,
            400,
            &format!("POST /_fake/demo takes {{\"on\": true}} or {{\"on\": false}}: {e}"),
        ),
    }
}

async fn not_found(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&shared, &method, &uri, &headers, &body);
    tracing::info!(%method, %uri, "unknown route");
    api_error(
        &shared,
        404,
        &format!("{method} {} is not served by fake-anthropic", uri.path()),
    )
}

async fn count_tokens(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&shared, &method, &uri, &headers, &body);
    Json(json!({"input_tokens": estimate_tokens(&body)})).into_response()
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = record(&shared, &method, &uri, &headers, &body);
    if !parsed.is_object() {
        return api_error(&shared, 400, "the request body must be a JSON object");
    }
    let turn = match reply::read_turn(&parsed) {
        Ok(turn) => turn,
        Err(reason) => return api_error(&shared, 400, &reason),
    };
    let mut demo_turn = false;
    let reply = match directive::parse(&turn.prompt) {
        Err(e) => reply::text_reply(format!("fake-anthropic: {e}")),
        Ok(script) => {
            if let Some(spec) = script
                .error
                .filter(|s| should_fail(&shared, &headers, &turn, *s))
            {
                tracing::info!(status = spec.status, prompt = %turn.prompt, "scripted error");
                return api_error(&shared, spec.status, "scripted by fake-anthropic");
            }
            demo_turn = shared.demo.load(Ordering::Relaxed) && demo::applies(&turn, &script);
            if demo_turn {
                demo::respond(&turn, shared.ids.make("toolu"))
            } else {
                reply::respond(&turn, &script, shared.ids.make("toolu"))
            }
        }
    };
    tracing::info!(prompt = %turn.prompt, step = turn.tool_steps_done, demo = demo_turn, stop = reply.stop_reason, "reply");
    let id = shared.ids.make("msg");
    let model = parsed
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("claude-fake");
    let estimate = estimate_tokens(&body);
    let (input_tokens, cache_creation_input_tokens, cache_read_input_tokens) = if demo_turn {
        demo::usage(&turn, estimate)
    } else {
        (estimate, 0, 0)
    };
    let msg = Message {
        id: &id,
        model,
        input_tokens,
        cache_creation_input_tokens,
        cache_read_input_tokens,
        reply: &reply,
    };
    let request_id = shared.ids.make("req");
    if parsed.get("stream").and_then(Value::as_bool) == Some(true) {
        stream(msg, &request_id)
    } else {
        ([("request-id", request_id)], Json(sse::json_message(msg))).into_response()
    }
}

/// Whether this request should get the scripted error; counts it if so.
fn should_fail(shared: &Shared, headers: &HeaderMap, turn: &Turn, spec: ErrorSpec) -> bool {
    let session = headers
        .get("x-claude-code-session-id")
        .and_then(|v| v.to_str().ok());
    let key = format!(
        "{}\0{}\0{}",
        session.unwrap_or(""),
        turn.prompt,
        turn.tool_steps_done
    );
    let mut served = lock(&shared.errors_served);
    let count = served.entry(key).or_insert(0);
    let fail = spec.times.is_none_or(|times| *count < times);
    if fail {
        *count += 1;
    }
    fail
}

/// The SSE response; slow events wait inside the stream, so a client that hangs up
/// (a killed CLI) simply drops it.
fn stream(msg: Message<'_>, request_id: &str) -> Response {
    let events = sse::events(msg);
    let body = futures_util::stream::iter(events).then(|event| async move {
        if !event.delay.is_zero() {
            tokio::time::sleep(event.delay).await;
        }
        Ok::<_, Infallible>(event.frame())
    });
    let headers = [
        (header::CONTENT_TYPE, "text/event-stream".to_string()),
        (header::CACHE_CONTROL, "no-cache".to_string()),
        (
            header::HeaderName::from_static("request-id"),
            request_id.to_string(),
        ),
    ];
    (headers, Body::from_stream(body)).into_response()
}

/// An error in the API's shape: `{"type":"error","error":{"type","message"},"request_id"}`.
fn api_error(shared: &Shared, status: u16, message: &str) -> Response {
    let request_id = shared.ids.make("req");
    let body = json!({
        "type": "error",
        "error": {"type": error_type(status).unwrap_or("api_error"), "message": message},
        "request_id": request_id,
    });
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, [("request-id", request_id)], Json(body)).into_response()
}

/// Appends the request to the log and returns its body as JSON.
fn record(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Value {
    let parsed = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v,
        Err(_) if body.is_empty() => Value::Null,
        Err(_) => Value::String(String::from_utf8_lossy(body).into_owned()),
    };
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.to_string());
    let entry = RecordedRequest {
        method: method.to_string(),
        path,
        headers,
        body: parsed.clone(),
    };
    lock(&shared.log).push(entry);
    parsed
}

/// A rough token count (4 bytes a token).
fn estimate_tokens(body: &[u8]) -> u64 {
    (body.len() / 4).max(1) as u64
}

/// The fake's locks guard plain data, so a panic elsewhere never leaves it inconsistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
