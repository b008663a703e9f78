//! Deciding what the fake model says: read the latest turn out of a request, then answer it.
//!
//! The CLI re-sends the whole history on every request (and on `--resume`), so the fake keeps no
//! conversation state: everything it needs is in the request. The "prompt" is the newest user
//! message that has real text (not only `<system-reminder>` blocks); the assistant messages after
//! it say how many of its tool directives were already played, which is why each tool directive
//! produces exactly one `tool_use`.

use serde_json::{json, Value};

use crate::directive::{Pace, Script, ToolCall};

/// The part of a request that decides the reply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Turn {
    /// The newest prompt's text, system reminders left out.
    pub prompt: String,
    /// How many assistant messages after the prompt carried a `tool_use`.
    pub tool_steps_done: usize,
    /// The `tool_result` blocks of the last user message, if it has any.
    pub results: Vec<ToolResult>,
    /// The CLI's working directory, read from its system prompt; relative paths resolve here.
    pub cwd: Option<String>,
    /// The tool calls the model made after the prompt, oldest first, each with its result once
    /// the CLI sent one (what the demo reads to tell which step comes next).
    pub calls: Vec<Call>,
    /// The names of the tools the request offers (`tools[].name`); the CLI's side requests
    /// (titles, summaries) offer none.
    pub tools: Vec<String>,
    /// The media types of the image blocks in the last user message, in order.
    pub images: Vec<String>,
}

/// One `tool_use` the model made after the prompt, with the CLI's `tool_result` for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub id: String,
    pub name: String,
    pub input: Value,
    pub result: Option<ToolResult>,
}

/// One `tool_result` block, its content flattened to text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolResult {
    pub content: String,
    pub is_error: bool,
}

/// A reply message before it is rendered as SSE or JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub blocks: Vec<Block>,
    pub stop_reason: &'static str,
    pub pace: Option<Pace>,
}

/// One content block of a reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text(String),
    Thinking {
        thinking: String,
        signature: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

/// The signature sent with every thinking block; the CLI stores it and sends it back as is.
pub const FAKE_SIGNATURE: &str = "fakesig==";

const CWD_MARKER: &str = "Primary working directory: ";

/// Reads the latest turn; `Err` names what makes the request malformed.
pub fn read_turn(body: &Value) -> Result<Turn, String> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("messages: field required (an array)")?;
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let mut turn = Turn {
        cwd: find_cwd(body),
        tools: tools
            .filter_map(|t| t.get("name").and_then(Value::as_str))
            .map(String::from)
            .collect(),
        ..Turn::default()
    };
    let mut chat = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str);
        let role = role.ok_or_else(|| format!("messages.{i}.role: field required"))?;
        if role == "user" || role == "assistant" {
            chat.push((
                role,
                blocks(m).map_err(|e| format!("messages.{i}.content: {e}"))?,
            ));
        }
    }
    let start = chat
        .iter()
        .rposition(|(role, b)| *role == "user" && !prompt_text(b).is_empty());
    if let Some(start) = start {
        turn.prompt = prompt_text(&chat[start].1);
        turn.tool_steps_done = chat[start + 1..]
            .iter()
            .filter(|(role, b)| *role == "assistant" && b.iter().any(|b| kind(b) == "tool_use"))
            .count();
        turn.calls = calls(&chat[start + 1..]);
    }
    if let Some((_, last)) = chat.iter().rev().find(|(role, _)| *role == "user") {
        turn.results = last
            .iter()
            .filter(|b| kind(b) == "tool_result")
            .map(tool_result)
            .collect();
        turn.images = last
            .iter()
            .filter(|b| kind(b) == "image")
            .map(|b| b.pointer("/source/media_type").and_then(Value::as_str).unwrap_or("?").to_string())
            .collect();
    }
    Ok(turn)
}

/// The tool calls in `chat` (the messages after the prompt), each matched with its result.
fn calls(chat: &[(&str, Vec<Value>)]) -> Vec<Call> {
    let mut calls: Vec<Call> = Vec::new();
    let text = |b: &Value, k: &str| b.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    for (role, blocks) in chat {
        for b in blocks {
            match (*role, kind(b)) {
                ("assistant", "tool_use") => calls.push(Call {
                    id: text(b, "id"),
                    name: text(b, "name"),
                    input: b.get("input").cloned().unwrap_or(Value::Null),
                    result: None,
                }),
                ("user", "tool_result") => {
                    let id = text(b, "tool_use_id");
                    if let Some(call) = calls.iter_mut().find(|c| c.id == id && c.result.is_none())
                    {
                        call.result = Some(tool_result(b));
                    }
                }
                _ => {}
            }
        }
    }
    calls
}

/// A message's content as blocks (a plain string is one text block).
fn blocks(message: &Value) -> Result<Vec<Value>, &'static str> {
    match message.get("content") {
        Some(Value::String(s)) => Ok(vec![json!({"type": "text", "text": s})]),
        Some(Value::Array(a)) => Ok(a.clone()),
        _ => Err("must be a string or an array of blocks"),
    }
}

fn kind(block: &Value) -> &str {
    block.get("type").and_then(Value::as_str).unwrap_or("")
}

/// The user's own text in a message: its text blocks minus the CLI's `<system-reminder>`s and
/// its notes of saved images.
/// The newest prompt of a user message: its last text block that is not a system reminder. A
/// prompt sent after a failed turn is merged by the CLI into the same user message as a block of
/// its own, and it is the one being answered.
fn prompt_text(blocks: &[Value]) -> String {
    let mut texts = blocks
        .iter()
        .filter(|b| kind(b) == "text")
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .filter(|t| !t.trim_start().starts_with("<system-reminder>"))
        // The CLI notes where it saved each image of a prompt: `[Image: source: <path>]`.
        .filter(|t| !t.starts_with("[Image: source: "));
    texts.next_back().unwrap_or_default().trim().to_string()
}

fn tool_result(block: &Value) -> ToolResult {
    let content = match block.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            let texts = parts
                .iter()
                .map(|p| match p.get("text").and_then(Value::as_str) {
                    Some(t) => t.to_string(),
                    None => format!("[{}]", kind(p)),
                });
            texts.collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    };
    let is_error = block
        .get("is_error")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    ToolResult { content, is_error }
}

/// The working directory the CLI states in its system prompt (the `system` field or a
/// `role:"system"` message, depending on the CLI version).
fn find_cwd(body: &Value) -> Option<String> {
    let mut texts = Vec::new();
    collect_texts(body.get("system"), &mut texts);
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if m.get("role").and_then(Value::as_str) == Some("system") {
            collect_texts(m.get("content"), &mut texts);
        }
    }
    texts.iter().find_map(|t| {
        let rest = &t[t.find(CWD_MARKER)? + CWD_MARKER.len()..];
        Some(rest.lines().next()?.trim().to_string())
    })
}

fn collect_texts<'a>(v: Option<&'a Value>, out: &mut Vec<&'a str>) {
    match v {
        Some(Value::String(s)) => out.push(s),
        Some(Value::Array(a)) => a.iter().for_each(|b| collect_texts(b.get("text"), out)),
        _ => {}
    }
}

/// The reply to `turn` under `script`; `tool_id` names the `tool_use` if this step makes one.
pub fn respond(turn: &Turn, script: &Script, tool_id: String) -> Reply {
    let mut blocks: Vec<Block> = script
        .thinking
        .iter()
        .map(|t| Block::Thinking {
            thinking: t.clone(),
            signature: FAKE_SIGNATURE.into(),
        })
        .collect();
    let stop_reason = match script.tools.get(turn.tool_steps_done) {
        Some(call) => {
            let (name, input) = tool_input(call, turn.cwd.as_deref());
            blocks.push(Block::Text(format!("Calling {name}.")));
            blocks.push(Block::ToolUse {
                id: tool_id,
                name,
                input,
            });
            "tool_use"
        }
        None => {
            blocks.push(Block::Text(final_text(turn, script)));
            "end_turn"
        }
    };
    Reply {
        blocks,
        stop_reason,
        pace: script.pace,
    }
}

/// A plain text reply, for answers that are not scripted (e.g. a bad directive).
pub fn text_reply(text: String) -> Reply {
    Reply {
        blocks: vec![Block::Text(text)],
        stop_reason: "end_turn",
        pace: None,
    }
}

fn final_text(turn: &Turn, script: &Script) -> String {
    if !turn.results.is_empty() {
        let quotes = turn
            .results
            .iter()
            .map(|r| format!("tool result (error={}): {}", r.is_error, r.content));
        return quotes.collect::<Vec<_>>().join("\n");
    }
    if !turn.images.is_empty() {
        let seen = format!("I see {} image(s): {}.", turn.images.len(), turn.images.join(", "));
        return match &script.text {
            Some(text) => format!("{seen} {text}"),
            None if script.prose.is_empty() => seen,
            None => format!("{seen} You said: {}", script.prose),
        };
    }
    match &script.text {
        Some(text) => text.clone(),
        None if script.prose.is_empty() => "You said nothing.".into(),
        None => format!("You said: {}", script.prose),
    }
}

/// The real tool name and input for a scripted call, in the shapes the CLI's tools validate.
fn tool_input(call: &ToolCall, cwd: Option<&str>) -> (String, Value) {
    let abs = |p: &str| absolute(p, cwd);
    let (name, input) = match call {
        ToolCall::Bash { command } => (
            "Bash",
            json!({"command": command, "description": "scripted by fake-anthropic"}),
        ),
        ToolCall::Write { path, content } => {
            ("Write", json!({"file_path": abs(path), "content": content}))
        }
        ToolCall::Edit {
            path,
            old,
            new,
            all,
        } => (
            "Edit",
            json!({"file_path": abs(path), "old_string": old, "new_string": new, "replace_all": all}),
        ),
        ToolCall::Read { path } => ("Read", json!({"file_path": abs(path)})),
        ToolCall::Ask {
            question,
            header,
            options,
            multi,
        } => {
            let options: Vec<Value> = options
                .iter()
                .map(|o| json!({"label": o, "description": o}))
                .collect();
            let q = json!({"question": question, "header": header, "options": options, "multiSelect": multi});
            ("AskUserQuestion", json!({"questions": [q]}))
        }
        ToolCall::Raw { name, input } => return (name.clone(), Value::Object(input.clone())),
    };
    (name.to_string(), input)
}

/// The CLI's file tools want absolute paths; a relative one is taken from the CLI's cwd.
fn absolute(path: &str, cwd: Option<&str>) -> String {
    match cwd {
        Some(cwd) if !path.starts_with('/') => format!("{}/{path}", cwd.trim_end_matches('/')),
        _ => path.to_string(),
    }
}
