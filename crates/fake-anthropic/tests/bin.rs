//! The `fake-anthropic` binary: one address line on stdout, then it serves until signalled.

mod common;

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn prints_its_address_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-anthropic"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn fake-anthropic");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("address line in time")
        .expect("read stdout")
        .expect("one line");
    let url = line
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("bad line: {line}"));
    let addr: std::net::SocketAddr = url.parse().expect("an address");
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    let body = r#"{"messages":[{"role":"user","content":"ping"}]}"#;
    let r = common::request(addr, "POST", "/v1/messages", body).await;
    assert_eq!(r.json()["content"][0]["text"], "You said: ping");
    child.start_kill().expect("kill");
    tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits")
        .expect("wait");
}
