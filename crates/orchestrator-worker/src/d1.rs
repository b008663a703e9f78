//! The D1 database (binding `DB`): users, login sessions, failed-login counters and the sessions
//! index. The schema lives in `crates/orchestrator-worker/migrations/` (`wrangler d1 migrations`);
//! queries live beside the concept they serve (`auth::users`, `auth::login_session`,
//! `auth::rate_limit`, `session_index`). This file holds what they share.

use wasm_bindgen::JsValue;
use worker::{D1Database, D1Result, Env};

use crate::api::error::ApiError;

/// The binding name in wrangler.toml.
pub const BINDING: &str = "DB";

pub fn database(env: &Env) -> Result<D1Database, ApiError> {
    env.d1(BINDING).map_err(|e| {
        ApiError::Internal(format!("no D1 binding `{BINDING}` ({e}): check [[d1_databases]] in wrangler.toml"))
    })
}

/// Milliseconds since the Unix epoch, the unit of every timestamp column.
pub fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

pub fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

pub fn opt_text(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

/// An integer parameter (timestamps and counters stay far below 2^53).
pub fn int(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// How many rows a write changed.
pub fn changes(result: &D1Result) -> usize {
    result.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0)
}
