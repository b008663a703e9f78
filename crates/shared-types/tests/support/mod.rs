//! One sample frame of every kind, shared by the golden and codec tests.
//! `sample_*(kind)` must know every `type` in the enum's `TYPES`; the golden test checks that.

use std::collections::BTreeMap;

use serde_json::json;
use shared_types::browser::{ClientCommand, PendingRequest, ServerFrame, SessionMeta};
use shared_types::content::{AssistantBlock, AssistantMessage, ContentBlock, Delta, Usage};
use shared_types::gateway::{
    Decision, GatewayCommand, GatewayControl, GatewayEvent, Question, QuestionOption, RunnerState,
    Scope, ToolCall,
};
use shared_types::kata::KataState;
use shared_types::{ErrorCode, Grant, PermissionMode, SessionGrant, SessionConfig, SessionStatus, ToolPolicy, Transcript};

pub fn config() -> SessionConfig {
    SessionConfig {
        project: "demo".into(),
        worktree: Some("feature-x".into()),
        model: Some("claude-sonnet-4-5".into()),
        permission_mode: PermissionMode::Default,
        policy: ToolPolicy {
            allow: vec!["Bash(git status*)".parse().unwrap(), "Read".parse().unwrap()],
            deny: vec!["Bash(rm *)".parse().unwrap()],
        },
        title: Some("Fix the flaky test".into()),
        resume: None,
    }
}

pub fn tool_call() -> ToolCall {
    ToolCall {
        id: "toolu_01".into(),
        name: "Bash".into(),
        input: json!({"command": "echo hi > out.txt", "description": "Write a file"}),
        reason: Some("no rule allows Bash(echo hi > out.txt)".into()),
        session_grants: vec![SessionGrant {
            summary: "Bash: echo hi".into(),
            grants: vec![Grant::Command { words: vec!["echo".into(), "hi".into()] }],
        }],
    }
}

pub fn questions() -> Vec<Question> {
    vec![Question {
        question: "Which colour?".into(),
        header: "Colour".into(),
        options: vec![
            QuestionOption { label: "red".into(), description: "warm".into() },
            QuestionOption { label: "blue".into(), description: "cool".into() },
        ],
        multi_select: false,
    }]
}

pub fn answers() -> BTreeMap<String, String> {
    BTreeMap::from([("Which colour?".to_string(), "blue".to_string())])
}

/// Built from JSON so that fields kata adds (all defaulted) do not break the sample.
pub fn kata_state() -> KataState {
    serde_json::from_value(json!({
        "session_id": "k1",
        "mode": "implementation",
        "issue": 3,
        "phase": "build",
        "phases": [{
            "id": "build",
            "title": "Build",
            "status": "active",
            "tasks": [{"id": "t1", "title": "Write the runner", "depends_on": [], "done": false}],
            "gates_passed": 0,
            "gates_total": 1
        }],
        "updated_at_ms": 1_764_000_000_000u64
    }))
    .expect("the sample kata state is valid")
}

pub fn sample_command(kind: &str) -> GatewayCommand {
    match kind {
        "session.create" => GatewayCommand::Create { config: config() },
        "session.attach" => GatewayCommand::Attach { after_seq: 41, batches: true },
        "session.message" => GatewayCommand::Message {
            client_id: "c-7f3a".into(),
            content: vec![ContentBlock::text("Run the tests")],
        },
        "session.tool.approve" => GatewayCommand::ToolApprove {
            tool_call_id: "toolu_01".into(),
            scope: Scope::Session,
            grant: Some(0),
            by: Some("ada".into()),
        },
        "session.tool.deny" => GatewayCommand::ToolDeny {
            tool_call_id: "toolu_01".into(),
            reason: "not on main".into(),
            by: Some("ada".into()),
        },
        "session.answer" => GatewayCommand::Answer {
            tool_call_id: "toolu_02".into(),
            answers: answers(),
            by: Some("ada".into()),
        },
        "session.interrupt" => GatewayCommand::Interrupt,
        "session.terminate" => GatewayCommand::Terminate,
        "ack" => GatewayCommand::Ack { seq: 42 },
        "ping" => GatewayCommand::Ping,
        other => panic!("no sample GatewayCommand for {other:?}: add one"),
    }
}

pub fn sample_event(kind: &str) -> GatewayEvent {
    match kind {
        "session.created" => GatewayEvent::Created {
            session_id: "s-1".into(),
            claude_session_id: "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11".into(),
        },
        "session.status" => GatewayEvent::Status { state: RunnerState::Running },
        "session.user_message" => GatewayEvent::UserMessage {
            client_id: "c-7f3a".into(),
            content: vec![ContentBlock::text("Run the tests")],
            queued: false,
        },
        "session.message.delta" => GatewayEvent::MessageDelta {
            message_id: "msg_01".into(),
            content: Delta::Text { index: 0, text: "Running ".into() },
        },
        "session.message" => GatewayEvent::Message {
            message: AssistantMessage {
                id: "msg_01".into(),
                model: Some("claude-sonnet-4-5".into()),
                content: vec![
                    AssistantBlock::Thinking { thinking: "The user wants tests.".into() },
                    AssistantBlock::Text { text: "Running the tests.".into() },
                    AssistantBlock::ToolUse {
                        id: "toolu_01".into(),
                        name: "Bash".into(),
                        input: json!({"command": "cargo test"}),
                    },
                ],
            },
        },
        "session.tool.request" => GatewayEvent::ToolRequest { tool_call: tool_call() },
        "session.tool.resolved" => GatewayEvent::ToolResolved {
            tool_call_id: "toolu_01".into(),
            decision: Decision::Approved,
            by: "ada".into(),
        },
        "session.tool.result" => GatewayEvent::ToolResult {
            tool_call_id: "toolu_01".into(),
            result: json!("test result: ok. 12 passed"),
            is_error: false,
        },
        "session.question" => {
            GatewayEvent::Question { tool_call_id: "toolu_02".into(), questions: questions() }
        }
        "session.result" => GatewayEvent::Result {
            cost_usd: 0.0123,
            usage: Usage {
                input_tokens: 1200,
                output_tokens: 340,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: 800,
            },
            duration_ms: 5400,
            turns: 3,
            is_error: false,
        },
        "session.complete" => GatewayEvent::Complete { summary: "terminated by ada".into() },
        "session.error" => GatewayEvent::Error {
            code: ErrorCode::ApiError,
            message: "the model API answered 529 (overloaded); send a message to retry".into(),
            fatal: false,
        },
        "session.kata" => GatewayEvent::Kata { state: kata_state() },
        "session.unknown" => GatewayEvent::Unknown {
            original_type: Some("session.from_the_future".into()),
            reason: "unknown frame type \"session.from_the_future\"".into(),
            size: 96,
        },
        other => panic!("no sample GatewayEvent for {other:?}: add one"),
    }
}

pub fn sample_control(kind: &str) -> GatewayControl {
    match kind {
        "pong" => GatewayControl::Pong,
        "error" => GatewayControl::Error {
            code: ErrorCode::UnknownType,
            message: "unknown frame type \"session.fly\"".into(),
        },
        other => panic!("no sample GatewayControl for {other:?}: add one"),
    }
}

pub fn sample_client(kind: &str) -> ClientCommand {
    match kind {
        "sync" => ClientCommand::Sync { after_seq: 17, batches: true },
        "message" => ClientCommand::Message {
            client_id: "c-7f3a".into(),
            content: vec![ContentBlock::text("and then lint")],
        },
        "tool.approve" => ClientCommand::ToolApprove { tool_call_id: "toolu_01".into(), scope: Scope::Once, grant: None },
        "tool.deny" => ClientCommand::ToolDeny {
            tool_call_id: "toolu_01".into(),
            reason: "use the Makefile".into(),
        },
        "question.answer" => {
            ClientCommand::QuestionAnswer { tool_call_id: "toolu_02".into(), answers: answers() }
        }
        "interrupt" => ClientCommand::Interrupt,
        "terminate" => ClientCommand::Terminate,
        "ping" => ClientCommand::Ping,
        other => panic!("no sample ClientCommand for {other:?}: add one"),
    }
}

pub fn meta() -> SessionMeta {
    SessionMeta {
        id: "s-1".into(),
        title: "Fix the flaky test".into(),
        project: "demo".into(),
        worktree: Some("feature-x".into()),
        model: Some("claude-sonnet-4-5".into()),
        permission_mode: PermissionMode::Default,
        created_at: 1_764_000_000_000,
        claude_session_id: Some("0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11".into()),
    }
}

/// Events that were ready together: a status, a delta and a complete message.
pub fn sample_batch() -> shared_types::EventBatch {
    let events = ["session.status", "session.message.delta", "session.message"]
        .iter()
        .enumerate()
        .map(|(i, k)| shared_types::EventEnvelope { seq: i as u64 + 18, event: sample_event(k) })
        .collect();
    shared_types::EventBatch { events }
}

pub fn sample_server(kind: &str) -> ServerFrame {
    match kind {
        "snapshot" => {
            let events: Vec<_> = ["session.created", "session.user_message", "session.tool.request"]
                .iter()
                .enumerate()
                .map(|(i, k)| shared_types::EventEnvelope { seq: i as u64 + 1, event: sample_event(k) })
                .collect();
            ServerFrame::Snapshot {
                meta: meta(),
                status: SessionStatus::AwaitingApproval,
                last_seq: 3,
                pending: vec![PendingRequest::Tool { tool_call: tool_call() }],
                transcript: Some(Box::new(Transcript::from_events(&events))),
            }
        }
        "event" => ServerFrame::Event {
            seq: 18,
            status: SessionStatus::Disconnected { since: 1_764_000_000_500 },
            event: sample_event("session.status"),
        },
        "events" => ServerFrame::Events { status: SessionStatus::Running, events: sample_batch().events },
        "error" => ServerFrame::Error {
            code: ErrorCode::UnknownToolCall,
            message: "toolu_01 is not pending: it was already answered".into(),
            request_id: Some("tool:toolu_01".into()),
        },
        "pong" => ServerFrame::Pong,
        other => panic!("no sample ServerFrame for {other:?}: add one"),
    }
}
