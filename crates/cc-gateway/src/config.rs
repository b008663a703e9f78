//! Configuration of the daemon and of the session runner it starts: clap with env fallbacks and
//! safe defaults. The token never comes from argv; it is read from the environment or a file.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// The daemon's default port; the cloudflared ingress and the systemd unit name it too.
pub const DEFAULT_PORT: u16 = 9877;
/// The shortest token the daemon accepts, in bytes.
pub const MIN_TOKEN_BYTES: usize = 32;

/// `cc-gateway serve`.
#[derive(Debug, Clone, Args)]
pub struct DaemonConfig {
    /// Address to listen on. Loopback only unless --allow-non-loopback is given.
    #[arg(long, env = "CC_GATEWAY_BIND", default_value_t = SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))]
    pub bind: SocketAddr,
    /// Allow a non-loopback --bind (the gateway is meant to sit behind a tunnel on 127.0.0.1).
    #[arg(long, env = "CC_GATEWAY_ALLOW_NON_LOOPBACK")]
    pub allow_non_loopback: bool,
    /// File holding the bearer token (used when CC_GATEWAY_TOKEN is not set).
    #[arg(long, env = "CC_GATEWAY_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// The directory whose git repositories are the projects.
    #[arg(long, env = "CC_GATEWAY_PROJECTS_ROOT")]
    pub projects_root: PathBuf,
    #[command(flatten)]
    pub dirs: Dirs,
    #[command(flatten)]
    pub runner: RunnerSettings,
    /// Largest file `GET /projects/:name/file` returns, in bytes.
    #[arg(long, env = "CC_GATEWAY_MAX_FILE_BYTES", default_value_t = 1024 * 1024)]
    pub max_file_bytes: u64,
}

/// Where sessions live on disk. Shared by the daemon and its runners.
#[derive(Debug, Clone, Args)]
pub struct Dirs {
    /// Durable state: each session's SQLite outbox (must not be tmpfs).
    #[arg(long, env = "CC_GATEWAY_STATE_DIR", default_value_os_t = default_state_dir())]
    pub state_dir: PathBuf,
    /// Runtime state: the runners' unix sockets and pid files.
    #[arg(long, env = "CC_GATEWAY_RUNTIME_DIR", default_value_os_t = default_runtime_dir())]
    pub runtime_dir: PathBuf,
}

/// How runners run Claude Code. The daemon passes these to each runner it starts.
#[derive(Debug, Clone, Args)]
pub struct RunnerSettings {
    /// The Claude Code CLI to run.
    #[arg(long, env = "CLAUDE_BIN", default_value = "claude")]
    pub claude_bin: PathBuf,
    /// A runner idle this long with nothing pending exits; the next message resumes the session.
    #[arg(long, env = "CC_GATEWAY_RUNNER_IDLE_SECS", default_value_t = 1800)]
    pub idle_exit_secs: u64,
    /// Heartbeat interval on every link.
    #[arg(long, env = "CC_GATEWAY_HEARTBEAT_SECS", default_value_t = 15)]
    pub heartbeat_secs: u64,
    /// A link silent this long is closed (half-open links included).
    #[arg(long, env = "CC_GATEWAY_SILENCE_SECS", default_value_t = 45)]
    pub silence_secs: u64,
}

/// `cc-gateway runner` (started by the daemon, detached; not meant to be run by hand).
#[derive(Debug, Clone, Args)]
pub struct RunnerArgs {
    /// The Duraclaw session id.
    #[arg(long)]
    pub session_id: String,
    /// The worktree to run in; required when the session is new, read from the outbox after.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    #[command(flatten)]
    pub dirs: Dirs,
    #[command(flatten)]
    pub runner: RunnerSettings,
}

fn default_state_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"));
    base.join("cc-gateway")
}

fn default_runtime_dir() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join("cc-gateway")
}

impl Dirs {
    /// A session's unix socket: `<runtime_dir>/sessions/<id>.sock`.
    pub fn socket_path(&self, session_id: &str) -> PathBuf {
        self.runtime_dir.join("sessions").join(format!("{session_id}.sock"))
    }

    /// A session's durable directory: `<state_dir>/sessions/<id>/` (outbox, Claude config).
    pub fn session_dir(&self, session_id: &str) -> PathBuf {
        self.state_dir.join("sessions").join(session_id)
    }
}

/// Whether a session id is safe to use in paths and argv: 1-64 of `[A-Za-z0-9_-]`.
pub fn valid_session_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
