//! The one `claude` process a runner owns: started in the worktree with stream-json on stdin and
//! stdout, a parent-death signal (so a killed runner leaves no CLI behind writing the same
//! session file), and the environment DESIGN.md describes.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::json;
use shared_types::{ContentBlock, SessionConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// Environment variables the CLI must not inherit: a parent Claude session's markers, Node
/// options, and the gateway's own secrets.
const DROPPED_ENV_PREFIXES: &[&str] = &["CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "NODE_OPTIONS", "CC_GATEWAY_"];

/// How many stderr lines are kept to explain an exit.
const STDERR_TAIL: usize = 20;

/// What the CLI process tells the session.
#[derive(Debug)]
pub enum CliOutput {
    Line(String),
    /// The process ended; `stderr` is its last lines.
    Exited { code: Option<i32>, stderr: String },
}

/// A running CLI: write lines to its stdin; its output arrives on the channel given at spawn.
pub struct Cli {
    stdin: mpsc::UnboundedSender<String>,
    pid: Option<u32>,
}

/// How to start the CLI for a session.
pub struct Launch<'a> {
    pub bin: &'a Path,
    pub cwd: &'a Path,
    pub config: &'a SessionConfig,
    pub claude_session_id: &'a str,
    /// Resume the existing Claude session instead of starting it.
    pub resume: bool,
}

impl Cli {
    /// Starts the CLI. Its stdout lines and its exit are sent, tagged with `generation`, on `out`.
    pub fn spawn<T: Send + 'static>(
        launch: Launch<'_>,
        out: mpsc::UnboundedSender<T>,
        tag: impl Fn(CliOutput) -> T + Send + Sync + 'static,
    ) -> std::io::Result<Cli> {
        let mut child = command(&launch).spawn()?;
        let pid = child.id();
        let (stdin_tx, stdin_rx) = mpsc::unbounded_channel::<String>();
        let tag = Arc::new(tag);
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stdin) = child.stdin.take() {
            tokio::spawn(write_stdin(stdin, stdin_rx));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(read_stderr(stderr, stderr_tail.clone()));
        }
        let stdout = child.stdout.take();
        tokio::spawn(async move {
            if let Some(stdout) = stdout {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if out.send(tag(CliOutput::Line(line))).is_err() {
                        break;
                    }
                }
            }
            let code = wait(&mut child).await;
            let stderr = stderr_tail.lock().map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n")).unwrap_or_default();
            let _ = out.send(tag(CliOutput::Exited { code, stderr }));
        });
        Ok(Cli { stdin: stdin_tx, pid })
    }

    /// Writes one NDJSON line to the CLI. A dead CLI drops it (its exit is reported separately).
    pub fn send(&self, value: &serde_json::Value) {
        let _ = self.stdin.send(value.to_string());
    }

    /// `initialize`, registering the gate as the `PreToolUse` hook for every tool.
    pub fn initialize(&self) {
        self.send(&json!({"type": "control_request", "request_id": "init", "request": {
            "subtype": "initialize",
            "hooks": {"PreToolUse": [{"matcher": "*", "hookCallbackIds": [HOOK_ID], "timeout": 60}]},
        }}));
    }

    /// A user turn.
    pub fn user(&self, content: &[ContentBlock]) {
        self.send(&json!({"type": "user", "session_id": "", "parent_tool_use_id": null,
                          "message": {"role": "user", "content": content}}));
    }

    pub fn interrupt(&self, request_id: &str) {
        self.send(&json!({"type": "control_request", "request_id": request_id, "request": {"subtype": "interrupt"}}));
    }

    /// Answers a control request the CLI made.
    pub fn respond(&self, request_id: &str, response: serde_json::Value) {
        self.send(&json!({"type": "control_response",
                          "response": {"subtype": "success", "request_id": request_id, "response": response}}));
    }

    /// Asks the CLI to stop (SIGTERM); it is killed for good when the runner exits.
    pub fn terminate(&self) {
        if let Some(pid) = self.pid.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a pid we started and a valid signal number.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

/// The hook callback id the gate answers to.
pub const HOOK_ID: &str = "duraclaw_gate";

fn command(launch: &Launch<'_>) -> Command {
    let mut cmd = Command::new(launch.bin);
    cmd.args(["--output-format", "stream-json", "--input-format", "stream-json", "--verbose"])
        .args(["--include-partial-messages", "--permission-prompt-tool", "stdio"])
        .args(["--permission-mode", launch.config.permission_mode.as_cli_arg()])
        .args([if launch.resume { "--resume" } else { "--session-id" }, launch.claude_session_id]);
    if let Some(model) = &launch.config.model {
        cmd.args(["--model", model]);
    }
    for (key, _) in std::env::vars_os() {
        let drop = key.to_str().is_some_and(|k| DROPPED_ENV_PREFIXES.iter().any(|p| k.starts_with(p)));
        if drop {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(launch.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between fork and exec.
    unsafe {
        let parent = libc::getpid();
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 || libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    cmd
}

async fn write_stdin(mut stdin: tokio::process::ChildStdin, mut lines: mpsc::UnboundedReceiver<String>) {
    while let Some(mut line) = lines.recv().await {
        line.push('\n');
        if stdin.write_all(line.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
            break;
        }
    }
}

async fn read_stderr(stderr: tokio::process::ChildStderr, tail: Arc<Mutex<VecDeque<String>>>) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(target: "claude", "{line}");
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == STDERR_TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}

async fn wait(child: &mut Child) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    let status = child.wait().await.ok()?;
    status.code().or_else(|| status.signal().map(|s| 128 + s))
}
