//! The processes of an end-to-end run, each on a free port, each killed (with its process
//! group) when its handle drops.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use fake_anthropic::cli::make_repo;
use fake_anthropic::cli::{claude_bin, Sandbox};
use fake_anthropic::FakeModel;

use crate::http::Api;
use crate::proxy::Proxy;
use crate::rewrite::Rewriter;
use crate::{repo_root, STEP};

/// A child in its own process group; the whole group is stopped on drop.
pub struct Proc {
    pub child: Child,
    pub name: &'static str,
}

impl Proc {
    fn spawn(name: &'static str, mut cmd: Command, log: &Path) -> Proc {
        use std::os::unix::process::CommandExt;
        let log = std::fs::File::options().create(true).append(true).open(log).expect("open a log file");
        cmd.stdin(Stdio::null()).stdout(log.try_clone().expect("log")).stderr(log).process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc { child, name }
    }

    /// Sends `signal` to the whole group and waits (up to 10 s, then SIGKILL).
    pub fn stop_with(&mut self, signal: i32) {
        let pgid = self.child.id() as i32;
        unsafe { libc::kill(-pgid, signal) };
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop_with(libc::SIGTERM);
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("port").port()
}

/// How the stack is started.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The DO's heartbeat and silence timers (`DURACLAW_HEARTBEAT_SECS`, `DURACLAW_SILENCE_SECS`)
    /// and the gateway's; `None` keeps the defaults (15 s, 45 s).
    pub heartbeat_secs: Option<u64>,
    pub silence_secs: Option<u64>,
    /// Put the half-open-capable proxy between the DO and the gateway.
    pub proxy: bool,
    /// Put the event-rewriting relay ([`crate::rewrite`]) between the DO and the gateway.
    pub rewrite: bool,
    /// Run this program as the gateway's `claude` (the bench's synthetic CLI) instead of the
    /// real CLI against the fake model.
    pub claude_override: Option<PathBuf>,
}

/// Everything an end-to-end test runs against.
pub struct Stack {
    pub root: tempfile::TempDir,
    pub sandbox: Sandbox,
    pub model: FakeModel,
    pub options: Options,
    pub token: String,
    /// The Worker's one-time `SETUP_CODE` (the first sign-up shows it).
    pub setup_code: String,
    pub gateway_port: u16,
    pub gateway: Option<Proc>,
    pub proxy: Option<Proxy>,
    pub rewriter: Option<Rewriter>,
    pub worker_port: u16,
    pub persist: PathBuf,
    pub wrangler: Option<Proc>,
}

/// Where a required tool is, or a clear failure.
fn required(path: PathBuf, what: &str, fix: &str) -> PathBuf {
    assert!(path.exists(), "{what} is missing at {}: {fix}", path.display());
    path
}

/// The `cc-gateway` binary: `$DURACLAW_GATEWAY_BIN`, else next to this test or bench binary.
pub fn gateway_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("DURACLAW_GATEWAY_BIN") {
        return required(PathBuf::from(p), "DURACLAW_GATEWAY_BIN", "point it at a built cc-gateway");
    }
    let exe = std::env::current_exe().expect("the current executable");
    let mut dir = exe.parent().expect("its directory").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    required(dir.join("cc-gateway"), "the cc-gateway binary", "run `cargo build -p cc-gateway` with the same profile (scripts/test.sh does)")
}

/// `wrangler` on PATH (scripts/test.sh puts the cached node 22 + wrangler there).
fn wrangler_bin() -> PathBuf {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("wrangler")).find(|p| p.is_file()));
    found.unwrap_or_else(|| {
        panic!("wrangler is not on PATH: source ~/.cache/duraclaw/env.sh (scripts/setup.sh installs it), or run scripts/test.sh")
    })
}

/// The built Worker: `$DURACLAW_BUILD_DIR/index.js` (default build/).
fn check_build() {
    let dir = std::env::var_os("DURACLAW_BUILD_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("build"));
    required(dir.join("index.js"), "the built Worker (build/index.js)", "run scripts/build-wasm.sh");
    required(dir.join("index_bg.wasm"), "the built Worker's wasm", "run scripts/build-wasm.sh");
}

impl Stack {
    /// The fake model, a project `demo`, the gateway and wrangler dev, all up.
    pub async fn start(options: Options) -> Stack {
        check_build();
        let root = tempfile::Builder::new().prefix("duraclaw-e2e").tempdir().expect("a temp dir");
        let token: String = format!("e2e-{:032x}-{:016x}", std::process::id() as u128 * 7_919 + now_nanos(), now_nanos());
        let setup_code = format!("setup-{:032x}", now_nanos() ^ (std::process::id() as u128) << 64);
        let persist = root.path().join("wrangler-state");
        std::fs::create_dir_all(&persist).expect("persist dir");
        std::fs::create_dir_all(root.path().join("projects")).expect("projects dir");
        make_repo(&root.path().join("projects/demo"));
        let mut stack = Stack {
            sandbox: Sandbox::new().expect("a CLI sandbox"),
            model: FakeModel::start().await.expect("the fake model"),
            options,
            token,
            setup_code,
            gateway_port: free_port(),
            gateway: None,
            proxy: None,
            rewriter: None,
            worker_port: free_port(),
            persist,
            wrangler: None,
            root,
        };
        stack.start_gateway().await;
        if stack.options.proxy {
            stack.proxy = Some(Proxy::start(stack.gateway_port).await);
        }
        if stack.options.rewrite {
            stack.rewriter = Some(Rewriter::start(stack.gateway_port).await);
        }
        stack.migrate_d1();
        stack.start_wrangler().await;
        stack
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.root.path().join(format!("{name}.log"))
    }

    pub fn read_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log(name)).unwrap_or_default()
    }

    pub fn repo(&self) -> PathBuf {
        self.root.path().join("projects/demo")
    }

    /// Starts (or restarts, on the same port and state) the gateway daemon.
    pub async fn start_gateway(&mut self) {
        let claude = match &self.options.claude_override {
            Some(p) => p.clone(),
            None => claude_bin().unwrap_or_else(|e| panic!("{e}")),
        };
        let mut cmd = Command::new(gateway_bin());
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{}", self.gateway_port)])
            .arg("--projects-root")
            .arg(self.root.path().join("projects"))
            .env_clear()
            .envs(std::env::vars_os().filter(|(k, _)| !k.to_str().is_some_and(fake_anthropic::cli::is_stripped)))
            .envs(self.sandbox.env(&self.model.base_url()))
            .env("CLAUDE_CODE_MAX_RETRIES", "1")
            .env("CLAUDE_BIN", &claude)
            .env("CC_GATEWAY_STATE_DIR", self.root.path().join("gateway-state"))
            .env("CC_GATEWAY_RUNTIME_DIR", self.root.path().join("gateway-run"))
            .env("CC_GATEWAY_TOKEN", &self.token)
            .env("RUST_LOG", "info");
        if let Some(s) = self.options.heartbeat_secs {
            cmd.env("CC_GATEWAY_HEARTBEAT_SECS", s.to_string());
        }
        if let Some(s) = self.options.silence_secs {
            cmd.env("CC_GATEWAY_SILENCE_SECS", s.to_string());
        }
        let proc = Proc::spawn("cc-gateway", cmd, &self.log("gateway"));
        self.gateway = Some(proc);
        let port = self.gateway_port;
        wait_for("the gateway's /health", || async move { http_status(port, "/health").await == Some(200) }, || self.read_log("gateway")).await;
    }

    /// SIGKILLs (or SIGTERMs) the gateway daemon. Its runners live on (they are detached).
    pub fn stop_gateway(&mut self, signal: i32) {
        if let Some(mut g) = self.gateway.take() {
            g.stop_with(signal);
        }
    }

    fn vars_file(&self) -> PathBuf {
        let port = match (&self.proxy, &self.rewriter) {
            (Some(proxy), _) => proxy.port,
            (None, Some(rewriter)) => rewriter.port,
            (None, None) => self.gateway_port,
        };
        let mut vars =
            format!("CC_GATEWAY_URL=http://127.0.0.1:{port}\nCC_GATEWAY_SECRET={}\nSETUP_CODE={}\n", self.token, self.setup_code);
        if let Some(s) = self.options.heartbeat_secs {
            vars.push_str(&format!("DURACLAW_HEARTBEAT_SECS={s}\nDURACLAW_DIAL_BACKOFF_MAX_SECS={}\n", s.max(2)));
        }
        if let Some(s) = self.options.silence_secs {
            vars.push_str(&format!("DURACLAW_SILENCE_SECS={s}\n"));
        }
        let path = self.root.path().join("worker.env");
        std::fs::write(&path, vars).expect("write the Worker's env file");
        path
    }

    fn wrangler_cmd(&self) -> Command {
        let mut cmd = Command::new(wrangler_bin());
        cmd.current_dir(repo_root())
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("NO_UPDATE_NOTIFIER", "1")
            .env("WRANGLER_LOG_PATH", self.root.path().join("wrangler-logs"));
        cmd
    }

    /// Applies the D1 migrations to the local database under `--persist-to`.
    fn migrate_d1(&self) {
        let out = self
            .wrangler_cmd()
            .args(["d1", "migrations", "apply", "duraclaw", "--local", "--persist-to"])
            .arg(&self.persist)
            .stdin(Stdio::null())
            .output()
            .expect("run wrangler d1 migrations apply");
        assert!(
            out.status.success(),
            "wrangler d1 migrations apply failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts (or restarts, on the same port and `--persist-to`) wrangler dev.
    pub async fn start_wrangler(&mut self) {
        let mut cmd = self.wrangler_cmd();
        cmd.args(["dev", "--ip", "127.0.0.1", "--port", &self.worker_port.to_string(), "--persist-to"])
            .arg(&self.persist)
            .args(["--show-interactive-dev-session=false", "--env-file"])
            .arg(self.vars_file());
        self.wrangler = Some(Proc::spawn("wrangler", cmd, &self.log("wrangler")));
        let port = self.worker_port;
        wait_for("wrangler dev's /health", || async move { http_status(port, "/health").await == Some(200) }, || self.read_log("wrangler")).await;
    }

    pub fn stop_wrangler(&mut self) {
        if let Some(mut w) = self.wrangler.take() {
            w.stop_with(libc::SIGTERM);
        }
    }

    pub fn api(&self) -> Api {
        let mut api = Api::new(self.worker_port);
        api.setup_code = Some(self.setup_code.clone());
        api
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.wrangler.take();
        self.gateway.take();
        // The runners are detached (setsid) by design: stop them through their pid files.
        let sessions = self.root.path().join("gateway-run");
        kill_pid_files(&sessions);
        if std::thread::panicking() {
            eprintln!("--- wrangler log (tail) ---\n{}", tail(&self.read_log("wrangler"), 60));
            eprintln!("--- gateway log (tail) ---\n{}", tail(&self.read_log("gateway"), 60));
        }
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Sends SIGKILL to every pid found in `*.pid` files under `dir` (the runners).
fn kill_pid_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            kill_pid_files(&path);
        } else if path.extension().is_some_and(|e| e == "pid") {
            if let Some(pid) = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<i32>().ok()) {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// Polls `cond` until it holds; fails after [`STEP`] with `context()` (a log) in the message.
pub async fn wait_for<F, Fut>(what: &str, mut cond: F, context: impl Fn() -> String)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + STEP;
    while !cond().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}; log tail:\n{}", tail(&context(), 40));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The status of a plain GET, `None` when nothing answers.
pub async fn http_status(port: u16, path: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes()).await.ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        String::from_utf8_lossy(&buf).split_whitespace().nth(1)?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(5), fut).await.ok().flatten()
}

