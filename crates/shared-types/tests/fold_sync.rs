//! `fold` and `SessionSync` on sequences with gaps, duplicates and reconnects.

#[allow(dead_code)]
mod support;

use support::*;
use serde_json::json;
use shared_types::browser::{ClientCommand, ServerFrame};
use shared_types::content::{AssistantBlock, AssistantMessage, ContentBlock, Delta};
use shared_types::fold::Item;
use shared_types::gateway::{Decision, EventEnvelope, GatewayEvent, Scope};
use shared_types::sync::{backoff_delay, Update, BACKOFF_MAX_MS};
use shared_types::{SessionStatus, SessionSync, Transcript};

/// A realistic session: prompt, streamed text, a gated tool call, its result, the turn's end.
fn session_events() -> Vec<EventEnvelope> {
    let events = vec![
        sample_event("session.created"),
        GatewayEvent::UserMessage { client_id: "c1".into(), content: vec![ContentBlock::text("hi")], queued: false },
        GatewayEvent::MessageDelta { message_id: "m1".into(), content: Delta::Text { index: 0, text: "Hel".into() } },
        GatewayEvent::MessageDelta { message_id: "m1".into(), content: Delta::Text { index: 0, text: "lo".into() } },
        GatewayEvent::Message {
            message: AssistantMessage {
                id: "m1".into(),
                model: None,
                content: vec![
                    AssistantBlock::Text { text: "Hello".into() },
                    AssistantBlock::ToolUse { id: "toolu_01".into(), name: "Bash".into(), input: json!({"command": "ls"}) },
                ],
            },
        },
        sample_event("session.tool.request"),
        GatewayEvent::ToolResolved { tool_call_id: "toolu_01".into(), decision: Decision::Approved, by: "ada".into() },
        GatewayEvent::ToolResult { tool_call_id: "toolu_01".into(), result: json!("a.txt"), is_error: false },
        sample_event("session.result"),
    ];
    events.into_iter().enumerate().map(|(i, event)| EventEnvelope { seq: i as u64 + 1, event }).collect()
}

fn event_frame(e: &EventEnvelope) -> ServerFrame {
    ServerFrame::Event { seq: e.seq, status: SessionStatus::Running, event: e.event.clone() }
}

fn snapshot(transcript: Option<Transcript>) -> ServerFrame {
    ServerFrame::Snapshot {
        meta: meta(),
        status: SessionStatus::Running,
        last_seq: transcript.as_ref().map_or(0, |t| t.last_seq),
        pending: vec![],
        transcript: transcript.map(Box::new),
    }
}

#[test]
fn fold_builds_the_conversation() {
    let t = Transcript::from_events(&session_events());
    assert_eq!(t.last_seq, 9);
    assert_eq!(t.claude_session_id.as_deref(), Some("0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11"));
    assert!(t.pending.is_empty(), "the request was resolved");
    let kinds: Vec<_> = t.items.iter().map(|i| match i {
        Item::User { .. } => "user",
        Item::Assistant { .. } => "assistant",
        Item::Tool(_) => "tool",
        Item::Result { .. } => "result",
        _ => "other",
    }).collect();
    assert_eq!(kinds, ["user", "assistant", "tool", "result"]);
    let Item::Tool(card) = &t.items[2] else { unreachable!() };
    assert_eq!(card.decision, Some(Decision::Approved));
    assert_eq!(card.result, Some(json!("a.txt")));
    assert!(!card.pending);
    let Item::Assistant { streaming, message, .. } = &t.items[1] else { unreachable!() };
    assert!(!streaming);
    assert_eq!(message.content.len(), 2);
    assert_eq!(t.turns, 3);
    assert!((t.total_cost_usd - 0.0123).abs() < 1e-9);
}

#[test]
fn deltas_stream_into_a_message_until_it_completes() {
    let events = session_events();
    let t = Transcript::from_events(&events[..4]);
    let Item::Assistant { streaming, message, .. } = &t.items[1] else { panic!("{:?}", t.items) };
    assert!(streaming);
    assert_eq!(message.content, vec![AssistantBlock::Text { text: "Hello".into() }]);
}

#[test]
fn fold_ignores_duplicates_and_replays_equal_a_clean_run() {
    let events = session_events();
    let clean = Transcript::from_events(&events);
    // Every event delivered twice, and a replay of the first five after a "reconnect".
    let mut noisy: Vec<EventEnvelope> = events.iter().flat_map(|e| [e.clone(), e.clone()]).collect();
    noisy.extend(events[..5].iter().cloned());
    assert_eq!(Transcript::from_events(&noisy), clean);
}

#[test]
fn pending_requests_are_listed_until_resolved() {
    let events = session_events();
    let t = Transcript::from_events(&events[..6]);
    assert_eq!(t.pending.len(), 1);
    assert_eq!(t.pending[0].tool_call_id(), "toolu_01");
    let Item::Tool(card) = &t.items[2] else { unreachable!() };
    assert!(card.pending);
}

#[test]
fn questions_record_their_answers() {
    let mut t = Transcript::default();
    shared_types::fold(&mut t, 1, &sample_event("session.question"));
    assert_eq!(t.pending.len(), 1);
    shared_types::fold(&mut t, 2, &GatewayEvent::ToolResolved {
        tool_call_id: "toolu_02".into(), decision: Decision::Approved, by: "ada".into(),
    });
    shared_types::fold(&mut t, 3, &GatewayEvent::ToolResult {
        tool_call_id: "toolu_02".into(), result: json!({"answers": {"Which colour?": "blue"}}), is_error: false,
    });
    assert!(t.pending.is_empty());
    let Item::Question { answers, decision, .. } = &t.items[0] else { unreachable!() };
    assert_eq!(answers.as_ref(), Some(&support::answers()));
    assert_eq!(*decision, Some(Decision::Approved));
}

#[test]
fn sync_starts_with_its_cursor_and_resends_unacknowledged_commands() {
    let mut sync = SessionSync::new();
    let queued = sync.command(ClientCommand::Message { client_id: "c1".into(), content: vec![ContentBlock::text("hi")] });
    assert!(queued.is_none(), "nothing is sent while the socket is closed");
    let frames = sync.on_open();
    assert_eq!(frames[0].command, ClientCommand::Sync { after_seq: 0, batches: true });
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].request_id.as_deref(), Some("msg:c1"));

    assert_eq!(sync.on_frame(snapshot(None)), Update::Changed);
    for e in &session_events()[..2] {
        assert_eq!(sync.on_frame(event_frame(e)), Update::Changed);
    }
    assert!(sync.unacked().is_empty(), "the user_message with client_id c1 acknowledged it");
}

#[test]
fn sync_detects_a_gap_and_asks_once_from_its_cursor() {
    let events = session_events();
    let mut sync = SessionSync::new();
    sync.on_open();
    sync.on_frame(snapshot(None));
    sync.on_frame(event_frame(&events[0]));
    sync.on_frame(event_frame(&events[1]));
    // seq 3 is lost; 4 and 5 arrive.
    let update = sync.on_frame(event_frame(&events[3]));
    let Update::Resync(frame) = update else { panic!("expected a resync, got {update:?}") };
    assert_eq!(frame.command, ClientCommand::Sync { after_seq: 2, batches: true });
    assert_eq!(sync.on_frame(event_frame(&events[4])), Update::Unchanged, "one resync in flight at a time");
    assert_eq!(sync.cursor(), 2, "nothing past the gap is folded");
    // The replay after 2 arrives, overlapping what we have.
    for e in &events[1..] {
        sync.on_frame(event_frame(e));
    }
    assert_eq!(sync.cursor(), 9);
    assert_eq!(sync.transcript(), &Transcript::from_events(&events));
    assert_eq!(sync.duplicates(), 1);
}

#[test]
fn sync_reconnects_and_ends_equal_to_an_unbroken_client() {
    let events = session_events();
    let mut sync = SessionSync::new();
    sync.on_open();
    sync.on_frame(snapshot(None));
    for e in &events[..4] {
        sync.on_frame(event_frame(e));
    }
    let delay = sync.on_close(0.5);
    assert!(delay > 0);
    let approve = sync.command(ClientCommand::ToolApprove { tool_call_id: "toolu_01".into(), scope: Scope::Once, grant: None });
    assert!(approve.is_none());
    let frames = sync.on_open();
    assert_eq!(frames[0].command, ClientCommand::Sync { after_seq: 4, batches: true });
    assert_eq!(frames[1].request_id.as_deref(), Some("tool:toolu_01"));
    sync.on_frame(snapshot(None));
    for e in &events[2..] {
        sync.on_frame(event_frame(e));
    }
    assert_eq!(sync.transcript(), &Transcript::from_events(&events));
    assert!(sync.unacked().is_empty(), "tool.resolved acknowledged the approval");
}

#[test]
fn a_snapshot_replaces_a_transcript_that_is_far_behind() {
    let events = session_events();
    let mut sync = SessionSync::new();
    sync.command(ClientCommand::Message { client_id: "c1".into(), content: vec![] });
    sync.on_open();
    sync.on_frame(snapshot(Some(Transcript::from_events(&events[..7]))));
    assert_eq!(sync.cursor(), 7);
    assert!(sync.unacked().is_empty(), "the snapshot shows c1 was accepted");
    for e in &events[7..] {
        sync.on_frame(event_frame(e));
    }
    assert_eq!(sync.transcript(), &Transcript::from_events(&events));
}

#[test]
fn an_error_naming_a_request_drops_it() {
    let mut sync = SessionSync::new();
    sync.on_open();
    let frame = sync.command(ClientCommand::ToolDeny { tool_call_id: "t9".into(), reason: "no".into() }).unwrap();
    let update = sync.on_frame(ServerFrame::Error {
        code: shared_types::ErrorCode::UnknownToolCall,
        message: "t9 is not pending".into(),
        request_id: frame.request_id.clone(),
    });
    assert!(matches!(update, Update::Error { request: Some(f), .. } if f == frame));
    assert!(sync.unacked().is_empty());
}

#[test]
fn malformed_frames_from_the_server_are_errors_not_panics() {
    let mut sync = SessionSync::new();
    for text in ["", "{", r#"{"type":"event","seq":"x"}"#, r#"{"type":"alien"}"#] {
        assert!(matches!(sync.on_text(text), Update::Error { .. }), "{text:?}");
    }
}

#[test]
fn backoff_doubles_caps_and_jitters() {
    assert_eq!(backoff_delay(0, 0.0), 250);
    assert_eq!(backoff_delay(0, 1.0), 500);
    assert_eq!(backoff_delay(1, 1.0), 1000);
    assert_eq!(backoff_delay(30, 1.0), BACKOFF_MAX_MS);
    assert_eq!(backoff_delay(u32::MAX, 0.0), BACKOFF_MAX_MS / 2);
    let mut sync = SessionSync::new();
    let delays: Vec<u64> = (0..8).map(|_| sync.on_close(1.0)).collect();
    assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    sync.on_open();
    sync.on_frame(snapshot(None));
    assert_eq!(sync.on_close(1.0), 500, "a successful sync resets the backoff");
}

#[test]
fn an_unknown_event_is_an_item_and_the_fold_goes_past_it() {
    let mut events = session_events();
    let next = events.len() as u64 + 1;
    let unknown = GatewayEvent::Unknown {
        original_type: Some("session.from_the_future".into()),
        reason: "unknown frame type \"session.from_the_future\"".into(),
        size: 64,
    };
    events.push(EventEnvelope { seq: next, event: unknown });
    events.push(EventEnvelope { seq: next + 1, event: GatewayEvent::Complete { summary: "done".into() } });
    let t = Transcript::from_events(&events);
    assert_eq!(t.last_seq, next + 1);
    let at = t.items.iter().position(|i| matches!(i, Item::Unknown { seq, .. } if *seq == next)).expect("an unknown item");
    let Item::Unknown { original_type, reason, .. } = &t.items[at] else { unreachable!() };
    assert_eq!(original_type.as_deref(), Some("session.from_the_future"));
    assert!(reason.contains("unknown frame type"), "{reason}");
    assert!(matches!(t.items[at + 1], Item::Complete { .. }), "events after it fold as usual");
}
