//! The link between a session's Durable Object and the gateway (and, unchanged, between the
//! gateway daemon and the session runner over its unix socket).
//!
//! Commands flow DO -> gateway. Events flow back, each numbered by the runner in an
//! [`EventEnvelope`]; heartbeats and link-level errors are unnumbered control frames, since they
//! are not part of the session's history.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared_types_derive::TagFirst;
use serde_json::Value;

use crate::config::SessionConfig;
use crate::content::{AssistantMessage, ContentBlock, Delta, Usage};
use crate::error::ErrorCode;
use crate::kata::KataState;

/// DO -> gateway.
#[derive(Debug, Clone, PartialEq, Serialize, TagFirst)]
#[serde(tag = "type")]
pub enum GatewayCommand {
    /// Start the session's runner (idempotent: an existing session is kept).
    #[serde(rename = "session.create")]
    Create { config: SessionConfig },
    /// (Re)attach, asking for every event after `after_seq`. With `batches`, the peer reads
    /// [`GatewayFrame::Events`]: every event that is ready may come in one frame (an older peer
    /// leaves it out and gets one frame per event).
    #[serde(rename = "session.attach")]
    Attach {
        after_seq: u64,
        #[serde(default, skip_serializing_if = "crate::is_false")]
        batches: bool,
    },
    /// A prompt. `client_id` makes it idempotent: a resent prompt is accepted once.
    #[serde(rename = "session.message")]
    Message { client_id: String, content: Vec<ContentBlock> },
    #[serde(rename = "session.tool.approve")]
    ToolApprove {
        tool_call_id: String,
        scope: Scope,
        /// With scope `session`: which of the request's `session_grants` to remember (the first
        /// when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grant: Option<u32>,
        /// Who answered (a user name), for `session.tool.resolved`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    #[serde(rename = "session.tool.deny")]
    ToolDeny {
        tool_call_id: String,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// Answers to an `AskUserQuestion`, keyed by question text.
    #[serde(rename = "session.answer")]
    Answer {
        tool_call_id: String,
        answers: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    #[serde(rename = "session.interrupt")]
    Interrupt,
    #[serde(rename = "session.terminate")]
    Terminate,
    /// Everything up to `seq` is stored by the DO: the runner may prune it.
    #[serde(rename = "ack")]
    Ack { seq: u64 },
    #[serde(rename = "ping")]
    Ping,
}

impl GatewayCommand {
    /// Every `type` this enum reads, so that an unknown one is told apart from a malformed one.
    pub const TYPES: &'static [&'static str] = &[
        "session.create",
        "session.attach",
        "session.message",
        "session.tool.approve",
        "session.tool.deny",
        "session.answer",
        "session.interrupt",
        "session.terminate",
        "ack",
        "ping",
    ];

    /// This command's `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            GatewayCommand::Create { .. } => "session.create",
            GatewayCommand::Attach { .. } => "session.attach",
            GatewayCommand::Message { .. } => "session.message",
            GatewayCommand::ToolApprove { .. } => "session.tool.approve",
            GatewayCommand::ToolDeny { .. } => "session.tool.deny",
            GatewayCommand::Answer { .. } => "session.answer",
            GatewayCommand::Interrupt => "session.interrupt",
            GatewayCommand::Terminate => "session.terminate",
            GatewayCommand::Ack { .. } => "ack",
            GatewayCommand::Ping => "ping",
        }
    }
}

/// gateway -> DO: one fact about the session, numbered in an [`EventEnvelope`].
#[derive(Debug, Clone, PartialEq, Serialize, TagFirst)]
#[serde(tag = "type")]
pub enum GatewayEvent {
    #[serde(rename = "session.created")]
    Created { session_id: String, claude_session_id: String },
    /// What the runner is doing (a fact; the DO derives [`crate::SessionStatus`] from it).
    #[serde(rename = "session.status")]
    Status { state: RunnerState },
    /// A prompt the runner accepted; `queued` when it waits for the current turn to end.
    #[serde(rename = "session.user_message")]
    UserMessage { client_id: String, content: Vec<ContentBlock>, queued: bool },
    #[serde(rename = "session.message.delta")]
    MessageDelta { message_id: String, content: Delta },
    /// A complete assistant message (every block seen so far for its id).
    #[serde(rename = "session.message")]
    Message { message: AssistantMessage },
    /// A tool call waiting for a human.
    #[serde(rename = "session.tool.request")]
    ToolRequest { tool_call: ToolCall },
    #[serde(rename = "session.tool.resolved")]
    ToolResolved { tool_call_id: String, decision: Decision, by: String },
    #[serde(rename = "session.tool.result")]
    ToolResult { tool_call_id: String, result: Value, is_error: bool },
    /// An `AskUserQuestion` call waiting for answers.
    #[serde(rename = "session.question")]
    Question { tool_call_id: String, questions: Vec<Question> },
    /// The end of one turn.
    #[serde(rename = "session.result")]
    Result { cost_usd: f64, usage: Usage, duration_ms: u64, turns: u32, is_error: bool },
    /// The session ended: terminated, or its runner is gone for good.
    #[serde(rename = "session.complete")]
    Complete { summary: String },
    #[serde(rename = "session.error")]
    Error { code: ErrorCode, message: String, fatal: bool },
    #[serde(rename = "session.kata")]
    Kata { state: KataState },
    /// The Durable Object's stand-in for a numbered event it could not read (a newer variant,
    /// an oversize frame, invalid fields): the event itself is stored as it came, and this is
    /// what browsers see at its seq so that nothing after it stalls. A gateway never sends it.
    #[serde(rename = "session.unknown")]
    Unknown {
        /// The event's `type`, when it had a readable one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        original_type: Option<String>,
        /// Why it could not be read.
        reason: String,
        /// The size of the frame as it came, in bytes.
        size: u64,
    },
}

impl GatewayEvent {
    /// Every `type` this enum reads.
    pub const TYPES: &'static [&'static str] = &[
        "session.created",
        "session.status",
        "session.user_message",
        "session.message.delta",
        "session.message",
        "session.tool.request",
        "session.tool.resolved",
        "session.tool.result",
        "session.question",
        "session.result",
        "session.complete",
        "session.error",
        "session.kata",
        "session.unknown",
    ];

    /// This event's `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            GatewayEvent::Created { .. } => "session.created",
            GatewayEvent::Status { .. } => "session.status",
            GatewayEvent::UserMessage { .. } => "session.user_message",
            GatewayEvent::MessageDelta { .. } => "session.message.delta",
            GatewayEvent::Message { .. } => "session.message",
            GatewayEvent::ToolRequest { .. } => "session.tool.request",
            GatewayEvent::ToolResolved { .. } => "session.tool.resolved",
            GatewayEvent::ToolResult { .. } => "session.tool.result",
            GatewayEvent::Question { .. } => "session.question",
            GatewayEvent::Result { .. } => "session.result",
            GatewayEvent::Complete { .. } => "session.complete",
            GatewayEvent::Error { .. } => "session.error",
            GatewayEvent::Kata { .. } => "session.kata",
            GatewayEvent::Unknown { .. } => "session.unknown",
        }
    }
}

/// A numbered event: `{"seq": N, "event": {...}}`. Seqs start at 1 and never go backwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub seq: u64,
    pub event: GatewayEvent,
}

/// Anything the gateway sends on the link: a numbered event, a batch of them, or an
/// unnumbered control frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GatewayFrame {
    Event(EventEnvelope),
    /// `{"type":"events","events":[{"seq","event"}...]}`: sent only on a link whose
    /// `session.attach` asked for `batches`.
    Events(EventBatch),
    Control(GatewayControl),
}

/// The `type` of a [`GatewayFrame::Events`] frame.
pub const EVENTS_FRAME: &str = "events";

/// Numbered events that were ready together, in the order they were numbered (seqs ascending;
/// a receiver still treats each one as it would a single event: duplicates ignored, gaps kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "events")]
pub struct EventBatch {
    pub events: Vec<EventEnvelope>,
}

/// Unnumbered gateway -> DO frames: not part of the session's history.
#[derive(Debug, Clone, PartialEq, Serialize, TagFirst)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GatewayControl {
    Pong,
    /// A command was refused (malformed, unknown, too large, not applicable); the link stays up.
    Error { code: ErrorCode, message: String },
}

impl GatewayControl {
    pub const TYPES: &'static [&'static str] = &["pong", "error"];

    pub fn type_name(&self) -> &'static str {
        match self {
            GatewayControl::Pong => "pong",
            GatewayControl::Error { .. } => "error",
        }
    }
}

/// What the runner is doing, as it reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerState {
    /// The CLI is being started (or resumed).
    Starting,
    /// A turn is in progress.
    Running,
    /// The CLI is alive and between turns.
    Idle,
    /// The CLI is not running; the next message starts it again with `--resume`.
    Stopped,
}

/// How long an approval holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Once,
    /// For the rest of the session (stored by the runner; survives `--resume`).
    Session,
}

/// How a gated tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approved,
    Denied,
    /// The request went away unanswered (turn interrupted, CLI exited).
    Expired,
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The model's `tool_use` id (`toolu_...`): the key of requests, decisions and results.
    pub id: String,
    pub name: String,
    pub input: Value,
    /// Why it needs a human (the policy's or the CLI's reason), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What "approve for this session" may remember, each choice exactly as the card shows it
    /// (set by the gateway's gate on a request; empty when the call can only be allowed once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_grants: Vec<crate::config::SessionGrant>,
}

/// One question of an `AskUserQuestion` call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub question: String,
    #[serde(default)]
    pub header: String,
    #[serde(default)]
    pub options: Vec<QuestionOption>,
    #[serde(default)]
    pub multi_select: bool,
}

/// One offered answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionOption {
    pub label: String,
    #[serde(default)]
    pub description: String,
}
