//! The daemon's HTTP side against the real binary and real git repositories: start-up checks,
//! bearer auth on every route, projects and worktrees, confinement of request paths, kata status
//! and the file size cap. Requests are written by hand on a TCP socket so that the exact bytes
//! of a hostile URL (`..%2f`, `%252e`) reach the server unnormalized.

use std::future::IntoFuture;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TOKEN: &str = "0123456789abcdef0123456789abcdef-test-token";
const START_TIMEOUT: Duration = Duration::from_secs(20);
const IO_TIMEOUT: Duration = Duration::from_secs(20);
const SECRET: &str = "the-secret-outside-the-project";

// ---------------------------------------------------------------- fixtures

/// Runs git in `dir` for the test's own set-up (identity given, no global config needed).
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"])
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn commit(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).expect("write");
    git(dir, &["add", file]);
    git(dir, &["commit", "-q", "-m", text]);
}

/// A projects root with `alpha` (an upstream, 1 ahead, 1 behind, dirty), `beta` (clean, no
/// upstream), a plain directory, and a secret file outside the root that `alpha/escape` links to.
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    token_file: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (root, outside) = (tmp.path().join("projects"), tmp.path().join("outside"));
        std::fs::create_dir_all(root.join("not-a-repo")).expect("mkdir");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::write(outside.join("secret.txt"), SECRET).expect("write");
        let remote = tmp.path().join("remote.git");
        git(tmp.path(), &["init", "-q", "--bare", remote.to_str().expect("utf8")]);
        let alpha = root.join("alpha");
        git(&root, &["init", "-q", "alpha"]);
        commit(&alpha, "README.md", "one\n");
        git(&alpha, &["remote", "add", "origin", remote.to_str().expect("utf8")]);
        git(&alpha, &["push", "-q", "-u", "origin", "main"]);
        commit(&alpha, "README.md", "one\ntwo\n");
        git(&alpha, &["push", "-q"]);
        git(&alpha, &["reset", "-q", "--hard", "HEAD~1"]);
        commit(&alpha, "local.txt", "local\n");
        std::fs::write(alpha.join("untracked.txt"), "new\n").expect("write");
        std::os::unix::fs::symlink(&outside, alpha.join("escape")).expect("symlink");
        git(&root, &["init", "-q", "beta"]);
        commit(&root.join("beta"), "b.txt", "b\n");
        let token_file = tmp.path().join("token");
        std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write");
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        Fixture { root, outside, token_file, _tmp: tmp }
    }

    fn command(&self) -> Command {
        self.command_on("127.0.0.1:0")
    }

    fn command_on(&self, bind: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cc-gateway"));
        cmd.arg("serve")
            .arg("--bind")
            .arg(bind)
            .arg("--projects-root")
            .arg(&self.root)
            .arg("--state-dir")
            .arg(self.root.parent().expect("parent").join("state"))
            .arg("--runtime-dir")
            .arg(self.root.parent().expect("parent").join("run"))
            .env_remove("CC_GATEWAY_TOKEN")
            .env_remove("CC_GATEWAY_TOKEN_FILE")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    fn start(&self) -> Daemon {
        self.start_with(&[])
    }

    fn start_with(&self, args: &[&str]) -> Daemon {
        let mut cmd = self.command();
        cmd.arg("--token-file").arg(&self.token_file).args(args);
        Daemon::spawn(cmd)
    }
}

/// The daemon binary, stopped with SIGTERM when dropped.
struct Daemon {
    child: Child,
    addr: SocketAddr,
}

impl Daemon {
    fn spawn(mut cmd: Command) -> Daemon {
        let mut child = cmd.spawn().expect("the daemon starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':').collect();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx.recv_timeout(START_TIMEOUT).expect("the daemon says where it listens");
        Daemon { child, addr: addr.parse().expect("an address") }
    }

    fn get(&self, target: &str) -> Response {
        request(self.addr, "GET", target, Some(TOKEN), None)
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let pid = i32::try_from(self.child.id()).expect("pid fits");
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        wait_bounded(&mut self.child, Duration::from_secs(15))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() && self.stop().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Runs the daemon expecting it to refuse to start; returns its stderr.
fn refused(mut cmd: Command) -> String {
    let mut child = cmd.spawn().expect("the binary runs");
    let status = wait_bounded(&mut child, START_TIMEOUT).expect("it exits promptly");
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("read");
    assert!(!status.success(), "it must refuse to start; stderr: {stderr}");
    stderr
}

// ---------------------------------------------------------------- a tiny HTTP client

struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

fn request(addr: SocketAddr, method: &str, target: &str, token: Option<&str>, body: Option<&Value>) -> Response {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    if !body.is_empty() {
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    raw_request(addr, &format!("{head}\r\n{body}"))
}

fn raw_request(addr: SocketAddr, bytes: &str) -> Response {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    stream.write_all(bytes.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let body = if chunked { dechunk(body) } else { body.to_string() };
    Response { status, head: head.to_string(), body }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        body.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    body
}

// ---------------------------------------------------------------- start-up

#[test]
fn the_daemon_refuses_to_start_without_a_strong_private_token_or_off_loopback() {
    let fx = Fixture::new();
    let stderr = refused(fx.command());
    assert!(stderr.contains("openssl rand -hex 32"), "says how to make a token: {stderr}");

    let mut short = fx.command();
    short.env("CC_GATEWAY_TOKEN", "too-short");
    assert!(refused(short).contains("at least 32"));

    let open_file = fx.root.parent().expect("parent").join("open-token");
    std::fs::write(&open_file, TOKEN).expect("write");
    std::fs::set_permissions(&open_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut open = fx.command();
    open.arg("--token-file").arg(&open_file);
    assert!(refused(open).contains("chmod 600"));

    let mut exposed = fx.command_on("0.0.0.0:0");
    exposed.arg("--token-file").arg(&fx.token_file);
    assert!(refused(exposed).contains("--allow-non-loopback"));
}

#[test]
fn a_token_from_the_environment_or_a_file_works_and_sigterm_stops_cleanly() {
    let fx = Fixture::new();
    let mut from_env = fx.command();
    from_env.env("CC_GATEWAY_TOKEN", TOKEN);
    let mut daemon = Daemon::spawn(from_env);
    assert_eq!(daemon.get("/projects").status, 200);
    let status = daemon.stop().expect("SIGTERM stops the daemon in time");
    assert!(status.success(), "a graceful stop exits 0: {status:?}");

    let daemon = fx.start();
    let health = request(daemon.addr, "GET", "/health", None, None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["ok"], true);
    assert!(health.json()["version"].is_string());
    assert_eq!(daemon.get("/projects").status, 200);
}

// ---------------------------------------------------------------- auth

#[test]
fn every_route_but_health_wants_the_bearer_token() {
    let fx = Fixture::new();
    let daemon = fx.start();
    let routes = [
        ("GET", "/projects"),
        ("POST", "/projects/alpha/worktrees"),
        ("DELETE", "/projects/alpha/worktrees/x"),
        ("GET", "/projects/alpha/files?path="),
        ("GET", "/projects/alpha/file?path=README.md"),
        ("GET", "/projects/alpha/diff"),
        ("GET", "/projects/alpha/kata-status"),
        ("GET", "/projects/alpha/claude-sessions"),
        ("GET", "/projects/alpha/claude-sessions/0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11"),
        ("GET", "/sessions"),
        ("GET", "/sessions/s1/status"),
        ("GET", "/no-such-route"),
    ];
    let wrong = "f".repeat(TOKEN.len());
    for (method, target) in routes {
        for token in [None, Some(wrong.as_str()), Some(&TOKEN[..TOKEN.len() - 1])] {
            let body = (method == "POST").then(|| json!({"branch": "x"}));
            let response = request(daemon.addr, method, target, token, body.as_ref());
            assert_eq!(response.status, 401, "{method} {target} with {token:?}");
            assert_eq!(response.error_code(), "unauthorized");
            assert!(response.head.to_ascii_lowercase().contains("www-authenticate: bearer"));
            assert!(!response.body.contains(&wrong));
        }
    }
    let upgrade = format!(
        "GET /sessions/s1/ws HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: {TOKEN}\r\n\r\n",
        daemon.addr
    );
    assert_eq!(raw_request(daemon.addr, &upgrade).status, 401, "a WebSocket upgrade needs the header too");
    let in_url = request(daemon.addr, "GET", &format!("/projects?token={TOKEN}"), None, None);
    assert_eq!(in_url.status, 401, "a token in the URL is not accepted");
    assert_eq!(request(daemon.addr, "GET", "/health", None, None).status, 200);
    assert_eq!(daemon.get("/no-such-route").error_code(), "not_found");
}

// ---------------------------------------------------------------- projects and worktrees

fn project<'a>(list: &'a Value, name: &str) -> &'a Value {
    let all = list.as_array().expect("a list of projects");
    all.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name} listed in {list}"))
}

#[test]
fn projects_are_listed_with_branch_dirt_and_upstream_counts() {
    let fx = Fixture::new();
    let daemon = fx.start();
    let response = daemon.get("/projects");
    assert_eq!(response.status, 200);
    let list = response.json();
    let names: Vec<&str> = list.as_array().expect("list").iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["alpha", "beta"], "only git repositories, by name");
    let alpha = project(&list, "alpha");
    assert_eq!((alpha["branch"].as_str(), alpha["dirty"].as_bool()), (Some("main"), Some(true)));
    assert_eq!((alpha["ahead"].as_u64(), alpha["behind"].as_u64()), (Some(1), Some(1)));
    assert_eq!(alpha["upstream"], "origin/main");
    let beta = project(&list, "beta");
    assert_eq!((beta["dirty"].as_bool(), beta["ahead"].is_null(), beta["behind"].is_null()), (Some(false), true, true));
    assert_eq!(beta["worktrees"], json!([]));
}

#[test]
fn worktrees_are_created_listed_diffed_and_deleted() {
    let fx = Fixture::new();
    let daemon = fx.start();
    let create = |body: Value| request(daemon.addr, "POST", "/projects/beta/worktrees", Some(TOKEN), Some(&body));
    let made = create(json!({"branch": "feature/x"}));
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!((made.json()["name"].as_str(), made.json()["branch"].as_str()), (Some("feature-x"), Some("feature/x")));
    let dir = fx.root.join(".worktrees/beta/feature-x");
    assert!(dir.join("b.txt").is_file(), "the worktree is at <root>/.worktrees/<project>/<name>");

    let list = daemon.get("/projects").json();
    let worktrees = &project(&list, "beta")["worktrees"];
    assert_eq!(worktrees[0]["name"], "feature-x");
    assert_eq!(worktrees[0]["dirty"], false);
    assert!(!list.as_array().expect("list").iter().any(|p| p["name"] == ".worktrees"));

    commit(&dir, "b.txt", "b\nmore\n");
    std::fs::write(dir.join("fresh.txt"), "fresh\n").expect("write");
    let diff = daemon.get("/projects/beta/diff?worktree=feature-x");
    assert_eq!(diff.status, 200, "{}", diff.body);
    let files = diff.json();
    assert_eq!(files[0]["path"], "b.txt");
    assert_eq!((files[0]["status"].as_str(), files[0]["additions"].as_u64()), (Some("modified"), Some(1)));
    assert!(files[0]["patch"].as_str().is_some_and(|p| p.contains("+more")));
    assert_eq!((files[1]["path"].as_str(), files[1]["status"].as_str()), (Some("fresh.txt"), Some("untracked")));
    assert_eq!(daemon.get("/projects/beta/diff").json(), json!([]), "the main checkout is clean");

    for bad in ["bad..name", "-x", "a b", "@{-1}", "x.lock", ""] {
        let response = create(json!({"branch": bad}));
        assert_eq!((response.status, response.error_code()), (400, "invalid_input".into()), "branch {bad:?}");
    }
    assert_eq!(create(json!({"branch": "y", "base": "no-such-base"})).status, 400);
    assert_eq!(create(json!({"branch": "y", "base": "--help"})).status, 400);
    assert_eq!(create(json!({"branch": "feature/x"})).status, 409, "the branch exists");
    assert_eq!(create(json!({"nope": 1})).error_code(), "invalid_input");
    let huge = create(json!({"branch": "x".repeat(100 * 1024)}));
    assert_eq!((huge.status, huge.error_code()), (413, "frame_too_large".into()));
    assert_eq!(request(daemon.addr, "POST", "/projects/nope/worktrees", Some(TOKEN), Some(&json!({"branch": "z"}))).status, 404);

    let delete = |target: &str| request(daemon.addr, "DELETE", target, Some(TOKEN), None);
    assert_eq!(delete("/projects/beta/worktrees/feature-x").status, 409, "uncommitted files need force");
    assert_eq!(delete("/projects/beta/worktrees/feature-x?force=true").status, 204);
    assert!(!dir.exists());
    assert_eq!(delete("/projects/beta/worktrees/feature-x").status, 404);
    assert_eq!(delete("/projects/beta/worktrees/..").status, 400);
    assert_eq!(daemon.get("/projects").json()[1]["worktrees"], json!([]));
}

#[tokio::test]
async fn a_worktree_with_a_running_session_is_not_deleted() {
    let fx = Fixture::new();
    let dir = fx.root.join(".worktrees/beta/busy");
    std::fs::create_dir_all(dir.parent().expect("parent")).expect("mkdir");
    git(&fx.root.join("beta"), &["worktree", "add", "-q", "-b", "busy", dir.to_str().expect("utf8")]);
    let config = cc_gateway::config::DaemonConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        allow_non_loopback: false,
        token_file: None,
        projects_root: fx.root.clone(),
        dirs: cc_gateway::config::Dirs { state_dir: fx.outside.clone(), runtime_dir: fx.outside.clone() },
        runner: cc_gateway::config::RunnerSettings {
            claude_bin: "claude".into(),
            idle_exit_secs: 1,
            heartbeat_secs: 1,
            silence_secs: 1,
        },
        max_file_bytes: 1024,
    };
    let token = cc_gateway::auth::Token::new(TOKEN).expect("token");
    let busy = dir.clone();
    let state = cc_gateway::state::AppState::new(config, token).with_busy_worktrees(move || vec![busy.clone()]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(axum::serve(listener, cc_gateway::daemon::router(state)).into_future());
    let target = "/projects/beta/worktrees/busy?force=true";
    let response = tokio::task::spawn_blocking(move || request(addr, "DELETE", target, Some(TOKEN), None));
    let response = tokio::time::timeout(IO_TIMEOUT, response).await.expect("in time").expect("joined");
    server.abort();
    assert_eq!((response.status, response.error_code()), (409, "conflict".into()));
    assert!(dir.is_dir(), "nothing was removed");
}

// ---------------------------------------------------------------- confinement

#[test]
fn request_paths_never_leave_the_checkout() {
    let fx = Fixture::new();
    let daemon = fx.start();
    let outside = fx.outside.to_str().expect("utf8");
    let hostile = [
        "../outside".to_string(),
        "..%2foutside".into(),
        "%2e%2e/outside".into(),
        "%2e%2e%2f%2e%2e%2foutside".into(),
        "%252e%252e%252foutside".into(),
        "README.md/../../outside".into(),
        format!("{outside}/secret.txt"),
        "%2fetc%2fpasswd".into(),
        "README.md%00".into(),
        "escape".into(),
        "escape/secret.txt".into(),
    ];
    for path in &hostile {
        for route in ["files", "file"] {
            let response = daemon.get(&format!("/projects/alpha/{route}?path={path}"));
            assert_eq!((response.status, response.error_code()), (400, "invalid_input".into()), "{route} {path}");
            assert!(!response.body.contains(SECRET));
        }
    }
    for worktree in ["..", "../alpha", "..%2falpha", "%2e%2e", "%252e%252e", "/tmp", "a%00"] {
        for route in ["files", "file", "diff", "kata-status"] {
            let response = daemon.get(&format!("/projects/alpha/{route}?path=README.md&worktree={worktree}"));
            assert_eq!(response.status, 400, "{route} worktree={worktree}");
        }
    }
    for name in ["..", "%2e%2e", ".worktrees", "%2e%2e%2fbeta"] {
        assert_eq!(daemon.get(&format!("/projects/{name}/files")).status, 400, "project {name}");
    }
    std::fs::create_dir_all(fx.outside.join("sessions/s1")).expect("mkdir");
    std::fs::write(fx.outside.join("sessions/s1/state.json"), kata_state("s1", 5)).expect("write");
    std::os::unix::fs::symlink(&fx.outside, fx.root.join("beta/.kata")).expect("symlink");
    assert_eq!(daemon.get("/projects/beta/kata-status").status, 400, "a .kata symlinked outside is refused");
}

#[test]
fn files_are_listed_and_read_within_the_size_cap() {
    let fx = Fixture::new();
    let alpha = fx.root.join("alpha");
    std::fs::create_dir_all(alpha.join("src")).expect("mkdir");
    std::fs::write(alpha.join("src/big.txt"), "x".repeat(2048)).expect("write");
    std::fs::write(alpha.join("src/blob.bin"), [0u8, 159, 146, 150]).expect("write");
    std::os::unix::fs::symlink("../README.md", alpha.join("src/alias")).expect("symlink");
    let daemon = fx.start_with(&["--max-file-bytes", "1024"]);

    let root = daemon.get("/projects/alpha/files");
    assert_eq!(root.status, 200);
    let first = &root.json()[0];
    assert_eq!((first["kind"].as_str(), first["name"].as_str()), (Some("dir"), Some(".git")), "directories first");
    let src = daemon.get("/projects/alpha/files?path=src").json();
    let kinds: Vec<(&str, &str)> = src.as_array().expect("list").iter().map(|e| (e["name"].as_str().unwrap_or(""), e["kind"].as_str().unwrap_or(""))).collect();
    assert_eq!(kinds, [("alias", "symlink"), ("big.txt", "file"), ("blob.bin", "file")]);
    assert_eq!(src[1]["size"], 2048);

    let readme = daemon.get("/projects/alpha/file?path=README.md").json();
    assert_eq!((readme["content"].as_str(), readme["binary"].as_bool(), readme["size"].as_u64()), (Some("one\n"), Some(false), Some(4)));
    assert_eq!(daemon.get("/projects/alpha/file?path=src/alias").json()["content"], "one\n");
    let blob = daemon.get("/projects/alpha/file?path=src/blob.bin").json();
    assert_eq!((blob["binary"].as_bool(), blob["content"].is_null()), (Some(true), true));
    let big = daemon.get("/projects/alpha/file?path=src/big.txt");
    assert_eq!((big.status, big.error_code()), (413, "frame_too_large".into()));
    assert_eq!(daemon.get("/projects/alpha/file?path=src").status, 400, "a directory is not a file");
    assert_eq!(daemon.get("/projects/alpha/file?path=missing.txt").status, 404);
    assert_eq!(daemon.get("/projects/nope/files").status, 404);
    assert_eq!(daemon.get("/projects/not-a-repo/files").status, 404);
    assert_eq!(daemon.get("/projects/alpha/files?worktree=nope").status, 404);
}

// ---------------------------------------------------------------- kata status

fn kata_state(session: &str, updated_at_ms: u64) -> String {
    json!({"session_id": session, "mode": "task", "phase": "do", "phases": [], "updated_at_ms": updated_at_ms})
        .to_string()
}

#[test]
fn kata_status_shows_the_newest_state_or_null() {
    let fx = Fixture::new();
    let daemon = fx.start();
    let sessions = fx.root.join("beta/.kata/sessions");
    let status = || daemon.get("/projects/beta/kata-status");
    assert_eq!(status().json(), json!({"kata_state": null}), "no .kata yet");

    std::fs::create_dir_all(sessions.join("broken")).expect("mkdir");
    std::fs::write(sessions.join("broken/state.json"), "{not json").expect("write");
    assert_eq!(status().json(), json!({"kata_state": null}), "a corrupt state is null");

    for (session, updated) in [("old", 10), ("new", 20)] {
        std::fs::create_dir_all(sessions.join(session)).expect("mkdir");
        std::fs::write(sessions.join(session).join("state.json"), kata_state(session, updated)).expect("write");
    }
    let newest = status();
    assert_eq!(newest.status, 200);
    assert_eq!(newest.json()["kata_state"]["session_id"], "new");

    let nope = daemon.get("/projects/nope/kata-status");
    assert_eq!((nope.status, nope.error_code()), (404, "not_found".into()));
    assert_eq!(daemon.get("/projects/beta/kata-status?worktree=nope").status, 404);
}

/// Writes into `beta` every repository setting that makes git run a program (what a session
/// could write): fsmonitor, a hooks dir and hooks, clean/smudge/process filters and a diff
/// driver named by `.gitattributes`, an external diff, a credential helper. Each program
/// touches a file in the returned directory.
fn arm_repository(fx: &Fixture) -> PathBuf {
    let beta = fx.root.join("beta");
    let marks = fx.outside.join("marks");
    std::fs::create_dir_all(&marks).expect("mkdir");
    let touch = |name: &str| format!("touch {}/{name}", marks.display());
    std::fs::write(beta.join(".gitattributes"), "* filter=evil diff=evil\n").expect("write");
    git(&beta, &["add", ".gitattributes"]);
    git(&beta, &["commit", "-q", "-m", "attributes"]);
    let config = format!(
        "[core]\n\tfsmonitor = \"{fsmonitor}\"\n\thooksPath = {hooks}\n[filter \"evil\"]\n\tclean = \"{clean}; cat\"\n\tsmudge = \"{smudge}; cat\"\n[diff \"evil\"]\n\ttextconv = \"{textconv}; cat\"\n\tcommand = \"{diffcmd}\"\n[diff]\n\texternal = \"{external}\"\n[credential]\n\thelper = \"!{credential}\"\n",
        fsmonitor = touch("fsmonitor"),
        hooks = beta.join(".git/evil-hooks").display(),
        clean = touch("clean"),
        smudge = touch("smudge"),
        textconv = touch("textconv"),
        diffcmd = touch("diff-command"),
        external = touch("external-diff"),
        credential = touch("credential"),
    );
    let mut existing = std::fs::read_to_string(beta.join(".git/config")).expect("config");
    existing.push_str(&config);
    std::fs::write(beta.join(".git/config"), existing).expect("write");
    for dir in [".git/hooks", ".git/evil-hooks"] {
        std::fs::create_dir_all(beta.join(dir)).expect("mkdir");
        for hook in ["post-checkout", "reference-transaction", "pre-auto-gc", "post-index-change"] {
            let path = beta.join(dir).join(hook);
            std::fs::write(&path, format!("#!/bin/sh\n{}\n", touch(hook))).expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    std::fs::write(beta.join("b.txt"), "changed\n").expect("write"); // a modified file to diff
    marks
}

fn marks_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).expect("marks").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn a_repository_configured_program_never_runs_on_any_gateway_route() {
    let fx = Fixture::new();
    let marks = arm_repository(&fx);
    // The same repository under a plain git: the settings are live for the git in use.
    let control = Command::new("git").arg("-C").arg(fx.root.join("beta")).args(["status", "--porcelain"]).output().expect("git");
    assert!(control.status.success());
    let live = marks_in(&marks);
    assert!(live.contains(&"fsmonitor".to_string()), "plain git status runs the repository's fsmonitor: {live:?}");
    for m in &live {
        std::fs::remove_file(marks.join(m)).expect("rm");
    }

    let daemon = fx.start();
    let routes = [
        ("GET", "/projects".to_string()),
        ("GET", "/projects/beta/files?path=".to_string()),
        ("GET", "/projects/beta/file?path=b.txt".to_string()),
        ("GET", "/projects/beta/diff".to_string()),
        ("GET", "/projects/beta/kata-status".to_string()),
        ("POST", "/projects/beta/worktrees".to_string()),
        ("GET", "/projects/beta/diff?worktree=armed".to_string()),
        ("GET", "/projects".to_string()),
        ("DELETE", "/projects/beta/worktrees/armed?force=true".to_string()),
    ];
    for (method, target) in &routes {
        let body = (*method == "POST").then(|| json!({"branch": "armed"}));
        let response = request(daemon.addr, method, target, Some(TOKEN), body.as_ref());
        assert!(response.status < 500, "{method} {target}: {} {}", response.status, response.body);
    }
    assert_eq!(marks_in(&marks), Vec::<String>::new(), "a repository-configured program ran");
    let diff = daemon.get("/projects/beta/diff").json();
    assert_eq!(diff[0]["path"], "b.txt", "git still works: the diff is there");
}
