//! Duraclaw's Cloudflare Worker.
//!
//! Static dashboard assets are served by the platform (`[assets]` in wrangler.toml); requests for
//! `/api/*` and `/health` run this Worker first (`run_worker_first`). This file is the route table;
//! the pieces:
//!
//! - [`api`]: the HTTP handlers and the one error type every response goes through
//! - [`auth`]: users, passwords (PBKDF2 through WebCrypto), login sessions, the failed-login limit
//! - [`d1`]: the D1 binding and what the queries share (schema in `migrations/`)
//! - [`session_index`]: the D1 session list
//! - [`session_stub`]: the Worker's calls into a session's Durable Object
//! - [`gateway`]: the HTTP client for cc-gateway's project routes
//! - [`outbound`]: outgoing requests, built without `worker::RequestInit` (its `cf` options' code)
//! - `session_do`: the `SessionDO` Durable Object class (one per session)
//! - [`rules`]: the rules that need no runtime (cookies, origins, when to move the alarm), the
//!   only part that builds natively
//!
//! **Architecture invariant:** every state-changing request (POST, PUT, PATCH, DELETE) passes
//! `api::guard::state_change` (allowed `Origin`, JSON body) before any handler runs; every
//! `/api/sessions/:id...` route, the WebSocket upgrade
//! included, goes through `api::sessions::owned` before it reaches a Durable Object; the DOs have
//! no route of their own.

// Natively only `rules` builds (its unit tests); everything else needs workerd and builds for
// wasm32 only, so `cargo test` never compiles the `worker` crate and the browser bindings.
pub mod rules;

#[cfg(target_arch = "wasm32")]
pub mod api;
#[cfg(target_arch = "wasm32")]
pub mod auth;
#[cfg(target_arch = "wasm32")]
pub mod d1;
#[cfg(target_arch = "wasm32")]
pub mod gateway;
#[cfg(target_arch = "wasm32")]
pub mod outbound;
#[cfg(target_arch = "wasm32")]
pub mod session_index;
#[cfg(target_arch = "wasm32")]
pub mod session_stub;
#[cfg(target_arch = "wasm32")]
mod session_do;
#[cfg(target_arch = "wasm32")]
use shared_types::api::Health;
#[cfg(target_arch = "wasm32")]
use worker::*;
#[cfg(target_arch = "wasm32")]
use api::error::{json_response, ApiError};

/// The body of `GET /health`.
#[cfg(target_arch = "wasm32")]
pub fn health() -> Health {
    Health::up("orchestrator-worker", env!("CARGO_PKG_VERSION"))
}

#[cfg(target_arch = "wasm32")]
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    Ok(route(req, &env).await.unwrap_or_else(ApiError::into_response))
}

/// The route table.
#[cfg(target_arch = "wasm32")]
async fn route(req: Request, env: &Env) -> std::result::Result<Response, ApiError> {
    use api::{auth, projects, session_ws, sessions};
    let path = req.path();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if api::guard::changes_state(&req.method()) {
        api::guard::state_change(&req, env)?;
    }
    match (req.method(), segments.as_slice()) {
        (Method::Get, ["health"] | ["api", "health"]) => Ok(json_response(200, &health())),
        (Method::Get, ["api", "auth", "setup"]) => auth::setup_state(env).await,
        (Method::Post, ["api", "auth", "signup"]) => auth::signup(req, env).await,
        (Method::Post, ["api", "auth", "login"]) => auth::login(req, env).await,
        (Method::Post, ["api", "auth", "logout"]) => auth::logout(req, env).await,
        (Method::Post, ["api", "auth", "password"]) => auth::change_password(req, env).await,
        (Method::Get, ["api", "me"]) => auth::me(req, env).await,
        (Method::Post, ["api", "admin", "users"]) => auth::create_user(req, env).await,
        (Method::Patch, ["api", "admin", "users", name]) => auth::update_user(req, env, name).await,
        (Method::Get, ["api", "projects"]) => projects::list(req, env).await,
        (Method::Post, ["api", "projects", name, "worktrees"]) => projects::create_worktree(req, env, name).await,
        (Method::Get, ["api", "projects", name, view]) if projects::VIEWS.iter().any(|(v, _)| v == view) => {
            projects::view(req, env, name, view).await
        }
        (Method::Get, ["api", "sessions"]) => sessions::list(req, env).await,
        (Method::Post, ["api", "sessions"]) => sessions::create(req, env).await,
        (Method::Get, ["api", "sessions", id]) => sessions::get(req, env, id).await,
        (Method::Patch, ["api", "sessions", id]) => sessions::rename(req, env, id).await,
        (Method::Get, ["api", "sessions", id, "events"]) => sessions::events(req, env, id).await,
        (Method::Get, ["api", "sessions", id, "ws"]) => session_ws::upgrade(req, env, id).await,
        (method, _) => Err(ApiError::NotFound(format!("no route {method} {path}"))),
    }
}
