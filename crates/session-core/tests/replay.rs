//! Browser sync: a client at any cursor ends with the same transcript as the full fold, whether
//! it is replayed event by event or jumps to a folded snapshot (invariant 1).

mod common;

use common::*;
use serde_json::json;
use session_core::{CoreConfig, Output};
use shared_types::codec;
use shared_types::sync::Update;
use shared_types::{EventEnvelope, ServerFrame, SessionStatus, SessionSync, Transcript, MAX_FRAME_BYTES};

/// What one client receives for its `sync`, every frame in order.
fn sync_frames(h: &mut Harness, after_seq: u64) -> Vec<ServerFrame> {
    let out: Output = h.client(json!({"type": "sync", "after_seq": after_seq}));
    let mut frames = out.reply;
    let mut replay = out.replay.expect("sync starts a replay");
    while let Some(page) = h.core.replay_page(&mut replay).unwrap() {
        assert!(!page.is_empty());
        frames.extend(page);
    }
    frames
}

/// Feeds a client its sync; returns the snapshot's transcript presence and the event count.
fn catch_up(h: &mut Harness, client: &mut SessionSync) -> (bool, usize) {
    let frames = sync_frames(h, client.cursor());
    let folded = matches!(&frames[0], ServerFrame::Snapshot { transcript: Some(_), .. });
    for frame in &frames {
        assert!(codec::encode(frame).len() <= MAX_FRAME_BYTES, "every frame fits");
        let update = client.on_frame(frame.clone());
        assert!(!matches!(update, Update::Resync(_) | Update::Error { .. }), "{update:?}");
    }
    (folded, frames.len() - 1)
}

fn loaded(cfg: CoreConfig, events: &[EventEnvelope]) -> Harness {
    let mut h = Harness::with_config(cfg);
    h.up();
    h.events(events.iter().cloned());
    h
}

#[test]
fn a_far_behind_client_gets_the_fold_and_ends_equal_to_the_full_fold() {
    let events = history(100);
    let mut h = loaded(CoreConfig::default(), &events);
    let full = Transcript::from_events(&events);

    let mut fresh = SessionSync::new();
    let (folded, replayed) = catch_up(&mut h, &mut fresh);
    assert!(folded, "802 events behind: a folded snapshot");
    assert_eq!(replayed, 0);
    assert_eq!(fresh.transcript(), &full);

    let mut partial = SessionSync::resume(Transcript::from_events(&events[..100]));
    let (folded, _) = catch_up(&mut h, &mut partial);
    assert!(folded);
    assert_eq!(partial.transcript(), &full);
}

#[test]
fn a_close_client_gets_the_events_after_its_cursor() {
    let events = history(100);
    let mut h = loaded(CoreConfig::default(), &events);
    let mut client = SessionSync::resume(Transcript::from_events(&events[..790]));
    let (folded, replayed) = catch_up(&mut h, &mut client);
    assert!(!folded);
    assert_eq!(replayed, events.len() - 790);
    assert_eq!(client.transcript(), &Transcript::from_events(&events));
}

#[test]
fn replay_comes_in_pages_stamped_with_the_current_status() {
    let cfg = CoreConfig { page_events: 50, far_behind_events: u64::MAX, far_behind_bytes: u64::MAX, ..CoreConfig::default() };
    let mut events = history(20);
    let next = events.len() as u64 + 1;
    events.push(env(next, request("toolu_last")));
    let mut h = loaded(cfg, &events);
    let out = h.client(json!({"type": "sync", "after_seq": 0}));
    assert!(matches!(out.reply[..], [ServerFrame::Snapshot { transcript: None, last_seq, .. }] if last_seq == next));
    let mut replay = out.replay.unwrap();
    let mut pages = 0;
    while let Some(page) = h.core.replay_page(&mut replay).unwrap() {
        pages += 1;
        assert!(page.len() <= 50);
        assert!(page.iter().all(|f| matches!(f, ServerFrame::Event { status: SessionStatus::AwaitingApproval, .. })));
    }
    assert_eq!(pages, events.len().div_ceil(50));
    let mut client = SessionSync::new();
    catch_up(&mut h, &mut client);
    assert_eq!(client.transcript(), &Transcript::from_events(&events));
}

#[test]
fn replay_stops_at_the_objects_own_gap() {
    let events = history(2);
    let (before, after) = events.split_at(10);
    let mut h = loaded(CoreConfig::default(), before);
    h.events(after[1..].iter().cloned());
    let frames = sync_frames(&mut h, 0);
    assert!(matches!(frames[0], ServerFrame::Snapshot { last_seq: 10, .. }));
    assert_eq!(frames.len(), 11);
    // The missing event arrives: the rest becomes contiguous and a new sync gets everything.
    h.event(after[0].clone());
    let mut client = SessionSync::new();
    catch_up(&mut h, &mut client);
    assert_eq!(client.transcript(), &Transcript::from_events(&events));
}

#[test]
fn big_events_replay_whole_and_every_frame_fits() {
    let mut events = history(1);
    let three: String = "ab".repeat(3 * 1024 * 1024 / 2);
    let five: String = "cd".repeat(5 * 1024 * 1024 / 2);
    let n = events.len() as u64;
    events.extend([
        env(n + 1, request("toolu_a")),
        env(n + 2, tool_result("toolu_a", json!(three))),
        env(n + 3, request("toolu_b")),
        env(n + 4, tool_result("toolu_b", json!(five))),
        env(n + 5, turn_result()),
    ]);
    let mut h = loaded(CoreConfig::default(), &events);
    // Over 8 MB behind: the fold would not fit a frame, so the client is replayed instead.
    let mut client = SessionSync::new();
    let (folded, replayed) = catch_up(&mut h, &mut client);
    assert!(!folded);
    assert_eq!(replayed, events.len());
    assert_eq!(client.transcript(), &Transcript::from_events(&events));
}

#[test]
fn any_delivery_order_with_duplicates_and_reconnects_stores_the_same_history() {
    let events = history(30);
    // A deterministic shuffle of every event plus a third of them again (duplicates), with the
    // link dropping every 40 deliveries.
    let mut deliveries: Vec<EventEnvelope> = events.iter().chain(events.iter().step_by(3)).cloned().collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in (1..deliveries.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        deliveries.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut h = Harness::new();
    h.up();
    let mut live = SessionSync::new();
    catch_up(&mut h, &mut live);
    for (i, e) in deliveries.into_iter().enumerate() {
        if i % 40 == 39 {
            h.tick(1_000);
            h.down();
            h.tick(1_000);
            h.up();
        }
        let out = h.event(e);
        for frame in out.broadcast {
            if let Update::Resync(_) = live.on_frame(frame) {
                panic!("the object broadcasts contiguous events only");
            }
        }
    }
    assert_eq!(h.core.contiguous_seq().unwrap(), events.len() as u64);
    let full = Transcript::from_events(&events);
    assert_eq!(h.core.transcript().unwrap(), full);
    assert_eq!(live.transcript(), &full, "a browser watching live saw the same history");
    let mut late = SessionSync::new();
    catch_up(&mut h, &mut late);
    assert_eq!(late.transcript(), &full);
}
