//! The Worker's JSON API, as the dashboard calls it: `fetch` with the session cookie, typed
//! responses, and every failure as an [`ApiError`] carrying the API's `{error:{code,message}}`.
//!
//! The bodies are `shared_types::api`, the same types the Worker and the gateway write, so the
//! dashboard reads exactly what they send (unknown fields are ignored, nothing else is guessed).

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;
use shared_types::ErrorBody;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::auth;

/// A failed API call: the HTTP status (0 when the request never got an answer) and the API's
/// error code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ApiError {
    fn network(e: JsValue) -> Self {
        let detail = e.as_string().or_else(|| js_sys::Error::from(e).message().as_string()).unwrap_or_default();
        ApiError { status: 0, code: "network".into(), message: format!("cannot reach the server: {detail}") }
    }
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    decode(path, fetch("GET", path, None).await?)
}

pub async fn post<T: DeserializeOwned>(path: &str, body: &impl Serialize) -> Result<T, ApiError> {
    decode(path, fetch("POST", path, Some(encode(body)?)).await?)
}

/// A state change whose answer the dashboard does not read: success is the status (the answer
/// is still the route's `shared_types::api` body; decoding it only to drop it would cost code).
pub async fn submit(method: &str, path: &str, body: &impl Serialize) -> Result<(), ApiError> {
    fetch(method, path, Some(encode(body)?)).await.map(drop)
}

fn encode(body: &impl Serialize) -> Result<String, ApiError> {
    serde_json::to_string(body).map_err(|e| ApiError { status: 0, code: "internal".into(), message: e.to_string() })
}

/// The answer's body as `T`; an answer of another shape is an error naming the route.
fn decode<T: DeserializeOwned>(path: &str, (status, text): (u16, String)) -> Result<T, ApiError> {
    serde_json::from_str(&text).map_err(|e| ApiError {
        status,
        code: "bad_response".into(),
        message: format!("unexpected answer from {path}: {e}"),
    })
}

/// Sends one request with the session cookie; a 2xx answer's status and text, or the API's
/// error (a 401 outside the auth routes also signs the dashboard out).
async fn fetch(method: &str, path: &str, body: Option<String>) -> Result<(u16, String), ApiError> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(ApiError::network)?;
    headers.set("accept", "application/json").map_err(ApiError::network)?;
    if let Some(body) = body {
        headers.set("content-type", "application/json").map_err(ApiError::network)?;
        init.set_body(&JsValue::from_str(&body));
    }
    init.set_headers(&headers);
    let window = web_sys::window().ok_or_else(|| ApiError::network(JsValue::from_str("no window")))?;
    let resp = JsFuture::from(window.fetch_with_str_and_init(path, &init)).await.map_err(ApiError::network)?;
    let resp: web_sys::Response = resp.dyn_into().map_err(ApiError::network)?;
    let status = resp.status();
    let text = JsFuture::from(resp.text().map_err(ApiError::network)?).await.map_err(ApiError::network)?;
    let text = text.as_string().unwrap_or_default();
    if resp.ok() {
        return Ok((status, text));
    }
    let error = match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => ApiError { status, code: error_code_name(&body), message: body.error.message },
        Err(_) => ApiError { status, code: "http".into(), message: format!("{path}: HTTP {status}") },
    };
    if status == 401 && !path.starts_with("/api/auth/") && path != "/api/me" {
        auth::signed_out();
    }
    Err(error)
}

fn error_code_name(body: &ErrorBody) -> String {
    serde_json::to_value(body.error.code).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// `?worktree=..` (or nothing) for the project routes.
pub fn worktree_query(worktree: Option<&str>) -> String {
    worktree.map(|w| format!("worktree={}", crate::route::enc(w))).unwrap_or_default()
}
