//! SSE framing and order, and how a reply is chosen from the history the CLI sends.

use std::time::Duration;

use fake_anthropic::directive::{parse, Pace};
use fake_anthropic::reply::{read_turn, respond, Block, Reply, ToolResult};
use fake_anthropic::sse::{events, json_message, Message};
use serde_json::{json, Value};

fn msg(reply: &Reply) -> Message<'_> {
    Message {
        id: "msg_1",
        model: "claude-test",
        input_tokens: 42,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        reply,
    }
}

fn tool_reply() -> Reply {
    Reply {
        blocks: vec![
            Block::Thinking {
                thinking: "hmm".into(),
                signature: "sig".into(),
            },
            Block::Text("Calling Bash.".into()),
            Block::ToolUse {
                id: "toolu_1".into(),
                name: "Bash".into(),
                input: json!({"command": "ls"}),
            },
        ],
        stop_reason: "tool_use",
        pace: None,
    }
}

#[test]
fn frame_is_event_line_data_line_blank_line() {
    let e = &events(msg(&tool_reply()))[0];
    let frame = e.frame();
    assert!(
        frame.starts_with("event: message_start\ndata: {"),
        "{frame}"
    );
    assert!(frame.ends_with("}\n\n"));
    assert_eq!(
        frame.matches('\n').count(),
        3,
        "data must be one line: {frame}"
    );
}

#[test]
fn events_come_in_the_order_the_cli_needs() {
    let evs = events(msg(&tool_reply()));
    let names: Vec<&str> = evs.iter().map(|e| e.name).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(
        &names[names.len() - 2..],
        &["message_delta", "message_stop"]
    );
    for e in &evs {
        assert_eq!(e.data["type"], e.name, "the data's type names the event");
    }
    // Per block: start, >= 1 delta, stop, with increasing indexes.
    let mut index = 0;
    let mut i = 1;
    while names[i] == "content_block_start" {
        assert_eq!(evs[i].data["index"], index);
        i += 1;
        let deltas = names[i..]
            .iter()
            .take_while(|n| **n == "content_block_delta")
            .count();
        assert!(deltas >= 1);
        assert!(evs[i..i + deltas].iter().all(|e| e.data["index"] == index));
        i += deltas;
        assert_eq!(
            (names[i], &evs[i].data["index"]),
            ("content_block_stop", &json!(index))
        );
        i += 1;
        index += 1;
    }
    assert_eq!(index, 3);
    let delta = &evs[evs.len() - 2].data;
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert!(delta["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(evs[0].data["message"]["usage"]["input_tokens"], 42);
}

#[test]
fn deltas_rebuild_each_block() {
    let evs = events(msg(&tool_reply()));
    let of = |kind: &str, field: &str| -> String {
        let deltas = evs.iter().filter(|e| e.data["delta"]["type"] == kind);
        deltas
            .map(|e| e.data["delta"][field].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(of("thinking_delta", "thinking"), "hmm");
    assert_eq!(of("signature_delta", "signature"), "sig");
    assert_eq!(of("text_delta", "text"), "Calling Bash.");
    let input: Value = serde_json::from_str(&of("input_json_delta", "partial_json")).unwrap();
    assert_eq!(input, json!({"command": "ls"}));
    let starts: Vec<_> = evs
        .iter()
        .filter(|e| e.name == "content_block_start")
        .collect();
    assert_eq!(
        starts[2].data["content_block"],
        json!({"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}})
    );
}

#[test]
fn slow_text_is_chunked_and_delayed() {
    let reply = Reply {
        blocks: vec![Block::Text("abc".into())],
        stop_reason: "end_turn",
        pace: Some(Pace { ms: 7, chunks: 5 }),
    };
    let evs = events(msg(&reply));
    let deltas: Vec<_> = evs
        .iter()
        .filter(|e| e.name == "content_block_delta")
        .collect();
    assert_eq!(deltas.len(), 5);
    assert!(deltas.iter().all(|e| e.delay == Duration::from_millis(7)));
    let text: String = deltas
        .iter()
        .map(|e| e.data["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "abc..");
    assert!(evs
        .iter()
        .filter(|e| e.name != "content_block_delta")
        .all(|e| e.delay.is_zero()));
}

#[test]
fn json_message_has_the_whole_content() {
    let m = json_message(msg(&tool_reply()));
    assert_eq!(m["type"], "message");
    assert_eq!(m["stop_reason"], "tool_use");
    assert_eq!(
        m["content"][0],
        json!({"type": "thinking", "thinking": "hmm", "signature": "sig"})
    );
    assert_eq!(m["content"][2]["input"], json!({"command": "ls"}));
}

/// The CLI's request shape: reminders in the prompt message, a `role:"system"` entry after it.
fn request(extra: Vec<Value>) -> Value {
    let mut messages = vec![
        json!({"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>\nctx [[error:529]]\n</system-reminder>"},
            {"type": "text", "text": "do [[tool:bash cmd=ls]] [[tool:write path=a.txt content=x]]"},
        ]}),
        json!({"role": "system", "content": "# Environment\n - Primary working directory: /w/repo\n - x"}),
    ];
    messages.extend(extra);
    json!({"model": "m", "messages": messages, "stream": true})
}

fn assistant_tool(id: &str) -> Value {
    json!({"role": "assistant", "content": [{"type": "text", "text": "Calling."},
        {"type": "tool_use", "id": id, "name": "Bash", "input": {}}]})
}

fn result(id: &str, content: Value, is_error: bool) -> Value {
    json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": content, "is_error": is_error}]})
}

#[test]
fn reminders_are_not_the_prompt_and_cwd_comes_from_the_system_entry() {
    let turn = read_turn(&request(vec![])).unwrap();
    assert_eq!(
        turn.prompt,
        "do [[tool:bash cmd=ls]] [[tool:write path=a.txt content=x]]"
    );
    assert_eq!(turn.cwd.as_deref(), Some("/w/repo"));
    assert_eq!(turn.tool_steps_done, 0);
    assert!(turn.results.is_empty());
}

#[test]
fn each_tool_directive_plays_once_then_the_result_is_quoted() {
    let step = |extra: Vec<Value>| {
        let turn = read_turn(&request(extra)).unwrap();
        respond(&turn, &parse(&turn.prompt).unwrap(), "toolu_new".into())
    };
    let first = step(vec![]);
    assert_eq!(first.stop_reason, "tool_use");
    assert!(
        matches!(&first.blocks[1], Block::ToolUse { name, input, .. }
        if name == "Bash" && input["command"] == "ls")
    );

    let second = step(vec![
        assistant_tool("t1"),
        result("t1", json!("listing"), false),
    ]);
    assert!(
        matches!(&second.blocks[1], Block::ToolUse { name, input, .. }
        if name == "Write" && input["file_path"] == "/w/repo/a.txt")
    );

    let done = step(vec![
        assistant_tool("t1"),
        result("t1", json!("listing"), false),
        assistant_tool("t2"),
        result(
            "t2",
            json!([{"type": "text", "text": "denied: not today"}]),
            true,
        ),
    ]);
    assert_eq!(done.stop_reason, "end_turn");
    assert_eq!(
        done.blocks,
        vec![Block::Text(
            "tool result (error=true): denied: not today".into()
        )]
    );
}

#[test]
fn a_new_prompt_starts_a_new_script() {
    let history = vec![
        assistant_tool("t1"),
        result("t1", json!("x"), false),
        json!({"role": "assistant", "content": [{"type": "text", "text": "done"}]}),
        json!({"role": "user", "content": "second [[text \"bye\"]]"}),
    ];
    let turn = read_turn(&request(history)).unwrap();
    assert_eq!(
        (turn.prompt.as_str(), turn.tool_steps_done),
        ("second [[text \"bye\"]]", 0)
    );
    let reply = respond(&turn, &parse(&turn.prompt).unwrap(), "t".into());
    assert_eq!(reply.blocks, vec![Block::Text("bye".into())]);
}

#[test]
fn echo_by_default() {
    let body = json!({"messages": [{"role": "user", "content": "hello  world"}]});
    let turn = read_turn(&body).unwrap();
    let reply = respond(&turn, &parse(&turn.prompt).unwrap(), "t".into());
    assert_eq!(
        reply.blocks,
        vec![Block::Text("You said: hello world".into())]
    );
    assert_eq!(turn.results, Vec::<ToolResult>::new());
}

#[test]
fn malformed_histories_are_refused_with_a_reason() {
    for (body, needle) in [
        (json!({}), "messages"),
        (json!({"messages": {}}), "messages"),
        (json!({"messages": [{"content": "x"}]}), "messages.0.role"),
        (
            json!({"messages": [{"role": "user", "content": 5}]}),
            "messages.0.content",
        ),
    ] {
        let err = read_turn(&body).unwrap_err();
        assert!(err.contains(needle), "{body}: {err}");
    }
}
