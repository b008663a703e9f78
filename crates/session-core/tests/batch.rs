//! Batches on the gateway link (`events` frames): stored in a constant number of statements,
//! applied from memory, acked and broadcast once per batch, and still exactly-once under cuts,
//! resends, gaps and unreadable elements (invariant 1).

mod common;

use common::*;
use serde_json::json;
use session_core::CoreConfig;
use shared_types::gateway::RunnerState;
use shared_types::{codec, Delta, EventBatch, EventEnvelope, GatewayCommand, GatewayEvent, GatewayFrame, ServerFrame, Transcript};

fn delta(seq: u64, text: &str) -> EventEnvelope {
    env(seq, GatewayEvent::MessageDelta { message_id: "msg_1".into(), content: Delta::Text { index: 0, text: text.into() } })
}

fn batch_text(events: &[EventEnvelope]) -> String {
    codec::encode(&GatewayFrame::Events(EventBatch { events: events.to_vec() }))
}

/// Every event a browser syncing from 0 gets, and how many frames carried them.
fn synced(h: &mut Harness, batches: bool) -> (Vec<EventEnvelope>, usize) {
    let out = h.client(json!({"type": "sync", "after_seq": 0, "batches": batches}));
    let mut replay = out.replay.expect("a replay");
    let (mut events, mut frames) = (Vec::new(), 0);
    while let Some(page) = h.core.replay_page(&mut replay).unwrap() {
        for f in page {
            frames += 1;
            events.extend(f.events().into_iter().map(|(seq, e)| EventEnvelope { seq, event: e.clone() }));
        }
    }
    (events, frames)
}

fn a_turn(from: u64, deltas: u64) -> Vec<EventEnvelope> {
    let mut out = vec![env(from, runner(RunnerState::Running))];
    out.extend((1..=deltas).map(|i| delta(from + i, &format!("word {i} "))));
    out.push(env(from + deltas + 1, assistant("msg_1", "the whole answer")));
    out.push(env(from + deltas + 2, turn_result()));
    out
}

#[test]
fn a_batch_costs_a_constant_number_of_statements_one_ack_and_one_frame() {
    let mut statements = Vec::new();
    for deltas in [10u64, 500] {
        let mut h = Harness::new();
        h.up();
        h.event(env(1, created()));
        let events = a_turn(2, deltas);
        let before = h.core.sql().statements();
        let out = h.core.on_gateway_text(&batch_text(&events), h.now).unwrap();
        statements.push(h.core.sql().statements() - before);
        let last = events.last().unwrap().seq;
        assert_eq!(acks(&out), vec![last], "one ack, for the highest contiguous seq");
        assert_eq!(out.broadcast.len(), 1, "one frame to every browser");
        assert_eq!(broadcast_seqs(&out), (2..=last).collect::<Vec<_>>());
        assert_eq!(h.core.contiguous_seq().unwrap(), last);
        assert_eq!(h.core.status().unwrap(), shared_types::SessionStatus::Idle, "status derived once, after the last");
    }
    // 500 deltas are ~50 KB of JSON: one INSERT either way.
    assert_eq!(statements[0], statements[1], "statements per batch do not grow with its length: {statements:?}");
    assert!(statements[1] < 25, "a batch takes {} statements", statements[1]);
}

#[test]
fn batches_over_the_statement_budget_are_split_and_nothing_is_lost() {
    let mut h = Harness::with_config(CoreConfig { far_behind_events: u64::MAX, far_behind_bytes: u64::MAX, ..CoreConfig::default() });
    h.up();
    h.event(env(1, created()));
    // ~20,000 deltas of ~100 bytes: about 2 MB, so some 20 INSERTs, plus a 1.5 MB event stored
    // chunked on its own.
    let mut events = a_turn(2, 20_000);
    let big = env(events.last().unwrap().seq + 1, tool_result("toolu_big", json!("x".repeat(1_500_000))));
    events.push(big);
    let last = events.last().unwrap().seq;
    let out = h.core.on_gateway_text(&batch_text(&events), h.now).unwrap();
    assert_eq!(acks(&out), vec![last], "notes: {:?}", out.notes);
    let (replayed, _) = synced(&mut h, true);
    assert_eq!(replayed.len() as u64, last);
    assert_eq!(&replayed[1..], &events[..], "stored exactly as sent, in order");
}

#[test]
fn a_link_cut_mid_batch_resends_into_a_contiguous_log() {
    let all = {
        let mut v = vec![env(1, created())];
        v.extend(a_turn(2, 40));
        v
    };
    let last = all.last().unwrap().seq;
    let mut h = Harness::new();
    h.up();
    // The first batch arrives whole; of the second, the frame was cut and the DO holds only the
    // part the gateway got out before the cut (its start), plus a later stray (out of order).
    let out = h.core.on_gateway_text(&batch_text(&all[..10]), h.now).unwrap();
    assert_eq!(acks(&out), vec![10]);
    h.core.on_gateway_text(&batch_text(&all[10..20]), h.now).unwrap();
    let stray = h.core.on_gateway_text(&batch_text(&all[30..35]), h.now).unwrap();
    assert!(acks(&stray).is_empty() && stray.broadcast.is_empty(), "a gap: nothing acked or shown past 20");
    h.down();
    let up = h.up();
    assert!(up.commands().contains(&GatewayCommand::Attach { after_seq: 20, batches: true }));
    // The gateway resends everything after 20 as one batch, overlapping what the DO holds.
    let resent = h.core.on_gateway_text(&batch_text(&all[20..]), h.now).unwrap();
    assert_eq!(acks(&resent), vec![last]);
    assert_eq!(broadcast_seqs(&resent), (21..=last).collect::<Vec<_>>(), "each seq once, in order");
    let (replayed, _) = synced(&mut h, true);
    assert_eq!(replayed, all, "a contiguous log, every event once");
    let again = h.core.on_gateway_text(&batch_text(&all), h.now).unwrap();
    assert!(acks(&again).is_empty() && again.broadcast.is_empty(), "a whole resend is all duplicates");
}

#[test]
fn an_unreadable_element_is_counted_and_the_rest_of_its_batch_applies() {
    let mut h = Harness::new();
    h.up();
    let text = r#"{"type":"events","events":[
        {"seq":1,"event":{"type":"session.created","session_id":"s-1","claude_session_id":"c0ffee"}},
        {"seq":2,"event":{"type":"session.hologram","depth":3}},
        {"seq":3,"event":{"type":"session.status","state":"running"}},
        {"no_seq":true}
    ]}"#;
    let out = h.core.on_gateway_text(text, h.now).unwrap();
    assert_eq!(acks(&out), vec![3]);
    let shown = out.broadcast.iter().flat_map(ServerFrame::events).map(|(s, e)| (s, e.type_name())).collect::<Vec<_>>();
    assert_eq!(shown, vec![(1, "session.created"), (2, "session.unknown"), (3, "session.status")]);
    assert_eq!(session_core::log::raw(h.core.sql(), 2).unwrap().as_deref().map(|r| r.contains("hologram")), Some(true));
    assert!(out.notes.iter().any(|n| n.contains("no seq")), "the unnumbered element is reported: {:?}", out.notes);
}

#[test]
fn batches_and_single_events_fold_to_the_same_transcript_and_old_peers_still_work() {
    let all = {
        let mut v = vec![env(1, created())];
        v.extend(a_turn(2, 30));
        v.extend(history(2).into_iter().skip(2).enumerate().map(|(i, e)| EventEnvelope { seq: 35 + i as u64, ..e }));
        v
    };
    // An old gateway: one frame per event.
    let mut single = Harness::new();
    single.up();
    for e in &all {
        single.core.on_gateway_text(&codec::encode(&GatewayFrame::Event(e.clone())), single.now).unwrap();
    }
    // A new one: batches of uneven sizes.
    let mut batched = Harness::new();
    batched.up();
    for part in all.chunks(7) {
        batched.core.on_gateway_text(&batch_text(part), batched.now).unwrap();
    }
    assert_eq!(single.core.transcript().unwrap(), batched.core.transcript().unwrap());
    assert_eq!(batched.core.transcript().unwrap(), Transcript::from_events(&all));
    // An old browser (no `batches` in its sync) gets one `event` frame per event; a new one a
    // frame per page.
    let (old, old_frames) = synced(&mut batched, false);
    let (new, new_frames) = synced(&mut batched, true);
    assert_eq!(old, all);
    assert_eq!(new, all);
    assert_eq!(old_frames, all.len());
    assert!(new_frames < 5, "{new_frames} frames for {} events", all.len());
}

#[test]
fn a_far_behind_browser_still_gets_a_snapshot_and_then_batches() {
    let cfg = CoreConfig { far_behind_events: 10, ..CoreConfig::default() };
    let mut h = Harness::with_config(cfg);
    h.up();
    let mut all = vec![env(1, created())];
    all.extend(a_turn(2, 50));
    h.core.on_gateway_text(&batch_text(&all), h.now).unwrap();
    let out = h.client(json!({"type": "sync", "after_seq": 0, "batches": true}));
    match &out.reply[..] {
        [ServerFrame::Snapshot { transcript: Some(t), last_seq, .. }] => {
            assert_eq!(*last_seq, all.len() as u64);
            assert_eq!(**t, Transcript::from_events(&all));
        }
        other => panic!("expected a snapshot with its transcript, got {other:?}"),
    }
    let mut replay = out.replay.unwrap();
    assert!(h.core.replay_page(&mut replay).unwrap().is_none(), "nothing to replay after the snapshot");
    // What follows live is a batch.
    let more = vec![delta(all.len() as u64 + 1, "a"), delta(all.len() as u64 + 2, "b")];
    let live = h.core.on_gateway_text(&batch_text(&more), h.now).unwrap();
    assert!(matches!(&live.broadcast[..], [ServerFrame::Events { events, .. }] if events.len() == 2));
}

#[test]
fn single_frames_waiting_together_are_one_input_for_an_old_gateway_too() {
    let mut h = Harness::new();
    h.up();
    let mut all = vec![env(1, created())];
    all.extend(a_turn(2, 20));
    let texts: Vec<String> = all.iter().map(|e| codec::encode(&GatewayFrame::Event(e.clone()))).collect();
    let before = h.core.sql().statements();
    let out = h.core.on_gateway_texts(&texts, h.now).unwrap();
    assert!(h.core.sql().statements() - before < 25, "one batch's statements for {} frames", texts.len());
    assert_eq!(acks(&out), vec![all.len() as u64]);
    assert_eq!(out.broadcast.len(), 1);
    assert_eq!(h.core.transcript().unwrap(), Transcript::from_events(&all));
}
