//! The Worker's JSON API, as the dashboard calls it: `fetch` with the session cookie, typed
//! responses, and every failure as an [`ApiError`] carrying the API's `{error:{code,message}}`.
//!
//! The response shapes below are the HTTP API's (the Worker's routes), read leniently: unknown
//! fields are ignored and missing optional ones default, so the API can grow without breaking
//! the dashboard. The session socket's frames are not here: they are `shared_types`' contract.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared_types::{ErrorBody, KataState, PermissionMode, ToolPolicy};
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
    request("GET", path, None).await
}

/// `GET` an answer that is `T` itself or wrapped as `{key: T}` (the API names some answers:
/// `{"user": ...}`, `{"sessions": [...]}`).
pub async fn get_in<T: DeserializeOwned>(path: &str, key: &str) -> Result<T, ApiError> {
    let mut answer: Value = get(path).await?;
    let inner = match answer.get_mut(key) {
        Some(inner) => inner.take(),
        None => answer,
    };
    serde_json::from_value(inner).map_err(|e| ApiError {
        status: 200,
        code: "bad_response".into(),
        message: format!("unexpected answer from {path}: {e}"),
    })
}

pub async fn post<T: DeserializeOwned>(path: &str, body: &impl Serialize) -> Result<T, ApiError> {
    let body = serde_json::to_string(body).map_err(|e| ApiError { status: 0, code: "internal".into(), message: e.to_string() })?;
    request("POST", path, Some(body)).await
}

pub async fn patch<T: DeserializeOwned>(path: &str, body: &impl Serialize) -> Result<T, ApiError> {
    let body = serde_json::to_string(body).map_err(|e| ApiError { status: 0, code: "internal".into(), message: e.to_string() })?;
    request("PATCH", path, Some(body)).await
}

async fn request<T: DeserializeOwned>(method: &str, path: &str, body: Option<String>) -> Result<T, ApiError> {
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
        let text = if text.trim().is_empty() { "null" } else { text.as_str() };
        return serde_json::from_str(text).map_err(|e| ApiError {
            status,
            code: "bad_response".into(),
            message: format!("unexpected answer from {path}: {e}"),
        });
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

/// `GET /api/me`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Me {
    pub name: String,
    #[serde(default)]
    pub is_admin: bool,
}

/// `{name, password}` for login and adding a user.
#[derive(Serialize)]
pub struct Credentials<'a> {
    pub name: &'a str,
    pub password: &'a str,
}

/// `POST /api/auth/password`.
#[derive(Serialize)]
pub struct PasswordChange<'a> {
    pub current_password: &'a str,
    pub new_password: &'a str,
}

/// `PATCH /api/admin/users/:name`.
#[derive(Serialize)]
pub struct UserChange {
    pub disabled: bool,
}

/// `POST /api/auth/signup`: the first admin, with the operator's one-time set-up code.
#[derive(Serialize)]
pub struct SignUp<'a> {
    pub name: &'a str,
    pub password: &'a str,
    pub setup_code: &'a str,
}

/// `POST /api/admin/users`.
#[derive(Serialize)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub password: &'a str,
    pub is_admin: bool,
}

/// A row of `GET /api/sessions` (newest first).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SessionRow {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub worktree: Option<String>,
    /// `"running"` or a `SessionStatus` object (`{"state": "running"}`): see [`status_name`].
    #[serde(default)]
    pub status: Value,
    #[serde(default)]
    pub cost_usd: f64,
    #[serde(default)]
    pub last_seq: u64,
    #[serde(default)]
    pub created_at: Value,
    #[serde(default)]
    pub updated_at: Value,
}

impl SessionRow {
    pub fn status_name(&self) -> String {
        status_name(&self.status)
    }

    pub fn needs_user(&self) -> bool {
        matches!(self.status_name().as_str(), "awaiting_approval" | "awaiting_answer")
    }

    /// Last activity, in ms since the epoch.
    pub fn updated_ms(&self) -> f64 {
        timestamp_ms(&self.updated_at).or_else(|| timestamp_ms(&self.created_at)).unwrap_or(0.0)
    }
}

/// A status as a bare name, whether the API sent a string or a `SessionStatus` object.
pub fn status_name(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => o.get("state").and_then(Value::as_str).unwrap_or("unknown").to_string(),
        _ => "unknown".into(),
    }
}

/// Milliseconds since the epoch from a number (ms, or seconds when small) or an ISO string.
fn timestamp_ms(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().map(|n| if n < 1e11 { n * 1000.0 } else { n }),
        Value::String(s) => Some(js_sys::Date::parse(s)).filter(|n| n.is_finite()),
        _ => None,
    }
}

/// A checkout in `GET /api/projects`: a project's main checkout (with its `worktrees`) or a
/// linked worktree.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Checkout {
    pub name: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub dirty: bool,
    #[serde(default)]
    pub upstream: Option<String>,
    #[serde(default)]
    pub ahead: Option<u64>,
    #[serde(default)]
    pub behind: Option<u64>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub worktrees: Vec<Checkout>,
}

/// `POST /api/projects/:name/worktrees`.
#[derive(Serialize)]
pub struct NewWorktree {
    pub branch: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

/// An entry of `GET /api/projects/:name/files`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DirEntry {
    pub name: String,
    /// `file`, `dir`, `symlink` or `other`.
    pub kind: String,
    #[serde(default)]
    pub size: Option<u64>,
}

/// `GET /api/projects/:name/file`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FileContent {
    pub path: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub binary: bool,
    #[serde(default)]
    pub content: Option<String>,
}

/// A file of `GET /api/projects/:name/diff`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FileDiff {
    pub path: String,
    pub status: String,
    #[serde(default)]
    pub additions: Option<u64>,
    #[serde(default)]
    pub deletions: Option<u64>,
    #[serde(default)]
    pub patch: String,
}

/// `GET /api/projects/:name/kata-status`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KataStatus {
    #[serde(default)]
    pub kata_state: Option<KataState>,
}

/// `POST /api/sessions`.
#[derive(Serialize)]
pub struct NewSession {
    pub project: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worktree: Option<String>,
    pub prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub permission_mode: PermissionMode,
    pub policy: ToolPolicy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Created {
    pub id: String,
}

/// `?worktree=..` (or nothing) for the project routes.
pub fn worktree_query(worktree: Option<&str>) -> String {
    worktree.map(|w| format!("worktree={}", crate::route::enc(w))).unwrap_or_default()
}
