//! The one `claude` process a runner owns: started in the worktree with stream-json on stdin and
//! stdout, a parent-death signal (so a killed runner leaves no CLI behind writing the same
//! session file), and the environment DESIGN.md describes.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::json;
use shared_types::{ContentBlock, PermissionMode, SessionConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// Environment variables the CLI must not inherit: a parent Claude session's markers, Node
/// options, and the gateway's own settings and secrets.
const DROPPED_ENV_PREFIXES: &[&str] = &["CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "NODE_OPTIONS", "CC_GATEWAY_"];

/// Words that mark a variable as a secret of someone's: never handed to a runner or the CLI.
const SECRET_WORDS: &[&str] = &["TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE_KEY"];

/// Secrets the CLI itself needs to reach the model (its own login and API keys), kept.
const MODEL_CREDENTIAL_PREFIXES: &[&str] = &["ANTHROPIC_", "CLAUDE_CODE_OAUTH_TOKEN", "AWS_", "GOOGLE_APPLICATION_CREDENTIALS"];

/// Whether a variable of the daemon's environment must not reach a runner or the CLI: the
/// gateway's own (`CC_GATEWAY_*`, systemd's `CREDENTIALS_DIRECTORY`), and anything named like
/// a token, secret or password that is not the model's own credential.
pub fn is_withheld_env(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("CC_GATEWAY_") || upper == "CREDENTIALS_DIRECTORY" {
        return true;
    }
    let secret = SECRET_WORDS.iter().any(|w| upper.contains(w));
    secret && !MODEL_CREDENTIAL_PREFIXES.iter().any(|p| upper.starts_with(p))
}

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

/// What the session writes to the CLI, one NDJSON line each (the stream-json input and the
/// control protocol). The session core decides these; the shell writes them.
#[derive(Debug, Clone, PartialEq)]
pub enum ToCli {
    /// `initialize`, registering the gate as the `PreToolUse` hook for every tool.
    Initialize,
    /// A user turn.
    User(Vec<ContentBlock>),
    /// Stops the running turn; the CLI ends it with a `result`.
    Interrupt { request_id: String },
    /// Answers a control request the CLI made (a permission or a hook callback).
    Respond { request_id: String, response: serde_json::Value },
}

impl ToCli {
    /// The line's JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ToCli::Initialize => json!({"type": "control_request", "request_id": "init", "request": {
                "subtype": "initialize",
                "hooks": {"PreToolUse": [{"matcher": "*", "hookCallbackIds": [HOOK_ID], "timeout": 60}]},
            }}),
            ToCli::User(content) => json!({"type": "user", "session_id": "", "parent_tool_use_id": null,
                                           "message": {"role": "user", "content": content}}),
            ToCli::Interrupt { request_id } => {
                json!({"type": "control_request", "request_id": request_id, "request": {"subtype": "interrupt"}})
            }
            ToCli::Respond { request_id, response } => json!({"type": "control_response",
                "response": {"subtype": "success", "request_id": request_id, "response": response}}),
        }
    }
}

/// How to start the CLI for a session.
pub struct Launch<'a> {
    pub bin: &'a Path,
    pub cwd: &'a Path,
    pub config: &'a SessionConfig,
    pub claude_session_id: &'a str,
    /// Resume the existing Claude session instead of starting it.
    pub resume: bool,
    /// The runner's own settings file (kata's hooks), passed with `--settings`.
    pub settings_file: Option<&'a Path>,
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

    /// Writes one message to the CLI's stdin. A dead CLI drops it (its exit is reported
    /// separately).
    pub fn write(&self, message: &ToCli) {
        let _ = self.stdin.send(message.to_json().to_string());
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

/// The permission mode the CLI itself runs in. The gate decides every call through the
/// PreToolUse hook; `acceptEdits` is the gate's to apply (inside the worktree only), so the CLI
/// runs in `default` and asks through `can_use_tool` whenever the gate says ask.
fn cli_mode(mode: PermissionMode) -> PermissionMode {
    match mode {
        PermissionMode::AcceptEdits => PermissionMode::Default,
        other => other,
    }
}

fn command(launch: &Launch<'_>) -> Command {
    let mut cmd = Command::new(launch.bin);
    cmd.args(["--output-format", "stream-json", "--input-format", "stream-json", "--verbose"])
        .args(["--include-partial-messages", "--permission-prompt-tool", "stdio"])
        .args(["--permission-mode", cli_mode(launch.config.permission_mode).as_cli_arg()])
        // The repository's `.claude/settings*.json` (hooks, permissions, plugins) and `.mcp.json`
        // servers would run commands the gate never sees: only the user's settings and ours load.
        .args(["--setting-sources", "user", "--strict-mcp-config"])
        .args([if launch.resume { "--resume" } else { "--session-id" }, launch.claude_session_id]);
    if let Some(settings) = launch.settings_file {
        cmd.arg("--settings").arg(settings);
    }
    if let Some(model) = &launch.config.model {
        cmd.args(["--model", model]);
    }
    for (key, _) in std::env::vars_os() {
        let drop = key.to_str().is_none_or(|k| DROPPED_ENV_PREFIXES.iter().any(|p| k.starts_with(p)) || is_withheld_env(k));
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

/// Whether Claude Code has recorded the session `id` (its transcript file exists under
/// `$CLAUDE_CONFIG_DIR/projects/*/`, `~/.claude` by default): then the CLI must `--resume` it,
/// and otherwise start it with `--session-id`, whatever the runner believed before a kill.
pub fn session_recorded(id: &str) -> bool {
    let config_dir = std::env::var_os("CLAUDE_CONFIG_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".claude")));
    let Some(projects) = config_dir.map(|d| d.join("projects")) else { return false };
    let Ok(dirs) = std::fs::read_dir(projects) else { return false };
    let file = format!("{id}.jsonl");
    dirs.flatten().any(|d| d.path().join(&file).is_file())
}

/// Finds `kata` on the runner's PATH (absolute directories only, so a worktree cannot put one
/// first) and asks it for its hooks as a settings document; `None` when the worktree does not
/// use kata. An error says why kata's hooks will not run.
pub fn kata_settings(cwd: &Path) -> Option<Result<String, String>> {
    if !cwd.join(".kata/kata.toml").is_file() {
        return None;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let Some(kata) = std::env::split_paths(&path).filter(|d| d.is_absolute()).map(|d| d.join("kata")).find(|p| p.is_file()) else {
        return Some(Err("the worktree uses kata, but `kata` is not on the gateway's PATH: its hooks will not run".into()));
    };
    let out = std::process::Command::new(&kata).args(["setup", "--print"]).current_dir(cwd).stdin(Stdio::null()).output();
    Some(match out {
        Ok(out) if out.status.success() => match serde_json::from_slice::<serde_json::Value>(&out.stdout) {
            Ok(settings) if settings.get("hooks").is_some() => Ok(settings.to_string()),
            _ => Err(format!("{} setup --print did not print kata's hooks: its hooks will not run", kata.display())),
        },
        Ok(out) => Err(format!(
            "{} setup --print failed ({}): its hooks will not run",
            kata.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("cannot run {}: {e}; kata's hooks will not run", kata.display())),
    })
}

async fn wait(child: &mut Child) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    let status = child.wait().await.ok()?;
    status.code().or_else(|| status.signal().map(|s| 128 + s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_secrets_are_withheld_and_model_credentials_kept() {
        for name in ["CC_GATEWAY_TOKEN", "CC_GATEWAY_TOKEN_FILE", "CREDENTIALS_DIRECTORY", "GITHUB_TOKEN", "MY_SECRET",
                     "DB_PASSWORD", "cf_access_client_secret", "SSH_PRIVATE_KEY"] {
            assert!(is_withheld_env(name), "{name}");
        }
        for name in ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "AWS_SESSION_TOKEN",
                     "PATH", "HOME", "CLAUDE_CONFIG_DIR"] {
            assert!(!is_withheld_env(name), "{name}");
        }
    }
}
