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

/// How the stack is started. `Default` is what a test wants: everything in a temp dir removed on
/// drop, free ports, the fake model, the session runners ended with the stack.
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
    /// Keep the stack's state here across runs: the gateway's token and the set-up code
    /// (generated once, mode 600), the gateway's state and runtime dirs, and (unless
    /// [`Options::persist`] says otherwise) wrangler's `--persist-to`. `None`: a temp dir
    /// removed on drop.
    pub run_dir: Option<PathBuf>,
    /// The projects root; a demo repository is created in it when it is empty. `None`:
    /// `<run dir>/projects`.
    pub projects: Option<PathBuf>,
    /// wrangler dev's `--persist-to` (the DOs' SQLite and D1); `None`: `<run dir>/wrangler-state`.
    pub persist: Option<PathBuf>,
    /// Where the processes' logs go; `None`: the run dir.
    pub log_dir: Option<PathBuf>,
    /// Fixed ports; `None`: free ones.
    pub worker_port: Option<u16>,
    pub gateway_port: Option<u16>,
    /// Claude Code against the user's own login (`~/.claude/.credentials.json`) or
    /// `ANTHROPIC_API_KEY` instead of the fake model.
    pub real_model: bool,
    /// The fake model plays its demo session for a plain prompt (`fake-anthropic --demo`).
    pub demo: bool,
    /// Leave the session runners running when the stack stops (they are detached by design and
    /// the next start resumes them); by default they end with the stack.
    pub keep_runners: bool,
}

/// Everything an end-to-end test runs against.
pub struct Stack {
    /// The run dir ([`Options::run_dir`]); `_temp` owns it when it is a temp dir.
    pub root: PathBuf,
    _temp: Option<tempfile::TempDir>,
    /// The CLI's isolated config (fake model only: the fake never touches the user's login).
    pub sandbox: Option<Sandbox>,
    /// The fake model; `None` with [`Options::real_model`].
    pub fake: Option<FakeModel>,
    pub options: Options,
    pub projects: PathBuf,
    pub logs: PathBuf,
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

/// Why the stack cannot start with a real model, or `None` when it can: Claude Code needs the
/// user's login or an API key.
pub fn real_model_missing() -> Option<String> {
    if std::env::var_os("ANTHROPIC_API_KEY").is_some_and(|k| !k.is_empty()) {
        return None;
    }
    let config = std::env::var_os("CLAUDE_CONFIG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".claude"));
    let credentials = config.join(".credentials.json");
    if std::fs::metadata(&credentials).is_ok_and(|m| m.len() > 0) {
        return None;
    }
    Some(format!(
        "no Claude login ({}) and no ANTHROPIC_API_KEY: run `claude` once and /login, export ANTHROPIC_API_KEY, or use the fake model (scripts/run.sh --fake-model)",
        credentials.display()
    ))
}

/// The secret in `path`, generated there (16 random bytes as 32 hex digits, mode 600) the first
/// time, so a persistent run dir keeps its gateway token and set-up code across runs.
fn secret_file(path: &Path) -> String {
    use std::io::Read;
    if let Ok(s) = std::fs::read_to_string(path) {
        if !s.trim().is_empty() {
            return s.trim().to_string();
        }
    }
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).expect("read /dev/urandom");
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(path, &secret);
    secret
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

/// `wrangler`, offline (no metrics, no update check, no `cf` fetch), run in the repository root
/// (wrangler.toml, build/), its own logs under `log_dir`.
pub fn wrangler_command(log_dir: &Path) -> Command {
    let mut cmd = Command::new(wrangler_bin());
    cmd.current_dir(repo_root())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("NO_UPDATE_NOTIFIER", "1")
        .env("WRANGLER_LOG_PATH", log_dir.join("wrangler-logs"));
    cmd
}

/// Applies the D1 migrations (crates/orchestrator-worker/migrations) to the local database
/// under `persist`, the `--persist-to` of a later `wrangler dev`. Idempotent: wrangler records
/// what it applied.
pub fn migrate_d1(persist: &Path, log_dir: &Path) {
    let out = wrangler_command(log_dir)
        .env("CI", "1")
        .args(["d1", "migrations", "apply", "duraclaw", "--local", "--persist-to"])
        .arg(persist)
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

/// Says what the stack is doing while it starts (wrangler takes seconds).
fn progress(what: &str) {
    eprintln!("    stack: {what}");
}

impl Stack {
    /// The model (fake unless [`Options::real_model`]), a project `demo` (when the projects root
    /// is empty), the gateway and wrangler dev, all up.
    pub async fn start(options: Options) -> Stack {
        if options.real_model {
            if let Some(why) = real_model_missing() {
                panic!("{why}");
            }
        }
        check_build();
        let (root, temp) = match &options.run_dir {
            Some(dir) => {
                use std::os::unix::fs::PermissionsExt;
                std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create the run dir {}: {e}", dir.display()));
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).expect("chmod 700 the run dir");
                (dir.clone(), None)
            }
            None => {
                let temp = tempfile::Builder::new().prefix("duraclaw-e2e").tempdir().expect("a temp dir");
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let projects = options.projects.clone().unwrap_or_else(|| root.join("projects"));
        let persist = options.persist.clone().unwrap_or_else(|| root.join("wrangler-state"));
        let logs = options.log_dir.clone().unwrap_or_else(|| root.clone());
        for dir in [&projects, &persist, &logs] {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        }
        if std::fs::read_dir(&projects).map(|mut d| d.next().is_none()).unwrap_or(false) {
            progress(&format!("creating a demo git repository in {}", projects.join("demo").display()));
            make_repo(&projects.join("demo"));
        }
        let (sandbox, fake) = if options.real_model {
            (None, None)
        } else {
            let fake = FakeModel::start().await.expect("the fake model");
            if options.demo {
                fake.set_demo(true);
                progress("the fake model plays its demo session for a plain prompt");
            }
            progress(&format!("the fake model at {} (script it with [[...]] directives: crates/fake-anthropic)", fake.base_url()));
            (Some(Sandbox::new().expect("a CLI sandbox")), Some(fake))
        };
        let mut stack = Stack {
            token: secret_file(&root.join("gateway-token")),
            setup_code: secret_file(&root.join("setup-code")),
            sandbox,
            fake,
            gateway_port: options.gateway_port.unwrap_or_else(free_port),
            worker_port: options.worker_port.unwrap_or_else(free_port),
            options,
            projects,
            logs,
            gateway: None,
            proxy: None,
            rewriter: None,
            persist,
            wrangler: None,
            root,
            _temp: temp,
        };
        stack.start_gateway().await;
        if stack.options.proxy {
            stack.proxy = Some(Proxy::start(stack.gateway_port).await);
        }
        if stack.options.rewrite {
            stack.rewriter = Some(Rewriter::start(stack.gateway_port).await);
        }
        progress("applying the D1 migrations");
        migrate_d1(&stack.persist, &stack.logs);
        progress(&format!("starting wrangler dev on 127.0.0.1:{}", stack.worker_port));
        stack.start_wrangler().await;
        stack
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.worker_port)
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.logs.join(format!("{name}.log"))
    }

    pub fn read_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log(name)).unwrap_or_default()
    }

    pub fn repo(&self) -> PathBuf {
        self.projects.join("demo")
    }

    /// Starts (or restarts, on the same port and state) the gateway daemon.
    pub async fn start_gateway(&mut self) {
        let claude = match &self.options.claude_override {
            Some(p) => p.clone(),
            None => claude_bin().unwrap_or_else(|e| panic!("{e}")),
        };
        let mut cmd = Command::new(gateway_bin());
        if let (Some(sandbox), Some(fake)) = (&self.sandbox, &self.fake) {
            // The fake model: nothing of a real endpoint, key or Claude login reaches the CLI.
            cmd.env_clear()
                .envs(std::env::vars_os().filter(|(k, _)| !k.to_str().is_some_and(fake_anthropic::cli::is_stripped)))
                .envs(sandbox.env(&fake.base_url()))
                .env("CLAUDE_CODE_MAX_RETRIES", "1");
        }
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{}", self.gateway_port)])
            .arg("--projects-root")
            .arg(&self.projects)
            .env("CLAUDE_BIN", &claude)
            .env("CC_GATEWAY_STATE_DIR", self.root.join("gateway-state"))
            .env("CC_GATEWAY_RUNTIME_DIR", self.root.join("gateway-run"))
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
        progress(&format!("cc-gateway on 127.0.0.1:{port} (projects: {})", self.projects.display()));
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
        let path = self.root.join("worker.env");
        write_private(&path, &vars);
        path
    }

    /// Starts (or restarts, on the same port and `--persist-to`) wrangler dev.
    pub async fn start_wrangler(&mut self) {
        let mut cmd = wrangler_command(&self.logs);
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

    /// The first of wrangler and the gateway that has exited, if one has (the launcher stops
    /// when its stack is broken).
    pub fn exited(&mut self) -> Option<&'static str> {
        [&mut self.wrangler, &mut self.gateway]
            .into_iter()
            .flatten()
            .find_map(|p| matches!(p.child.try_wait(), Ok(Some(_))).then_some(p.name))
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
        if !self.options.keep_runners {
            kill_pid_files(&self.root.join("gateway-run"));
        }
        if std::thread::panicking() {
            eprintln!("--- wrangler log (tail) ---\n{}", tail(&self.read_log("wrangler"), 60));
            eprintln!("--- gateway log (tail) ---\n{}", tail(&self.read_log("gateway"), 60));
        }
    }
}

/// Writes `text` to `path` (mode 600, replaced atomically): it holds secrets.
pub fn write_private(path: &Path, text: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", tmp.display()));
    file.write_all(text.as_bytes()).expect("write a private file");
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

pub fn tail(text: &str, lines: usize) -> String {
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

