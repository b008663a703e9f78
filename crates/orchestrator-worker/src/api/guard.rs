//! What every browser-facing route checks before its handler runs: a state-changing request
//! (POST, PUT, PATCH, DELETE) must come from an allowed `Origin` (403) and carry its body as
//! `application/json` (415), and so must the WebSocket upgrade's `Origin`.
//!
//! Allowed origins: the Worker's own (scheme, host and port of the request URL) and those listed,
//! comma-separated, in the `ALLOWED_ORIGINS` var. A request without `Origin` is not from a
//! browser page (browsers send it on every cross-site request, WebSocket upgrades and POSTs
//! included), so there is no cross-site page to defend against and only the cookie counts.
//!
//! The JSON rule closes what `Origin` alone leaves open: an HTML form (or a `no-cors` fetch) can
//! only send `text/plain`, `application/x-www-form-urlencoded` or `multipart/form-data`, and
//! none of those reaches a handler. A request with no body may omit the header.

use worker::{Env, Method, Request};

use super::error::ApiError;
use crate::rules::origin::{is_allowed, is_json};

/// Whether `method` changes state (and so is held to [`state_change`]).
pub fn changes_state(method: &Method) -> bool {
    matches!(method, Method::Post | Method::Put | Method::Patch | Method::Delete)
}

/// The checks of a state-changing request: its `Origin`, then its `Content-Type`.
pub fn state_change(req: &Request, env: &Env) -> Result<(), ApiError> {
    check_origin(req, env, "requests that change state")?;
    check_json_body(req)
}

/// 403 unless the request's `Origin` is absent, the Worker's own, or in `ALLOWED_ORIGINS`.
/// `what` names what was refused, for the message.
pub fn check_origin(req: &Request, env: &Env, what: &str) -> Result<(), ApiError> {
    let Some(origin) = req.headers().get("origin").ok().flatten() else { return Ok(()) };
    let own = req.url()?.origin().ascii_serialization();
    let listed = env.var("ALLOWED_ORIGINS").map(|v| v.to_string()).unwrap_or_default();
    if is_allowed(&origin, &own, &listed) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "origin {origin:?} refused: only {own} and the origins in ALLOWED_ORIGINS may send {what}"
    )))
}


/// 415 unless the body is declared `application/json` (parameters such as `charset` allowed),
/// or there is no body and no `Content-Type` at all.
fn check_json_body(req: &Request) -> Result<(), ApiError> {
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let has_body = header("transfer-encoding").is_some()
        || header("content-length").is_some_and(|n| n.trim().parse::<u64>().map_or(true, |n| n > 0));
    match header("content-type") {
        None if !has_body => Ok(()),
        Some(ct) if is_json(&ct) => Ok(()),
        found => Err(ApiError::UnsupportedMediaType(format!(
            "this route takes a JSON body with `Content-Type: application/json`, not {}",
            found.map_or_else(|| "a body without a Content-Type".to_string(), |ct| format!("{ct:?}"))
        ))),
    }
}
