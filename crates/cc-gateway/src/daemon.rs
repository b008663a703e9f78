//! The daemon's composition root: start-up checks, the state ([`crate::state`]) built once, the
//! axum router assembled from the route modules, graceful shutdown. Nothing imports this module;
//! it imports the rest.
//!
//! Start-up refuses to run without a token of at least [`MIN_TOKEN_BYTES`] bytes or on a
//! non-loopback address without `--allow-non-loopback` (DESIGN.md, invariant 6). The token is
//! removed from the environment before the runtime starts its threads, so that runners started
//! later never inherit it.
//!
//! Routes: `/health` is open; everything else (the project routes here, the session routes of
//! [`crate::link`], unknown paths) sits behind [`auth::require_bearer`].
//!
//! [`MIN_TOKEN_BYTES`]: crate::config::MIN_TOKEN_BYTES

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use tokio::sync::Notify;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::api_error::ApiError;
use crate::auth::{self, Token, TokenError, TOKEN_ENV};
use crate::config::DaemonConfig;
use crate::state::AppState;

/// The largest request body accepted (only worktree creation carries one).
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;
/// How long open connections get to finish after SIGTERM/SIGINT.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why the daemon did not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("refusing to listen on {0}: the gateway is meant for 127.0.0.1 behind a tunnel; pass --allow-non-loopback if you really want this")]
    NotLoopback(std::net::SocketAddr),
    #[error("cannot listen on {addr}: {source} (is another gateway running? choose another --bind)")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot find the daemon's own executable, which session runners are started from: {0}")]
    OwnExe(std::io::Error),
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

/// `cc-gateway serve`: checks, then serves until SIGTERM or SIGINT.
pub fn main(cfg: DaemonConfig) -> Result<(), Box<dyn std::error::Error>> {
    let token = Token::load(cfg.token_file.as_deref());
    // Still single-threaded here: nothing can read the environment while it changes.
    std::env::remove_var(TOKEN_ENV);
    let token = token.map_err(DaemonError::from)?;
    if !cfg.bind.ip().is_loopback() && !cfg.allow_non_loopback {
        return Err(DaemonError::NotLoopback(cfg.bind).into());
    }
    crate::supervisor::remember_runner_exe().map_err(DaemonError::OwnExe)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(DaemonError::Runtime)?;
    let dirs = cfg.dirs.clone();
    let state = AppState::new(cfg, token).with_busy_worktrees(move || crate::supervisor::busy_worktrees(&dirs));
    runtime.block_on(serve(state))?;
    Ok(())
}

/// Serves the router on `state.config.bind` until a shutdown signal, then gives open
/// connections [`SHUTDOWN_GRACE`] to finish.
pub async fn serve(state: AppState) -> Result<(), DaemonError> {
    let addr = state.config.bind;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| DaemonError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(DaemonError::Serve)?;
    tracing::info!(projects_root = %state.config.projects_root.display(), "listening on http://{local}");
    let stop = Arc::new(Notify::new());
    let signalled = stop.clone();
    let server = axum::serve(listener, router(state)).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("stopping: finishing open requests (runners keep running)");
        signalled.notify_one();
    });
    tokio::select! {
        result = server.into_future() => result.map_err(DaemonError::Serve),
        () = async { stop.notified().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            tracing::warn!("connections still open after {}s; closing them", SHUTDOWN_GRACE.as_secs());
            Ok(())
        }
    }
}

/// The whole HTTP surface: `/health` open, the rest behind the bearer token.
pub fn router(state: AppState) -> Router {
    let guarded = Router::new()
        .merge(crate::projects::router())
        .merge(crate::kata_status::router())
        .merge(crate::claude_sessions::router())
        .merge(crate::link::router())
        .fallback(unknown_route)
        .layer(middleware::from_fn_with_state(state.token.clone(), auth::require_bearer));
    Router::new()
        .route("/health", get(health))
        .merge(guarded)
        .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BODY_BYTES))
        .layer(middleware::map_response(body_limit_error))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `GET /health`: open, so that a load balancer or `curl` can tell the daemon is up.
async fn health() -> Json<shared_types::api::Health> {
    Json(shared_types::api::Health::up("cc-gateway", env!("CARGO_PKG_VERSION")))
}

/// Gives the body limit's bare-text 413 the error body every other error has.
async fn body_limit_error(response: Response) -> Response {
    let bare = response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/plain"));
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE || !bare {
        return response;
    }
    ApiError::TooLarge(format!("request bodies are limited to {MAX_REQUEST_BODY_BYTES} bytes")).into_response()
}

async fn unknown_route() -> ApiError {
    ApiError::NotFound("no such route".into())
}

/// Resolves on SIGTERM (systemd stop) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(e) => {
            tracing::warn!("cannot watch SIGTERM ({e}); only Ctrl-C stops the daemon gracefully");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
