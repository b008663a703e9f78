//! Test fixtures for the gateway: a real git repository, the fake model, an isolated Claude
//! Code sandbox, and clients for the runner socket and the daemon.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use fake_anthropic::cli::make_repo;
use fake_anthropic::cli::{claude_bin, Sandbox};
use fake_anthropic::FakeModel;
use serde_json::{json, Value};
use shared_types::codec::{decode_gateway_frame, encode};
use shared_types::gateway::{GatewayControl, GatewayFrame};
use shared_types::{EventEnvelope, GatewayCommand, GatewayEvent, SessionConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

pub const STEP: Duration = Duration::from_secs(30);

/// Everything a gateway test runs against. Dropping it stops the fake and removes the dirs.
pub struct Stack {
    pub root: tempfile::TempDir,
    pub sandbox: Sandbox,
    pub model: FakeModel,
    pub claude: PathBuf,
}

/// Runners are detached by design (they outlive the daemon), so a test must end the ones it
/// caused, even when it fails: dropping the stack kills every runner with a pid file in its
/// runtime dir, and their CLIs die with them (parent-death signal).
impl Drop for Stack {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.runtime_dir().join("sessions")) else { return };
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "pid") {
                let pid = std::fs::read_to_string(entry.path()).ok().and_then(|p| p.trim().parse::<i32>().ok());
                if let Some(pid) = pid {
                    // SAFETY: kill(2) on a pid our test's runner wrote.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
    }
}

/// A runner started by hand; killed when dropped, so a failing test leaves none behind.
pub struct RunnerProcess(pub Child);

impl RunnerProcess {
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    pub fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()
    }

    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.0.wait()
    }
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Stack {
    pub async fn new() -> Stack {
        let root = tempfile::tempdir().unwrap();
        let stack = Stack {
            sandbox: Sandbox::new().unwrap(),
            model: FakeModel::start().await.unwrap(),
            claude: claude_bin().unwrap_or_else(|e| panic!("{e}")),
            root,
        };
        std::fs::create_dir_all(stack.projects()).unwrap();
        std::fs::create_dir_all(stack.state_dir()).unwrap();
        make_repo(&stack.projects().join("demo"));
        stack
    }

    pub fn projects(&self) -> PathBuf {
        self.root.path().join("projects")
    }

    pub fn repo(&self) -> PathBuf {
        self.projects().join("demo")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.path().join("state")
    }

    pub fn runtime_dir(&self) -> PathBuf {
        self.root.path().join("run")
    }

    pub fn socket(&self, id: &str) -> PathBuf {
        self.runtime_dir().join("sessions").join(format!("{id}.sock"))
    }

    /// The environment every gateway process gets: the sandboxed CLI talking to the fake.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = self.sandbox.env(&self.model.base_url());
        env.push(("CLAUDE_CODE_MAX_RETRIES".into(), "1".into()));
        env.push(("CLAUDE_BIN".into(), self.claude.to_string_lossy().into_owned()));
        env.push(("CC_GATEWAY_STATE_DIR".into(), self.state_dir().to_string_lossy().into_owned()));
        env.push(("CC_GATEWAY_RUNTIME_DIR".into(), self.runtime_dir().to_string_lossy().into_owned()));
        env.push(("RUST_LOG".into(), "info,claude=debug".into()));
        env
    }

    /// Starts a runner by hand (the daemon normally does this).
    pub fn start_runner(&self, id: &str, cwd: Option<&Path>) -> RunnerProcess {
        self.start_runner_with_env(id, cwd, &[])
    }

    /// The same, with extra environment variables for the runner.
    pub fn start_runner_with_env(&self, id: &str, cwd: Option<&Path>, extra: &[(&str, &str)]) -> RunnerProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cc-gateway"));
        cmd.args(["runner", "--session-id", id]).envs(self.env()).envs(extra.iter().copied()).stdin(Stdio::null());
        if let Some(cwd) = cwd {
            cmd.arg("--cwd").arg(cwd);
        }
        let log = std::fs::File::create(self.root.path().join(format!("runner-{id}.log"))).unwrap();
        cmd.stdout(log.try_clone().unwrap()).stderr(log);
        RunnerProcess(cmd.spawn().unwrap())
    }

    pub fn runner_log(&self, id: &str) -> String {
        std::fs::read_to_string(self.root.path().join(format!("runner-{id}.log"))).unwrap_or_default()
    }

    /// Every request body the fake model received, as text.
    pub fn model_saw(&self) -> String {
        self.model.message_requests().iter().map(|r| r.body.to_string()).collect::<Vec<_>>().join("\n")
    }
}


/// Starts a runner for a new session in the demo repo and attaches a client.
pub async fn started(stack: &Stack, id: &str) -> (RunnerProcess, SocketClient) {
    started_with(stack, id, config()).await
}

/// The same, with a session config of the test's own (a policy, say).
pub async fn started_with(stack: &Stack, id: &str, config: SessionConfig) -> (RunnerProcess, SocketClient) {
    let runner = stack.start_runner(id, Some(&stack.repo()));
    let mut client = SocketClient::connect(&stack.socket(id)).await;
    client.send(&GatewayCommand::Attach { after_seq: 0, batches: false }).await;
    client.send(&GatewayCommand::Create { config }).await;
    client.until("created", |e| matches!(e, GatewayEvent::Created { .. })).await;
    (runner, client)
}

/// Reattaches to a session whose runner was restarted, after the last seq `c` saw.
pub async fn reattached(stack: &Stack, id: &str, after_seq: u64) -> (RunnerProcess, SocketClient) {
    let runner = stack.start_runner(id, None);
    let mut client = SocketClient::connect(&stack.socket(id)).await;
    client.send(&GatewayCommand::Attach { after_seq, batches: false }).await;
    (runner, client)
}

pub fn config() -> SessionConfig {
    serde_json::from_value(json!({"project": "demo", "title": "test"})).unwrap()
}

pub fn text(client_id: &str, prompt: &str) -> GatewayCommand {
    GatewayCommand::Message { client_id: client_id.into(), content: vec![shared_types::ContentBlock::text(prompt)] }
}

/// A client of a runner's unix socket that keeps every event it received.
pub struct SocketClient {
    read: Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
    pub events: Vec<EventEnvelope>,
    pub controls: Vec<GatewayControl>,
}

impl SocketClient {
    /// Connects, retrying while the runner starts.
    pub async fn connect(path: &Path) -> SocketClient {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            match UnixStream::connect(path).await {
                Ok(stream) => {
                    let (read, write) = stream.into_split();
                    let read = BufReader::new(read).lines();
                    return SocketClient { read, write, events: vec![], controls: vec![] };
                }
                Err(e) if tokio::time::Instant::now() > deadline => panic!("cannot connect to {}: {e}", path.display()),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    pub async fn send(&mut self, command: &GatewayCommand) {
        self.send_raw(&encode(command)).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.write.write_all(format!("{text}\n").as_bytes()).await.unwrap();
    }

    pub fn seqs(&self) -> Vec<u64> {
        self.events.iter().map(|e| e.seq).collect()
    }
}

impl LinkClient for SocketClient {
    async fn next_frame(&mut self, what: &str) -> Option<GatewayFrame> {
        match tokio::time::timeout(STEP, self.read.next_line()).await {
            Ok(Ok(Some(line))) => Some(decode_gateway_frame(&line).unwrap_or_else(|e| panic!("bad frame {line}: {e}"))),
            Ok(_) => None,
            Err(_) => panic!("timed out waiting for {what}; got {:#?}", self.events),
        }
    }

    fn received(&mut self) -> (&mut Vec<EventEnvelope>, &mut Vec<GatewayControl>) {
        (&mut self.events, &mut self.controls)
    }
}

/// A client of either end of the link (the runner's socket, the daemon's WebSocket): it keeps
/// every frame it reads, so a test can wait for one and then look at all of them.
pub trait LinkClient {
    /// The next frame; `None` when the link closed. Fails the test after `STEP`.
    async fn next_frame(&mut self, what: &str) -> Option<GatewayFrame>;

    /// Where received events and control frames are kept.
    fn received(&mut self) -> (&mut Vec<EventEnvelope>, &mut Vec<GatewayControl>);

    /// Reads frames until `pred` holds for an event; returns that event.
    async fn until(&mut self, what: &str, pred: impl Fn(&GatewayEvent) -> bool) -> GatewayEvent {
        loop {
            let frame = self.next_frame(what).await;
            let (events, controls) = self.received();
            match frame {
                None => panic!("link closed while waiting for {what}; got {events:#?}"),
                Some(GatewayFrame::Event(e)) => {
                    let hit = pred(&e.event);
                    events.push(e.clone());
                    if hit {
                        return e.event;
                    }
                }
                Some(GatewayFrame::Events(batch)) => {
                    let hit = batch.events.iter().find(|e| pred(&e.event)).map(|e| e.event.clone());
                    events.extend(batch.events);
                    if let Some(event) = hit {
                        return event;
                    }
                }
                Some(GatewayFrame::Control(c)) => controls.push(c),
            }
        }
    }

    /// Reads until a control frame arrives and returns it.
    async fn control(&mut self) -> GatewayControl {
        loop {
            let frame = self.next_frame("a control frame").await;
            let (events, controls) = self.received();
            match frame {
                None => panic!("link closed while waiting for a control frame"),
                Some(GatewayFrame::Event(e)) => events.push(e),
                Some(GatewayFrame::Events(batch)) => events.extend(batch.events),
                Some(GatewayFrame::Control(c)) => {
                    controls.push(c.clone());
                    return c;
                }
            }
        }
    }
}

pub fn is_result(e: &GatewayEvent) -> bool {
    matches!(e, GatewayEvent::Result { .. })
}

pub fn tool_request_id(e: &GatewayEvent) -> Option<String> {
    match e {
        GatewayEvent::ToolRequest { tool_call } => Some(tool_call.id.clone()),
        GatewayEvent::Question { tool_call_id, .. } => Some(tool_call_id.clone()),
        _ => None,
    }
}

/// Whether a process is alive (and not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .unwrap_or(false)
}

/// The pids whose parent is `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    let mut out = vec![];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
        let ppid = stat.rsplit(')').next().and_then(|s| s.split_whitespace().nth(1)).and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + STEP;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn value_contains(v: &Value, needle: &str) -> bool {
    v.to_string().contains(needle)
}

pub const TOKEN: &str = "0123456789abcdef0123456789abcdef-test-token";

/// A running `cc-gateway serve`. Killed on drop.
pub struct Daemon {
    pub child: Child,
    pub port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Stack {
    /// Starts the daemon on `port` (0: a free one) and waits for `/health`.
    pub async fn daemon(&self, port: u16, extra: &[&str]) -> Daemon {
        self.daemon_from(Path::new(env!("CARGO_BIN_EXE_cc-gateway")), port, extra).await
    }

    /// The same, from a given copy of the binary.
    pub async fn daemon_from(&self, bin: &Path, port: u16, extra: &[&str]) -> Daemon {
        let port = if port == 0 { free_port() } else { port };
        let log = std::fs::File::options().create(true).append(true).open(self.root.path().join("daemon.log")).unwrap();
        let child = Command::new(bin)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .arg("--projects-root").arg(self.projects())
            .args(extra)
            .envs(self.env())
            .env("CC_GATEWAY_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let daemon = Daemon { child, port };
        let deadline = tokio::time::Instant::now() + STEP;
        while http_get(port, "/health", None).await.map(|(s, _)| s) != Some(200) {
            assert!(tokio::time::Instant::now() < deadline, "daemon did not start: {}", self.daemon_log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        daemon
    }

    pub fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("daemon.log")).unwrap_or_default()
    }
}

/// A minimal HTTP/1.1 GET: (status, body). `None` when nothing answers.
pub async fn http_get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    use tokio::io::AsyncReadExt;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    tokio::time::timeout(STEP, stream.read_to_string(&mut response)).await.ok()?.ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

/// The DO's side of the link, as a test drives it.
pub struct WsClient {
    pub ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    pub events: Vec<EventEnvelope>,
    pub controls: Vec<GatewayControl>,
}

impl WsClient {
    pub async fn connect(port: u16, id: &str) -> WsClient {
        Self::try_connect(port, id, Some(TOKEN)).await.unwrap_or_else(|e| panic!("ws connect: {e}"))
    }

    pub async fn try_connect(port: u16, id: &str, token: Option<&str>) -> Result<WsClient, tokio_tungstenite::tungstenite::Error> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://127.0.0.1:{port}/sessions/{id}/ws").into_client_request().unwrap();
        if let Some(token) = token {
            request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(WsClient { ws, events: vec![], controls: vec![] })
    }

    pub async fn send(&mut self, command: &GatewayCommand) {
        self.send_raw(&encode(command)).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        use futures_util::SinkExt;
        self.ws.send(tokio_tungstenite::tungstenite::Message::Text(text.into())).await.unwrap();
    }

    pub fn last_seq(&self) -> u64 {
        self.events.last().map_or(0, |e| e.seq)
    }
}

impl LinkClient for WsClient {
    async fn next_frame(&mut self, what: &str) -> Option<GatewayFrame> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            match tokio::time::timeout(STEP, self.ws.next()).await {
                Err(_) => panic!("timed out waiting for {what}; got {:#?}", self.events),
                Ok(None | Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return None,
                Ok(Some(Ok(Message::Text(t)))) => return Some(decode_gateway_frame(&t).unwrap()),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }


    fn received(&mut self) -> (&mut Vec<EventEnvelope>, &mut Vec<GatewayControl>) {
        (&mut self.events, &mut self.controls)
    }
}

pub fn session_status(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}
