//! The pure translation of Claude Code's stream-json output into contract events.
//!
//! The runner feeds every stdout line of the CLI to a [`Translator`] and acts on what comes out:
//! events to number and send, and the control requests (tool permission, hook callbacks) that
//! the gate must answer. No I/O and no clock, so it is tested on the real captures in
//! `reference/claude-cli/transcripts/`. Unknown types and subtypes are tolerated and ignored
//! (the CLI adds them freely).

use std::collections::HashMap;

use serde_json::Value;
use shared_types::content::{AssistantBlock, AssistantMessage, Delta, Usage};
use shared_types::{ErrorCode, GatewayEvent};

/// What one line of CLI output means for the runner.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A fact to number, store and send.
    Event(GatewayEvent),
    /// `system/init`: the CLI is up for this Claude session.
    Init { claude_session_id: String },
    /// `can_use_tool`: the CLI waits for a yes or no on this call.
    Permission(PermissionRequest),
    /// A `PreToolUse` hook callback registered at `initialize`.
    Hook(HookRequest),
    /// The CLI answered one of our control requests.
    ControlResponse { request_id: String, error: Option<String> },
    /// The CLI withdrew a control request it made (e.g. after an interrupt).
    Cancel { request_id: String },
    /// The turn ended (after its `session.result` event).
    TurnEnd { api_error: bool },
}

/// A `can_use_tool` control request.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionRequest {
    pub request_id: String,
    pub tool_use_id: String,
    pub tool_name: String,
    pub input: Value,
    pub reason: Option<String>,
}

/// A `hook_callback` control request for `PreToolUse`.
#[derive(Debug, Clone, PartialEq)]
pub struct HookRequest {
    pub request_id: String,
    pub callback_id: String,
    pub tool_use_id: String,
    pub tool_name: String,
    pub tool_input: Value,
}

/// Translation state: assistant messages arrive one block per line and must be merged by id.
#[derive(Debug, Default)]
pub struct Translator {
    messages: HashMap<String, AssistantMessage>,
    /// The message that `stream_event` deltas belong to (from `message_start`).
    streaming: Option<String>,
}

impl Translator {
    pub fn new() -> Self {
        Translator::default()
    }

    /// Translates one stdout line. A line that is not a JSON object yields nothing.
    pub fn line(&mut self, line: &str) -> Vec<Output> {
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v.is_object() => self.value(&v),
            _ => Vec::new(),
        }
    }

    /// Translates one parsed stdout object.
    pub fn value(&mut self, v: &Value) -> Vec<Output> {
        match str_at(v, "type") {
            "system" => system(v),
            "stream_event" => self.stream_event(v).into_iter().collect(),
            "assistant" => self.assistant(v).into_iter().collect(),
            "user" => tool_results(v),
            "result" => {
                self.messages.clear();
                result(v)
            }
            "control_request" => control_request(v).into_iter().collect(),
            "control_response" => control_response(v).into_iter().collect(),
            "control_cancel_request" => vec![Output::Cancel { request_id: str_at(v, "request_id").to_string() }],
            _ => Vec::new(),
        }
    }

    fn stream_event(&mut self, v: &Value) -> Option<Output> {
        let event = v.get("event")?;
        match str_at(event, "type") {
            "message_start" => {
                self.streaming = event.pointer("/message/id").and_then(Value::as_str).map(str::to_string);
                None
            }
            "content_block_delta" => {
                let message_id = self.streaming.clone()?;
                let index = event.get("index").and_then(Value::as_u64).unwrap_or(0) as u32;
                let delta = event.get("delta")?;
                let content = match str_at(delta, "type") {
                    "text_delta" => Delta::Text { index, text: str_at(delta, "text").to_string() },
                    "thinking_delta" => Delta::Thinking { index, thinking: str_at(delta, "thinking").to_string() },
                    "input_json_delta" => {
                        Delta::InputJson { index, partial_json: str_at(delta, "partial_json").to_string() }
                    }
                    _ => return None,
                };
                Some(Output::Event(GatewayEvent::MessageDelta { message_id, content }))
            }
            "message_stop" => {
                self.streaming = None;
                None
            }
            _ => None,
        }
    }

    fn assistant(&mut self, v: &Value) -> Option<Output> {
        let message = v.get("message")?;
        let id = message.get("id").and_then(Value::as_str)?.to_string();
        let blocks: Vec<AssistantBlock> = message
            .get("content")
            .and_then(Value::as_array)
            .map(|c| c.iter().filter_map(assistant_block).collect())
            .unwrap_or_default();
        let model = message.get("model").and_then(Value::as_str).map(str::to_string);
        let merged = self
            .messages
            .entry(id.clone())
            .or_insert_with(|| AssistantMessage { id, model, content: Vec::new() });
        merged.content.extend(blocks);
        Some(Output::Event(GatewayEvent::Message { message: merged.clone() }))
    }
}

fn str_at<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn assistant_block(b: &Value) -> Option<AssistantBlock> {
    match str_at(b, "type") {
        "text" => Some(AssistantBlock::Text { text: str_at(b, "text").to_string() }),
        "thinking" => Some(AssistantBlock::Thinking { thinking: str_at(b, "thinking").to_string() }),
        "tool_use" => Some(AssistantBlock::ToolUse {
            id: str_at(b, "id").to_string(),
            name: str_at(b, "name").to_string(),
            input: b.get("input").cloned().unwrap_or(Value::Null),
        }),
        _ => None,
    }
}

fn system(v: &Value) -> Vec<Output> {
    match str_at(v, "subtype") {
        "init" => vec![Output::Init { claude_session_id: str_at(v, "session_id").to_string() }],
        "api_retry" => {
            let attempt = v.get("attempt").and_then(Value::as_u64).unwrap_or(0);
            let max = v.get("max_retries").and_then(Value::as_u64).unwrap_or(0);
            let status = v.get("error_status").map(Value::to_string).unwrap_or_default();
            let message = format!(
                "the model API failed ({status} {}); Claude Code is retrying (attempt {attempt} of {max})",
                str_at(v, "error")
            );
            vec![Output::Event(GatewayEvent::Error { code: ErrorCode::ApiError, message, fatal: false })]
        }
        _ => Vec::new(),
    }
}

/// `user` lines from the CLI carry tool results (other user lines are echoes and markers).
///
/// An answered `AskUserQuestion` is the one result passed on as the CLI's structured output
/// (the line's `tool_use_result`: `{questions, answers, ...}`; `toolUseResult` in the CLI's
/// session files, which a resumed history is read from) instead of the prose the model reads, so
/// that the answers fold into the question on every device.
fn tool_results(v: &Value) -> Vec<Output> {
    let Some(content) = v.pointer("/message/content").and_then(Value::as_array) else {
        return Vec::new();
    };
    let results: Vec<&Value> = content.iter().filter(|b| str_at(b, "type") == "tool_result").collect();
    let answered = v.get("tool_use_result").or_else(|| v.get("toolUseResult")).filter(|r| results.len() == 1 && r.get("answers").is_some_and(Value::is_object));
    results
        .into_iter()
        .map(|b| {
            let is_error = b.get("is_error").and_then(Value::as_bool).unwrap_or(false);
            let result = match answered {
                Some(structured) if !is_error => structured.clone(),
                _ => b.get("content").cloned().unwrap_or(Value::Null),
            };
            Output::Event(GatewayEvent::ToolResult { tool_call_id: str_at(b, "tool_use_id").to_string(), result, is_error })
        })
        .collect()
}

fn result(v: &Value) -> Vec<Output> {
    let is_error = v.get("is_error").and_then(Value::as_bool).unwrap_or(false);
    let api_error = str_at(v, "terminal_reason") == "api_error";
    let usage: Usage = v.get("usage").cloned().and_then(|u| serde_json::from_value(u).ok()).unwrap_or_default();
    let mut out = Vec::new();
    if api_error {
        let detail = str_at(v, "result");
        let message = format!("the model API failed: {detail}; send a message to retry (the session resumes)");
        out.push(Output::Event(GatewayEvent::Error { code: ErrorCode::ApiError, message, fatal: false }));
    }
    out.push(Output::Event(GatewayEvent::Result {
        cost_usd: v.get("total_cost_usd").and_then(Value::as_f64).unwrap_or(0.0),
        usage,
        duration_ms: v.get("duration_ms").and_then(Value::as_u64).unwrap_or(0),
        turns: v.get("num_turns").and_then(Value::as_u64).unwrap_or(0) as u32,
        is_error: is_error || str_at(v, "subtype") != "success",
    }));
    out.push(Output::TurnEnd { api_error });
    out
}

fn control_request(v: &Value) -> Option<Output> {
    let request_id = str_at(v, "request_id").to_string();
    let request = v.get("request")?;
    match str_at(request, "subtype") {
        "can_use_tool" => Some(Output::Permission(PermissionRequest {
            request_id,
            tool_use_id: str_at(request, "tool_use_id").to_string(),
            tool_name: str_at(request, "tool_name").to_string(),
            input: request.get("input").cloned().unwrap_or(Value::Null),
            reason: request.get("decision_reason").and_then(Value::as_str).map(str::to_string),
        })),
        "hook_callback" => {
            let input = request.get("input")?;
            Some(Output::Hook(HookRequest {
                request_id,
                callback_id: str_at(request, "callback_id").to_string(),
                tool_use_id: request
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| str_at(input, "tool_use_id"))
                    .to_string(),
                tool_name: str_at(input, "tool_name").to_string(),
                tool_input: input.get("tool_input").cloned().unwrap_or(Value::Null),
            }))
        }
        _ => None,
    }
}

fn control_response(v: &Value) -> Option<Output> {
    let response = v.get("response")?;
    let request_id = str_at(response, "request_id").to_string();
    let error = (str_at(response, "subtype") == "error").then(|| str_at(response, "error").to_string());
    Some(Output::ControlResponse { request_id, error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The CLI's stdout lines of a captured transcript.
    fn cli_lines(name: &str) -> Vec<Value> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/transcripts")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["dir"] == "in")
            .map(|l| l["msg"].clone())
            .collect()
    }

    fn translate(name: &str) -> Vec<Output> {
        let mut t = Translator::new();
        cli_lines(name).iter().flat_map(|v| t.line(&v.to_string())).collect()
    }

    fn events(out: &[Output]) -> Vec<&GatewayEvent> {
        out.iter().filter_map(|o| match o { Output::Event(e) => Some(e), _ => None }).collect()
    }

    #[test]
    fn an_approved_bash_call_becomes_request_result_and_turn_end() {
        let out = translate("allow.jsonl");
        assert!(matches!(&out[0], Output::ControlResponse { request_id, error: None } if request_id == "init_1"));
        assert!(out.iter().any(|o| matches!(o, Output::Init { claude_session_id } if !claude_session_id.is_empty())));
        let perm = out.iter().find_map(|o| match o { Output::Permission(p) => Some(p), _ => None }).unwrap();
        assert_eq!(perm.tool_name, "Bash");
        assert_eq!(perm.input["command"], "echo hi > out.txt");
        assert!(perm.tool_use_id.starts_with("toolu_"));
        let evs = events(&out);
        let merged = evs.iter().find_map(|e| match e {
            GatewayEvent::Message { message } if message.content.len() == 2 => Some(message),
            _ => None,
        });
        let merged = merged.expect("the text and tool_use blocks of one message id are merged");
        assert!(matches!(&merged.content[1], AssistantBlock::ToolUse { name, .. } if name == "Bash"));
        assert!(evs.iter().any(|e| matches!(e, GatewayEvent::ToolResult { tool_call_id, is_error: false, .. } if *tool_call_id == perm.tool_use_id)));
        assert!(matches!(evs.last(), Some(GatewayEvent::Result { is_error: false, .. })));
        assert_eq!(out.last(), Some(&Output::TurnEnd { api_error: false }));
    }

    #[test]
    fn hook_callbacks_carry_the_tool_and_its_input() {
        let out = translate("sdk_hook.jsonl");
        let hook = out.iter().find_map(|o| match o { Output::Hook(h) => Some(h), _ => None }).unwrap();
        assert_eq!(hook.callback_id, "hook_pre_bash");
        assert_eq!(hook.tool_name, "Bash");
        assert_eq!(hook.tool_input["command"], "echo hi > out.txt");
        assert!(hook.tool_use_id.starts_with("toolu_"));
        assert!(events(&out).iter().any(|e| matches!(e, GatewayEvent::ToolResult { is_error: true, .. })));
    }

    #[test]
    fn deltas_concatenate_to_the_message_text() {
        let out = translate("interrupt.jsonl");
        let evs = events(&out);
        let mut streamed: HashMap<String, String> = HashMap::new();
        for e in &evs {
            if let GatewayEvent::MessageDelta { message_id, content: Delta::Text { text, .. } } = e {
                streamed.entry(message_id.clone()).or_default().push_str(text);
            }
        }
        let finals: Vec<_> = evs.iter().filter_map(|e| match e {
            GatewayEvent::Message { message } => Some(message),
            _ => None,
        }).collect();
        assert_eq!(finals.len(), 2);
        for m in finals {
            let AssistantBlock::Text { text } = &m.content[0] else { panic!() };
            assert_eq!(streamed.get(&m.id), Some(text), "deltas of {} add up to its text", m.id);
        }
    }

    #[test]
    fn an_interrupted_turn_ends_with_an_error_result_and_the_next_succeeds() {
        let out = translate("interrupt.jsonl");
        let results: Vec<bool> = events(&out).iter().filter_map(|e| match e {
            GatewayEvent::Result { is_error, .. } => Some(*is_error),
            _ => None,
        }).collect();
        assert_eq!(results, [true, false]);
        assert_eq!(out.iter().filter(|o| matches!(o, Output::TurnEnd { api_error: false })).count(), 2);
    }

    #[test]
    fn an_api_error_is_reported_and_marks_the_turn() {
        let out = translate("misc_err529.jsonl");
        let evs = events(&out);
        assert!(evs.iter().any(|e| matches!(e, GatewayEvent::Error { code: ErrorCode::ApiError, fatal: false, .. })));
        assert!(out.contains(&Output::TurnEnd { api_error: true }), "{out:#?}");
    }

    #[test]
    fn thinking_blocks_and_deltas_are_kept() {
        let out = translate("misc_thinking.jsonl");
        let evs = events(&out);
        assert!(evs.iter().any(|e| matches!(e, GatewayEvent::Message { message } if message.content.iter().any(|b| matches!(b, AssistantBlock::Thinking { .. })))));
    }

    /// The CLI reports an answered question as prose for the model and as `tool_use_result` with
    /// the answers: the event carries the answers, which fold into the question.
    #[test]
    fn an_answered_question_carries_its_answers() {
        let line = |is_error: bool| {
            serde_json::json!({"type": "user", "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_q",
                "content": "User has answered your questions: \"Which colour?\"=\"blue\". You can now continue.", "is_error": is_error}]},
                "tool_use_result": {"questions": [{"question": "Which colour?"}], "answers": {"Which colour?": "blue"}}})
            .to_string()
        };
        let out = Translator::new().line(&line(false));
        let [Output::Event(GatewayEvent::ToolResult { tool_call_id, result, is_error: false })] = &out[..] else { panic!("{out:?}") };
        assert_eq!((tool_call_id.as_str(), &result["answers"]["Which colour?"]), ("toolu_q", &serde_json::json!("blue")));
        let mut t = shared_types::Transcript::default();
        let question = shared_types::gateway::Question { question: "Which colour?".into(), header: "Colour".into(), options: vec![], multi_select: false };
        shared_types::fold(&mut t, 1, &GatewayEvent::Question { tool_call_id: "toolu_q".into(), questions: vec![question] });
        let Output::Event(event) = &out[0] else { unreachable!() };
        shared_types::fold(&mut t, 2, event);
        let shared_types::fold::Item::Question { answers, .. } = &t.items[0] else { panic!("{t:?}") };
        assert_eq!(answers.as_ref().map(|a| a["Which colour?"].as_str()), Some("blue"));
        // an error result stays the CLI's text; other tools' results are untouched
        let out = Translator::new().line(&line(true));
        let [Output::Event(GatewayEvent::ToolResult { result, .. })] = &out[..] else { panic!("{out:?}") };
        assert!(result.as_str().is_some_and(|r| r.starts_with("User has answered")), "{result}");
        // the same line as the CLI's session file writes it (a resumed history)
        let mut filed: Value = serde_json::from_str(&line(false)).unwrap();
        let structured = filed.as_object_mut().unwrap().remove("tool_use_result").unwrap();
        filed["toolUseResult"] = structured;
        let out = Translator::new().line(&filed.to_string());
        let [Output::Event(GatewayEvent::ToolResult { result, .. })] = &out[..] else { panic!("{out:?}") };
        assert_eq!(result["answers"]["Which colour?"], "blue");
        let bash = translate("allow.jsonl");
        assert!(events(&bash).iter().any(|e| matches!(e, GatewayEvent::ToolResult { result, .. } if result.is_string())));
    }

    #[test]
    fn every_captured_line_translates_without_panicking() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transcripts");
        let mut count = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let mut t = Translator::new();
            for line in cli_lines(&name) {
                t.value(&line);
                count += 1;
            }
        }
        assert!(count > 100, "read {count} lines");
        let mut t = Translator::new();
        for junk in ["", "{", "[]", "null", r#"{"type":5}"#, r#"{"type":"assistant"}"#, r#"{"type":"assistant","message":{"id":1}}"#,
                     r#"{"type":"control_request","request":{"subtype":"hook_callback"}}"#, r#"{"type":"stream_event","event":{"type":"content_block_delta"}}"#] {
            assert!(t.line(junk).is_empty(), "{junk}");
        }
    }
}
