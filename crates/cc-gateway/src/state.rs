//! The daemon's state: built once by the composition root ([`crate::daemon`]), handed to the
//! router, and taken apart by axum's [`FromRef`]: each handler and middleware extracts only the
//! part it needs (`State<Checkouts>`, `State<Runners>`, `State<Arc<Token>>`...), so its
//! signature says what it can touch and no route module depends on the whole.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::FromRef;

use crate::auth::Token;
use crate::claims::Claims;
use crate::config::{DaemonConfig, Dirs, RunnerSettings};
use crate::session_files;

/// The worktrees that sessions are running in right now, as paths. Deleting one of them is
/// refused with 409. The default knows of no session; the supervisor plugs in the real answer
/// with [`AppState::with_busy_worktrees`].
pub type BusyWorktrees = Arc<dyn Fn() -> Vec<PathBuf> + Send + Sync>;

/// What the checkout routes need (projects, worktrees, files, diffs, kata state): where the
/// projects are and how much of one file a route may read.
#[derive(Clone)]
pub struct Checkouts {
    pub projects_root: Arc<Path>,
    pub max_file_bytes: u64,
}

/// What the session routes and the link need to find, start and talk to runners.
#[derive(Clone)]
pub struct Runners {
    pub dirs: Arc<Dirs>,
    pub settings: Arc<RunnerSettings>,
}

/// What the routes about Claude Code's own sessions read: where the CLI records them (as the
/// runners' CLIs will, from the gateway's `CLAUDE_CONFIG_DIR` or `HOME`; `None` without either)
/// and which of them Duraclaw sessions have.
#[derive(Clone)]
pub struct ClaudeFiles {
    pub projects_dir: Option<Arc<Path>>,
    pub claims: Claims,
}

/// The whole state; only the composition root builds it.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<DaemonConfig>,
    pub checkouts: Checkouts,
    pub runners: Runners,
    pub claude_files: ClaudeFiles,
    pub token: Arc<Token>,
    pub busy_worktrees: BusyWorktrees,
}

impl AppState {
    pub fn new(config: DaemonConfig, token: Token) -> Self {
        let checkouts = Checkouts { projects_root: config.projects_root.as_path().into(), max_file_bytes: config.max_file_bytes };
        let runners = Runners { dirs: Arc::new(config.dirs.clone()), settings: Arc::new(config.runner.clone()) };
        let claude_files = ClaudeFiles {
            projects_dir: session_files::projects_dir().map(Into::into),
            claims: Claims::new(&config.dirs.state_dir),
        };
        AppState { config: Arc::new(config), checkouts, runners, claude_files, token: Arc::new(token), busy_worktrees: Arc::new(Vec::new) }
    }

    /// Replaces the busy-worktree hook (the supervisor's list of sessions' worktrees).
    pub fn with_busy_worktrees(mut self, busy: impl Fn() -> Vec<PathBuf> + Send + Sync + 'static) -> Self {
        self.busy_worktrees = Arc::new(busy);
        self
    }
}

impl FromRef<AppState> for Checkouts {
    fn from_ref(state: &AppState) -> Self {
        state.checkouts.clone()
    }
}

impl FromRef<AppState> for Runners {
    fn from_ref(state: &AppState) -> Self {
        state.runners.clone()
    }
}

impl FromRef<AppState> for ClaudeFiles {
    fn from_ref(state: &AppState) -> Self {
        state.claude_files.clone()
    }
}

impl FromRef<AppState> for Arc<Token> {
    fn from_ref(state: &AppState) -> Self {
        state.token.clone()
    }
}

impl FromRef<AppState> for BusyWorktrees {
    fn from_ref(state: &AppState) -> Self {
        state.busy_worktrees.clone()
    }
}
