//! The session runner against the real Claude Code CLI and the fake model, over its socket.

mod support;

use std::collections::BTreeMap;

use shared_types::gateway::{Decision, GatewayControl, RunnerState, Scope};
use shared_types::{ErrorCode, GatewayCommand, GatewayEvent};
use support::*;

#[tokio::test]
async fn an_approved_write_creates_the_file() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "approve").await;
    c.send(&text("c1", "make a file [[tool:write path=out.txt content=\"hello\"]]")).await;
    let request = c.until("tool request", |e| tool_request_id(e).is_some()).await;
    assert!(!stack.repo().join("out.txt").exists(), "nothing runs before the approval");
    let id = tool_request_id(&request).unwrap();
    c.send(&GatewayCommand::ToolApprove { tool_call_id: id.clone(), scope: Scope::Once, grant: None, by: Some("ada".into()) }).await;
    let resolved = c.until("resolved", |e| matches!(e, GatewayEvent::ToolResolved { .. })).await;
    assert_eq!(resolved, GatewayEvent::ToolResolved { tool_call_id: id.clone(), decision: Decision::Approved, by: "ada".into() });
    c.until("tool result", |e| matches!(e, GatewayEvent::ToolResult { is_error: false, .. })).await;
    c.until("result", is_result).await;
    c.until("idle", |e| *e == GatewayEvent::Status { state: RunnerState::Idle }).await;
    assert_eq!(std::fs::read_to_string(stack.repo().join("out.txt")).unwrap(), "hello");
    assert_eq!(c.seqs(), (1..=c.seqs().len() as u64).collect::<Vec<_>>(), "contiguous from 1");
    let user = c.events.iter().find(|e| matches!(e.event, GatewayEvent::UserMessage { .. })).unwrap();
    assert!(matches!(&user.event, GatewayEvent::UserMessage { queued: false, client_id, .. } if client_id == "c1"));
    runner.kill().unwrap();
}

#[tokio::test]
async fn a_denied_command_does_not_run_and_the_model_hears_why() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "deny").await;
    c.send(&text("c1", "[[tool:bash cmd=\"echo hi > denied.txt\"]]")).await;
    let id = tool_request_id(&c.until("tool request", |e| tool_request_id(e).is_some()).await).unwrap();
    c.send(&GatewayCommand::ToolDeny { tool_call_id: id, reason: "use the Makefile instead".into(), by: None }).await;
    c.until("denied", |e| matches!(e, GatewayEvent::ToolResolved { decision: Decision::Denied, .. })).await;
    c.until("result", is_result).await;
    assert!(!stack.repo().join("denied.txt").exists());
    assert!(stack.model_saw().contains("use the Makefile instead"), "the model received the reason");
    runner.kill().unwrap();
}

#[tokio::test]
async fn policy_decides_without_asking_and_says_so() {
    let stack = Stack::new().await;
    let mut cfg = config();
    cfg.policy.allow.push("Bash(echo ok*)".parse().unwrap());
    cfg.policy.deny.push("Bash(rm *)".parse().unwrap());
    let (mut runner, mut c) = started_with(&stack, "policy", cfg).await;
    c.send(&text("c1", "[[tool:bash cmd=\"echo ok > allowed.txt\"]] [[tool:bash cmd=\"rm README.md\"]]")).await;
    c.until("result", is_result).await;
    assert!(stack.repo().join("allowed.txt").exists());
    assert!(stack.repo().join("README.md").exists(), "the deny rule held");
    let decisions: Vec<_> = c.events.iter().filter_map(|e| match &e.event {
        GatewayEvent::ToolResolved { decision, by, .. } => Some((*decision, by.clone())),
        _ => None,
    }).collect();
    assert_eq!(decisions, [(Decision::Approved, "policy".into()), (Decision::Denied, "policy".into())]);
    assert!(!c.events.iter().any(|e| tool_request_id(&e.event).is_some()), "nobody was asked");
    runner.kill().unwrap();
}

#[tokio::test]
async fn a_question_is_answered_through_updated_input() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "question").await;
    c.send(&text("c1", "[[tool:ask question=\"Which colour?\" options=\"red,blue\"]]")).await;
    let q = c.until("question", |e| matches!(e, GatewayEvent::Question { .. })).await;
    let GatewayEvent::Question { tool_call_id, questions } = q else { unreachable!() };
    assert_eq!(questions[0].question, "Which colour?");
    assert_eq!(questions[0].options.iter().map(|o| o.label.as_str()).collect::<Vec<_>>(), ["red", "blue"]);
    let bad = GatewayCommand::ToolApprove { tool_call_id: tool_call_id.clone(), scope: Scope::Once, grant: None, by: None };
    c.send(&bad).await;
    assert!(matches!(c.control().await, GatewayControl::Error { code: ErrorCode::UnknownToolCall, .. }));
    let answers = BTreeMap::from([("Which colour?".to_string(), "blue".to_string())]);
    c.send(&GatewayCommand::Answer { tool_call_id, answers, by: Some("ada".into()) }).await;
    c.until("result", is_result).await;
    assert!(stack.model_saw().contains(r#"\"Which colour?\"=\"blue\""#), "the answer reached the tool: {}", stack.model_saw());
    runner.kill().unwrap();
}

#[tokio::test]
async fn interrupt_ends_the_turn_and_a_queued_follow_up_runs_next() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "interrupt").await;
    c.send(&text("c1", "talk [[slow ms=150 chunks=60]]")).await;
    c.until("streaming", |e| matches!(e, GatewayEvent::MessageDelta { .. })).await;
    c.send(&text("c2", "and then this [[text \"second turn done\"]]")).await;
    let queued = c.until("queued", |e| matches!(e, GatewayEvent::UserMessage { client_id, .. } if client_id == "c2")).await;
    assert!(matches!(queued, GatewayEvent::UserMessage { queued: true, .. }));
    c.send(&GatewayCommand::Interrupt).await;
    let first = c.until("first result", is_result).await;
    assert!(matches!(first, GatewayEvent::Result { is_error: true, .. }), "interrupted: {first:?}");
    let second = c.until("second result", is_result).await;
    assert!(matches!(second, GatewayEvent::Result { is_error: false, .. }));
    assert!(c.events.iter().any(|e| matches!(&e.event, GatewayEvent::Message { message } if format!("{message:?}").contains("second turn done"))));
    c.send(&GatewayCommand::Interrupt).await;
    assert!(matches!(c.control().await, GatewayControl::Error { code: ErrorCode::Conflict, .. }), "nothing to interrupt");
    runner.kill().unwrap();
}

#[tokio::test]
async fn a_resent_prompt_runs_once() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "resend").await;
    c.send(&text("c1", "[[text \"once\"]]")).await;
    c.send(&text("c1", "[[text \"once\"]]")).await;
    c.until("result", is_result).await;
    c.send(&GatewayCommand::Ping).await;
    assert_eq!(c.control().await, GatewayControl::Pong);
    let users = c.events.iter().filter(|e| matches!(e.event, GatewayEvent::UserMessage { .. })).count();
    assert_eq!(users, 1);
    assert_eq!(stack.model.message_requests().len(), 1);
    runner.kill().unwrap();
}

#[tokio::test]
async fn bad_frames_get_an_error_and_the_link_keeps_working() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "badframes").await;
    for (raw, code) in [
        ("not json", ErrorCode::BadFrame),
        (r#"{"type":"session.fly"}"#, ErrorCode::UnknownType),
        (r#"{"type":"session.attach","after_seq":"x"}"#, ErrorCode::BadFrame),
    ] {
        c.send_raw(raw).await;
        assert!(matches!(c.control().await, GatewayControl::Error { code: got, .. } if got == code), "{raw}");
    }
    c.send(&GatewayCommand::ToolApprove { tool_call_id: "toolu_nope".into(), scope: Scope::Once, grant: None, by: None }).await;
    assert!(matches!(c.control().await, GatewayControl::Error { code: ErrorCode::UnknownToolCall, .. }));
    c.send(&text("c1", "still here?")).await;
    c.until("result", is_result).await;
    runner.kill().unwrap();
}

#[tokio::test]
async fn a_killed_runner_leaves_no_cli_and_the_next_runner_resumes() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "resume").await;
    c.send(&text("c1", "remember the word PELICAN")).await;
    c.until("result", is_result).await;
    let cli: Vec<u32> = children(runner.id());
    assert_eq!(cli.len(), 1, "one claude process under the runner");
    runner.kill().unwrap();
    runner.wait().unwrap();
    wait_until("the CLI to die with its runner", || !alive(cli[0])).await;
    let last = *c.seqs().last().unwrap();

    let mut runner = stack.start_runner("resume", None);
    let mut c = SocketClient::connect(&stack.socket("resume")).await;
    c.send(&GatewayCommand::Attach { after_seq: last, batches: false }).await;
    c.send(&text("c2", "what was the word?")).await;
    c.until("result", is_result).await;
    assert_eq!(c.seqs()[0], last + 1, "seq continues after the DO's cursor");
    let resumed = stack.model.message_requests().last().unwrap().body.to_string();
    assert!(resumed.contains("PELICAN"), "the model received the earlier history on resume");
    runner.kill().unwrap();
}

#[tokio::test]
async fn a_reattaching_peer_gets_exactly_what_it_missed() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "replay").await;
    c.send(&text("c1", "hello")).await;
    c.until("result", is_result).await;
    let all = c.seqs();
    let mut late = SocketClient::connect(&stack.socket("replay")).await;
    late.send(&GatewayCommand::Attach { after_seq: 2, batches: false }).await;
    late.until("replayed result", is_result).await;
    assert_eq!(late.seqs(), all[2..].to_vec(), "everything after its cursor, once, in order");
    runner.kill().unwrap();
}

#[tokio::test]
async fn an_api_error_is_reported_and_the_next_message_resumes() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "apierror").await;
    c.send(&text("c1", "remember the word ZEBRA")).await;
    c.until("first result", is_result).await;
    c.send(&text("c2", "fail now [[error:529]]")).await;
    let error = c.until("api error", |e| matches!(e, GatewayEvent::Error { code: ErrorCode::ApiError, .. })).await;
    assert!(matches!(error, GatewayEvent::Error { fatal: false, .. }));
    c.until("failed result", |e| matches!(e, GatewayEvent::Result { is_error: true, .. })).await;
    c.until("idle, ready for more", |e| *e == GatewayEvent::Status { state: RunnerState::Idle }).await;
    c.send(&text("c3", "which word?")).await;
    c.until("third result", |e| matches!(e, GatewayEvent::Result { is_error: false, .. })).await;
    assert!(stack.model.message_requests().last().unwrap().body.to_string().contains("ZEBRA"), "resumed with the history");
    runner.kill().unwrap();
}

#[tokio::test]
async fn session_grants_survive_a_runner_restart() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "grants").await;
    let cmd = "[[tool:bash cmd=\"echo granted >> g.txt\"]]";
    c.send(&text("c1", cmd)).await;
    let id = tool_request_id(&c.until("request", |e| tool_request_id(e).is_some()).await).unwrap();
    c.send(&GatewayCommand::ToolApprove { tool_call_id: id, scope: Scope::Session, grant: None, by: Some("ada".into()) }).await;
    c.until("result", is_result).await;
    runner.kill().unwrap();
    runner.wait().unwrap();

    let mut runner = stack.start_runner("grants", None);
    let mut c = SocketClient::connect(&stack.socket("grants")).await;
    c.send(&GatewayCommand::Attach { after_seq: u64::MAX / 2, batches: false }).await;
    c.send(&text("c2", cmd)).await;
    c.until("result", is_result).await;
    assert!(!c.events.iter().any(|e| tool_request_id(&e.event).is_some()), "the grant answered: nobody was asked");
    assert!(c.events.iter().any(|e| matches!(&e.event, GatewayEvent::ToolResolved { decision: Decision::Approved, by, .. } if by == "policy")));
    assert_eq!(std::fs::read_to_string(stack.repo().join("g.txt")).unwrap(), "granted\ngranted\n");
    runner.kill().unwrap();
}

#[tokio::test]
async fn terminate_ends_the_session_for_good() {
    let stack = Stack::new().await;
    let (mut runner, mut c) = started(&stack, "terminate").await;
    c.send(&text("c1", "hello")).await;
    c.until("result", is_result).await;
    let cli = children(runner.id());
    c.send(&GatewayCommand::Terminate).await;
    c.until("complete", |e| matches!(e, GatewayEvent::Complete { .. })).await;
    c.send(&text("c2", "are you there?")).await;
    assert!(matches!(c.control().await, GatewayControl::Error { code: ErrorCode::SessionEnded, .. }));
    let status = tokio::task::spawn_blocking(move || runner.wait()).await.unwrap().unwrap();
    assert!(status.success(), "the runner exits after the end reached its peers");
    for pid in cli {
        wait_until("the CLI to be gone", || !alive(pid)).await;
    }
}

#[tokio::test]
async fn kata_state_changes_are_announced() {
    let stack = Stack::new().await;
    let mut cfg = config();
    cfg.policy.allow.push("Bash".parse().unwrap());
    let (mut runner, mut c) = started_with(&stack, "kata", cfg).await;
    let write_state = |phase: &str| {
        let dir = stack.repo().join(".kata/sessions/k1");
        std::fs::create_dir_all(&dir).unwrap();
        let state = serde_json::json!({"session_id": "k1", "mode": "task", "phase": phase, "phases": [], "updated_at_ms": 1});
        std::fs::write(dir.join("state.json"), state.to_string()).unwrap();
    };
    write_state("plan");
    c.send(&text("c1", "[[tool:bash cmd=\"true\"]]")).await;
    let first = c.until("kata", |e| matches!(e, GatewayEvent::Kata { .. })).await;
    assert!(matches!(&first, GatewayEvent::Kata { state } if state.phase == "plan"));
    c.until("result", is_result).await;
    write_state("build");
    c.send(&text("c2", "[[tool:bash cmd=\"true\"]]")).await;
    let second = c.until("kata change", |e| matches!(e, GatewayEvent::Kata { .. })).await;
    assert!(matches!(&second, GatewayEvent::Kata { state } if state.phase == "build"));
    c.until("result", is_result).await;
    let announced = c.events.iter().filter(|e| matches!(e.event, GatewayEvent::Kata { .. })).count();
    assert_eq!(announced, 2, "only changes are announced");
    runner.kill().unwrap();
}

#[tokio::test]
async fn the_socket_is_private_and_the_cli_gets_a_clean_environment() {
    use std::os::unix::fs::PermissionsExt;
    let stack = Stack::new().await;
    let leaks = [
        ("CLAUDECODE", "1"),
        ("CLAUDE_CODE_ENTRYPOINT", "cli"),
        ("NODE_OPTIONS", "--inspect"),
        ("CC_GATEWAY_SECRET_EXTRA", "s3cret"),
        ("CC_GATEWAY_TOKEN_FILE", "/etc/cc-gateway/token"),
        ("CREDENTIALS_DIRECTORY", "/run/credentials/cc-gateway.service"),
        ("GITHUB_TOKEN", "ghp_x"),
        ("DEPLOY_SECRET", "x"),
    ];
    let mut runner = stack.start_runner_with_env("env", Some(&stack.repo()), &leaks);
    let mut c = SocketClient::connect(&stack.socket("env")).await;
    let mode = std::fs::metadata(stack.socket("env")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the session socket is the gateway user's only");
    c.send(&GatewayCommand::Attach { after_seq: 0, batches: false }).await;
    c.send(&GatewayCommand::Create { config: config() }).await;
    c.send(&text("c1", "hello")).await;
    c.until("result", is_result).await;
    let cli = children(runner.id());
    assert_eq!(cli.len(), 1);
    let environ = std::fs::read(format!("/proc/{}/environ", cli[0])).unwrap();
    let vars: Vec<String> = environ.split(|b| *b == 0).map(|v| String::from_utf8_lossy(v).into_owned()).collect();
    for (name, _) in leaks {
        assert!(!vars.iter().any(|v| v.starts_with(&format!("{name}="))), "{name} reached the CLI");
    }
    let home = stack.sandbox.home().to_string_lossy().into_owned();
    assert!(vars.contains(&format!("HOME={home}")), "HOME is kept so --resume finds the session");
    assert!(vars.iter().any(|v| v.starts_with("CLAUDE_CONFIG_DIR=")));
    assert!(vars.iter().any(|v| v.starts_with("PATH=")));
    runner.kill().unwrap();
}
