//! The browser <-> Durable Object socket (`GET /api/sessions/:id/ws`).
//!
//! The client sends `sync{after_seq}` first; the DO answers with a `snapshot` and then the
//! events after the cursor, then live events. Every DO frame carries the session's status.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared_types_derive::TagFirst;

use crate::config::PermissionMode;
use crate::content::ContentBlock;
use crate::error::ErrorCode;
use crate::fold::Transcript;
use crate::gateway::{EventEnvelope, GatewayEvent, Question, Scope, ToolCall};
use crate::status::SessionStatus;
use crate::TimestampMs;

/// A browser -> DO frame: a command with an optional `request_id` that an `error` names.
/// (`Deserialize` is written out below: serde's derive would buffer the flattened command.)
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(flatten)]
    pub command: ClientCommand,
}

/// `{"request_id":…, "type":…, …}`: the `request_id` read on its own, then the command from the
/// same text (its variant ignores the `request_id` field).
impl<'de> Deserialize<'de> for ClientFrame {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct RequestId {
            #[serde(default)]
            request_id: Option<String>,
        }
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let RequestId { request_id } = serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
        let command = serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
        Ok(ClientFrame { request_id, command })
    }
}

impl ClientFrame {
    pub fn new(command: ClientCommand) -> Self {
        ClientFrame { request_id: None, command }
    }

    pub fn with_request_id(command: ClientCommand, request_id: impl Into<String>) -> Self {
        ClientFrame { request_id: Some(request_id.into()), command }
    }
}

/// What a browser asks of a session.
#[derive(Debug, Clone, PartialEq, Serialize, TagFirst)]
#[serde(tag = "type")]
pub enum ClientCommand {
    /// With `batches`, the client reads [`ServerFrame::Events`] (an older client leaves it
    /// out and gets one `event` frame per event).
    #[serde(rename = "sync")]
    Sync {
        after_seq: u64,
        #[serde(default, skip_serializing_if = "crate::is_false")]
        batches: bool,
    },
    #[serde(rename = "message")]
    Message { client_id: String, content: Vec<ContentBlock> },
    #[serde(rename = "tool.approve")]
    ToolApprove {
        tool_call_id: String,
        scope: Scope,
        /// With scope `session`: which of the request's `session_grants` to remember (the first
        /// when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grant: Option<u32>,
    },
    #[serde(rename = "tool.deny")]
    ToolDeny { tool_call_id: String, reason: String },
    #[serde(rename = "question.answer")]
    QuestionAnswer { tool_call_id: String, answers: BTreeMap<String, String> },
    #[serde(rename = "interrupt")]
    Interrupt,
    #[serde(rename = "terminate")]
    Terminate,
    #[serde(rename = "ping")]
    Ping,
}

impl ClientCommand {
    pub const TYPES: &'static [&'static str] = &[
        "sync",
        "message",
        "tool.approve",
        "tool.deny",
        "question.answer",
        "interrupt",
        "terminate",
        "ping",
    ];

    pub fn type_name(&self) -> &'static str {
        match self {
            ClientCommand::Sync { .. } => "sync",
            ClientCommand::Message { .. } => "message",
            ClientCommand::ToolApprove { .. } => "tool.approve",
            ClientCommand::ToolDeny { .. } => "tool.deny",
            ClientCommand::QuestionAnswer { .. } => "question.answer",
            ClientCommand::Interrupt => "interrupt",
            ClientCommand::Terminate => "terminate",
            ClientCommand::Ping => "ping",
        }
    }
}

/// A DO -> browser frame.
#[derive(Debug, Clone, PartialEq, Serialize, TagFirst)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The state at `last_seq`. `transcript` (the `fold` of events up to `last_seq`) is sent to a
    /// client too far behind for a replay; otherwise the events after its cursor follow.
    Snapshot {
        meta: SessionMeta,
        status: SessionStatus,
        last_seq: u64,
        pending: Vec<PendingRequest>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transcript: Option<Box<Transcript>>,
    },
    Event { seq: u64, status: SessionStatus, event: GatewayEvent },
    /// Events that became contiguous together (or one replay page), in seq order, each meaning
    /// what its own `event` frame would; `status` is the status after the last of them. Sent
    /// only to a client whose `sync` asked for `batches`.
    Events { status: SessionStatus, events: Vec<EventEnvelope> },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
    Pong,
}

impl ServerFrame {
    pub const TYPES: &'static [&'static str] = &["snapshot", "event", "events", "error", "pong"];

    pub fn type_name(&self) -> &'static str {
        match self {
            ServerFrame::Snapshot { .. } => "snapshot",
            ServerFrame::Event { .. } => "event",
            ServerFrame::Events { .. } => "events",
            ServerFrame::Error { .. } => "error",
            ServerFrame::Pong => "pong",
        }
    }
}

impl ServerFrame {
    /// The events this frame carries, in order, as `(seq, event)` (none for a snapshot, an error
    /// or a pong).
    pub fn events(&self) -> Vec<(u64, &GatewayEvent)> {
        match self {
            ServerFrame::Event { seq, event, .. } => vec![(*seq, event)],
            ServerFrame::Events { events, .. } => events.iter().map(|e| (e.seq, &e.event)).collect(),
            _ => Vec::new(),
        }
    }

    /// The highest seq this frame carries.
    pub fn last_seq(&self) -> Option<u64> {
        match self {
            ServerFrame::Event { seq, .. } => Some(*seq),
            ServerFrame::Events { events, .. } => events.last().map(|e| e.seq),
            _ => None,
        }
    }

    /// The same frames for a client that reads one `event` per frame: a batch split up (each
    /// event stamped with the batch's status), anything else as it is.
    pub fn into_single_events(self) -> Vec<ServerFrame> {
        match self {
            ServerFrame::Events { status, events } => {
                events.into_iter().map(|e| ServerFrame::Event { seq: e.seq, status, event: e.event }).collect()
            }
            other => vec![other],
        }
    }
}

/// What a session is, as the list and the header show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionMeta {
    pub id: String,
    pub title: String,
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default)]
    pub permission_mode: PermissionMode,
    pub created_at: TimestampMs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_session_id: Option<String>,
}

/// Something waiting for a human, shown on every device until someone answers.
#[derive(Debug, Clone, PartialEq, Serialize, TagFirst)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PendingRequest {
    Tool { tool_call: ToolCall },
    Question { tool_call_id: String, questions: Vec<Question> },
}

impl PendingRequest {
    pub fn tool_call_id(&self) -> &str {
        match self {
            PendingRequest::Tool { tool_call } => &tool_call.id,
            PendingRequest::Question { tool_call_id, .. } => tool_call_id,
        }
    }
}
