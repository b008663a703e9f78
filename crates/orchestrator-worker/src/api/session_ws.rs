//! `GET /api/sessions/:id/ws`: the browser's live link to a session. The Worker checks the login
//! cookie (401), the `Origin` (403: no other site may open a socket with the user's cookie) and
//! ownership (404), then hands the upgrade to the session's Durable Object with the caller's
//! identity in `X-Duraclaw-User-Id` / `X-Duraclaw-User-Name` and its login in
//! `X-Duraclaw-Login-Id` (so that ending the login ends the socket), and returns the DO's 101.
//!
//! The `Origin` rule is [`super::guard::check_origin`], the same as for every state-changing
//! route.

use worker::{Env, Request, Response};

use super::error::ApiError;
use super::guard;
use super::sessions::owned;
use crate::auth::require_login;
use crate::session_stub::SessionStub;

pub async fn upgrade(req: Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let is_upgrade = req.headers().get("upgrade").ok().flatten().is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !is_upgrade {
        return Err(ApiError::Invalid("this route takes a WebSocket upgrade (`Upgrade: websocket`)".into()));
    }
    let login = require_login(&req, env).await?;
    guard::check_origin(&req, env, "session sockets")?;
    owned(&login.user, env, id).await?;
    SessionStub::get(env, id)?.websocket(&req, &login).await
}
