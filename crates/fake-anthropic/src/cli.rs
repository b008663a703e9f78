//! Spawning the REAL Claude Code CLI against a fake, for this crate's tests and other crates'.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use fake_anthropic::{cli, FakeModel};
//! use std::time::Duration;
//! let fake = FakeModel::start().await?;
//! let sandbox = cli::Sandbox::new()?;
//! let workdir = tempfile::tempdir()?;
//! let cmd = sandbox.command(&cli::claude_bin()?, &fake.base_url(), workdir.path());
//! let mut claude = cli::Claude::spawn(cmd, &sandbox)?;
//! claude.send_user("hello [[text \"hi\"]]").await?;
//! let result = claude.result(Duration::from_secs(60)).await?;
//! assert_eq!(result["result"], "hi");
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The variable naming the CLI binary; without it, [`DEFAULT_BIN`] under `$HOME` is used.
pub const BIN_ENV: &str = "CLAUDE_BIN";

/// Where the project installs the pinned CLI, relative to `$HOME`.
pub const DEFAULT_BIN: &str = ".cache/duraclaw/npm/node_modules/.bin/claude";

/// Flags every headless run needs (what the official SDK passes).
pub const BASE_ARGS: &[&str] = &[
    "--output-format",
    "stream-json",
    "--input-format",
    "stream-json",
    "--verbose",
];

/// What can go wrong driving the CLI; messages carry enough to debug a failed test.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("Claude Code CLI not found at {0} (set {BIN_ENV}, or install @anthropic-ai/claude-code@2.1.331 into ~/.cache/duraclaw/npm)")]
    NotFound(PathBuf),
    #[error("I/O with the CLI: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "timed out after {secs:?} waiting for {what}; stderr tail: {stderr}; last events: {last}"
    )]
    Timeout {
        what: String,
        secs: Duration,
        stderr: String,
        last: String,
    },
    #[error(
        "CLI stdout closed while waiting for {what}; stderr tail: {stderr}; last events: {last}"
    )]
    Closed {
        what: String,
        stderr: String,
        last: String,
    },
    #[error("CLI printed a line that is not JSON: {0}")]
    NotJson(String),
}

/// The CLI binary: `$CLAUDE_BIN`, else `~/.cache/duraclaw/npm/node_modules/.bin/claude`.
pub fn claude_bin() -> Result<PathBuf, CliError> {
    let path = match std::env::var_os(BIN_ENV) {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(DEFAULT_BIN),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(CliError::NotFound(path))
    }
}

/// Variables the CLI must not inherit: a parent Claude session's markers, `NODE_OPTIONS`, and
/// any real Anthropic endpoint or key (a test must never reach the real API).
pub fn is_stripped(name: &str) -> bool {
    name.starts_with("CLAUDECODE")
        || name.starts_with("CLAUDE_CODE_")
        || name.starts_with("ANTHROPIC_")
        || name == "CLAUDE_CONFIG_DIR"
        || name == "NODE_OPTIONS"
}

/// Isolated `HOME`, `CLAUDE_CONFIG_DIR`, `XDG_RUNTIME_DIR` and `CLAUDE_CODE_TMPDIR` in a temp
/// dir, removed on drop. Keep one sandbox across runs that `--resume` each other: session files
/// live under its config dir.
#[derive(Debug)]
pub struct Sandbox {
    root: TempDir,
}

/// A git repository with one commit (a README) at `path`: the project a test runs the CLI, the
/// gateway or the whole stack in. Panics with git's message when git fails (test setup).
pub fn make_repo(path: &Path) {
    std::fs::create_dir_all(path).expect("create the repository directory");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args(args)
            .current_dir(path)
            .output()
            .expect("run git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(path.join("README.md"), "# demo\n").expect("write README.md");
    git(&["add", "."]);
    git(&["commit", "-qm", "initial"]);
}

impl Sandbox {
    pub fn new() -> std::io::Result<Self> {
        let sandbox = Sandbox {
            root: tempfile::Builder::new()
                .prefix("claude-sandbox")
                .tempdir()?,
        };
        for dir in [
            sandbox.home(),
            sandbox.config_dir(),
            sandbox.runtime_dir(),
            sandbox.tmp_dir(),
        ] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(sandbox)
    }

    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    pub fn config_dir(&self) -> PathBuf {
        self.home().join(".claude")
    }

    pub fn runtime_dir(&self) -> PathBuf {
        self.root.path().join("run")
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.path().join("tmp")
    }

    /// Where [`Sandbox::command`] sends the CLI's stderr.
    pub fn stderr_path(&self) -> PathBuf {
        self.root.path().join("claude.stderr")
    }

    /// The variables to set for a CLI talking to the fake at `base_url`. `IS_SANDBOX=1` lets
    /// `bypassPermissions` run as root.
    pub fn env(&self, base_url: &str) -> Vec<(String, String)> {
        let path = |p: PathBuf| p.to_string_lossy().into_owned();
        vec![
            ("HOME".into(), path(self.home())),
            ("CLAUDE_CONFIG_DIR".into(), path(self.config_dir())),
            ("XDG_RUNTIME_DIR".into(), path(self.runtime_dir())),
            ("CLAUDE_CODE_TMPDIR".into(), path(self.tmp_dir())),
            ("ANTHROPIC_BASE_URL".into(), base_url.into()),
            ("ANTHROPIC_API_KEY".into(), "test".into()),
            (
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
                "1".into(),
            ),
            ("IS_SANDBOX".into(), "1".into()),
        ]
    }

    /// `bin` with [`BASE_ARGS`], cwd `workdir`, the inherited environment minus
    /// [`is_stripped`] plus [`Sandbox::env`], stdin/stdout piped, stderr to
    /// [`Sandbox::stderr_path`], killed on drop. Add flags (`--permission-mode ...`,
    /// `--resume ...`) and variables (`CLAUDE_CODE_MAX_RETRIES`) to it before spawning.
    pub fn command(&self, bin: &Path, base_url: &str, workdir: &Path) -> Command {
        let mut cmd = Command::new(bin);
        cmd.args(BASE_ARGS)
            .current_dir(workdir)
            .env_clear()
            .envs(std::env::vars_os().filter(|(k, _)| !k.to_str().is_some_and(is_stripped)))
            .envs(self.env(base_url))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        match std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.stderr_path())
        {
            Ok(file) => cmd.stderr(file),
            Err(_) => cmd.stderr(Stdio::null()),
        };
        cmd
    }
}

/// A running CLI speaking stream-json; every stdout event read is kept in `events`.
#[derive(Debug)]
pub struct Claude {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr_path: PathBuf,
    pub events: Vec<Value>,
}

impl Claude {
    /// Spawns `cmd` (from [`Sandbox::command`]).
    pub fn spawn(mut cmd: Command, sandbox: &Sandbox) -> Result<Self, CliError> {
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("stdout not piped"))?;
        Ok(Claude {
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
            stderr_path: sandbox.stderr_path(),
            events: Vec::new(),
        })
    }

    /// The child's pid, e.g. to signal it.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Writes one NDJSON line to the CLI's stdin.
    pub async fn send(&mut self, msg: &Value) -> Result<(), CliError> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| std::io::Error::other("stdin closed"))?;
        stdin.write_all(format!("{msg}\n").as_bytes()).await?;
        stdin.flush().await?;
        Ok(())
    }

    /// Sends a user turn with one text block.
    pub async fn send_user(&mut self, text: &str) -> Result<(), CliError> {
        self.send(&user_message(text)).await
    }

    /// Closes stdin: the CLI finishes the current turn and exits 0.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Reads events until one matches `pred` and returns it; fails on timeout or EOF.
    pub async fn until(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value, CliError> {
        match tokio::time::timeout(timeout, self.read_until(&pred)).await {
            Ok(Ok(Some(event))) => Ok(event),
            Ok(Ok(None)) => Err(CliError::Closed {
                what: what.into(),
                stderr: self.stderr_tail(),
                last: self.last_events(),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(CliError::Timeout {
                what: what.into(),
                secs: timeout,
                stderr: self.stderr_tail(),
                last: self.last_events(),
            }),
        }
    }

    /// Waits for the next `result` event (the end of one turn).
    pub async fn result(&mut self, timeout: Duration) -> Result<Value, CliError> {
        self.until("a result event", timeout, |e| e["type"] == "result")
            .await
    }

    async fn read_until(
        &mut self,
        pred: &impl Fn(&Value) -> bool,
    ) -> Result<Option<Value>, CliError> {
        while let Some(line) = self.stdout.next_line().await? {
            if line.trim().is_empty() {
                continue;
            }
            let event: Value = serde_json::from_str(&line).map_err(|_| CliError::NotJson(line))?;
            self.events.push(event.clone());
            if pred(&event) {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    /// Closes stdin and waits for the exit; kills the CLI if it outlives `timeout`.
    pub async fn finish(mut self, timeout: Duration) -> Result<ExitStatus, CliError> {
        self.close_stdin();
        let drain = async {
            while self.stdout.next_line().await?.is_some() {}
            self.child.wait().await
        };
        match tokio::time::timeout(timeout, drain).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                self.child.kill().await?;
                Err(CliError::Timeout {
                    what: "the CLI to exit".into(),
                    secs: timeout,
                    stderr: self.stderr_tail(),
                    last: self.last_events(),
                })
            }
        }
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let start = text.len().saturating_sub(2000);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(text.len());
        text[start..].to_string()
    }

    fn last_events(&self) -> String {
        let start = self.events.len().saturating_sub(5);
        let short: Vec<String> = self.events[start..]
            .iter()
            .map(|e| e.to_string().chars().take(400).collect())
            .collect();
        short.join("\n")
    }
}

/// A stream-json user turn with one text block.
pub fn user_message(text: &str) -> Value {
    json!({
        "type": "user",
        "session_id": "",
        "message": {"role": "user", "content": [{"type": "text", "text": text}]},
        "parent_tool_use_id": null,
    })
}
