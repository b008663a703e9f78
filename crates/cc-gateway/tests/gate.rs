//! The gate against the real Claude Code CLI and the fake model: each way around an approval
//! that was open before asks now (the file or marker is never created), repository settings
//! run nothing, kata's hooks still run, and a runner killed mid-turn resumes.

mod support;

use shared_types::gateway::{Decision, RunnerState, Scope};
use shared_types::{GatewayCommand, GatewayEvent, PermissionMode, SessionConfig};
use support::*;

fn policy(allow: &[&str]) -> SessionConfig {
    let mut cfg = config();
    cfg.policy.allow = allow.iter().map(|r| r.parse().unwrap()).collect();
    cfg
}

/// Waits for the next tool request and returns its call.
async fn request(c: &mut SocketClient) -> shared_types::ToolCall {
    match c.until("tool request", |e| matches!(e, GatewayEvent::ToolRequest { .. })).await {
        GatewayEvent::ToolRequest { tool_call } => tool_call,
        _ => unreachable!(),
    }
}

async fn deny(c: &mut SocketClient, id: String) {
    c.send(&GatewayCommand::ToolDeny { tool_call_id: id, reason: "no".into(), by: Some("ada".into()) }).await;
    c.until("denied", |e| matches!(e, GatewayEvent::ToolResolved { decision: Decision::Denied, .. })).await;
}

async fn approve(c: &mut SocketClient, id: String, scope: Scope) {
    c.send(&GatewayCommand::ToolApprove { tool_call_id: id, scope, grant: None, by: Some("ada".into()) }).await;
    c.until("approved", |e| matches!(e, GatewayEvent::ToolResolved { decision: Decision::Approved, .. })).await;
}

fn asked(c: &SocketClient) -> usize {
    c.events.iter().filter(|e| matches!(e.event, GatewayEvent::ToolRequest { .. })).count()
}

#[tokio::test]
async fn a_chained_command_asks_though_its_first_part_is_allowed() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started_with(&stack, "chain", policy(&["Bash(git status*)"])).await;
    let marker = stack.repo().join("chained.txt");
    c.send(&text("c1", "[[tool:bash cmd=\"git status > status.txt\"]] [[tool:bash cmd=\"git status; touch chained.txt\"]]")).await;
    let call = request(&mut c).await;
    assert_eq!(call.input["command"], "git status; touch chained.txt", "the allowed part ran unasked, the chain asked");
    assert!(stack.repo().join("status.txt").exists(), "an allowed command redirecting inside the worktree ran");
    assert!(!marker.exists(), "nothing of the chain ran before the answer");
    deny(&mut c, call.id).await;
    c.until("result", is_result).await;
    assert!(!marker.exists());
    runner.kill().unwrap();
}

#[tokio::test]
async fn accept_edits_asks_before_writing_outside_the_worktree() {
    let stack = Stack::new().await;
    let mut cfg = config();
    cfg.permission_mode = PermissionMode::AcceptEdits;
    let (mut runner, mut c) = started_with(&stack, "edits", cfg).await;
    let outside = stack.sandbox.home().join("anything.txt");
    let prompt = format!(
        "[[tool:write path=inside.txt content=\"in\"]] [[tool:write path={} content=\"out\"]] [[tool:write path=.git/hooks/post-commit content=\"x\"]]",
        outside.display()
    );
    c.send(&text("c1", &prompt)).await;
    let call = request(&mut c).await;
    assert_eq!(call.input["file_path"], outside.to_string_lossy().as_ref());
    assert!(call.reason.as_deref().is_some_and(|r| r.contains("outside the worktree")), "{:?}", call.reason);
    assert!(call.session_grants.is_empty(), "a path outside the worktree can only be allowed once");
    assert_eq!(std::fs::read_to_string(stack.repo().join("inside.txt")).unwrap(), "in", "acceptEdits wrote inside unasked");
    deny(&mut c, call.id).await;
    let hook = request(&mut c).await;
    assert!(hook.input["file_path"].as_str().unwrap().ends_with(".git/hooks/post-commit"), "a protected path asks too");
    deny(&mut c, hook.id).await;
    c.until("result", is_result).await;
    assert!(!outside.exists(), "nothing was written outside the worktree");
    assert!(!stack.repo().join(".git/hooks/post-commit").exists());
    runner.kill().unwrap();
}

#[tokio::test]
async fn a_session_grant_of_npm_run_test_does_not_allow_a_chained_command() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "grant").await;
    c.send(&text("c1", "[[tool:bash cmd=\"npm run test\"]]")).await;
    let call = request(&mut c).await;
    assert_eq!(call.session_grants[0].summary, "Bash: npm run test …", "the card says what the grant covers");
    approve(&mut c, call.id, Scope::Session).await;
    c.until("first result", is_result).await;

    let marker = stack.repo().join("chained.txt");
    c.send(&text("c2", "[[tool:bash cmd=\"npm run test; touch chained.txt\"]]")).await;
    let call = request(&mut c).await;
    assert_eq!(call.input["command"], "npm run test; touch chained.txt");
    deny(&mut c, call.id).await;
    c.until("second result", is_result).await;
    assert!(!marker.exists(), "the chained command did not run");

    let before = asked(&c);
    c.send(&text("c3", "[[tool:bash cmd=\"npm run test -- --watch=false\"]]")).await;
    c.until("third result", is_result).await;
    assert_eq!(asked(&c), before, "the word prefix the person granted covers its own arguments");
    runner.kill().unwrap();
}

#[tokio::test]
async fn repository_hooks_and_mcp_servers_written_by_the_session_never_run() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started_with(&stack, "settings", policy(&["Bash(true)"])).await;
    let marks = stack.sandbox.home().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let hook = |name: &str| format!("{{\\\"type\\\":\\\"command\\\",\\\"command\\\":\\\"touch {}/{name}\\\"}}", marks.display());
    let settings = format!(
        "{{\\\"enableAllProjectMcpServers\\\":true,\\\"hooks\\\":{{\\\"PreToolUse\\\":[{{\\\"matcher\\\":\\\"*\\\",\\\"hooks\\\":[{}]}}],\\\"SessionStart\\\":[{{\\\"hooks\\\":[{}]}}],\\\"Stop\\\":[{{\\\"hooks\\\":[{}]}}]}}}}",
        hook("pre-tool-use"),
        hook("session-start"),
        hook("stop"),
    );
    let mcp = format!(
        "{{\\\"mcpServers\\\":{{\\\"evil\\\":{{\\\"command\\\":\\\"sh\\\",\\\"args\\\":[\\\"-c\\\",\\\"touch {}/mcp\\\"]}}}}}}",
        marks.display()
    );
    c.send(&text("c1", &format!("[[tool:write path=.claude/settings.json content=\"{settings}\"]] [[tool:write path=.mcp.json content=\"{mcp}\"]]"))).await;
    for _ in 0..2 {
        let call = request(&mut c).await;
        assert!(call.reason.as_deref().is_some_and(|r| r.contains("protected")), "{:?}", call.reason);
        approve(&mut c, call.id, Scope::Once).await;
    }
    c.until("result", is_result).await;
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(stack.repo().join(".claude/settings.json")).unwrap()).unwrap();
    assert!(written["hooks"]["PreToolUse"].is_array(), "the session wrote a real hook");
    c.send(&text("c2", "[[tool:bash cmd=\"true\"]]")).await;
    c.until("second result", is_result).await;

    // A new CLI reads settings when it starts: restart the runner and use a tool again.
    runner.kill().unwrap();
    runner.wait().unwrap();
    let (mut runner, mut c) = reattached(&stack, "settings", u64::MAX / 2).await;
    c.send(&text("c3", "[[tool:bash cmd=\"true\"]]")).await;
    c.until("third result", is_result).await;
    let ran: Vec<_> = std::fs::read_dir(&marks).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(ran.is_empty(), "repository settings ran {ran:?}");
    runner.kill().unwrap();
}

/// The `kata` binary built beside this test (a workspace `cargo nextest run` builds it).
fn kata_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let mut dir = exe.parent().unwrap().to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    assert!(dir.join("kata").is_file(), "no kata binary in {}: run `cargo build -p kata` first", dir.display());
    dir
}

#[tokio::test]
async fn kata_hooks_run_from_the_runners_own_settings() {
    let stack = Stack::new().await;
    let repo = stack.repo();
    let config = "[modes.work]\ncontext = \"Work mode for the runner test.\"\nstop = [\"tasks_done\"]\n\n[[modes.work.phases]]\nid = \"build\"\ntitle = \"Build it\"\ntasks = [{ id = \"first\", title = \"First task\" }]\n";
    std::fs::create_dir_all(repo.join(".kata")).unwrap();
    std::fs::write(repo.join(".kata/kata.toml"), config).unwrap();
    let path = format!("{}:{}", kata_dir().display(), std::env::var("PATH").unwrap_or_default());
    let kata = std::process::Command::new(kata_dir().join("kata")).args(["enter", "work"]).current_dir(&repo).env("PATH", &path).output().unwrap();
    assert!(kata.status.success(), "kata enter: {}", String::from_utf8_lossy(&kata.stderr));
    assert!(!repo.join(".claude/settings.json").exists(), "no hooks in the repository: they come from the runner");

    let mut runner = stack.start_runner_with_env("kata-hooks", Some(&repo), &[("PATH", &path)]);
    let mut c = SocketClient::connect(&stack.socket("kata-hooks")).await;
    c.send(&GatewayCommand::Attach { after_seq: 0, batches: false }).await;
    c.send(&GatewayCommand::Create { config: support::config() }).await;
    c.send(&text("c1", "hello kata")).await;
    c.until("idle after the turn", |e| *e == GatewayEvent::Status { state: RunnerState::Idle }).await;
    let bodies: Vec<String> = stack.model.message_requests().iter().map(|r| r.body.to_string()).collect();
    assert!(bodies[0].contains("# kata: work mode"), "SessionStart's `kata prime` reached the model");
    assert!(
        bodies.iter().skip(1).any(|b| b.contains("does not let this session stop yet")),
        "the Stop hook blocked the first stop ({} requests)",
        bodies.len()
    );
    runner.kill().unwrap();
}

/// Kills the runner (SIGKILL: its CLI dies with it), starts a new one, sends `prompt` and
/// returns the client once the answer's result arrived.
async fn killed_and_resumed(stack: &Stack, id: &str, mut runner: RunnerProcess, c: &SocketClient, prompt: &str) -> (RunnerProcess, SocketClient) {
    runner.kill().unwrap();
    runner.wait().unwrap();
    let last = *c.seqs().last().unwrap();
    let (runner, mut next) = reattached(stack, id, last).await;
    next.send(&text("after-kill", prompt)).await;
    next.until("the answer after the kill", |e| matches!(e, GatewayEvent::Result { is_error: false, .. })).await;
    assert_eq!(next.seqs()[0], last + 1, "seqs continue after the kill");
    let all: Vec<u64> = c.seqs().into_iter().chain(next.seqs()).collect();
    assert_eq!(all, (1..=all.len() as u64).collect::<Vec<_>>(), "contiguous, nothing doubled");
    (runner, next)
}

/// Waits until Claude Code has written `word` into one of its transcripts: the history the
/// resumed session must carry is the one the CLI had recorded when it was killed.
async fn until_recorded(stack: &Stack, word: &str) {
    let projects = stack.sandbox.config_dir().join("projects");
    let recorded = || {
        std::fs::read_dir(&projects).into_iter().flatten().flatten().any(|dir| {
            std::fs::read_dir(dir.path()).into_iter().flatten().flatten().any(|f| {
                f.path().extension().is_some_and(|e| e == "jsonl") && std::fs::read_to_string(f.path()).is_ok_and(|t| t.contains(word))
            })
        })
    };
    wait_until("the CLI to record the turn", recorded).await;
}

/// The events after the kill close the killed turn: an error and a failed result first.
fn closes_the_killed_turn(c: &SocketClient) {
    let first: Vec<&GatewayEvent> = c.events.iter().take(2).map(|e| &e.event).collect();
    assert!(matches!(first[0], GatewayEvent::Error { .. }), "{first:?}");
    assert!(matches!(first[1], GatewayEvent::Result { is_error: true, .. }), "{first:?}");
}

#[tokio::test]
async fn a_runner_killed_during_the_first_turn_resumes_with_its_history() {
    let stack = Stack::new().await;
    let (runner, mut c) = started(&stack, "kill-first").await;
    c.send(&text("c1", "remember the word KESTREL [[slow ms=300 chunks=30]]")).await;
    c.until("the first turn streams", |e| matches!(e, GatewayEvent::MessageDelta { .. })).await;
    until_recorded(&stack, "KESTREL").await;
    let (_runner, c2) = killed_and_resumed(&stack, "kill-first", runner, &c, "which word?").await;
    closes_the_killed_turn(&c2);
    let last = stack.model.message_requests().last().unwrap().body.to_string();
    assert!(last.contains("KESTREL"), "the model received the history the CLI had recorded");
    let mut transcript = shared_types::Transcript::default();
    for e in c.events.iter().chain(&c2.events) {
        shared_types::fold(&mut transcript, e.seq, &e.event);
    }
    assert!(
        !transcript.items.iter().any(|i| matches!(i, shared_types::fold::Item::Assistant { streaming: true, .. })),
        "no message is left streaming"
    );
}

#[tokio::test]
async fn a_runner_killed_during_a_parked_approval_resumes_and_the_request_expires() {
    let stack = Stack::new().await;
    let (runner, mut c) = started(&stack, "kill-parked").await;
    c.send(&text("c1", "remember the word OSPREY [[tool:bash cmd=\"touch parked.txt\"]]")).await;
    let call = request(&mut c).await;
    until_recorded(&stack, "OSPREY").await;
    let (_runner, c2) = killed_and_resumed(&stack, "kill-parked", runner, &c, "which word?").await;
    assert!(
        c2.events.iter().any(|e| e.event == GatewayEvent::ToolResolved { tool_call_id: call.id.clone(), decision: Decision::Expired, by: "policy".into() }),
        "the parked request expired for every device"
    );
    assert!(!stack.repo().join("parked.txt").exists());
    assert!(stack.model.message_requests().last().unwrap().body.to_string().contains("OSPREY"));
}

#[tokio::test]
async fn a_runner_killed_during_a_later_turn_resumes_with_its_history() {
    let stack = Stack::new().await;
    let (runner, mut c) = started(&stack, "kill-later").await;
    c.send(&text("c1", "remember the word HERON")).await;
    c.until("first result", is_result).await;
    c.send(&text("c2", "and now stream slowly [[slow ms=300 chunks=30]]")).await;
    c.until("the second turn streams", |e| matches!(e, GatewayEvent::Status { state: RunnerState::Running })).await;
    c.until("deltas", |e| matches!(e, GatewayEvent::MessageDelta { .. })).await;
    until_recorded(&stack, "HERON").await;
    let (_runner, c2) = killed_and_resumed(&stack, "kill-later", runner, &c, "which word?").await;
    closes_the_killed_turn(&c2);
    assert!(stack.model.message_requests().last().unwrap().body.to_string().contains("HERON"));
}

#[tokio::test]
async fn reads_outside_the_worktree_ask_even_when_read_is_allowed() {
    let stack = Stack::new().await;
    // The Worker's default policy allows Read, Grep and Glob; another session's transcripts (the
    // CLI's projects dir) and the gateway's state are outside this worktree.
    let (mut runner, mut c) = started_with(&stack, "reads", policy(&["Read", "Grep", "Glob"])).await;
    let secret = stack.state_dir().join("gateway-token");
    std::fs::write(&secret, "TOKEN-THAT-MUST-NOT-LEAK").unwrap();
    // Another session's transcript, where the CLI keeps them (Grep and Glob are not tools of
    // this CLI version: it searches through Bash, which the policy does not allow).
    let other = stack.sandbox.config_dir().join("projects/-elsewhere/other-session.jsonl");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::write(&other, "{\"secret\":\"OTHER-USERS-PROMPT\"}\n").unwrap();
    c.send(&text("c1", &format!("[[tool:read path=README.md]] [[tool:read path={}]] [[tool:read path={}]]", secret.display(), other.display()))).await;
    for path in [&secret, &other] {
        let call = request(&mut c).await;
        assert_eq!(call.input["file_path"], path.to_string_lossy().as_ref(), "the read inside ran unasked; this one asks");
        assert!(call.session_grants.is_empty(), "a read outside can only be allowed once");
        deny(&mut c, call.id).await;
    }
    c.until("result", is_result).await;
    assert!(!stack.model_saw().contains("TOKEN-THAT-MUST-NOT-LEAK"), "the secret never reached the model");
    assert!(!stack.model_saw().contains("OTHER-USERS-PROMPT"), "another session's transcript never reached the model");
    assert!(stack.model_saw().contains("# demo"), "the README inside the worktree was read");
    runner.kill().unwrap();
}
