//! The one pure function that turns a session's events into what people read: the transcript.
//!
//! The Durable Object folds to build snapshots, the dashboard folds what it receives, and the
//! tests fold to compare runs. Folding is idempotent per seq: an event at or below the cursor is
//! ignored, so a duplicate can never double anything.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared_types_derive::TagFirst;
use serde_json::Value;

use crate::browser::PendingRequest;
use crate::content::{AssistantBlock, AssistantMessage, ContentBlock, Delta, Usage};
use crate::error::ErrorCode;
use crate::gateway::{Decision, EventEnvelope, GatewayEvent, Question, RunnerState};
use crate::kata::KataState;

/// A session's history, folded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The seq of the last event folded in.
    pub last_seq: u64,
    pub items: Vec<Item>,
    /// Requests waiting for a human, oldest first.
    pub pending: Vec<PendingRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<RunnerState>,
    pub total_cost_usd: f64,
    pub usage: Usage,
    pub turns: u32,
    pub ended: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kata: Option<KataState>,
}

/// One entry of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, TagFirst)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    User { seq: u64, client_id: String, content: Vec<ContentBlock>, queued: bool },
    /// An assistant message; `streaming` while only deltas have arrived.
    Assistant { seq: u64, message: AssistantMessage, streaming: bool },
    Tool(ToolItem),
    Question {
        seq: u64,
        tool_call_id: String,
        questions: Vec<Question>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answers: Option<BTreeMap<String, String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decision: Option<Decision>,
    },
    Result { seq: u64, cost_usd: f64, duration_ms: u64, turns: u32, is_error: bool },
    Error { seq: u64, code: ErrorCode, message: String, fatal: bool },
    Complete { seq: u64, summary: String },
    /// An event the Durable Object could not read (kept as it came; see `session.unknown`).
    Unknown {
        seq: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        original_type: Option<String>,
        reason: String,
    },
}

/// A tool call card: what was asked, how it was decided, what it returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolItem {
    pub seq: u64,
    pub tool_call_id: String,
    pub name: String,
    pub input: Value,
    /// Waiting for a human right now.
    pub pending: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    pub is_error: bool,
}

impl Transcript {
    /// Folds a sequence of envelopes into a fresh transcript.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a EventEnvelope>) -> Self {
        let mut t = Transcript::default();
        for e in events {
            fold(&mut t, e.seq, &e.event);
        }
        t
    }

    fn tool_mut(&mut self, id: &str) -> Option<&mut ToolItem> {
        self.items.iter_mut().rev().find_map(|item| match item {
            Item::Tool(t) if t.tool_call_id == id => Some(t),
            _ => None,
        })
    }

    fn question_mut(&mut self, id: &str) -> Option<&mut Item> {
        self.items
            .iter_mut()
            .rev()
            .find(|item| matches!(item, Item::Question { tool_call_id, .. } if tool_call_id == id))
    }

    fn assistant_mut(&mut self, id: &str) -> Option<(&mut AssistantMessage, &mut bool)> {
        self.items.iter_mut().rev().find_map(|item| match item {
            Item::Assistant { message, streaming, .. } if message.id == id => {
                Some((message, streaming))
            }
            _ => None,
        })
    }

    fn unpend(&mut self, id: &str) {
        self.pending.retain(|p| p.tool_call_id() != id);
    }
}

/// Folds one event into the transcript. Events at or below `last_seq` are ignored.
pub fn fold(t: &mut Transcript, seq: u64, event: &GatewayEvent) {
    if seq <= t.last_seq {
        return;
    }
    t.last_seq = seq;
    match event {
        GatewayEvent::Created { claude_session_id, .. } => {
            t.claude_session_id = Some(claude_session_id.clone());
        }
        GatewayEvent::Status { state } => t.runner = Some(*state),
        GatewayEvent::UserMessage { client_id, content, queued } => t.items.push(Item::User {
            seq,
            client_id: client_id.clone(),
            content: content.clone(),
            queued: *queued,
        }),
        GatewayEvent::MessageDelta { message_id, content } => fold_delta(t, seq, message_id, content),
        GatewayEvent::Message { message } => fold_message(t, seq, message),
        GatewayEvent::ToolRequest { tool_call } => {
            tool_card(t, seq, &tool_call.id, &tool_call.name, &tool_call.input);
            if let Some(call) = t.tool_mut(&tool_call.id) {
                call.pending = true;
            }
            t.unpend(&tool_call.id);
            t.pending.push(PendingRequest::Tool { tool_call: tool_call.clone() });
        }
        GatewayEvent::ToolResolved { tool_call_id, decision, by } => {
            if let Some(call) = t.tool_mut(tool_call_id) {
                call.pending = false;
                call.decision = Some(*decision);
                call.resolved_by = Some(by.clone());
            }
            if let Some(Item::Question { decision: d, .. }) = t.question_mut(tool_call_id) {
                *d = Some(*decision);
            }
            t.unpend(tool_call_id);
        }
        GatewayEvent::ToolResult { tool_call_id, result, is_error } => {
            fold_tool_result(t, tool_call_id, result, *is_error)
        }
        GatewayEvent::Question { tool_call_id, questions } => {
            t.items.push(Item::Question {
                seq,
                tool_call_id: tool_call_id.clone(),
                questions: questions.clone(),
                answers: None,
                decision: None,
            });
            t.unpend(tool_call_id);
            t.pending.push(PendingRequest::Question {
                tool_call_id: tool_call_id.clone(),
                questions: questions.clone(),
            });
        }
        GatewayEvent::Result { cost_usd, usage, duration_ms, turns, is_error } => {
            // The turn is over: a message still streaming was cut short (an interrupt, a killed
            // CLI or runner) and streams no more.
            for item in &mut t.items {
                if let Item::Assistant { streaming, .. } = item {
                    *streaming = false;
                }
            }
            t.total_cost_usd += cost_usd;
            add_usage(&mut t.usage, usage);
            t.turns += turns;
            t.items.push(Item::Result {
                seq,
                cost_usd: *cost_usd,
                duration_ms: *duration_ms,
                turns: *turns,
                is_error: *is_error,
            });
        }
        GatewayEvent::Complete { summary } => {
            t.ended = true;
            t.pending.clear();
            t.items.push(Item::Complete { seq, summary: summary.clone() });
        }
        GatewayEvent::Error { code, message, fatal } => t.items.push(Item::Error {
            seq,
            code: *code,
            message: message.clone(),
            fatal: *fatal,
        }),
        GatewayEvent::Kata { state } => t.kata = Some(state.clone()),
        GatewayEvent::Unknown { original_type, reason, .. } => {
            t.items.push(Item::Unknown { seq, original_type: original_type.clone(), reason: reason.clone() })
        }
    }
}

fn fold_delta(t: &mut Transcript, seq: u64, message_id: &str, delta: &Delta) {
    if t.assistant_mut(message_id).is_none() {
        t.items.push(Item::Assistant {
            seq,
            message: AssistantMessage { id: message_id.to_string(), model: None, content: vec![] },
            streaming: true,
        });
    }
    let Some((message, true)) = t.assistant_mut(message_id).map(|(m, s)| (m, *s)) else {
        return; // the complete message already arrived: late deltas add nothing
    };
    let (index, piece) = match delta {
        Delta::Text { index, text } => (*index, text),
        Delta::Thinking { index, thinking } => (*index, thinking),
        Delta::InputJson { .. } => return, // tool input is shown once complete
    };
    let blocks = &mut message.content;
    let index = index as usize;
    while blocks.len() <= index {
        blocks.push(match delta {
            Delta::Thinking { .. } => AssistantBlock::Thinking { thinking: String::new() },
            _ => AssistantBlock::Text { text: String::new() },
        });
    }
    match &mut blocks[index] {
        AssistantBlock::Text { text } => text.push_str(piece),
        AssistantBlock::Thinking { thinking } => thinking.push_str(piece),
        AssistantBlock::ToolUse { .. } => {}
    }
}

fn fold_message(t: &mut Transcript, seq: u64, message: &AssistantMessage) {
    match t.assistant_mut(&message.id) {
        Some((existing, streaming)) => {
            *existing = message.clone();
            *streaming = false;
        }
        None => t.items.push(Item::Assistant { seq, message: message.clone(), streaming: false }),
    }
    for block in &message.content {
        if let AssistantBlock::ToolUse { id, name, input } = block {
            if name != "AskUserQuestion" {
                tool_card(t, seq, id, name, input);
            }
        }
    }
}

/// Makes the card for a tool call on first sight (from the message or the request).
fn tool_card(t: &mut Transcript, seq: u64, id: &str, name: &str, input: &Value) {
    if t.tool_mut(id).is_none() {
        t.items.push(Item::Tool(ToolItem {
            seq,
            tool_call_id: id.to_string(),
            name: name.to_string(),
            input: input.clone(),
            pending: false,
            decision: None,
            resolved_by: None,
            result: None,
            is_error: false,
        }));
    }
}

fn fold_tool_result(t: &mut Transcript, id: &str, result: &Value, is_error: bool) {
    if let Some(call) = t.tool_mut(id) {
        call.pending = false;
        call.result = Some(result.clone());
        call.is_error = is_error;
    } else if let Some(Item::Question { answers, .. }) = t.question_mut(id) {
        if answers.is_none() && !is_error {
            *answers = answers_of(result);
        }
    }
    t.unpend(id);
}

/// The answers an `AskUserQuestion` result carries, when they are structured.
fn answers_of(result: &Value) -> Option<BTreeMap<String, String>> {
    serde_json::from_value(result.get("answers")?.clone()).ok()
}

fn add_usage(total: &mut Usage, turn: &Usage) {
    total.input_tokens += turn.input_tokens;
    total.output_tokens += turn.output_tokens;
    total.cache_creation_input_tokens += turn.cache_creation_input_tokens;
    total.cache_read_input_tokens += turn.cache_read_input_tokens;
}
