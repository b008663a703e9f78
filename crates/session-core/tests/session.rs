//! The core driven as the Durable Object shell drives it: status, approvals, the command queue,
//! gateway delivery with gaps and duplicates, hibernation, the link and the sessions index.

mod common;

use common::*;
use serde_json::json;
use session_core::{CoreConfig, LinkAction, Output, Sql};
use shared_types::gateway::{RunnerState, Scope};
use shared_types::{codec, ContentBlock, ErrorCode, GatewayCommand, GatewayEvent, ServerFrame, SessionStatus};

fn error_code(out: &Output) -> Option<ErrorCode> {
    out.reply.iter().find_map(|f| match f {
        ServerFrame::Error { code, .. } => Some(*code),
        _ => None,
    })
}

fn message(client_id: &str, text: &str) -> serde_json::Value {
    json!({"type": "message", "client_id": client_id, "content": [{"type": "text", "text": text}], "request_id": format!("msg:{client_id}")})
}

#[test]
fn a_new_session_dials_creates_then_attaches() {
    let mut h = Harness::new();
    assert_eq!(h.core.status().unwrap(), SessionStatus::Starting);
    let out = h.up();
    assert_eq!(out.commands(), vec![GatewayCommand::Create { config: config() }, GatewayCommand::Attach { after_seq: 0, batches: true }]);
    h.events([env(1, created()), env(2, runner(RunnerState::Idle))]);
    h.down();
    let out = h.up();
    assert_eq!(out.commands(), vec![GatewayCommand::Attach { after_seq: 2, batches: true }], "created: no second create");
}

#[test]
fn status_follows_the_runner_and_the_link() {
    let mut h = Harness::new();
    h.up();
    let status = |o: &[Output]| o.last().map(|o| o.status);
    assert_eq!(status(&h.events([env(1, created()), env(2, runner(RunnerState::Running))])), Some(SessionStatus::Running));
    assert_eq!(h.event(env(3, request("toolu_1"))).status, SessionStatus::AwaitingApproval);
    let since = h.tick(1_000);
    let out = h.down();
    assert_eq!(out.status, SessionStatus::Disconnected { since });
    assert!(
        out.broadcast.iter().any(|f| matches!(f, ServerFrame::Snapshot { status: SessionStatus::Disconnected { .. }, .. })),
        "browsers are told the link is down"
    );
    h.tick(5_000);
    assert_eq!(h.up().status, SessionStatus::AwaitingApproval);
    assert_eq!(h.event(env(4, resolved("toolu_1", "ada"))).status, SessionStatus::Running);
    assert_eq!(h.event(env(5, question("toolu_2"))).status, SessionStatus::AwaitingAnswer);
    assert_eq!(h.event(env(6, tool_result("toolu_2", json!({"answers": answers()})))).status, SessionStatus::Running);
    // The end of a turn: not running any more, even though no `session.status` said so.
    assert_eq!(h.event(env(7, turn_result())).status, SessionStatus::Idle);
    h.tick(1_000);
    assert_eq!(h.down().status, SessionStatus::Idle, "a lost link while idle hides no work");
    h.up();
    h.event(env(8, runner(RunnerState::Running)));
    assert_eq!(h.event(env(9, complete())).status, SessionStatus::Ended);
    h.tick(1_000);
    assert_eq!(h.down().status, SessionStatus::Ended);
}

#[test]
fn gaps_duplicates_and_out_of_order_delivery_apply_in_seq_order() {
    let mut h = Harness::new();
    h.up();
    let run = [
        env(1, created()),
        env(2, runner(RunnerState::Running)),
        env(4, request("toolu_1")),
        env(5, resolved("toolu_1", "ada")),
        env(3, user("c-1", "hello")),
        env(3, user("c-1", "hello")),
        env(2, runner(RunnerState::Running)),
        env(6, turn_result()),
    ];
    let outs = h.events(run);
    let seqs: Vec<_> = outs.iter().map(broadcast_seqs).collect();
    assert_eq!(seqs, [vec![1], vec![2], vec![], vec![], vec![3, 4, 5], vec![], vec![], vec![6]]);
    let all_acks: Vec<_> = outs.iter().map(acks).collect();
    assert_eq!(all_acks, [vec![1], vec![2], vec![], vec![], vec![5], vec![], vec![], vec![6]]);
    // The request at 4 was applied before its resolution at 5, although both arrived first.
    assert!(h.core.pending().unwrap().is_empty());
    assert_eq!(h.core.status().unwrap(), SessionStatus::Idle);
    match &outs[4].broadcast[..] {
        [ServerFrame::Events { status, events }] => {
            assert_eq!(*status, SessionStatus::Running, "the frame carries the current status");
            assert_eq!(events.len(), 3, "what became contiguous together goes out as one frame");
        }
        other => panic!("expected one events frame, got {other:?}"),
    }
    // A reconnect attaches after the contiguous seq, not after the highest seq seen.
    h.event(env(9, assistant("m", "early")));
    h.down();
    assert_eq!(h.up().commands(), vec![GatewayCommand::Attach { after_seq: 6, batches: true }]);
}

#[test]
fn the_first_answer_wins() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created()), env(2, runner(RunnerState::Running)), env(3, request("toolu_1"))]);
    let first = h.client_as("ada", json!({"type": "tool.approve", "tool_call_id": "toolu_1", "scope": "session", "grant": 1, "request_id": "tool:toolu_1"}));
    assert_eq!(
        first.commands(),
        vec![GatewayCommand::ToolApprove { tool_call_id: "toolu_1".into(), scope: Scope::Session, grant: Some(1), by: Some("ada".into()) }],
        "the chosen session grant reaches the gateway"
    );
    let second = h.client_as("bob", json!({"type": "tool.deny", "tool_call_id": "toolu_1", "reason": "no", "request_id": "tool:toolu_1"}));
    assert!(second.commands().is_empty());
    match &second.reply[..] {
        [ServerFrame::Error { code: ErrorCode::UnknownToolCall, message, request_id }] => {
            assert!(message.contains("ada"), "{message}");
            assert_eq!(request_id.as_deref(), Some("tool:toolu_1"));
        }
        other => panic!("expected unknown_tool_call, got {other:?}"),
    }
    // Still pending (shown on every device) until the runner resolves it.
    assert_eq!(h.core.pending().unwrap().len(), 1);
    h.event(env(4, resolved("toolu_1", "ada")));
    assert!(h.core.pending().unwrap().is_empty());
    let late = h.client_as("bob", json!({"type": "tool.approve", "tool_call_id": "toolu_1", "scope": "once"}));
    assert_eq!(error_code(&late), Some(ErrorCode::UnknownToolCall));
    let never = h.client(json!({"type": "tool.approve", "tool_call_id": "toolu_404", "scope": "once"}));
    assert_eq!(error_code(&never), Some(ErrorCode::UnknownToolCall));
}

#[test]
fn questions_take_answers_and_tools_take_approvals() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created()), env(2, runner(RunnerState::Running)), env(3, question("toolu_q"))]);
    let wrong = h.client(json!({"type": "tool.approve", "tool_call_id": "toolu_q", "scope": "once"}));
    assert_eq!(error_code(&wrong), Some(ErrorCode::InvalidInput));
    let empty = h.client(json!({"type": "question.answer", "tool_call_id": "toolu_q", "answers": {}}));
    assert_eq!(error_code(&empty), Some(ErrorCode::InvalidInput));
    let out = h.client(json!({"type": "question.answer", "tool_call_id": "toolu_q", "answers": answers()}));
    assert_eq!(
        out.commands(),
        vec![GatewayCommand::Answer { tool_call_id: "toolu_q".into(), answers: answers(), by: Some("ada".into()) }]
    );
    let again = h.client_as("bob", json!({"type": "question.answer", "tool_call_id": "toolu_q", "answers": answers()}));
    assert_eq!(error_code(&again), Some(ErrorCode::UnknownToolCall));
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created()), env(2, runner(RunnerState::Idle))]);
    let cases = [
        (json!({"type": "message", "client_id": "c-1", "content": []}), ErrorCode::InvalidInput),
        (json!({"type": "message", "client_id": "c-1", "content": [{"type": "text", "text": "  \n"}]}), ErrorCode::InvalidInput),
        (json!({"type": "message", "client_id": "", "content": [{"type": "text", "text": "hi"}]}), ErrorCode::InvalidInput),
        (json!({"type": "message", "client_id": "x".repeat(200), "content": [{"type": "text", "text": "hi"}]}), ErrorCode::InvalidInput),
        (json!({"type": "message", "client_id": "c-1"}), ErrorCode::BadFrame),
        (json!({"type": "fly"}), ErrorCode::UnknownType),
        (json!([1, 2]), ErrorCode::BadFrame),
    ];
    for (frame, code) in cases {
        let out = h.client(frame.clone());
        assert_eq!(error_code(&out), Some(code), "{frame}");
        assert!(out.commands().is_empty(), "{frame}");
    }
    let huge = "x".repeat(session_core::commands::MAX_MESSAGE_BYTES + 1);
    let out = h.client(json!({"type": "message", "client_id": "c-2", "content": [{"type": "text", "text": huge}], "request_id": "r-9"}));
    assert!(matches!(&out.reply[..], [ServerFrame::Error { code: ErrorCode::InvalidInput, request_id: Some(r), .. }] if r == "r-9"));
    assert_eq!(h.core.sql().connection().query_row("SELECT COUNT(*) FROM command_queue", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
    assert_eq!(h.client(json!({"type": "ping"})).reply, vec![ServerFrame::Pong]);
    assert_eq!(h.client(message("c-3", "fine")).commands().len(), 1);
}

#[test]
fn nothing_but_sync_and_ping_after_the_session_ended() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created()), env(2, runner(RunnerState::Running)), env(3, request("toolu_1")), env(4, complete())]);
    assert!(h.core.pending().unwrap().is_empty(), "complete clears pending");
    for frame in [message("c-1", "more"), json!({"type": "interrupt"}), json!({"type": "terminate"})] {
        assert_eq!(error_code(&h.client(frame)), Some(ErrorCode::SessionEnded));
    }
    assert!(matches!(h.client(json!({"type": "sync", "after_seq": 0})).reply[0], ServerFrame::Snapshot { status: SessionStatus::Ended, .. }));
    assert_eq!(h.client(json!({"type": "ping"})).reply, vec![ServerFrame::Pong]);
}

#[test]
fn commands_made_while_the_link_is_down_are_queued_durably_and_sent_once() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created()), env(2, runner(RunnerState::Idle))]);
    h.tick(1_000);
    h.down();
    let out = h.client(message("c-1", "run the tests"));
    assert!(out.commands().is_empty());
    assert_eq!(out.alarm, Some(h.now + 1_000), "a queued command needs the link: redial after the backoff");
    assert!(h.client(message("c-1", "run the tests")).commands().is_empty(), "a resend is not doubled");
    h.client(json!({"type": "interrupt"}));
    h.client(json!({"type": "interrupt"}));

    // The instance is evicted before the dial completes; the queue survives.
    let (mut h, _) = h.evict_and_wake(CoreConfig::default());
    let out = h.up();
    let expected_message =
        GatewayCommand::Message { client_id: "c-1".into(), content: vec![ContentBlock::text("run the tests")] };
    assert_eq!(out.commands(), vec![GatewayCommand::Attach { after_seq: 2, batches: true }, expected_message.clone(), GatewayCommand::Interrupt]);
    assert_eq!(
        out.to_gateway,
        [GatewayCommand::Attach { after_seq: 2, batches: true }, expected_message.clone(), GatewayCommand::Interrupt].map(|c| codec::encode(&c)),
        "each command's frame byte for byte as the codec writes it"
    );

    // The link drops before the runner confirms: the message (not the interrupt) goes again,
    // and the runner's `client_id` keeps it from doubling there.
    h.tick(1_000);
    h.down();
    h.tick(1_000);
    assert_eq!(h.up().commands(), vec![GatewayCommand::Attach { after_seq: 2, batches: true }, expected_message]);
    h.event(env(3, user("c-1", "run the tests")));
    h.tick(1_000);
    h.down();
    h.tick(1_000);
    assert_eq!(h.up().commands(), vec![GatewayCommand::Attach { after_seq: 3, batches: true }]);
    assert!(h.client(message("c-1", "run the tests")).commands().is_empty(), "a confirmed message is never resent");
}

#[test]
fn a_queued_command_is_sent_as_it_was_stored_never_decoded_back() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created()), env(2, runner(RunnerState::Idle))]);
    h.tick(1_000);
    h.down();
    assert!(h.client(message("c-1", "run the tests")).to_gateway.is_empty());
    // A stored text that this code would write differently (key order, spacing), as an older
    // version might have: the queue sends it as it is, byte for byte.
    let stored = r#"{ "content":[{"type":"text","text":"run the tests"}], "client_id":"c-1", "type":"session.message" }"#;
    h.core.sql().exec("UPDATE command_queue SET body = ? WHERE key = 'msg:c-1'", &[stored.into()]).unwrap();
    h.tick(1_000);
    let out = h.up();
    assert_eq!(out.to_gateway, vec![codec::encode(&GatewayCommand::Attach { after_seq: 2, batches: true }), stored.to_string()]);
}

#[test]
fn a_full_queue_refuses_instead_of_dropping() {
    let cfg = CoreConfig { max_queued_commands: 3, ..CoreConfig::default() };
    let mut h = Harness::with_config(cfg);
    for i in 0..3 {
        assert_eq!(error_code(&h.client(message(&format!("c-{i}"), "hi"))), None);
    }
    assert_eq!(error_code(&h.client(message("c-3", "hi"))), Some(ErrorCode::RateLimited));
    let out = h.up();
    assert_eq!(out.commands().len(), 2 + 3, "create, attach and the three queued messages");
}

#[test]
fn status_and_pending_survive_hibernation() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created()), env(2, runner(RunnerState::Running)), env(3, request("toolu_1")), env(4, question("toolu_2"))]);
    h.client_as("ada", json!({"type": "tool.approve", "tool_call_id": "toolu_1", "scope": "once"}));
    let (mut h, out) = h.evict_and_wake(CoreConfig::default());
    assert!(matches!(out.status, SessionStatus::Disconnected { .. }));
    assert_eq!(out.link, LinkAction::Dial);
    assert_eq!(h.core.pending().unwrap().len(), 2);
    assert_eq!(h.core.pending().unwrap(), h.core.transcript().unwrap().pending, "the index mirrors the fold");
    let again = h.client_as("bob", json!({"type": "tool.approve", "tool_call_id": "toolu_1", "scope": "once"}));
    assert_eq!(error_code(&again), Some(ErrorCode::UnknownToolCall), "the first answer is remembered");
    let out = h.up();
    assert_eq!(out.status, SessionStatus::AwaitingApproval);
    assert!(out.commands().contains(&GatewayCommand::ToolApprove { tool_call_id: "toolu_1".into(), scope: Scope::Once, grant: None, by: Some("ada".into()) }));
    assert_eq!(h.event(env(5, resolved("toolu_1", "ada"))).status, SessionStatus::AwaitingAnswer);
}

#[test]
fn heartbeats_silence_and_backoff_drive_the_link() {
    let mut h = Harness::new();
    let t0 = h.now;
    h.up();
    h.events([env(1, created()), env(2, runner(RunnerState::Running))]);
    let out = h.core.on_alarm(t0 + 15_000).unwrap();
    assert_eq!(out.commands(), vec![GatewayCommand::Ping]);
    assert_eq!(out.alarm, Some(t0 + 30_000));
    // A pong keeps the link alive past 45 s from the start.
    h.core.on_gateway_text(r#"{"type":"pong"}"#, t0 + 30_001).unwrap();
    assert_eq!(h.core.on_alarm(t0 + 45_000).unwrap().link, LinkAction::Keep);
    // Half-open: pings go out, nothing comes back; 45 s after the last frame the link is closed.
    let out = h.core.on_alarm(t0 + 75_001).unwrap();
    assert_eq!(out.link, LinkAction::Close);
    assert_eq!(out.status, SessionStatus::Disconnected { since: t0 + 75_001 });
    assert_eq!(out.alarm, Some(t0 + 76_001), "redial after the first backoff step");
    // Failed dials back off: 2 s, 4 s, ...
    let out = h.core.on_alarm(t0 + 76_001).unwrap();
    assert_eq!(out.link, LinkAction::Dial);
    let out = h.core.dial_failed(t0 + 76_500).unwrap();
    assert_eq!((out.link, out.alarm), (LinkAction::Keep, Some(t0 + 78_500)));
    assert_eq!(h.core.on_alarm(t0 + 78_000).unwrap().link, LinkAction::Keep, "not before its time");
    assert_eq!(h.core.on_alarm(t0 + 78_500).unwrap().link, LinkAction::Dial);
    let out = h.core.dial_failed(t0 + 79_000).unwrap();
    assert_eq!(out.alarm, Some(t0 + 83_000));
}

#[test]
fn an_idle_link_is_closed_and_reopened_on_demand() {
    let mut h = Harness::new();
    let t0 = h.now;
    h.up();
    h.events([env(1, created()), env(2, runner(RunnerState::Running)), env(3, turn_result())]);
    let out = h.core.on_alarm(t0 + 15_000).unwrap();
    assert_eq!(out.link, LinkAction::Close, "idle with nothing pending: let the object hibernate");
    assert_eq!(out.status, SessionStatus::Idle);
    assert_eq!(out.alarm, None, "nothing to wake for");
    let out = h.core.link_closed(t0 + 15_001).unwrap();
    assert_eq!((out.link, out.alarm), (LinkAction::Keep, None));
    let out = h.core.on_client_text(&message("c-2", "next").to_string(), "ada", t0 + 60_000).unwrap();
    assert_eq!(out.link, LinkAction::Dial);
    assert_eq!(out.status, SessionStatus::Idle);
}

#[test]
fn the_sessions_index_is_written_on_status_changes_and_on_the_heartbeat_alarm() {
    let cfg = CoreConfig { index_interval_ms: 5_000, index_max_lag_ms: 60_000, heartbeat_ms: 15_000, ..CoreConfig::default() };
    let mut h = Harness::with_config(cfg.clone());
    h.up();
    let t0 = h.now;
    let out = h.event(env(1, created()));
    assert!(out.index.is_none() || out.index.as_ref().is_some_and(|r| r.status == SessionStatus::Starting));
    let out = h.event(env(2, runner(RunnerState::Running)));
    let row = out.index.expect("status changed: a row");
    assert_eq!((row.status, row.last_seq, row.session_id.as_str()), (SessionStatus::Running, 2, "s-1"));

    // a 10 s burst, an event every 100 ms: no row, and no alarm before the heartbeat's, which
    // is due 15 s after the last frame (never mid-stream)
    let mut seq = 3;
    while seq < 100 {
        h.now = t0 + seq * 100;
        let out = h.event(env(seq, assistant(&format!("m{seq}"), "streaming")));
        assert!(out.index.is_none(), "no row mid-burst (seq {seq})");
        assert_eq!(out.alarm, Some(h.now + 15_000), "seq {seq}: the heartbeat's alarm follows the stream");
        seq += 1;
    }
    // the heartbeat's alarm, 15 s after the burst, brings the row up to date
    let quiet = t0 + 99 * 100 + 15_000;
    let out = h.core.on_alarm(quiet).unwrap();
    assert_eq!(out.commands(), vec![GatewayCommand::Ping]);
    assert_eq!(out.index.map(|r| r.last_seq), Some(99), "the alarm writes the row that waited");
    let out = h.core.on_alarm(quiet + 1_000).unwrap();
    assert!(out.index.is_none(), "nothing new: nothing written");

    // a stream that never lets an alarm fire still gets a row once the last one is 60 s old
    let row_at = quiet;
    let mut rows = Vec::new();
    for i in 1..=650u64 {
        h.now = row_at + i * 100;
        if let Some(row) = h.event(env(seq, assistant(&format!("m{seq}"), "streaming"))).index {
            rows.push((h.now, row.last_seq));
        }
        seq += 1;
    }
    assert_eq!(rows.len(), 1, "one row in 65 s of unbroken stream: {rows:?}");
    assert_eq!(rows[0].0, row_at + 60_000);

    // a status change mid-burst is written at once
    h.now += 100;
    let out = h.event(env(seq, request("toolu_1")));
    assert_eq!(out.index.map(|r| r.status), Some(SessionStatus::AwaitingApproval));

    h.core.index_failed().unwrap();
    let out = h.core.on_alarm(h.now + 1).unwrap();
    assert!(out.index.is_some(), "a failed write is retried");
}

#[test]
fn gateway_text_frames_of_5_mb_are_stored_acked_and_broadcast_whole() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created()), env(2, runner(RunnerState::Running)), env(3, request("toolu_1"))]);
    let five = "z".repeat(5 * 1024 * 1024);
    let text = codec::encode(&env(4, tool_result("toolu_1", json!(five))));
    let out = h.core.on_gateway_text(&text, h.now).unwrap();
    assert_eq!(acks(&out), vec![4]);
    match &out.broadcast.iter().flat_map(ServerFrame::events).collect::<Vec<_>>()[..] {
        [(4, GatewayEvent::ToolResult { result, .. })] => {
            assert_eq!(result.as_str().map(str::len), Some(five.len()));
        }
        ref other => panic!("expected the event, got {} events", other.len()),
    }
    let garbage = h.core.on_gateway_text("{\"seq\": 5, \"event\": {\"type\": \"nope\"}}", h.now).unwrap();
    assert_eq!(acks(&garbage), vec![5], "an unreadable event is stored and counted (tests/unreadable.rs)");
    assert_eq!(garbage.notes.len(), 1, "and reported");
    assert_eq!(h.core.contiguous_seq().unwrap(), 5);
}
