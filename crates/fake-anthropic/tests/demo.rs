//! Demo mode: which requests it answers, the step each request is at (from the tool calls and
//! results the CLI re-sends), what each step says and calls, denials, usage, and the switch
//! over HTTP (`POST /_fake/demo`). The whole demo on the real CLI is in `real_cli.rs`.

mod common;

use common::request;
use fake_anthropic::demo::{self, Step, FILE, OPTIONS, QUESTION, SECTION};
use fake_anthropic::directive::parse;
use fake_anthropic::reply::{read_turn, Block, Reply, Turn};
use fake_anthropic::FakeModel;
use serde_json::{json, Value};

const CWD: &str = "/projects/demo";

/// The tools the CLI offers in a main-conversation request (a few of them).
fn tools() -> Value {
    json!([
        "Task",
        "AskUserQuestion",
        "Bash",
        "Edit",
        "Glob",
        "Read",
        "Write"
    ]
    .iter()
    .map(|n| json!({"name": n, "description": "...", "input_schema": {"type": "object"}}))
    .collect::<Vec<_>>())
}

/// A request body: the prompt, then `exchanges` of (tool name, input, result, is_error), each an
/// assistant `tool_use` and the user's `tool_result`, as the CLI re-sends them.
fn body(prompt: &str, exchanges: &[(&str, Value, &str, bool)]) -> Value {
    let mut messages = vec![json!({"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>context</system-reminder>"},
        {"type": "text", "text": prompt},
    ]})];
    for (i, (name, input, result, is_error)) in exchanges.iter().enumerate() {
        let id = format!("toolu_{i}");
        messages.push(json!({"role": "assistant", "content": [
            {"type": "text", "text": "..."},
            {"type": "tool_use", "id": id, "name": name, "input": input},
        ]}));
        messages.push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": id, "content": result, "is_error": is_error},
        ]}));
    }
    json!({
        "model": "claude-test",
        "system": [{"type": "text", "text": format!("You are Claude Code.\nPrimary working directory: {CWD}\n")}],
        "tools": tools(),
        "messages": messages,
    })
}

fn turn(prompt: &str, exchanges: &[(&str, Value, &str, bool)]) -> Turn {
    read_turn(&body(prompt, exchanges)).expect("a well-formed request")
}

const README_READ: &str = "     1→# demo\n     2→\n\n<system-reminder>\nWhenever you read a file, consider whether it is malicious.\n</system-reminder>\n";
const EDITED: &str = "The file /projects/demo/README.md has been updated. Here's the result of running `cat -n` on a snippet of the edited file:\n     1→# demo";
const DIFF_STAT: &str = " README.md | 7 +++++++\n 1 file changed, 7 insertions(+)";
const ANSWERED: &str = "User has answered your questions: \"What should I do next?\"=\"Add a check script\". You can now continue with the user's answers in mind.";

fn read_call() -> (&'static str, Value, &'static str, bool) {
    (
        "Read",
        json!({"file_path": format!("{CWD}/README.md")}),
        README_READ,
        false,
    )
}

fn edit_call(result: &'static str, is_error: bool) -> (&'static str, Value, &'static str, bool) {
    (
        "Edit",
        json!({"file_path": format!("{CWD}/README.md"), "old_string": "# demo", "new_string": format!("# demo\n\n{SECTION}")}),
        result,
        is_error,
    )
}

fn bash_call(
    command: &str,
    result: &'static str,
    is_error: bool,
) -> (&'static str, Value, &'static str, bool) {
    ("Bash", json!({"command": command}), result, is_error)
}

fn ask_call(result: &'static str, is_error: bool) -> (&'static str, Value, &'static str, bool) {
    (
        "AskUserQuestion",
        json!({"questions": []}),
        result,
        is_error,
    )
}

/// The reply's text blocks joined, and its one tool call (name, input) if any.
fn said(reply: &Reply) -> (String, Option<(String, Value)>) {
    let mut text = String::new();
    let mut tool = None;
    for b in &reply.blocks {
        match b {
            Block::Text(t) => text.push_str(t),
            Block::ToolUse { name, input, .. } => tool = Some((name.clone(), input.clone())),
            Block::Thinking { .. } => {}
        }
    }
    (text, tool)
}

fn respond(t: &Turn) -> (String, Option<(String, Value)>, &'static str) {
    let reply = demo::respond(t, "toolu_next".into());
    let (text, tool) = said(&reply);
    (text, tool, reply.stop_reason)
}

#[test]
fn only_a_plain_prompt_in_a_request_offering_the_demo_tools_is_the_demos() {
    let plain = turn("help me with this repo", &[]);
    assert!(demo::applies(&plain, &parse(&plain.prompt).unwrap()));
    // any directive keeps the scripted behaviour, whatever it is
    for prompt in [
        "hi [[text \"x\"]]",
        "[[thinking]] hi",
        "[[slow]] hi",
        "[[error:529]]",
        "[[tool:bash cmd=ls]]",
    ] {
        let t = turn(prompt, &[]);
        assert!(!demo::applies(&t, &parse(prompt).unwrap()), "{prompt}");
    }
    // a side request (a title, a summary) offers no tools; one missing tool is enough to decline
    let mut side = body("help me with this repo", &[]);
    side.as_object_mut().unwrap().remove("tools");
    let side = read_turn(&side).unwrap();
    assert!(!demo::applies(&side, &parse(&side.prompt).unwrap()));
    let mut fewer = body("help me with this repo", &[]);
    fewer["tools"] = json!([{"name": "Read"}, {"name": "Edit"}, {"name": "Bash"}]);
    let fewer = read_turn(&fewer).unwrap();
    assert!(!demo::applies(&fewer, &parse(&fewer.prompt).unwrap()));
}

#[test]
fn each_tool_call_made_moves_the_demo_one_step() {
    let r = read_call();
    let e = edit_call(EDITED, false);
    let b = bash_call("git diff --stat", DIFF_STAT, false);
    let a = ask_call(ANSWERED, false);
    let steps: Vec<Step> = [
        vec![],
        vec![r.clone()],
        vec![r.clone(), e.clone()],
        vec![r.clone(), e.clone(), b.clone()],
        vec![r, e, b, a],
    ]
    .iter()
    .map(|x| demo::step(&turn("go", x)))
    .collect();
    assert_eq!(
        steps,
        [
            Step::Read,
            Step::Edit,
            Step::Check,
            Step::Ask,
            Step::Summary
        ]
    );
}

#[test]
fn the_first_step_reads_the_readme_in_the_cwd_after_thinking() {
    let t = turn("help me with this repo", &[]);
    let reply = demo::respond(&t, "toolu_1".into());
    assert!(
        matches!(reply.blocks[0], Block::Thinking { .. }),
        "{reply:?}"
    );
    let (text, tool, stop) = respond(&t);
    assert!(text.contains("reading the README"), "{text}");
    assert_eq!(
        tool,
        Some((
            "Read".into(),
            json!({"file_path": "/projects/demo/README.md"})
        ))
    );
    assert_eq!(stop, "tool_use");
}

#[test]
fn the_edit_adds_a_section_under_the_title_it_read() {
    let (text, tool, stop) = respond(&turn("go", &[read_call()]));
    assert_eq!(stop, "tool_use");
    assert!(text.contains("only a title"), "{text}");
    let (name, input) = tool.expect("a tool call");
    assert_eq!(name, "Edit");
    assert_eq!(input["file_path"], "/projects/demo/README.md");
    assert_eq!(input["old_string"], "# demo");
    let new = input["new_string"].as_str().unwrap();
    assert!(
        new.starts_with("# demo\n\nA small project") && new.contains(SECTION),
        "{new}"
    );
    assert_eq!(input["replace_all"], false);
}

#[test]
fn a_readme_an_earlier_demo_edited_gets_one_new_line_each_time() {
    let read =
        format!("     1→# demo\n     2→\n     3→{SECTION}\n     4→\n     5→- Approve or deny.\n");
    let read: &'static str = Box::leak(read.into_boxed_str());
    let (text, tool, _) = respond(&turn("go", &[("Read", json!({}), read, false)]));
    assert!(text.contains("earlier run"), "{text}");
    let (_, input) = tool.unwrap();
    assert_eq!(input["old_string"], "- Approve or deny.");
    assert_eq!(
        input["new_string"],
        "- Approve or deny.\n- Reviewed again from Duraclaw (pass 2)."
    );
    // a third run: the line it added last is the (unique) anchor, the pass counts on
    let read = format!("     1→# demo\n     2→{SECTION}\n     3→- Approve or deny.\n     4→- Reviewed again from Duraclaw (pass 2).\n");
    let read: &'static str = Box::leak(read.into_boxed_str());
    let (_, tool, _) = respond(&turn("go", &[("Read", json!({}), read, false)]));
    let (_, input) = tool.unwrap();
    assert_eq!(
        input["old_string"],
        "- Reviewed again from Duraclaw (pass 2)."
    );
    assert!(input["new_string"].as_str().unwrap().ends_with("(pass 3)."));
}

#[test]
fn a_readme_that_could_not_be_read_is_created() {
    let (text, tool, _) = respond(&turn(
        "go",
        &[("Read", json!({}), "File does not exist.", true)],
    ));
    assert!(
        text.contains("couldn't read README.md (“File does not exist.”)"),
        "{text}"
    );
    let (name, input) = tool.unwrap();
    assert_eq!(name, "Edit");
    assert_eq!(input["old_string"], "");
    assert!(
        input["new_string"]
            .as_str()
            .unwrap()
            .starts_with("# demo\n\n"),
        "the project's name as title"
    );
}

#[test]
fn after_the_edit_it_checks_the_diff_or_after_a_denial_the_status() {
    let (text, tool, _) = respond(&turn("go", &[read_call(), edit_call(EDITED, false)]));
    assert!(text.contains("README.md is updated"), "{text}");
    assert_eq!(tool.unwrap().1["command"], "git diff --stat");

    let denied = edit_call(
        "The user doesn't want to proceed: not in the README please",
        true,
    );
    let (text, tool, _) = respond(&turn("go", &[read_call(), denied]));
    assert!(
        text.contains(
            "did not go through (“The user doesn't want to proceed: not in the README please”)"
        ),
        "{text}"
    );
    assert!(text.contains("stays as it was"), "{text}");
    assert_eq!(tool.unwrap().1["command"], "git status --short");
}

#[test]
fn the_question_quotes_the_command_output_and_offers_the_next_steps() {
    let t = turn(
        "go",
        &[
            read_call(),
            edit_call(EDITED, false),
            bash_call("git diff --stat", DIFF_STAT, false),
        ],
    );
    let (text, tool, stop) = respond(&t);
    assert_eq!(stop, "tool_use");
    assert!(
        text.contains("`git diff --stat` says:")
            && text.contains("1 file changed, 7 insertions(+)"),
        "{text}"
    );
    let (name, input) = tool.unwrap();
    assert_eq!(name, "AskUserQuestion");
    let q = &input["questions"][0];
    assert_eq!(q["question"], QUESTION);
    assert_eq!(q["multiSelect"], false);
    let labels: Vec<&str> = q["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, OPTIONS.map(|(l, _)| l));

    let t = turn(
        "go",
        &[
            read_call(),
            edit_call(EDITED, false),
            bash_call("git diff --stat", "Permission denied: no", true),
        ],
    );
    let (text, tool, _) = respond(&t);
    assert!(
        text.contains("did not run (“Permission denied: no”)"),
        "{text}"
    );
    assert_eq!(tool.unwrap().0, "AskUserQuestion");
}

#[test]
fn the_summary_ends_the_turn_with_every_step_and_the_answer() {
    let t = turn(
        "go",
        &[
            read_call(),
            edit_call(EDITED, false),
            bash_call("git diff --stat", DIFF_STAT, false),
            ask_call(ANSWERED, false),
        ],
    );
    let (text, tool, stop) = respond(&t);
    assert_eq!((tool, stop), (None, "end_turn"));
    for part in [
        "**Read** `README.md` (1 line)",
        "**Edited** `README.md`: added a short description",
        "**Ran** `git diff --stat`: 1 file changed, 7 insertions(+).",
        "you chose “Add a check script”",
        "keyless demo",
    ] {
        assert!(text.contains(part), "{part:?} missing from {text}");
    }

    // a later run's edit added one line; a README that could not be read was created
    for (old, new, said) in [
        (
            "- x",
            "- x\n- Reviewed again",
            "added a line to its “Getting started” section",
        ),
        ("", "# demo", "created it"),
    ] {
        let edit = (
            "Edit",
            json!({"old_string": old, "new_string": new}),
            EDITED,
            false,
        );
        let t = turn(
            "go",
            &[
                read_call(),
                edit,
                ask_call(ANSWERED, false),
                ask_call(ANSWERED, false),
            ],
        );
        let (text, _, _) = respond(&t);
        assert!(
            text.contains(&format!("**Edited** `README.md`: {said}")),
            "{said:?} missing from {text}"
        );
    }

    // everything declined: the summary says so, step by step
    let t = turn(
        "go",
        &[
            ("Read", json!({}), "no reads today", true),
            edit_call("File has not been read yet.", true),
            bash_call("git status --short", "not now", true),
            ask_call("The user declined to answer", true),
        ],
    );
    let (text, _, stop) = respond(&t);
    assert_eq!(stop, "end_turn");
    for part in [
        "Tried to read `README.md`: “no reads today”",
        "it did not go through (“File has not been read yet.”)",
        "`git status --short`; it did not run (“not now”)",
        "no answer came",
    ] {
        assert!(text.contains(part), "{part:?} missing from {text}");
    }
}

#[test]
fn read_results_are_parsed_in_both_line_number_forms() {
    assert_eq!(demo::file_lines(README_READ), ["# demo", ""]);
    assert_eq!(demo::file_lines("     1\t# a\n     2\tb\n"), ["# a", "b"]);
    assert!(demo::file_lines(
        "<system-reminder>Warning: the file exists but the contents are empty.</system-reminder>"
    )
    .is_empty());
    assert_eq!(
        demo::answer(ANSWERED).as_deref(),
        Some("Add a check script")
    );
    assert_eq!(
        demo::answer("picked: Nothing for now").as_deref(),
        Some("Nothing for now")
    );
    assert_eq!(demo::answer("?"), None);
}

#[test]
fn usage_bills_most_input_as_cache_writes_then_cache_reads() {
    assert_eq!(demo::usage(&turn("go", &[]), 20_000), (2_000, 18_000, 0));
    assert_eq!(
        demo::usage(&turn("go", &[read_call()]), 20_000),
        (2_000, 0, 18_000)
    );
}

fn stream_body(prompt: &str) -> String {
    let mut b = body(prompt, &[]);
    b["stream"] = json!(true);
    b.to_string()
}

/// The text and tool names of an SSE reply.
fn sse_reply(r: &common::Response) -> (String, Vec<String>) {
    let events = r.sse();
    let text = events
        .iter()
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
        .collect();
    let tools = events
        .iter()
        .filter_map(|(_, d)| d["content_block"]["name"].as_str().map(String::from))
        .collect();
    (text, tools)
}

#[tokio::test]
async fn the_switch_turns_the_demo_on_and_off_over_http() {
    let fake = FakeModel::start().await.unwrap();
    let addr = fake.addr();
    let get = request(addr, "GET", "/_fake/demo", "").await;
    assert_eq!((get.status, get.json()), (200, json!({"demo": false})));
    // off: a plain prompt is echoed as always
    let r = request(addr, "POST", "/v1/messages", &stream_body("show me")).await;
    assert_eq!(sse_reply(&r), ("You said: show me".into(), vec![]));

    let on = request(addr, "POST", "/_fake/demo", r#"{"on": true}"#).await;
    assert_eq!((on.status, on.json()), (200, json!({"demo": true})));
    assert!(fake.demo());
    let r = request(addr, "POST", "/v1/messages", &stream_body("show me")).await;
    let (text, tools) = sse_reply(&r);
    assert!(text.contains("reading the README"), "{text}");
    assert_eq!(tools, ["Read"]);
    let start = &r.sse()[0].1["message"]["usage"];
    assert!(
        start["cache_creation_input_tokens"].as_u64().unwrap() > 0,
        "{start}"
    );
    // directives still script the model in demo mode
    let r = request(
        addr,
        "POST",
        "/v1/messages",
        &stream_body("[[text \"scripted\"]]"),
    )
    .await;
    assert_eq!(sse_reply(&r), ("scripted".into(), vec![]));

    // bad bodies are refused with the reason, and change nothing
    for bad in [
        "",
        "{}",
        r#"{"on": "yes"}"#,
        r#"{"on": true, "x": 1}"#,
        "on",
    ] {
        let r = request(addr, "POST", "/_fake/demo", bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.json()["error"]["type"], "invalid_request_error");
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("\"on\": true"),
            "{}",
            r.body
        );
    }
    assert!(fake.demo());

    let off = request(addr, "POST", "/_fake/demo", r#"{"on": false}"#).await;
    assert_eq!((off.status, off.json()), (200, json!({"demo": false})));
    let r = request(addr, "POST", "/v1/messages", &stream_body("show me")).await;
    assert_eq!(sse_reply(&r).0, "You said: show me");
    fake.set_demo(true);
    assert_eq!(
        request(addr, "GET", "/_fake/demo", "").await.json(),
        json!({"demo": true})
    );
    fake.shutdown().await;
}

#[test]
fn a_plain_turn_keeps_its_fields() {
    // the fields the demo added leave the old ones as they were
    let t = turn("go", &[read_call()]);
    assert_eq!(
        (t.prompt.as_str(), t.tool_steps_done, t.cwd.as_deref()),
        ("go", 1, Some(CWD))
    );
    assert_eq!(t.calls.len(), 1);
    assert_eq!(t.calls[0].name, "Read");
    assert!(t.tools.iter().any(|n| n == "AskUserQuestion"));
    assert_eq!(FILE, "README.md");
}
