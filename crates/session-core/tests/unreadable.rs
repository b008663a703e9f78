//! A numbered gateway event the core cannot read (a newer variant, an oversize frame, invalid
//! fields) never stalls the session: it is stored as it came, counted contiguous, acked, shown
//! to browsers as `session.unknown` and reported once; a storage failure leaves it unacked.

mod common;

use common::*;
use session_core::{log, Output, Replay};
use shared_types::gateway::RunnerState;
use shared_types::{codec, GatewayCommand, GatewayEvent, ServerFrame, SessionStatus, MAX_FRAME_BYTES};

/// The `(seq, event)` of every event broadcast.
fn broadcast(out: &Output) -> Vec<(u64, GatewayEvent)> {
    out.broadcast.iter().flat_map(ServerFrame::events).map(|(seq, e)| (seq, e.clone())).collect()
}

fn text(h: &mut Harness, frame: &str) -> Output {
    h.core.on_gateway_text(frame, h.now).expect("a gateway frame")
}

/// What a browser syncing from 0 gets, every page.
fn replayed(h: &mut Harness) -> Vec<(u64, GatewayEvent)> {
    let up_to = h.core.contiguous_seq().unwrap();
    let mut replay = Replay { after: 0, up_to, status: h.core.status().unwrap(), batches: false };
    let mut all = Vec::new();
    while let Some(page) = h.core.replay_page(&mut replay).unwrap() {
        all.extend(page.into_iter().filter_map(|f| match f {
            ServerFrame::Event { seq, event, .. } => Some((seq, event)),
            _ => None,
        }));
    }
    all
}

fn unknown_at(events: &[(u64, GatewayEvent)], at: u64) -> (Option<String>, String, u64) {
    match events.iter().find(|(seq, _)| *seq == at) {
        Some((_, GatewayEvent::Unknown { original_type, reason, size })) => (original_type.clone(), reason.clone(), *size),
        other => panic!("expected session.unknown at seq {at}, got {other:?}"),
    }
}

#[test]
fn an_unknown_variant_between_two_valid_events_is_stored_acked_and_shown() {
    let mut h = Harness::new();
    h.up();
    let first = text(&mut h, &codec::encode(&env(1, created())));
    assert_eq!(acks(&first), vec![1]);
    let future = r#"{"seq":2,"event":{"type":"session.from_the_future","warp":9}}"#;
    let out = text(&mut h, future);
    assert_eq!(acks(&out), vec![2], "the unreadable event is acked like any other");
    let (original_type, reason, size) = unknown_at(&broadcast(&out), 2);
    assert_eq!(original_type.as_deref(), Some("session.from_the_future"));
    assert!(reason.contains("unknown frame type"), "{reason}");
    assert_eq!(size, future.len() as u64);
    assert_eq!(out.notes.len(), 1, "reported once: {:?}", out.notes);
    assert!(out.notes[0].contains("seq 2"), "{:?}", out.notes);
    let third = text(&mut h, &codec::encode(&env(3, runner(RunnerState::Running))));
    assert_eq!(acks(&third), vec![3], "later events keep flowing");
    assert_eq!(h.core.contiguous_seq().unwrap(), 3);
    assert_eq!(h.core.status().unwrap(), SessionStatus::Running);

    assert_eq!(log::raw(h.core.sql(), 2).unwrap().as_deref(), Some(future), "stored as it came");
    assert_eq!(log::raw(h.core.sql(), 1).unwrap(), None, "a readable event has no raw copy");
    let seqs: Vec<u64> = replayed(&mut h).iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, [1, 2, 3], "a browser syncing later gets every seq");
    assert!(matches!(h.core.transcript().unwrap().items.iter().find(|i| matches!(i, shared_types::fold::Item::Unknown { seq: 2, .. })), Some(_)));

    // The gateway resends it (a reattach after a lost ack): a duplicate, not reported again.
    let again = text(&mut h, future);
    assert!(again.notes.is_empty() && again.broadcast.is_empty() && acks(&again).is_empty(), "{again:?}");
    // A reconnect attaches after it.
    h.down();
    assert_eq!(h.up().commands(), vec![GatewayCommand::Attach { after_seq: 3, batches: true }]);
}

#[test]
fn an_oversize_event_is_stored_chunked_and_its_seq_counts() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created())]);
    let pad = "p".repeat(MAX_FRAME_BYTES + 1024);
    let huge = format!(r#"{{"seq":2,"event":{{"type":"session.message.delta","message_id":"m","pad":"{pad}"}}}}"#);
    let out = text(&mut h, &huge);
    assert_eq!(acks(&out), vec![2]);
    let (original_type, reason, size) = unknown_at(&broadcast(&out), 2);
    assert_eq!(original_type.as_deref(), Some("session.message.delta"));
    assert!(reason.contains("limit"), "{reason}");
    assert_eq!(size, huge.len() as u64);
    assert!(codec::encode(&out.broadcast[0]).len() < 1024, "browsers get the small stand-in, not the frame");
    assert_eq!(log::raw(h.core.sql(), 2).unwrap().map(|r| r.len()), Some(huge.len()), "the whole frame is kept, in chunks");
    assert_eq!(acks(&text(&mut h, &codec::encode(&env(3, runner(RunnerState::Idle))))), vec![3]);
}

#[test]
fn invalid_fields_and_out_of_order_unreadable_events_still_count() {
    let mut h = Harness::new();
    h.up();
    // Seq 2 arrives first and cannot be read (a known type, wrong fields); nothing is acked yet.
    let invalid = r#"{"seq":2,"event":{"type":"session.status","state":"dancing"}}"#;
    let early = text(&mut h, invalid);
    assert!(acks(&early).is_empty() && early.broadcast.is_empty(), "not contiguous yet");
    let out = h.event(env(1, created()));
    assert_eq!(acks(&out), vec![2], "seq 1 makes 1 and 2 contiguous");
    let events = broadcast(&out);
    assert_eq!(events.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1, 2]);
    let (original_type, reason, _) = unknown_at(&events, 2);
    assert_eq!(original_type.as_deref(), Some("session.status"));
    assert!(reason.contains("invalid"), "{reason}");
    // An event that is not even an object still has a seq to count.
    let out = text(&mut h, r#"{"seq":3,"event":"surprise"}"#);
    assert_eq!((acks(&out), unknown_at(&broadcast(&out), 3).0), (vec![3], None));
}

#[test]
fn frames_without_a_seq_to_count_are_reported_and_change_nothing() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created())]);
    for junk in ["{{", r#"{"type":"warp"}"#, r#"{"seq":0,"event":{}}"#, r#"{"seq":-4,"event":{}}"#, r#"{"seq":"5","event":{}}"#] {
        let out = text(&mut h, junk);
        assert!(out.broadcast.is_empty() && acks(&out).is_empty(), "{junk}: {out:?}");
        assert_eq!(out.notes.len(), 1, "{junk}: reported");
    }
    assert_eq!(h.core.contiguous_seq().unwrap(), 1);
}

#[test]
fn a_storage_failure_leaves_the_event_unacked_and_the_resend_is_taken() {
    let mut h = Harness::new();
    h.up();
    h.events([env(1, created())]);
    let future = r#"{"seq":2,"event":{"type":"session.from_the_future"}}"#;
    h.core.sql().connection().pragma_update(None, "query_only", true).unwrap();
    assert!(h.core.on_gateway_text(future, h.now).is_err(), "the failed write is an error, not an ack");
    assert!(h.core.on_gateway_text(&codec::encode(&env(2, runner(RunnerState::Running))), h.now).is_err());
    h.core.sql().connection().pragma_update(None, "query_only", false).unwrap();
    assert_eq!(h.core.contiguous_seq().unwrap(), 1, "nothing was counted");
    // The gateway resends from the last ack once the link is back.
    h.down();
    assert_eq!(h.up().commands(), vec![GatewayCommand::Attach { after_seq: 1, batches: true }]);
    let out = text(&mut h, future);
    assert_eq!(acks(&out), vec![2]);
    unknown_at(&broadcast(&out), 2);
}
