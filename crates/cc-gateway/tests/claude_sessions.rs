//! Sessions started elsewhere, against the real CLI: sessions run "in a terminal" (the real CLI
//! in the stack's sandbox, against the fake model) are listed and described by the daemon's
//! routes (400, 404, 409 included), a runner resumes one with its history shown and the next
//! message continuing it (the fake model receives the earlier turns), and two runners resuming
//! the same one at once leave exactly one with it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use cc_gateway::session_files::encode_cwd;
use fake_anthropic::cli::Claude;
use shared_types::api::{ClaudeSessionDetail, ClaudeSessionList};
use shared_types::content::AssistantBlock;
use shared_types::gateway::RunnerState;
use shared_types::{ContentBlock, ErrorCode, GatewayCommand, GatewayEvent, SessionConfig};
use support::*;

/// Runs the real CLI in `cwd` as a person would in a terminal, one turn per prompt; returns the
/// Claude session's id.
async fn terminal_session(stack: &Stack, cwd: &Path, prompts: &[&str]) -> String {
    let cmd = stack.sandbox.command(&stack.claude, &stack.model.base_url(), cwd);
    let mut claude = Claude::spawn(cmd, &stack.sandbox).expect("the CLI starts");
    let mut id = String::new();
    for prompt in prompts {
        claude.send_user(prompt).await.expect("a prompt");
        let result = claude.result(STEP).await.expect("a turn");
        id = result["session_id"].as_str().expect("a session id").to_string();
    }
    claude.finish(STEP).await.expect("the CLI exits");
    id
}

/// The CLI's session directory for `cwd`.
fn session_dir(stack: &Stack, cwd: &Path) -> PathBuf {
    stack.sandbox.config_dir().join("projects").join(encode_cwd(&cwd.canonicalize().unwrap()))
}

/// A linked worktree `name` of the demo project, where the API makes them.
fn linked_worktree(stack: &Stack, name: &str) -> PathBuf {
    let path = stack.projects().join(".worktrees/demo").join(name);
    let out = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "worktree", "add", "-q", "-b", name])
        .arg(&path)
        .current_dir(stack.repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    path
}

fn resume(id: &str) -> SessionConfig {
    SessionConfig { resume: Some(id.into()), ..config() }
}

async fn get(port: u16, path: &str) -> (u16, String) {
    http_get(port, path, Some(TOKEN)).await.expect("the daemon answers")
}

fn error_code(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    v["error"]["code"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn sessions_started_in_a_terminal_are_listed_and_described() {
    let stack = Stack::new().await;
    let wt = linked_worktree(&stack, "wt1");
    let first = terminal_session(&stack, &stack.repo(), &["Why is the sky blue? [[text \"Rayleigh.\"]]"]).await;
    let second = terminal_session(&stack, &wt, &["Fix the flaky test in the worktree"]).await;
    let third = terminal_session(&stack, &stack.repo(), &["A third one", "and a follow-up"]).await;
    // planted beside them: a symlink named like a session, to one of them
    let planted = "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11";
    let dir = session_dir(&stack, &stack.repo());
    std::os::unix::fs::symlink(dir.join(format!("{first}.jsonl")), dir.join(format!("{planted}.jsonl"))).unwrap();
    let daemon = stack.daemon(0, &[]).await;

    let (status, body) = get(daemon.port, "/projects/demo/claude-sessions").await;
    assert_eq!(status, 200, "{body}");
    let list: ClaudeSessionList = serde_json::from_str(&body).unwrap();
    assert_eq!(list.total, 3);
    let rows: Vec<(&str, Option<&str>, Option<&str>, bool)> =
        list.sessions.iter().map(|s| (s.id.as_str(), s.worktree.as_deref(), s.first_prompt.as_deref(), s.claimed)).collect();
    assert_eq!(
        rows,
        [
            (third.as_str(), None, Some("A third one"), false),
            (second.as_str(), Some("wt1"), Some("Fix the flaky test in the worktree"), false),
            (first.as_str(), None, Some("Why is the sky blue? [[text \"Rayleigh.\"]]"), false),
        ],
        "newest first, each with its checkout and first prompt; the symlink is no session"
    );

    let (status, body) = get(daemon.port, &format!("/projects/demo/claude-sessions/{third}")).await;
    assert_eq!(status, 200, "{body}");
    let detail: ClaudeSessionDetail = serde_json::from_str(&body).unwrap();
    assert_eq!((detail.prompts, detail.history_truncated), (2, false));
    assert_eq!(Path::new(&detail.cwd), stack.repo().canonicalize().unwrap());
    let (status, _) = get(daemon.port, &format!("/projects/demo/claude-sessions/{second}?worktree=wt1")).await;
    assert_eq!(status, 200);

    let unknown = "7c1e0a52-93d4-4b8e-a0f1-2d6c5b4a3e90";
    let cases = [
        (format!("/projects/demo/claude-sessions/{second}"), 404, "another checkout's session"),
        (format!("/projects/demo/claude-sessions/{first}?worktree=wt1"), 404, "another checkout's session"),
        (format!("/projects/demo/claude-sessions/{planted}"), 404, "a symlink named like a session"),
        (format!("/projects/demo/claude-sessions/{unknown}"), 404, "no such session"),
        (format!("/projects/demo/claude-sessions/{first}?worktree=nope"), 404, "no such worktree"),
        ("/projects/nope/claude-sessions".to_string(), 404, "no such project"),
        (format!("/projects/nope/claude-sessions/{first}"), 404, "no such project"),
        ("/projects/demo/claude-sessions/not-a-uuid".to_string(), 400, "not a session id"),
        (format!("/projects/demo/claude-sessions/{}", first.to_uppercase()), 400, "another spelling of the id"),
        ("/projects/demo/claude-sessions/..%2f..%2fetc%2fpasswd".to_string(), 400, "a path"),
        (format!("/projects/demo/claude-sessions/{first}?worktree=..%2f..%2fetc"), 400, "a worktree path"),
        ("/projects/..%2f/claude-sessions".to_string(), 400, "a project path"),
        ("/projects/.worktrees/claude-sessions".to_string(), 400, "a hidden directory"),
    ];
    for (path, want, what) in cases {
        let (status, body) = get(daemon.port, &path).await;
        assert_eq!(status, want, "{what}: {path}: {body}");
        assert_eq!(error_code(&body), if want == 400 { "invalid_input" } else { "not_found" }, "{what}: {body}");
    }
    for path in ["/projects/demo/claude-sessions", &format!("/projects/demo/claude-sessions/{first}")] {
        assert_eq!(http_get(daemon.port, path, None).await.map(|(s, _)| s), Some(401), "{path} wants the token");
    }
}

#[tokio::test]
async fn a_resumed_terminal_session_shows_its_history_and_the_next_message_continues_it() {
    let stack = Stack::new().await;
    let id = terminal_session(&stack, &stack.repo(), &["Why is the sky blue? [[text \"Rayleigh scattering.\"]]"]).await;

    let (mut runner, mut c) = started_with(&stack, "resumed", resume(&id)).await;
    c.until("waiting", |e| *e == GatewayEvent::Status { state: RunnerState::Stopped }).await;
    let shown: Vec<&GatewayEvent> = c.events.iter().map(|e| &e.event).collect();
    assert!(matches!(shown[0], GatewayEvent::Created { claude_session_id, .. } if *claude_session_id == id));
    assert!(matches!(shown[1], GatewayEvent::UserMessage { content, queued: false, .. }
        if matches!(&content[..], [ContentBlock::Text { text }] if text.starts_with("Why is the sky blue?"))), "{shown:#?}");
    assert!(matches!(shown[2], GatewayEvent::Message { message }
        if matches!(&message.content[..], [AssistantBlock::Text { text }] if text == "Rayleigh scattering.")), "{shown:#?}");
    assert_eq!(shown.len(), 4, "created, the prompt, the reply, waiting: {shown:#?}");

    let before = stack.model.message_requests().len();
    c.send(&text("c1", "And at sunset? [[text \"A longer path through the air.\"]]")).await;
    c.until("the reply", |e| matches!(e, GatewayEvent::Message { message }
        if message.content.iter().any(|b| matches!(b, AssistantBlock::Text { text } if text == "A longer path through the air.")))).await;
    c.until("result", is_result).await;
    let requests = stack.model.message_requests();
    let asked = requests[before..].iter().map(|r| r.body.to_string()).collect::<String>();
    for earlier in ["Why is the sky blue?", "Rayleigh scattering.", "And at sunset?"] {
        assert!(asked.contains(earlier), "the model received {earlier:?} with the follow-up");
    }
    let file = session_dir(&stack, &stack.repo()).join(format!("{id}.jsonl"));
    assert!(std::fs::read_to_string(file).unwrap().contains("And at sunset?"), "the CLI continued the same session file");
    let claim = std::fs::read_to_string(stack.state_dir().join("claims").join(&id)).unwrap();
    assert_eq!(claim, "resumed");

    // the daemon now says it is Duraclaw's
    let daemon = stack.daemon(0, &[]).await;
    let (status, body) = get(daemon.port, &format!("/projects/demo/claude-sessions/{id}")).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "conflict"), "{body}");
    assert!(body.contains("resumed"), "names the Duraclaw session: {body}");
    let (_, body) = get(daemon.port, "/projects/demo/claude-sessions").await;
    let list: ClaudeSessionList = serde_json::from_str(&body).unwrap();
    assert!(list.sessions.iter().all(|s| s.claimed), "the resumed one, and nothing else was started: {list:?}");
    runner.kill().unwrap();
}

/// A Duraclaw session of its own (not resumed) claims its new Claude session: the list marks it.
#[tokio::test]
async fn a_duraclaw_sessions_own_claude_session_is_marked_as_claimed() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "own").await;
    c.send(&text("c1", "hello")).await;
    c.until("result", is_result).await;
    let daemon = stack.daemon(0, &[]).await;
    let (_, body) = get(daemon.port, "/projects/demo/claude-sessions").await;
    let list: ClaudeSessionList = serde_json::from_str(&body).unwrap();
    assert_eq!(list.sessions.len(), 1, "{body}");
    assert!(list.sessions[0].claimed && list.sessions[0].first_prompt.as_deref() == Some("hello"), "{body}");
    runner.kill().unwrap();
}

#[tokio::test]
async fn two_sessions_resuming_one_claude_session_at_once_leave_exactly_one_with_it() {
    let stack = Stack::new().await;
    let id = terminal_session(&stack, &stack.repo(), &["one history, two takers"]).await;
    let names = ["race-a", "race-b"];
    let _runners: Vec<_> = names.iter().map(|n| stack.start_runner(n, Some(&stack.repo()))).collect();
    let mut clients = Vec::new();
    for name in names {
        let mut c = SocketClient::connect(&stack.socket(name)).await;
        c.send(&GatewayCommand::Attach { after_seq: 0, batches: false }).await;
        clients.push(c);
    }
    let create = GatewayCommand::Create { config: resume(&id) };
    let [a, b] = &mut clients[..] else { unreachable!() };
    tokio::join!(a.send(&create), b.send(&create));
    let mut winners = Vec::new();
    for (name, c) in names.iter().zip(clients.iter_mut()) {
        c.until("created", |e| matches!(e, GatewayEvent::Created { .. })).await;
        c.until("waiting", |e| *e == GatewayEvent::Status { state: RunnerState::Stopped }).await;
        let got_history = c.events.iter().any(|e| matches!(&e.event, GatewayEvent::UserMessage { .. }));
        let refused = c.events.iter().any(|e| matches!(&e.event, GatewayEvent::Error { code: ErrorCode::Conflict, fatal: true, .. }));
        assert_ne!(got_history, refused, "{name}: either the history or the refusal: {:#?}", c.events);
        if got_history {
            winners.push(*name);
        } else {
            c.until("the end", |e| matches!(e, GatewayEvent::Complete { .. })).await;
            c.send(&text("c1", "let me in")).await;
            assert!(matches!(c.control().await, shared_types::gateway::GatewayControl::Error { code: ErrorCode::SessionEnded, .. }));
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let claim = std::fs::read_to_string(stack.state_dir().join("claims").join(&id)).unwrap();
    assert_eq!(claim, winners[0]);
}
