//! The REAL Claude Code CLI against the fake. These fail (never skip) when the CLI is missing.

use std::path::Path;
use std::time::Duration;

use fake_anthropic::cli::{claude_bin, Claude, Sandbox};
use fake_anthropic::FakeModel;
use serde_json::{json, Value};
use tempfile::TempDir;

const TURN: Duration = Duration::from_secs(90);
const EXIT: Duration = Duration::from_secs(30);

/// A fake, a sandbox and a fresh git repository to run the CLI in.
async fn setup() -> (FakeModel, Sandbox, TempDir) {
    let fake = FakeModel::start().await.expect("start fake");
    let sandbox = Sandbox::new().expect("sandbox");
    let repo = tempfile::tempdir().expect("repo dir");
    let git = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(repo.path())
        .status();
    assert!(git.expect("run git").success(), "git init failed");
    (fake, sandbox, repo)
}

fn spawn(fake: &FakeModel, sandbox: &Sandbox, repo: &Path, args: &[&str]) -> Claude {
    let bin = claude_bin().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = sandbox.command(&bin, &fake.base_url(), repo);
    cmd.args(args);
    Claude::spawn(cmd, sandbox).expect("spawn claude")
}

async fn finish_ok(claude: Claude) {
    let status = claude.finish(EXIT).await.expect("CLI exits");
    assert!(status.success(), "CLI exit status {status}");
}

#[tokio::test]
async fn plain_text_turn_ends_with_a_result() {
    let (fake, sandbox, repo) = setup().await;
    let mut claude = spawn(&fake, &sandbox, repo.path(), &[]);
    claude
        .send_user("say something [[text \"pong from the fake\"]]")
        .await
        .unwrap();
    let result = claude.result(TURN).await.unwrap();
    assert_eq!(result["subtype"], "success", "{result}");
    assert_eq!(result["is_error"], false, "{result}");
    assert_eq!(result["result"], "pong from the fake");
    let init = claude
        .events
        .iter()
        .find(|e| e["type"] == "system" && e["subtype"] == "init");
    assert!(init.is_some(), "no system/init event");
    finish_ok(claude).await;
    let calls = fake.message_requests();
    assert!(!calls.is_empty());
    assert!(calls
        .iter()
        .all(|r| r.path == "/v1/messages?beta=true" && r.body["stream"] == true));
    fake.shutdown().await;
}

#[tokio::test]
async fn bash_tool_turn_creates_a_file_with_bypass_permissions() {
    let (fake, sandbox, repo) = setup().await;
    let mut claude = spawn(
        &fake,
        &sandbox,
        repo.path(),
        &["--permission-mode", "bypassPermissions"],
    );
    claude
        .send_user("make a file [[tool:bash cmd=\"echo hi > out.txt\"]]")
        .await
        .unwrap();
    let result = claude.result(TURN).await.unwrap();
    assert_eq!(
        (result["subtype"].as_str(), result["is_error"].as_bool()),
        (Some("success"), Some(false)),
        "{result}"
    );
    assert_eq!(
        result["result"],
        "tool result (error=false): (Bash completed with no output)"
    );
    finish_ok(claude).await;
    let written = std::fs::read_to_string(repo.path().join("out.txt")).expect("out.txt written");
    assert_eq!(written, "hi\n");
    // One tool_use, then one text reply: two model calls for the turn.
    assert_eq!(fake.message_requests().len(), 2);
    fake.shutdown().await;
}

/// Answers the CLI's control requests: `can_use_tool` through `decide`, hooks with no opinion.
async fn answer_permissions(claude: &mut Claude, decide: impl Fn(&Value) -> Value) -> Value {
    loop {
        let event = claude
            .until("a permission request or the result", TURN, |e| {
                e["type"] == "result" || e["type"] == "control_request"
            })
            .await
            .unwrap();
        if event["type"] == "result" {
            return event;
        }
        let response = decide(&event["request"]);
        let reply = json!({"type": "control_response", "response": {
            "subtype": "success", "request_id": event["request_id"], "response": response}});
        claude.send(&reply).await.unwrap();
    }
}

async fn initialize(claude: &mut Claude) {
    let init = json!({"type": "control_request", "request_id": "init_1",
        "request": {"subtype": "initialize", "hooks": null}});
    claude.send(&init).await.unwrap();
    claude
        .until("the initialize response", TURN, |e| {
            e["type"] == "control_response"
        })
        .await
        .unwrap();
}

/// A CLI that asks before every tool (`--permission-prompt-tool stdio`), initialised, given `prompt`.
async fn gated_turn(fake: &FakeModel, sandbox: &Sandbox, repo: &Path, prompt: &str) -> Claude {
    let mut claude = spawn(fake, sandbox, repo, &["--permission-prompt-tool", "stdio"]);
    initialize(&mut claude).await;
    claude.send_user(prompt).await.unwrap();
    claude
}

#[tokio::test]
async fn a_deny_reason_reaches_the_model() {
    let (fake, sandbox, repo) = setup().await;
    let mut claude = gated_turn(
        &fake,
        &sandbox,
        repo.path(),
        "[[tool:bash cmd=\"echo no > denied.txt\"]]",
    )
    .await;
    let result = answer_permissions(&mut claude, |req| {
        assert_eq!(req["subtype"], "can_use_tool");
        json!({"behavior": "deny", "message": "not today", "interrupt": false})
    })
    .await;
    let text = result["result"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("tool result (error=true): ") && text.contains("not today"),
        "{result}"
    );
    assert_eq!(
        result["permission_denials"].as_array().map(Vec::len),
        Some(1),
        "{result}"
    );
    finish_ok(claude).await;
    assert!(!repo.path().join("denied.txt").exists());
    fake.shutdown().await;
}

#[tokio::test]
async fn question_answers_reach_the_model() {
    let (fake, sandbox, repo) = setup().await;
    let prompt = "[[tool:ask question=\"Which colour?\" options=\"red,blue\" header=Colour]]";
    let mut claude = gated_turn(&fake, &sandbox, repo.path(), prompt).await;
    let result = answer_permissions(&mut claude, |req| {
        assert_eq!(req["tool_name"], "AskUserQuestion", "{req}");
        assert_eq!(
            req["input"]["questions"][0]["options"][1]["label"], "blue",
            "{req}"
        );
        let mut input = req["input"].clone();
        input["answers"] = json!({"Which colour?": "blue"});
        json!({"behavior": "allow", "updatedInput": input})
    })
    .await;
    let text = result["result"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("tool result (error=false): ") && text.contains("blue"),
        "{result}"
    );
    finish_ok(claude).await;
    fake.shutdown().await;
}

#[tokio::test]
async fn resume_resends_the_earlier_history() {
    let (fake, sandbox, repo) = setup().await;
    let sid = "5f0c6a52-7d1e-4c3b-9a8e-2b1d4c6e8f00";
    let mut first = spawn(&fake, &sandbox, repo.path(), &["--session-id", sid]);
    first.send_user("remember the word walrus").await.unwrap();
    assert_eq!(
        first.result(TURN).await.unwrap()["result"],
        "You said: remember the word walrus"
    );
    finish_ok(first).await;

    let mut second = spawn(&fake, &sandbox, repo.path(), &["--resume", sid]);
    second.send_user("what was it?").await.unwrap();
    let result = second.result(TURN).await.unwrap();
    assert_eq!(
        (result["result"].as_str(), result["session_id"].as_str()),
        (Some("You said: what was it?"), Some(sid))
    );
    finish_ok(second).await;
    let last = fake.message_requests().pop().expect("a model call");
    let history = last.body["messages"].to_string();
    assert!(
        history.contains("remember the word walrus"),
        "resume lost the history: {history}"
    );
    assert!(history.contains("You said: remember the word walrus"));
    fake.shutdown().await;
}

#[tokio::test]
async fn an_overloaded_api_ends_the_turn_with_an_error_and_exit_1() {
    let (fake, sandbox, repo) = setup().await;
    let bin = claude_bin().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = sandbox.command(&bin, &fake.base_url(), repo.path());
    cmd.env("CLAUDE_CODE_MAX_RETRIES", "1");
    let mut claude = Claude::spawn(cmd, &sandbox).unwrap();
    claude.send_user("hi [[error:529]]").await.unwrap();
    let result = claude.result(TURN).await.unwrap();
    assert_eq!(
        (
            result["is_error"].as_bool(),
            result["terminal_reason"].as_str()
        ),
        (Some(true), Some("api_error")),
        "{result}"
    );
    let retried = claude
        .events
        .iter()
        .any(|e| e["subtype"] == "api_retry" && e["error_status"] == 529);
    assert!(retried, "no api_retry event");
    let status = claude.finish(EXIT).await.unwrap();
    assert_eq!(status.code(), Some(1));
    assert_eq!(fake.message_requests().len(), 2, "one try and one retry");
    fake.shutdown().await;
}

#[tokio::test]
async fn a_slow_turn_can_be_interrupted_mid_stream() {
    let (fake, sandbox, repo) = setup().await;
    let mut claude = spawn(
        &fake,
        &sandbox,
        repo.path(),
        &["--include-partial-messages"],
    );
    claude
        .send_user("take your time [[slow ms=100 chunks=100]]")
        .await
        .unwrap();
    claude
        .until("the first text delta", TURN, |e| {
            e["event"]["delta"]["type"] == "text_delta"
        })
        .await
        .unwrap();
    let interrupt = json!({"type": "control_request", "request_id": "int_1", "request": {"subtype": "interrupt"}});
    claude.send(&interrupt).await.unwrap();
    let result = claude.result(Duration::from_secs(5)).await.unwrap();
    assert_eq!(result["subtype"], "error_during_execution", "{result}");
    // The same process takes the next turn normally.
    claude.send_user("again [[text \"back\"]]").await.unwrap();
    assert_eq!(claude.result(TURN).await.unwrap()["result"], "back");
    finish_ok(claude).await;
    fake.shutdown().await;
}

/// The demo on the real CLI in a repository like the one new users get (a README): every
/// permission the CLI asks for is decided by `decide(tool name, input)`; returns the turn's
/// result, the tools asked about in order, and the repository.
async fn demo_turn(
    decide: impl Fn(&str, &Value) -> Value,
) -> (Value, Vec<String>, TempDir, FakeModel) {
    let (fake, sandbox, repo) = setup().await;
    fake_anthropic::cli::make_repo(repo.path());
    fake.set_demo(true);
    let mut claude = gated_turn(
        &fake,
        &sandbox,
        repo.path(),
        "Could you tidy up this project a little?",
    )
    .await;
    let asked = std::sync::Mutex::new(Vec::new());
    let result = answer_permissions(&mut claude, |req| {
        assert_eq!(req["subtype"], "can_use_tool", "{req}");
        let name = req["tool_name"].as_str().unwrap_or_default();
        asked.lock().unwrap().push(name.to_string());
        decide(name, &req["input"])
    })
    .await;
    finish_ok(claude).await;
    let asked = asked.into_inner().unwrap();
    (result, asked, repo, fake)
}

fn allow(input: &Value) -> Value {
    json!({"behavior": "allow", "updatedInput": input})
}

fn answer(input: &Value, choice: &str) -> Value {
    let mut input = input.clone();
    input["answers"] = json!({ fake_anthropic::demo::QUESTION: choice });
    allow(&input)
}

#[tokio::test]
async fn the_demo_plays_on_the_real_cli_read_edit_bash_question_summary() {
    let (result, asked, repo, fake) = demo_turn(|name, input| match name {
        "AskUserQuestion" => answer(input, "Commit the change"),
        _ => allow(input),
    })
    .await;
    assert_eq!(result["is_error"], false, "{result}");
    let text = result["result"].as_str().unwrap_or_default();
    for part in [
        "**Read** `README.md` (1 line)",
        "**Edited** `README.md`: added a short description",
        "**Ran** `git diff --stat`: 1 file changed",
        "you chose “Commit the change”",
    ] {
        assert!(
            text.contains(part),
            "{part:?} missing from the summary: {text}"
        );
    }
    let readme = std::fs::read_to_string(repo.path().join("README.md")).unwrap();
    assert!(
        readme.starts_with("# demo\n\nA small project")
            && readme.contains(fake_anthropic::demo::SECTION),
        "{readme}"
    );
    let edit_at = asked
        .iter()
        .position(|n| n == "Edit")
        .expect("the edit asked");
    let ask_at = asked
        .iter()
        .position(|n| n == "AskUserQuestion")
        .expect("the question asked");
    assert!(edit_at < ask_at, "{asked:?}");
    // cost and tokens: the CLI priced the cached usage the demo reported
    assert!(
        result["total_cost_usd"].as_f64().unwrap_or(0.0) > 0.0,
        "{result}"
    );
    assert!(
        result["usage"]["cache_read_input_tokens"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{result}"
    );
    // one model call per step: read, edit, bash, question, summary
    let demo_calls = fake
        .message_requests()
        .iter()
        .filter(|r| r.body["tools"].as_array().is_some_and(|t| !t.is_empty()))
        .count();
    assert_eq!(demo_calls, 5);
    fake.shutdown().await;
}

#[tokio::test]
async fn a_denied_demo_edit_leaves_the_file_and_the_demo_goes_on() {
    let (result, asked, repo, fake) = demo_turn(|name, input| match name {
        "Edit" => {
            json!({"behavior": "deny", "message": "not the README please", "interrupt": false})
        }
        "AskUserQuestion" => answer(input, "Nothing for now"),
        _ => allow(input),
    })
    .await;
    assert_eq!(result["is_error"], false, "{result}");
    let text = result["result"].as_str().unwrap_or_default();
    assert!(
        text.contains("it did not go through") && text.contains("not the README please"),
        "{text}"
    );
    assert!(
        text.contains("`git status --short`") && text.contains("you chose “Nothing for now”"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.path().join("README.md")).unwrap(),
        "# demo\n"
    );
    assert!(asked.iter().any(|n| n == "AskUserQuestion"), "{asked:?}");
    fake.shutdown().await;
}
