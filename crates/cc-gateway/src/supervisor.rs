//! Finding and starting session runners.
//!
//! A runner is found by its socket (`<runtime_dir>/sessions/<id>.sock`) and its pid file, so a
//! restarted daemon finds the runners the previous one started. A new runner is started with
//! `setsid`, in its own session, so neither a SIGTERM from `systemctl stop` nor a SIGKILL of the
//! daemon reaches it. Two racing starts are harmless: the runner takes the session's lock and the
//! loser exits at once.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;
use tokio::net::UnixStream;

use crate::config::{Dirs, RunnerSettings};
use crate::outbox::Outbox;
use crate::runner::outbox_path;

/// How long a new runner gets to open its socket.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The executable runners are started from, by path, as it was when the daemon started. Asking
/// `current_exe()` at spawn time would name a deleted file once the binary is upgraded in place
/// (or rebuilt) under a running daemon; the path itself names the new binary.
static RUNNER_EXE: OnceLock<PathBuf> = OnceLock::new();

/// Records the daemon's own path; call once at start-up, before the binary can be replaced.
pub fn remember_runner_exe() -> std::io::Result<()> {
    let exe = std::env::current_exe()?;
    let _ = RUNNER_EXE.set(exe);
    Ok(())
}

fn runner_exe() -> std::io::Result<PathBuf> {
    match RUNNER_EXE.get() {
        Some(exe) => Ok(exe.clone()),
        None => std::env::current_exe(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("cannot start the session runner: {0}")]
    Spawn(std::io::Error),
    #[error("the session runner did not open its socket within {}s; see {}", START_TIMEOUT.as_secs(), .0.display())]
    NoSocket(PathBuf),
}

/// A session as the daemon sees it on disk.
#[derive(Debug, Serialize)]
pub struct SessionInfo {
    pub id: String,
    pub project: Option<String>,
    pub worktree: Option<String>,
    pub cwd: Option<PathBuf>,
    /// The runner's pid while it runs.
    pub runner_pid: Option<u32>,
    pub last_seq: u64,
    pub ended: bool,
}

/// Connects to a running session runner.
pub async fn connect(dirs: &Dirs, id: &str) -> std::io::Result<UnixStream> {
    UnixStream::connect(dirs.socket_path(id)).await
}

/// Whether the session has ever been created here (its outbox exists).
pub fn known(dirs: &Dirs, id: &str) -> bool {
    outbox_path(&dirs.session_dir(id)).exists()
}

/// Starts a runner (with `cwd` for a new session) and connects to it.
pub async fn start(dirs: &Dirs, settings: &RunnerSettings, id: &str, cwd: Option<&Path>) -> Result<UnixStream, SupervisorError> {
    spawn(dirs, settings, id, cwd).map_err(SupervisorError::Spawn)?;
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(stream) = connect(dirs, id).await {
            return Ok(stream);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(SupervisorError::NoSocket(log_path(dirs, id)));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn log_path(dirs: &Dirs, id: &str) -> PathBuf {
    dirs.session_dir(id).join("runner.log")
}

fn spawn(dirs: &Dirs, settings: &RunnerSettings, id: &str, cwd: Option<&Path>) -> std::io::Result<()> {
    std::fs::create_dir_all(dirs.session_dir(id))?;
    let log = std::fs::File::options().create(true).append(true).open(log_path(dirs, id))?;
    let mut cmd = Command::new(runner_exe()?);
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_none_or(crate::runner::claude::is_withheld_env) {
            cmd.env_remove(key);
        }
    }
    cmd.args(["runner", "--session-id", id])
        .arg("--state-dir").arg(&dirs.state_dir)
        .arg("--runtime-dir").arg(&dirs.runtime_dir)
        .arg("--claude-bin").arg(&settings.claude_bin)
        .args(["--idle-exit-secs", &settings.idle_exit_secs.to_string()])
        .args(["--heartbeat-secs", &settings.heartbeat_secs.to_string()])
        .args(["--silence-secs", &settings.silence_secs.to_string()])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    if let Some(cwd) = cwd {
        cmd.arg("--cwd").arg(cwd);
    }
    // SAFETY: setsid(2) is async-signal-safe; it detaches the runner from the daemon's session.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    tracing::info!(session_id = %id, pid = child.id(), "started a session runner");
    // Reap it when it exits, so it never lingers as a zombie of this daemon.
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// The pid of the session's runner, if one is alive.
pub fn runner_pid(dirs: &Dirs, id: &str) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(dirs.socket_path(id).with_extension("pid")).ok()?.trim().parse().ok()?;
    let raw = i32::try_from(pid).ok()?;
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    (unsafe { libc::kill(raw, 0) } == 0).then_some(pid)
}

/// Every session in the state dir, newest first by nothing in particular: sorted by id.
pub fn sessions(dirs: &Dirs) -> Vec<SessionInfo> {
    let Ok(entries) = std::fs::read_dir(dirs.state_dir.join("sessions")) else { return vec![] };
    let mut out: Vec<SessionInfo> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|id| crate::config::valid_session_id(id))
        .map(|id| info(dirs, &id))
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// One session's info, from its outbox (read-only) and its pid file.
pub fn info(dirs: &Dirs, id: &str) -> SessionInfo {
    let peeked = Outbox::peek(&outbox_path(&dirs.session_dir(id))).ok().flatten();
    let (record, last_seq) = match peeked {
        Some((r, s)) => (Some(r), s),
        None => (None, 0),
    };
    SessionInfo {
        id: id.to_string(),
        project: record.as_ref().map(|r| r.config.project.clone()),
        worktree: record.as_ref().and_then(|r| r.config.worktree.clone()),
        cwd: record.as_ref().map(|r| r.cwd.clone()),
        runner_pid: runner_pid(dirs, id),
        last_seq,
        ended: record.is_some_and(|r| r.ended),
    }
}

/// The worktrees where a runner is alive: deleting them is refused.
pub fn busy_worktrees(dirs: &Dirs) -> Vec<PathBuf> {
    sessions(dirs).into_iter().filter(|s| s.runner_pid.is_some() && !s.ended).filter_map(|s| s.cwd).collect()
}
