//! The Duraclaw gateway: a tokio/axum daemon on 127.0.0.1 beside the code, and one detached
//! session runner per session.
//!
//! The modules form layers, and imports only go down (`tests/layers.rs` fails on a cycle, and
//! on the runner importing an HTTP module):
//!
//! - The composition root, [`daemon`]: start-up checks (token, loopback), the state built once,
//!   the router assembled from the route modules, shutdown. Nothing imports it.
//! - The HTTP layer: [`state`] (the router's state and the parts handlers extract from it),
//!   [`auth`] (the bearer token, checked in constant time on every route but `/health`),
//!   [`api_error`] (every failure as `{"error":{"code","message"}}`), [`projects`] and
//!   [`kata_status`] (projects, worktrees, files, diffs, kata state), [`claude_sessions`] (the
//!   Claude Code sessions of a project's checkouts, started anywhere), [`link`]
//!   (`WS /sessions/:id/ws`, the Durable Object's link, relayed to the session's runner, and the
//!   session routes).
//! - [`supervisor`]: finds running runners by their sockets and starts new ones with `setsid`.
//! - The session runner ([`runner`]): one process per session that owns the `claude` CLI; its
//!   logic is a core with no I/O ([`runner::session`]) driven by a tokio shell.
//! - Below both, free of HTTP types: [`config`] (flags and env), [`checkout`] (which directory
//!   a project and worktree name lead to), [`confine`] (every request path kept inside its
//!   checkout), [`git`], [`kata`] (reading a checkout's kata state), [`outbox`] (every event
//!   numbered into SQLite before it is sent), [`gate`] (the tool policy), the pure
//!   [`translate`] (the CLI's stream-json into contract events), [`session_files`] (the CLI's
//!   own session files, read as hostile input) and [`claims`] (which Duraclaw session has which
//!   Claude session).

pub mod api_error;
pub mod auth;
pub mod checkout;
pub mod claims;
pub mod claude_sessions;
pub mod config;
pub mod confine;
pub mod daemon;
pub mod gate;
pub mod git;
pub mod kata;
pub mod kata_status;
pub mod link;
pub mod outbox;
pub mod projects;
pub mod runner;
pub mod session_files;
pub mod state;
pub mod supervisor;
pub mod translate;

/// Logs to stderr; `RUST_LOG` filters (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
