//! The gateway as the Durable Object sees it: the daemon's WebSocket link relayed to detached
//! runners, through daemon restarts (SIGKILL and SIGTERM) and a half-open link.

mod support;

use std::time::Duration;

use shared_types::gateway::{GatewayControl, Scope};
use shared_types::{ErrorCode, GatewayCommand, GatewayEvent};
use support::*;

async fn create(c: &mut WsClient) {
    c.send(&GatewayCommand::Create { config: config() }).await;
    c.send(&GatewayCommand::Attach { after_seq: 0, batches: false }).await;
    c.until("created", |e| matches!(e, GatewayEvent::Created { .. })).await;
}

fn runner_pid(body: &str) -> u64 {
    session_status(body)["runner_pid"].as_u64().unwrap_or_else(|| panic!("no runner pid in {body}"))
}

/// Every seq from 1 to the last, once: what the DO holds after putting both links together.
fn assert_contiguous_once(events: &[shared_types::EventEnvelope]) {
    let mut seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    let n = seqs.len();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), n, "no seq twice");
    assert_eq!(seqs, (1..=n as u64).collect::<Vec<_>>(), "contiguous from 1");
}

#[tokio::test]
async fn a_whole_turn_through_the_daemon() {
    let stack = Stack::new().await;
    let daemon = stack.daemon(0, &[]).await;
    let mut c = WsClient::connect(daemon.port, "whole").await;
    create(&mut c).await;
    c.send(&text("c1", "[[tool:bash cmd=\"echo via-daemon > d.txt\"]]")).await;
    let id = tool_request_id(&c.until("request", |e| tool_request_id(e).is_some()).await).unwrap();
    c.send(&GatewayCommand::ToolApprove { tool_call_id: id, scope: Scope::Once, grant: None, by: Some("ada".into()) }).await;
    c.until("result", is_result).await;
    assert_eq!(std::fs::read_to_string(stack.repo().join("d.txt")).unwrap().trim(), "via-daemon");
    c.send(&GatewayCommand::Ping).await;
    assert_eq!(c.control().await, GatewayControl::Pong);
    let (status, body) = http_get(daemon.port, "/sessions", Some(TOKEN)).await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("\"whole\""), "{body}");
}

#[tokio::test]
async fn bad_frames_and_bad_sessions_get_errors_and_the_link_stays() {
    let stack = Stack::new().await;
    let daemon = stack.daemon(0, &[]).await;
    let mut c = WsClient::connect(daemon.port, "never-created").await;
    c.send(&GatewayCommand::Attach { after_seq: 0, batches: false }).await;
    assert!(matches!(c.control().await, GatewayControl::Error { code: ErrorCode::NotFound, .. }));
    let mut bad = config();
    bad.project = "../etc".into();
    c.send(&GatewayCommand::Create { config: bad }).await;
    assert!(matches!(c.control().await, GatewayControl::Error { code: ErrorCode::InvalidInput, .. }));
    create(&mut c).await;
    let oversize = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(shared_types::MAX_FRAME_BYTES));
    for (raw, code) in [("{{", ErrorCode::BadFrame), (r#"{"type":"warp"}"#, ErrorCode::UnknownType), (oversize.as_str(), ErrorCode::FrameTooLarge)] {
        c.send_raw(raw).await;
        assert!(matches!(c.control().await, GatewayControl::Error { code: got, .. } if got == code), "{}", &raw[..raw.len().min(40)]);
    }
    c.send(&text("c1", "still fine")).await;
    c.until("result", is_result).await;
    assert!(WsClient::try_connect(daemon.port, "x", None).await.is_err(), "no token: refused");
    assert!(WsClient::try_connect(daemon.port, "x", Some("wrong-token-wrong-token-wrong-token")).await.is_err());
    let (status, _) = http_get(daemon.port, "/sessions/x/status", Some("nope")).await.unwrap();
    assert_eq!(status, 401);
}

/// Kills the daemon while the model streams slowly; a new daemon relays the same runner.
async fn restart_mid_stream(signal: i32) {
    let stack = Stack::new().await;
    let mut daemon = stack.daemon(0, &[]).await;
    let port = daemon.port;
    let id = format!("restart{signal}");
    let mut c = WsClient::connect(port, &id).await;
    create(&mut c).await;
    c.send(&text("c1", "stream [[slow ms=60 chunks=60]]")).await;
    c.until("streaming", |e| matches!(e, GatewayEvent::MessageDelta { .. })).await;
    let pid_before = runner_pid(&http_get(port, &format!("/sessions/{id}/status"), Some(TOKEN)).await.unwrap().1);
    unsafe { libc::kill(daemon.child.id() as i32, signal) };
    let exited = tokio::task::spawn_blocking(move || { let s = daemon.child.wait(); (daemon, s) }).await.unwrap();
    daemon = exited.0;
    drop(daemon);
    let held = c.events.clone();

    let daemon = stack.daemon(port, &[]).await;
    let mut c = WsClient::connect(daemon.port, &id).await;
    c.send(&GatewayCommand::Attach { after_seq: held.last().unwrap().seq, batches: false }).await;
    c.until("the turn's result", is_result).await;
    let pid_after = runner_pid(&http_get(port, &format!("/sessions/{id}/status"), Some(TOKEN)).await.unwrap().1);
    assert_eq!(pid_before, pid_after, "the same runner kept serving");
    assert!(!c.events.is_empty(), "new events after the restart");
    let all: Vec<_> = held.into_iter().chain(c.events.clone()).collect();
    assert_contiguous_once(&all);
}

#[tokio::test]
async fn sigkill_of_the_daemon_mid_stream_loses_nothing() {
    restart_mid_stream(libc::SIGKILL).await;
}

#[tokio::test]
async fn sigterm_of_the_daemon_mid_stream_loses_nothing() {
    restart_mid_stream(libc::SIGTERM).await;
}

#[tokio::test]
async fn a_pending_approval_survives_a_daemon_restart() {
    let stack = Stack::new().await;
    let daemon = stack.daemon(0, &[]).await;
    let port = daemon.port;
    let mut c = WsClient::connect(port, "pending").await;
    create(&mut c).await;
    c.send(&text("c1", "[[tool:write path=later.txt content=\"approved later\"]]")).await;
    let id = tool_request_id(&c.until("request", |e| tool_request_id(e).is_some()).await).unwrap();
    drop(daemon); // SIGKILL
    let held = c.events.clone();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let daemon = stack.daemon(port, &[]).await;
    let mut c = WsClient::connect(daemon.port, "pending").await;
    c.send(&GatewayCommand::Attach { after_seq: held.last().unwrap().seq, batches: false }).await;
    c.send(&GatewayCommand::ToolApprove { tool_call_id: id, scope: Scope::Once, grant: None, by: Some("bob".into()) }).await;
    c.until("result", is_result).await;
    assert_eq!(std::fs::read_to_string(stack.repo().join("later.txt")).unwrap(), "approved later");
    let all: Vec<_> = held.into_iter().chain(c.events.clone()).collect();
    assert_contiguous_once(&all);
}

/// A proxy that forwards until frozen, then drops everything silently without closing, as a
/// broken middlebox does. It reports when the daemon's side of the connection ends.
async fn freezing_proxy(upstream: u16) -> (u16, tokio::sync::watch::Sender<bool>, tokio::sync::oneshot::Receiver<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (freeze_tx, freeze_rx) = tokio::sync::watch::channel(false);
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let server = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        let frozen = freeze_rx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = cr.read(&mut buf).await {
                if n == 0 { break; }
                if !*frozen.borrow() && sw.write_all(&buf[..n]).await.is_err() { break; }
            }
            std::future::pending::<()>().await; // keep the upstream half open
        });
        let mut buf = vec![0u8; 65536];
        loop {
            match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => if !*freeze_rx.borrow() { let _ = cw.write_all(&buf[..n]).await; },
            }
        }
        let _ = closed_tx.send(());
        std::future::pending::<()>().await;
    });
    (port, freeze_tx, closed_rx)
}

#[tokio::test]
async fn a_half_open_link_is_closed_within_the_silence_timeout() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let stack = Stack::new().await;
    let daemon = stack.daemon(0, &["--heartbeat-secs", "1", "--silence-secs", "3"]).await;
    let (proxy, freeze, mut closed) = freezing_proxy(daemon.port).await;
    let mut c = WsClient::connect(proxy, "halfopen").await;
    create(&mut c).await;
    // The DO's heartbeat: a ping every 500 ms, and the answers drained.
    let (mut sink, mut stream) = c.ws.split();
    tokio::spawn(async move {
        while sink.send(Message::Text(r#"{"type":"ping"}"#.into())).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    tokio::spawn(async move { while stream.next().await.is_some() {} });
    assert!(
        tokio::time::timeout(Duration::from_secs(5), &mut closed).await.is_err(),
        "a link whose heartbeats flow stays open past the silence timeout"
    );
    freeze.send(true).unwrap();
    let frozen_at = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), closed).await.expect("the daemon never closed the silent link").unwrap();
    assert!(frozen_at.elapsed() >= Duration::from_secs(2), "closed only once silent");
    assert!(stack.daemon_log().contains("link silent"), "the log says why");
}

#[tokio::test]
async fn an_idle_runner_exits_and_the_next_message_resumes_it() {
    let stack = Stack::new().await;
    let daemon = stack.daemon(0, &["--idle-exit-secs", "1"]).await;
    let mut c = WsClient::connect(daemon.port, "idle").await;
    create(&mut c).await;
    c.send(&text("c1", "remember the word OTTER")).await;
    c.until("result", is_result).await;
    let status_path = "/sessions/idle/status";
    let first_pid = runner_pid(&http_get(daemon.port, status_path, Some(TOKEN)).await.unwrap().1);
    wait_until("the idle runner to exit", || !alive(first_pid as u32)).await;
    c.until("stopped", |e| *e == GatewayEvent::Status { state: shared_types::RunnerState::Stopped }).await;
    let held = c.last_seq();

    let mut c = WsClient::connect(daemon.port, "idle").await;
    c.send(&GatewayCommand::Attach { after_seq: held, batches: false }).await;
    c.send(&text("c2", "which word?")).await;
    c.until("result", is_result).await;
    assert!(stack.model.message_requests().last().unwrap().body.to_string().contains("OTTER"), "resumed with --resume");
    let second_pid = runner_pid(&http_get(daemon.port, status_path, Some(TOKEN)).await.unwrap().1);
    assert_ne!(first_pid, second_pid, "a new runner");
}

#[tokio::test]
async fn runners_start_after_the_binary_is_replaced_under_the_daemon() {
    let stack = Stack::new().await;
    let bin = stack.root.path().join("bin/cc-gateway");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_cc-gateway"), &bin).unwrap();
    let daemon = stack.daemon_from(&bin, 0, &[]).await;
    // An upgrade in place: a new file renamed over the old one (the old inode is now deleted).
    let staged = stack.root.path().join("bin/cc-gateway.new");
    std::fs::copy(env!("CARGO_BIN_EXE_cc-gateway"), &staged).unwrap();
    std::fs::rename(&staged, &bin).unwrap();
    let mut c = WsClient::connect(daemon.port, "upgraded").await;
    create(&mut c).await;
    c.send(&text("c1", "hello after the upgrade")).await;
    c.until("result", is_result).await;
}

/// A DO that asks for `batches` gets what is ready as one `events` frame through the daemon (a
/// replay is all ready at once); a peer that does not ask keeps one frame per event.
#[tokio::test]
async fn a_replay_to_a_batch_reading_peer_is_one_events_frame() {
    let stack = Stack::new().await;
    let daemon = stack.daemon(0, &[]).await;
    let mut c = WsClient::connect(daemon.port, "batched").await;
    create(&mut c).await;
    c.send(&text("c1", "hello there")).await;
    c.until("result", is_result).await;
    let singles = c.events.clone();
    assert!(singles.len() >= 5, "a turn's worth of events: {}", singles.len());
    drop(c);
    let mut b = WsClient::connect(daemon.port, "batched").await;
    b.send(&GatewayCommand::Attach { after_seq: 0, batches: true }).await;
    match b.next_frame("the replay").await {
        Some(shared_types::GatewayFrame::Events(batch)) => {
            // (the turn's last `session.status` may have come after the first link stopped reading)
            assert_eq!(&batch.events[..singles.len()], &singles[..], "the same events, in order, in one frame");
        }
        other => panic!("expected one events frame, got {other:?}"),
    }
}
