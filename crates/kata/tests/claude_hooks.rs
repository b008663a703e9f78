//! The hooks `kata setup` installs, run by the REAL Claude Code CLI against the project's fake
//! model: SessionStart's `kata prime` reaches the model, and the Stop hook blocks the first stop
//! (the CLI goes on with the reason) and lets the second go (`stop_hook_active`).

mod common;

use std::time::Duration;

use common::{path_with_kata, Repo};
use fake_anthropic::{cli, FakeModel};

#[tokio::test]
async fn setup_hooks_prime_the_session_and_gate_its_stop() {
    let repo = Repo::with_config();
    repo.ok(&["enter", "work", "--issue", "6"]);
    repo.ok(&["setup"]);
    repo.commit_all("kata setup");
    let before = repo.state().updated_at_ms;

    let fake = FakeModel::start().await.expect("fake model starts");
    let sandbox = cli::Sandbox::new().expect("sandbox");
    let bin = cli::claude_bin().expect("the Claude Code CLI is installed");
    let mut cmd = sandbox.command(&bin, &fake.base_url(), repo.path());
    cmd.env("PATH", path_with_kata());
    let mut claude = cli::Claude::spawn(cmd, &sandbox).expect("CLI spawns");
    claude.send_user("hello kata").await.expect("prompt sent");
    let result = claude
        .result(Duration::from_secs(120))
        .await
        .expect("the turn ends");
    let status = claude
        .finish(Duration::from_secs(30))
        .await
        .expect("the CLI exits");
    assert!(status.success(), "CLI exit: {status:?}");

    let requests = fake.message_requests();
    let bodies: Vec<String> = requests.iter().map(|r| r.body.to_string()).collect();
    let summary = || {
        bodies
            .iter()
            .map(|b| b.chars().take(300).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };

    // (a) SessionStart ran `kata prime`, and its output reached the model.
    let first = bodies
        .first()
        .unwrap_or_else(|| panic!("no model request: {result}"));
    assert!(
        first.contains("# kata: work mode"),
        "prime text missing from the first request: {}",
        summary()
    );
    assert!(
        first.contains("1. first — First task"),
        "open tasks missing: {}",
        summary()
    );

    // (b) The first stop was blocked: the CLI asked the model again, with the reason.
    assert!(
        bodies.len() >= 2,
        "the stop was not blocked; {} request(s): {}",
        bodies.len(),
        summary()
    );
    let second = &bodies[1];
    assert!(
        second.contains("does not let this session stop yet"),
        "block reason missing: {}",
        summary()
    );
    assert!(
        second.contains("open tasks first, second, ship"),
        "reasons missing: {}",
        summary()
    );

    // ...and the second stop, with stop_hook_active, was let go: no third request, one result.
    assert_eq!(
        bodies.len(),
        2,
        "the session did not end after one block: {}",
        summary()
    );
    assert_eq!(result["subtype"], "success", "{result}");

    // The hook ran kata against this repository's session (it evaluated and saved the state).
    assert!(repo.state().updated_at_ms > before);
    fake.shutdown().await;
}
