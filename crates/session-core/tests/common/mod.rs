//! Shared builders for the integration tests: events, a session, and a fake clock.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;

use serde_json::json;
use session_core::sqlite::SqliteDo;
use session_core::{CoreConfig, Output, SessionCore};
use shared_types::gateway::{Decision, Question, QuestionOption, RunnerState, ToolCall};
use shared_types::{
    AssistantBlock, AssistantMessage, ContentBlock, EventEnvelope, GatewayEvent, GatewayFrame, PermissionMode,
    SessionConfig, SessionMeta, Usage,
};

/// The seqs of every `ack` the core sent the gateway.
pub fn acks(out: &Output) -> Vec<u64> {
    out.commands()
        .iter()
        .filter_map(|c| match c {
            shared_types::GatewayCommand::Ack { seq } => Some(*seq),
            _ => None,
        })
        .collect()
}

/// The seqs of every event broadcast to browsers, in order.
pub fn broadcast_seqs(out: &Output) -> Vec<u64> {
    out.broadcast.iter().flat_map(shared_types::ServerFrame::events).map(|(seq, _)| seq).collect()
}

pub const T0: u64 = 1_764_000_000_000;

pub fn meta() -> SessionMeta {
    SessionMeta {
        id: "s-1".into(),
        title: "Fix the flaky test".into(),
        project: "demo".into(),
        worktree: None,
        model: None,
        permission_mode: PermissionMode::Default,
        created_at: T0,
        claude_session_id: None,
    }
}

pub fn config() -> SessionConfig {
    SessionConfig {
        project: "demo".into(),
        worktree: None,
        model: None,
        permission_mode: PermissionMode::Default,
        policy: Default::default(),
        title: Some("Fix the flaky test".into()),
        resume: None,
    }
}

pub fn env(seq: u64, event: GatewayEvent) -> EventEnvelope {
    EventEnvelope { seq, event }
}

pub fn created() -> GatewayEvent {
    GatewayEvent::Created { session_id: "s-1".into(), claude_session_id: "c0ffee".into() }
}

pub fn runner(state: RunnerState) -> GatewayEvent {
    GatewayEvent::Status { state }
}

pub fn user(client_id: &str, text: &str) -> GatewayEvent {
    GatewayEvent::UserMessage { client_id: client_id.into(), content: vec![ContentBlock::text(text)], queued: false }
}

pub fn assistant(id: &str, text: &str) -> GatewayEvent {
    GatewayEvent::Message {
        message: AssistantMessage { id: id.into(), model: None, content: vec![AssistantBlock::Text { text: text.into() }] },
    }
}

pub fn tool_call(id: &str) -> ToolCall {
    ToolCall { id: id.into(), name: "Bash".into(), input: json!({"command": "echo hi"}), reason: None, session_grants: vec![] }
}

pub fn request(id: &str) -> GatewayEvent {
    GatewayEvent::ToolRequest { tool_call: tool_call(id) }
}

pub fn question(id: &str) -> GatewayEvent {
    GatewayEvent::Question {
        tool_call_id: id.into(),
        questions: vec![Question {
            question: "Which colour?".into(),
            header: "Colour".into(),
            options: vec![QuestionOption { label: "blue".into(), description: String::new() }],
            multi_select: false,
        }],
    }
}

pub fn resolved(id: &str, by: &str) -> GatewayEvent {
    GatewayEvent::ToolResolved { tool_call_id: id.into(), decision: Decision::Approved, by: by.into() }
}

pub fn tool_result(id: &str, result: serde_json::Value) -> GatewayEvent {
    GatewayEvent::ToolResult { tool_call_id: id.into(), result, is_error: false }
}

pub fn turn_result() -> GatewayEvent {
    GatewayEvent::Result { cost_usd: 0.01, usage: Usage::default(), duration_ms: 10, turns: 1, is_error: false }
}

pub fn complete() -> GatewayEvent {
    GatewayEvent::Complete { summary: "terminated by ada".into() }
}

pub fn answers() -> BTreeMap<String, String> {
    BTreeMap::from([("Which colour?".to_string(), "blue".to_string())])
}

/// A realistic session history of `turns` turns, each with a prompt, streamed text, a gated tool
/// call and its result.
pub fn history(turns: u64) -> Vec<EventEnvelope> {
    let mut events = vec![created(), runner(RunnerState::Idle)];
    for t in 0..turns {
        let tool = format!("toolu_{t}");
        events.extend([
            user(&format!("c-{t}"), &format!("prompt {t}")),
            runner(RunnerState::Running),
            GatewayEvent::MessageDelta {
                message_id: format!("msg_{t}"),
                content: shared_types::Delta::Text { index: 0, text: format!("thinking about {t}") },
            },
            assistant(&format!("msg_{t}"), &format!("answer {t}")),
            request(&tool),
            resolved(&tool, "ada"),
            tool_result(&tool, json!(format!("output {t}"))),
            turn_result(),
        ]);
    }
    events.into_iter().enumerate().map(|(i, e)| env(i as u64 + 1, e)).collect()
}

/// A session core on a fresh in-memory database, created and with its link up.
pub struct Harness {
    pub core: SessionCore<SqliteDo>,
    pub now: u64,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(CoreConfig::default())
    }

    pub fn with_config(cfg: CoreConfig) -> Self {
        let db = SqliteDo::memory().expect("in-memory sqlite");
        let (mut core, _) = SessionCore::wake(db, cfg, T0).expect("wake");
        core.create(meta(), config(), T0).expect("create");
        Harness { core, now: T0 }
    }

    pub fn tick(&mut self, ms: u64) -> u64 {
        self.now += ms;
        self.now
    }

    pub fn up(&mut self) -> Output {
        self.core.link_up(self.now).expect("link_up")
    }

    pub fn down(&mut self) -> Output {
        self.core.link_closed(self.now).expect("link_closed")
    }

    pub fn event(&mut self, e: EventEnvelope) -> Output {
        self.core.on_gateway_frame(GatewayFrame::Event(e), self.now).expect("gateway frame")
    }

    pub fn events(&mut self, events: impl IntoIterator<Item = EventEnvelope>) -> Vec<Output> {
        events.into_iter().map(|e| self.event(e)).collect()
    }

    pub fn client(&mut self, json: serde_json::Value) -> Output {
        self.core.on_client_text(&json.to_string(), "ada", self.now).expect("client frame")
    }

    pub fn client_as(&mut self, user: &str, json: serde_json::Value) -> Output {
        self.core.on_client_text(&json.to_string(), user, self.now).expect("client frame")
    }

    /// Evicts the instance and wakes a new one on the same storage.
    pub fn evict_and_wake(self, cfg: CoreConfig) -> (Self, Output) {
        let now = self.now + 1;
        let db = self.core.into_sql();
        let (core, out) = SessionCore::wake(db, cfg, now).expect("wake");
        (Harness { core, now }, out)
    }
}
