//! Rendering a [`Reply`] as the Messages API renders a message: SSE events or one JSON object.
//!
//! Event order (what the CLI's stream parser needs): `message_start`, then per block
//! `content_block_start`, one or more `content_block_delta`, `content_block_stop`, then
//! `message_delta{stop_reason, usage.output_tokens}` and `message_stop`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::reply::{Block, Reply};

/// A reply with the envelope fields the API adds.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub id: &'a str,
    pub model: &'a str,
    /// Input tokens not read from or written to the prompt cache.
    pub input_tokens: u64,
    /// Input tokens written to the prompt cache (0 unless the demo plays).
    pub cache_creation_input_tokens: u64,
    /// Input tokens read from the prompt cache (0 unless the demo plays).
    pub cache_read_input_tokens: u64,
    pub reply: &'a Reply,
}

/// One server-sent event, sent after `delay` (non-zero only for `[[slow]]` text).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub delay: Duration,
    pub name: &'static str,
    pub data: Value,
}

impl Event {
    fn now(name: &'static str, data: Value) -> Self {
        Event {
            delay: Duration::ZERO,
            name,
            data,
        }
    }

    /// The wire form: `event: NAME`, `data: JSON` on one line, then a blank line.
    pub fn frame(&self) -> String {
        format!("event: {}\ndata: {}\n\n", self.name, self.data)
    }
}

/// All events of a streamed message, in order.
pub fn events(msg: Message<'_>) -> Vec<Event> {
    let start = json!({
        "type": "message_start",
        "message": {
            "id": msg.id, "type": "message", "role": "assistant", "model": msg.model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": usage(&msg, 1),
        },
    });
    let mut out = vec![Event::now("message_start", start)];
    for (index, block) in msg.reply.blocks.iter().enumerate() {
        block_events(index, block, msg.reply, &mut out);
    }
    out.push(Event::now(
        "message_delta",
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": msg.reply.stop_reason, "stop_sequence": null},
            "usage": {"output_tokens": output_tokens(msg.reply)},
        }),
    ));
    out.push(Event::now("message_stop", json!({"type": "message_stop"})));
    out
}

fn block_events(index: usize, block: &Block, reply: &Reply, out: &mut Vec<Event>) {
    let start = |content_block: Value| json!({"type": "content_block_start", "index": index, "content_block": content_block});
    let delta =
        |delta: Value| json!({"type": "content_block_delta", "index": index, "delta": delta});
    match block {
        Block::Text(text) => {
            out.push(Event::now(
                "content_block_start",
                start(json!({"type": "text", "text": ""})),
            ));
            for (delay, piece) in text_pieces(text, reply) {
                let data = delta(json!({"type": "text_delta", "text": piece}));
                out.push(Event {
                    delay,
                    name: "content_block_delta",
                    data,
                });
            }
        }
        Block::Thinking {
            thinking,
            signature,
        } => {
            let empty = json!({"type": "thinking", "thinking": "", "signature": ""});
            out.push(Event::now("content_block_start", start(empty)));
            let d = delta(json!({"type": "thinking_delta", "thinking": thinking}));
            out.push(Event::now("content_block_delta", d));
            let d = delta(json!({"type": "signature_delta", "signature": signature}));
            out.push(Event::now("content_block_delta", d));
        }
        Block::ToolUse { id, name, input } => {
            let head = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
            out.push(Event::now("content_block_start", start(head)));
            for piece in halves(&input.to_string()) {
                let d = delta(json!({"type": "input_json_delta", "partial_json": piece}));
                out.push(Event::now("content_block_delta", d));
            }
        }
    }
    out.push(Event::now(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    ));
}

/// Text deltas: word by word normally; with `[[slow]]` exactly `chunks` pieces `ms` apart
/// (short text is padded with dots so the stream still lasts `chunks * ms`).
fn text_pieces(text: &str, reply: &Reply) -> Vec<(Duration, String)> {
    let Some(pace) = reply.pace else {
        return text
            .split_inclusive(' ')
            .map(|w| (Duration::ZERO, w.to_string()))
            .collect();
    };
    let mut chars: Vec<char> = text.chars().collect();
    chars.resize(chars.len().max(pace.chunks), '.');
    let size = chars.len().div_ceil(pace.chunks);
    let delay = Duration::from_millis(pace.ms);
    chars
        .chunks(size)
        .map(|c| (delay, c.iter().collect()))
        .collect()
}

/// Tool input JSON in two deltas, so clients must concatenate `partial_json` as the API requires.
fn halves(s: &str) -> Vec<String> {
    let mid = (0..=s.len() / 2)
        .rev()
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(0);
    [&s[..mid], &s[mid..]]
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// The whole message as one JSON object, for `stream:false` requests.
pub fn json_message(msg: Message<'_>) -> Value {
    let content: Vec<Value> = msg.reply.blocks.iter().map(block_json).collect();
    json!({
        "id": msg.id, "type": "message", "role": "assistant", "model": msg.model,
        "content": content, "stop_reason": msg.reply.stop_reason, "stop_sequence": null,
        "usage": usage(&msg, output_tokens(msg.reply)),
    })
}

fn block_json(block: &Block) -> Value {
    match block {
        Block::Text(text) => json!({"type": "text", "text": text}),
        Block::Thinking {
            thinking,
            signature,
        } => {
            json!({"type": "thinking", "thinking": thinking, "signature": signature})
        }
        Block::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
    }
}

fn usage(msg: &Message<'_>, output_tokens: u64) -> Value {
    json!({
        "input_tokens": msg.input_tokens, "output_tokens": output_tokens,
        "cache_creation_input_tokens": msg.cache_creation_input_tokens,
        "cache_read_input_tokens": msg.cache_read_input_tokens,
    })
}

/// A rough count (4 bytes a token), enough for the CLI's cost and context accounting.
fn output_tokens(reply: &Reply) -> u64 {
    let bytes: usize = reply
        .blocks
        .iter()
        .map(|b| block_json(b).to_string().len())
        .sum();
    (bytes / 4).max(1) as u64
}
