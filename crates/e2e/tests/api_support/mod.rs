//! What the API tests run against: a real `wrangler dev` (workerd, local D1 in SQLite) of the
//! built Worker, with the D1 migrations applied and wrangler run the way the stack launcher
//! (`e2e::stack`, which `scripts/run.sh` uses) does them, and a real
//! `cc-gateway serve` over a real git repository. The tests talk HTTP/1.1 to it the way a browser
//! does (cookies, `Origin`, WebSocket upgrades).
//!
//! Needs: `scripts/build-wasm.sh` run (build/index.js), `wrangler` on PATH (scripts/test.sh sets
//! it up), and for the gateway tests `cargo build -p cc-gateway` (or `DURACLAW_GATEWAY_BIN`).
//!
//! The leaf helpers (repository root, free ports, the gateway binary, a git repository) are the
//! e2e library's; the HTTP client here is plain std so that every header is the test's to set.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;

pub use e2e::repo_root;
pub use e2e::stack::{free_port, gateway_bin, make_repo};
use e2e::stack::{migrate_d1, wrangler_command};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The longest any single wait in these tests lasts.
pub const STEP: Duration = Duration::from_secs(60);
pub const GATEWAY_TOKEN: &str = "e2e-api-gateway-token-0123456789abcdef0123456789";
pub const PASSWORD: &str = "correct horse battery staple";

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("duraclaw-{what}-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A process started in its own process group; the whole group is killed on drop.
pub struct Proc {
    child: Child,
    pub log: PathBuf,
    stopped: bool,
}

impl Proc {
    fn spawn(mut cmd: Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).unwrap();
        cmd.stdin(Stdio::null()).stdout(out.try_clone().unwrap()).stderr(out).process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Proc { child, log, stopped: false }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let group = format!("-{}", self.child.id());
        let kill = |signal: &str| {
            let _ = Command::new("kill").args([signal, "--", &group]).stderr(Stdio::null()).status();
        };
        kill("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        kill("-KILL");
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `wrangler dev` of the built Worker with its own D1 (migrated) and DO state.
pub struct Worker {
    pub port: u16,
    pub persist: PathBuf,
    vars: Vec<(String, String)>,
    proc: Option<Proc>,
}

impl Worker {
    /// Starts the Worker with `vars` (`--var NAME:VALUE`; `SETUP_CODE` is [`SETUP_CODE`] unless
    /// given, and an empty value leaves a var unset), on a fresh state dir.
    pub fn start(vars: &[(&str, &str)]) -> Worker {
        let persist = temp_dir("api-state");
        migrate_d1(&persist, &persist);
        let mut vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if !vars.iter().any(|(k, _)| k == "SETUP_CODE") {
            vars.push(("SETUP_CODE".into(), SETUP_CODE.into()));
        }
        let mut worker = Worker { port: free_port(), persist, vars, proc: None };
        worker.launch();
        worker
    }

    fn launch(&mut self) {
        assert!(repo_root().join("build/index.js").exists(), "build/index.js is missing: run scripts/build-wasm.sh");
        let mut cmd = wrangler_command(&self.persist);
        cmd.args(["dev", "--ip", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--inspector-port", &free_port().to_string()])
            .arg("--persist-to")
            .arg(&self.persist)
            .arg("--show-interactive-dev-session=false");
        // An empty value leaves the var unset.
        for (k, v) in self.vars.iter().filter(|(_, v)| !v.is_empty()) {
            cmd.arg("--var").arg(format!("{k}:{v}"));
        }
        static LAUNCHES: AtomicUsize = AtomicUsize::new(0);
        let log = self.persist.join(format!("wrangler-{}.log", LAUNCHES.fetch_add(1, Ordering::Relaxed)));
        let proc = Proc::spawn(cmd, log);
        let deadline = Instant::now() + STEP;
        while try_request(self.port, "GET", "/health", &[], None).is_none() {
            assert!(Instant::now() < deadline, "wrangler dev did not come up:\n{}", proc.log_text());
            std::thread::sleep(Duration::from_millis(100));
        }
        self.proc = Some(proc);
    }

    /// Stops wrangler dev and starts it again on the same state (D1 and DOs persist).
    pub fn restart(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.stop();
        }
        self.port = free_port();
        self.launch();
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        self.proc.as_ref().map(Proc::log_text).unwrap_or_default()
    }

    pub fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        self.send("GET", path, cookie, None, &[])
    }

    pub fn post(&self, path: &str, cookie: Option<&str>, body: &str) -> Resp {
        self.send("POST", path, cookie, Some(body), &[("content-type", "application/json")])
    }

    pub fn send(&self, method: &str, path: &str, cookie: Option<&str>, body: Option<&str>, headers: &[(&str, &str)]) -> Resp {
        let mut all: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Some(c) = cookie {
            all.push(("cookie".into(), c.to_string()));
        }
        try_request(self.port, method, path, &all, body)
            .unwrap_or_else(|| panic!("{method} {path}: no answer from wrangler dev; its log:\n{}", self.log()))
    }

    /// Signs up (or logs in) `name` and returns the `Cookie` header value to send.
    pub fn signup(&self, name: &str) -> String {
        let r = self.post("/api/auth/signup", None, &signup_body(name, PASSWORD));
        assert_eq!(r.status, 201, "signup {name}: {}", r.body);
        r.session_cookie()
    }

    pub fn login(&self, name: &str, password: &str) -> Resp {
        self.post("/api/auth/login", None, &credentials(name, password))
    }

    /// An admin creates `name`; returns that user's cookie after logging in.
    pub fn create_user(&self, admin: &str, name: &str) -> String {
        let r = self.post("/api/admin/users", Some(admin), &credentials(name, PASSWORD));
        assert_eq!(r.status, 201, "create {name}: {}", r.body);
        let r = self.login(name, PASSWORD);
        assert_eq!(r.status, 200, "login {name}: {}", r.body);
        r.session_cookie()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.stop();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.persist);
        }
    }
}

pub fn credentials(name: &str, password: &str) -> String {
    format!(r#"{{"name":"{name}","password":"{password}"}}"#)
}

/// The set-up code every test Worker is started with (`SETUP_CODE`).
pub const SETUP_CODE: &str = "api-tests-setup-code-0123456789abcdef";

/// A first sign-up's body: credentials and the set-up code.
pub fn signup_body(name: &str, password: &str) -> String {
    format!(r#"{{"name":"{name}","password":"{password}","setup_code":"{SETUP_CODE}"}}"#)
}

/// An HTTP response as the tests see it.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn set_cookie(&self) -> Option<&str> {
        self.header("set-cookie")
    }

    /// `duraclaw_session=<value>` from `Set-Cookie`, ready for a `Cookie` header.
    pub fn session_cookie(&self) -> String {
        let set = self.set_cookie().unwrap_or_else(|| panic!("no Set-Cookie in {self:?}"));
        set.split(';').next().unwrap().trim().to_string()
    }

    /// The `code` of an `{"error": {"code", "message"}}` body; panics on any other shape.
    pub fn error_code(&self) -> String {
        assert!(self.body.starts_with(r#"{"error":{"code":""#), "not an error body: {} {}", self.status, self.body);
        assert!(self.body.contains(r#","message":""#), "error without a message: {}", self.body);
        json_str(&self.body, "code").unwrap()
    }

    /// Asserts an error response: status and code.
    pub fn expect_error(&self, status: u16, code: &str) -> &Self {
        assert_eq!((self.status, self.error_code().as_str()), (status, code), "body: {}", self.body);
        self
    }
}

/// The string value of the first `"key":"..."` in compact JSON (the Worker's serde_json output;
/// the values read here, ids and codes, have no escapes).
pub fn json_str(body: &str, key: &str) -> Option<String> {
    let start = body.find(&format!(r#""{key}":""#))? + key.len() + 4;
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_string())
}

/// One HTTP/1.1 request on a fresh connection; `None` when nothing answers.
pub fn try_request(port: u16, method: &str, path: &str, headers: &[(String, String)], body: Option<&str>) -> Option<Resp> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(STEP)).ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!("content-length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    if let Some(b) = body {
        stream.write_all(b.as_bytes()).ok()?;
    }
    let mut raw = Vec::new();
    let is_upgrade = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("upgrade"));
    if is_upgrade {
        read_head_only(&mut stream, &mut raw)?;
    } else {
        stream.read_to_end(&mut raw).ok()?;
    }
    parse_response(&raw)
}

/// Reads until the end of the response head (a 101 keeps the connection open).
fn read_head_only(stream: &mut TcpStream, raw: &mut Vec<u8>) -> Option<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return Some(());
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = find(raw, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_string();
            if head.starts_with("HTTP/1.1 101") {
                return Some(());
            }
            // an error answer: read its body too
            let _ = stream.read_to_end(raw);
            return Some(());
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_response(raw: &[u8]) -> Option<Resp> {
    let end = find(raw, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    }
    Some(Resp { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(data, b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16) else { break };
        if size == 0 || data.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[(eol + 2 + size + 2).min(data.len())..];
    }
    out
}

/// The headers of a browser's WebSocket upgrade.
pub fn upgrade_headers(origin: Option<&str>) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("upgrade", "websocket".to_string()),
        ("connection", "Upgrade".to_string()),
        ("sec-websocket-version", "13".to_string()),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==".to_string()),
    ];
    if let Some(o) = origin {
        h.push(("origin", o.to_string()));
    }
    h
}

/// A running `cc-gateway serve` over a projects root holding one git repository, `demo`.
pub struct Gateway {
    pub port: u16,
    pub root: PathBuf,
    proc: Proc,
}

impl Gateway {
    pub fn start() -> Gateway {
        let root = temp_dir("api-gateway");
        let projects = root.join("projects");
        make_repo(&projects.join("demo"));
        let port = free_port();
        let mut cmd = Command::new(gateway_bin());
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .arg("--projects-root")
            .arg(&projects)
            .env("CC_GATEWAY_TOKEN", GATEWAY_TOKEN)
            .env("CC_GATEWAY_STATE_DIR", root.join("state"))
            .env("CC_GATEWAY_RUNTIME_DIR", root.join("run"))
            // the Claude Code sessions it lists are the test's, never the user's own
            .env("CLAUDE_CONFIG_DIR", root.join("claude"));
        let proc = Proc::spawn(cmd, root.join("gateway.log"));
        let deadline = Instant::now() + STEP;
        while try_request(port, "GET", "/health", &[], None).map(|r| r.status) != Some(200) {
            assert!(Instant::now() < deadline, "cc-gateway did not start:\n{}", proc.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
        Gateway { port, root, proc }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where the CLI would record the sessions of the `demo` checkout (as it names the directory:
    /// every character of the real path outside `[A-Za-z0-9]` becomes `-`).
    pub fn claude_session_dir(&self) -> PathBuf {
        let demo = self.root.join("projects/demo").canonicalize().unwrap();
        let name: String = demo.to_string_lossy().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        self.root.join("claude/projects").join(name)
    }

    pub fn stop(&mut self) {
        self.proc.stop();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.proc.stop();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}


/// A browser's session socket on a raw connection, opened with the same-origin headers a browser
/// sends. The tests only watch whether, and with which code, the Worker closes it.
pub struct OpenSocket {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Worker {
    /// Opens `/api/sessions/{id}/ws` with `cookie`; panics unless the answer is 101.
    pub fn open_socket(&self, id: &str, cookie: &str) -> OpenSocket {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to wrangler dev");
        let mut head = format!("GET /api/sessions/{id}/ws HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncookie: {cookie}\r\n", self.port);
        for (k, v) in upgrade_headers(Some(&self.origin())) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("send the upgrade");
        stream.set_read_timeout(Some(STEP)).expect("timeout");
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            assert_eq!(stream.read(&mut byte).expect("read the upgrade's answer"), 1, "closed during the upgrade: {}", String::from_utf8_lossy(&raw));
            raw.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&raw);
        assert!(head.starts_with("HTTP/1.1 101"), "the upgrade was refused: {head}");
        OpenSocket { stream, buf: Vec::new() }
    }
}

impl OpenSocket {
    /// The close code once the server closes the socket, if it does within `within` (`None`:
    /// still open). A connection that ends without a close frame is 1006.
    pub fn closed_within(&mut self, within: Duration) -> Option<u16> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(code) = self.close_frame() {
                return Some(code);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).expect("timeout");
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Some(1006),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return None,
                Err(_) => return Some(1006),
            }
        }
    }

    /// Consumes the (unmasked) server frames buffered so far; the code of a close frame among them.
    fn close_frame(&mut self) -> Option<u16> {
        loop {
            let b = &self.buf;
            if b.len() < 2 {
                return None;
            }
            let (len, at) = match b[1] & 0x7f {
                126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
                127 if b.len() >= 10 => (u64::from_be_bytes(b[2..10].try_into().unwrap()) as usize, 10),
                126 | 127 => return None,
                n => (n as usize, 2),
            };
            if b.len() < at + len {
                return None;
            }
            let opcode = b[0] & 0x0f;
            let payload = b[at..at + len].to_vec();
            self.buf.drain(..at + len);
            if opcode == 0x8 {
                return Some(if payload.len() >= 2 { u16::from_be_bytes([payload[0], payload[1]]) } else { 1005 });
            }
        }
    }
}
