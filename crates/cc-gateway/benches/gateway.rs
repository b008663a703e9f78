//! The gateway's benchmark: how fast and how soon a line the CLI prints becomes a frame on the
//! Durable Object's WebSocket, and what the daemon and an idle runner cost in memory.
//!
//! Everything is the real gateway (daemon, detached runner, outbox on disk, the relay). Only the
//! CLI is synthetic (`fake_anthropic::bench_cli`: this binary, re-executed as the runner's
//! `claude`, prints stream-json text deltas whose text is the time it printed them), so the latency measured is the gateway's
//! own (translate, number, store, relay), not the model's. Run with
//! `cargo bench -p cc-gateway --bench gateway`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use shared_types::codec::{decode_gateway_frame, encode};
use shared_types::gateway::GatewayFrame;
use shared_types::{ContentBlock, Delta, GatewayCommand, GatewayEvent};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use fake_anthropic::bench_cli::{self, now_nanos, MODE_ENV as CLI_MODE};
const TOKEN: &str = "bench-token-bench-token-bench-token-0123";


struct Run {
    events: usize,
    seconds: f64,
    latencies_us: Vec<u64>,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// One turn of `lines` deltas at `rate`/s, read over a fresh link to the daemon.
async fn turn(port: u16, id: &str, client_id: &str, first: bool, lines: u64, rate: u64) -> Run {
    let mut request = format!("ws://127.0.0.1:{port}/sessions/{id}/ws").into_client_request().unwrap();
    request.headers_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.expect("connect to the daemon");
    let send = |c: GatewayCommand| Message::Text(encode(&c).into());
    if first {
        let config = serde_json::from_value(serde_json::json!({"project": "bench"})).unwrap();
        ws.send(send(GatewayCommand::Create { config })).await.unwrap();
    }
    ws.send(send(GatewayCommand::Attach { after_seq: u64::MAX / 2, batches: false })).await.unwrap();
    ws.send(send(GatewayCommand::Message { client_id: client_id.into(), content: vec![ContentBlock::text(format!("{lines} {rate}"))] })).await.unwrap();
    let mut latencies_us = Vec::new();
    let mut first_at = None;
    let mut last_seq;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(120), ws.next()).await.expect("frames keep coming");
        let Some(Ok(Message::Text(text))) = frame else { continue };
        let Ok(GatewayFrame::Event(e)) = decode_gateway_frame(&text) else { continue };
        last_seq = e.seq;
        match e.event {
            GatewayEvent::MessageDelta { content: Delta::Text { text, .. }, .. } => {
                let sent: u128 = text.parse().unwrap_or(0);
                latencies_us.push(((now_nanos().saturating_sub(sent)) / 1000) as u64);
                first_at.get_or_insert_with(Instant::now);
            }
            GatewayEvent::Result { .. } => break,
            _ => {}
        }
    }
    ws.send(send(GatewayCommand::Ack { seq: last_seq })).await.unwrap();
    let seconds = first_at.map_or(0.0, |t| t.elapsed().as_secs_f64());
    latencies_us.sort_unstable();
    Run { events: latencies_us.len(), seconds, latencies_us }
}

/// The daemon's view of the bench session.
async fn http_status(port: u16) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!("GET /sessions/bench/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_default()
}

fn report(name: &str, run: &Run) {
    println!(
        "{name:<34} {:>6} events  {:>9.0} events/s  latency p50 {:>6} us  p99 {:>7} us  max {:>7} us",
        run.events,
        run.events as f64 / run.seconds.max(1e-9),
        percentile(&run.latencies_us, 0.50),
        percentile(&run.latencies_us, 0.99),
        run.latencies_us.last().copied().unwrap_or(0),
    );
}

fn main() {
    if std::env::var_os(CLI_MODE).is_some() {
        return bench_cli::run();
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`
    }
    let root = tempfile::tempdir().unwrap();
    let projects = root.path().join("projects");
    let repo = projects.join("bench");
    std::fs::create_dir_all(&repo).unwrap();
    assert!(Command::new("git").args(["init", "-q"]).current_dir(&repo).status().unwrap().success());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_cc-gateway"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--projects-root").arg(&projects)
        .arg("--state-dir").arg(root.path().join("state"))
        .arg("--runtime-dir").arg(root.path().join("run"))
        .arg("--claude-bin").arg(std::env::current_exe().unwrap())
        .env("CC_GATEWAY_TOKEN", TOKEN)
        .env(CLI_MODE, "1")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .expect("start the daemon");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let runner_pid = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "the daemon did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        println!("cc-gateway bench: CLI line -> runner (translate, outbox, socket) -> daemon -> WebSocket");
        report("warm-up", &turn(port, "bench", "c0", true, 200, 0).await);
        let cases = [(20_000, 0, "unpaced (max throughput)"), (3_000, 1_000, "paced at 1,000 lines/s"), (500, 100, "paced at 100 lines/s")];
        for (i, (lines, rate, name)) in cases.into_iter().enumerate() {
            report(name, &turn(port, "bench", &format!("c{}", i + 1), false, lines, rate).await);
        }
        let status = http_status(port).await;
        let runner_pid = status["runner_pid"].as_u64().unwrap_or(0) as u32;
        // Stop the synthetic CLI's memory from counting: the runner alone is measured.
        tokio::time::sleep(Duration::from_millis(500)).await;
        println!("RSS daemon {} KiB, idle runner {} KiB (without the CLI)", rss_kb(daemon.id()), rss_kb(runner_pid));
        runner_pid
    });
    // The runner is detached by design: end it (its synthetic CLI dies with it), then the daemon.
    if let Ok(pid) = i32::try_from(runner_pid) {
        // SAFETY: kill(2) on the runner this bench caused.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
}
