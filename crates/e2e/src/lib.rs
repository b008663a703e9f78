//! Duraclaw's end-to-end harness: the whole stack, real, on one machine.
//!
//! - [`stack`]: starts and stops the processes: `wrangler dev` (the built Worker with its
//!   SessionDOs and D1, `--persist-to` a temp dir, vars from a generated env file), the real
//!   `cc-gateway serve`, the fake model (the only test double: it stands in for the Anthropic
//!   API), the real Claude Code CLI in a sandbox, a git project, and a TCP proxy that can go
//!   half-open.
//! - [`http`]: a small HTTP/1.1 client that signs up and keeps the login cookie.
//! - [`browser`]: a browser's session socket driven by `shared_types::SessionSync`, exactly as
//!   the dashboard drives it.
//! - [`proxy`]: the TCP proxy that stops forwarding without closing.
//! - [`rewrite`]: a WebSocket relay that rewrites chosen gateway events into frames the DO cannot
//!   read (a newer variant, an oversize frame), keeping their seqs.
//!
//! Nothing is skipped: a missing build, wrangler or gateway binary is a failure that says what
//! to run. Every wait is bounded ([`STEP`]); every process is killed when its handle drops.

pub mod browser;
pub mod http;
pub mod proxy;
pub mod rewrite;
pub mod stack;

use std::time::Duration;

/// The longest any single step may take (a turn of the real CLI, a restart, a redial).
pub const STEP: Duration = Duration::from_secs(60);

/// The repository root (wrangler.toml, build/).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository root")
}
