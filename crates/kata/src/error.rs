//! Everything that can go wrong, each with what to do about it.

use std::path::PathBuf;

/// A kata failure. `main` prints it as `kata: <message>` and exits 1.
#[derive(Debug, thiserror::Error)]
pub enum KataError {
    #[error(
        "no .kata/kata.toml in {0} or any parent directory: run `kata init` at the repository root"
    )]
    NoConfig(PathBuf),
    #[error("{path} already exists: edit it, or delete it and run `kata init` again")]
    AlreadyInitialised { path: PathBuf },
    #[error("{path} is not a valid kata config: {message}")]
    ConfigInvalid { path: PathBuf, message: String },
    #[error("no mode named `{mode}` in .kata/kata.toml (modes: {known})")]
    UnknownMode { mode: String, known: String },
    #[error("no active kata session: start one with `kata enter <mode>`")]
    NoSession,
    #[error("session {session_id} ({mode} mode) is still active: finish it with `kata exit` (or `kata exit --force`) first")]
    SessionActive { session_id: String, mode: String },
    #[error("{path} is not a valid kata state ({message}): repair it, or delete its session directory and `kata enter` again")]
    StateCorrupt { path: PathBuf, message: String },
    #[error("no task `{id}` in this session (see `kata task list`)")]
    UnknownTask { id: String },
    #[error("task `{id}` depends on open tasks: {open}; finish those first")]
    TaskBlocked { id: String, open: String },
    #[error("task `{id}` belongs to phase `{phase}`, which is not active yet: finish the current phase and `kata advance`")]
    TaskNotStarted { id: String, phase: String },
    #[error("no phase `{id}` in this session (phases: {known})")]
    UnknownPhase { id: String, known: String },
    #[error("cannot advance past phase `{phase}`:\n{}", bullets(.reasons))]
    AdvanceRefused { phase: String, reasons: Vec<String> },
    #[error("every phase is done: check `kata can-exit`, then `kata exit`")]
    NothingToAdvance,
    #[error("the session cannot end yet (`kata exit --force` abandons these):\n{}", bullets(.reasons))]
    CannotExit { reasons: Vec<String> },
    #[error("{path} is not valid JSON settings ({message}): fix it by hand, then run `kata setup` again")]
    SettingsInvalid { path: PathBuf, message: String },
    #[error("the hook input on stdin is not valid JSON: {0}")]
    HookInput(String),
    #[error("git {args} failed: {message}")]
    Git { args: String, message: String },
    #[error("could not start gate `{command}`: {source}")]
    GateSpawn {
        command: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("doctor found {0} problem(s); see above")]
    Unhealthy(usize),
}

impl KataError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> KataError {
        let path = path.into();
        move |source| KataError::Io { path, source }
    }
}

fn bullets(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("  - {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub type Result<T, E = KataError> = std::result::Result<T, E>;
