//! The Duraclaw gateway: a tokio/axum daemon on 127.0.0.1 beside the code, and one detached
//! session runner per session.
//!
//! The daemon side:
//! - [`config`]: flags and env for the daemon and the runners.
//! - [`daemon`]: start-up checks (token, loopback), the axum router and its state.
//! - [`auth`]: bearer-token check (constant time) on every route but `/health`.
//! - [`projects`], [`confine`], [`git`], [`kata_status`]: projects, worktrees, files, diffs and
//!   kata state, with every request path confined to its project.
//! - [`link`]: `WS /sessions/:id/ws` (the Durable Object's link) and the session routes; it relays
//!   frames between the DO and the session's runner.
//! - [`supervisor`]: finds running runners by their sockets and starts new ones with `setsid`.
//!
//! The runner side ([`runner`]): one process per session that owns the `claude` CLI, numbers
//! every event into its SQLite [`outbox`] before sending it, gates tools through [`gate`], and
//! turns the CLI's stream-json into contract events with the pure [`translate`].

pub mod api_error;
pub mod auth;
pub mod config;
pub mod confine;
pub mod daemon;
pub mod gate;
pub mod git;
pub mod kata_status;
pub mod link;
pub mod outbox;
pub mod projects;
pub mod runner;
pub mod supervisor;
pub mod translate;

/// Logs to stderr; `RUST_LOG` filters (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
