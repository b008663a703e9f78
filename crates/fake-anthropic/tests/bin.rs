//! The `fake-anthropic` binary: one address line on stdout, then it serves until signalled.

mod common;

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn prints_its_address_and_serves() {
    let (mut child, addr) = start(&["--port", "0"], &[]).await;
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

/// Starts the binary with `args` and `envs`; returns it and its address.
async fn start(
    args: &[&str],
    envs: &[(&str, &str)],
) -> (tokio::process::Child, std::net::SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-anthropic"))
        .args(args)
        .env_remove("FAKE_ANTHROPIC_DEMO")
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn fake-anthropic");
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::time::timeout(
        Duration::from_secs(10),
        BufReader::new(stdout).lines().next_line(),
    )
    .await
    .expect("address line in time")
    .expect("read stdout")
    .expect("one line");
    let addr: std::net::SocketAddr = line
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("bad line: {line}"))
        .parse()
        .expect("an address");
    (child, addr)
}

#[tokio::test]
async fn demo_mode_from_the_flag_or_the_environment() {
    for (args, envs, on) in [
        (&["--port", "0"][..], &[][..], false),
        (&["--port", "0", "--demo"][..], &[][..], true),
        (
            &["--port", "0"][..],
            &[("FAKE_ANTHROPIC_DEMO", "1")][..],
            true,
        ),
        (
            &["--port", "0"][..],
            &[("FAKE_ANTHROPIC_DEMO", "true")][..],
            true,
        ),
        (
            &["--port", "0"][..],
            &[("FAKE_ANTHROPIC_DEMO", "0")][..],
            false,
        ),
    ] {
        let (mut child, addr) = start(args, envs).await;
        let r = common::request(addr, "GET", "/_fake/demo", "").await;
        assert_eq!(r.json()["demo"], on, "{args:?} {envs:?}");
        child.start_kill().expect("kill");
        let _ = child.wait().await;
    }
}
