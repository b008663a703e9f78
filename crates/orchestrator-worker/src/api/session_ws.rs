//! `GET /api/sessions/:id/ws`: the browser's live link to a session. The Worker checks the login
//! cookie (401), the `Origin` (403: no other site may open a socket with the user's cookie) and
//! ownership (404), then hands the upgrade to the session's Durable Object with the caller's
//! identity in `X-Duraclaw-User-Id` / `X-Duraclaw-User-Name`, and returns the DO's 101.
//!
//! Allowed origins: the Worker's own (scheme, host and port of the request URL) and those listed,
//! comma-separated, in the `ALLOWED_ORIGINS` var. A request without `Origin` is not from a
//! browser page (browsers always send it on WebSocket upgrades), so there is no cross-site page
//! to defend against and only the cookie counts.

use worker::{Env, Request, Response};

use super::error::ApiError;
use super::sessions::owned;
use crate::auth::require_user;
use crate::session_stub::SessionStub;

pub async fn upgrade(req: Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let is_upgrade = req.headers().get("upgrade").ok().flatten().is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_upgrade {
        return Err(ApiError::Invalid("this route takes a WebSocket upgrade (`Upgrade: websocket`)".into()));
    }
    let user = require_user(&req, env).await?;
    check_origin(&req, env)?;
    owned(&user, env, id).await?;
    SessionStub::get(env, id)?.websocket(&req, &user).await
}

fn check_origin(req: &Request, env: &Env) -> Result<(), ApiError> {
    let Some(origin) = req.headers().get("origin").ok().flatten() else { return Ok(()) };
    let own = req.url()?.origin().ascii_serialization();
    let listed = env.var("ALLOWED_ORIGINS").map(|v| v.to_string()).unwrap_or_default();
    let allowed = origin == own || listed.split(',').map(|o| o.trim().trim_end_matches('/')).any(|o| !o.is_empty() && o == origin);
    if allowed {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "WebSocket from origin {origin:?} refused: only {own} and the origins in ALLOWED_ORIGINS may open session sockets"
    )))
}
