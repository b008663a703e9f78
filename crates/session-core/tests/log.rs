//! The event log: idempotent inserts, gaps and out-of-order arrivals, chunked big events, pages.

mod common;

use common::*;
use serde_json::json;
use session_core::sqlite::SqliteDo;
use session_core::{log, schema, Sql};
use shared_types::EventEnvelope;

fn db() -> SqliteDo {
    let mut db = SqliteDo::memory().unwrap();
    schema::migrate(&mut db).unwrap();
    db
}

fn big_result(seq: u64, bytes: usize) -> EventEnvelope {
    // Multi-byte characters, so that a chunk boundary falls inside one.
    let text: String = "é€x".chars().cycle().take(bytes / 2).collect();
    env(seq, tool_result("toolu_big", json!(text)))
}

#[test]
fn a_duplicate_seq_is_ignored_and_the_first_copy_wins() {
    let mut db = db();
    assert!(log::insert(&mut db, &env(1, user("c-1", "first"))).unwrap());
    assert!(!log::insert(&mut db, &env(1, user("c-1", "second"))).unwrap());
    assert_eq!(log::get(&mut db, 1).unwrap(), Some(env(1, user("c-1", "first"))));
    assert_eq!(log::max_seq(&mut db).unwrap(), 1);
}

#[test]
fn contiguous_runs_stop_at_gaps() {
    let mut db = db();
    for seq in [1, 2, 4, 5, 7] {
        log::insert(&mut db, &env(seq, assistant("m", &seq.to_string()))).unwrap();
    }
    let seqs = |v: Vec<EventEnvelope>| v.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(log::contiguous_after(&mut db, 0, 100, usize::MAX).unwrap()), [1, 2]);
    assert_eq!(seqs(log::contiguous_after(&mut db, 2, 100, usize::MAX).unwrap()), Vec::<u64>::new());
    log::insert(&mut db, &env(3, assistant("m", "3"))).unwrap();
    assert_eq!(seqs(log::contiguous_after(&mut db, 2, 100, usize::MAX).unwrap()), [3, 4, 5]);
    assert_eq!(seqs(log::events_after(&mut db, 0, 100, 100, usize::MAX).unwrap()), [1, 2, 3, 4, 5, 7]);
    assert_eq!(seqs(log::events_after(&mut db, 1, 5, 100, usize::MAX).unwrap()), [2, 3, 4, 5]);
}

#[test]
fn pages_are_bounded_by_count_and_bytes() {
    let mut db = db();
    for e in history(10) {
        log::insert(&mut db, &e).unwrap();
    }
    let total = log::max_seq(&mut db).unwrap();
    assert_eq!(log::events_after(&mut db, 0, total, 7, usize::MAX).unwrap().len(), 7);
    let (_, bytes) = log::backlog(&mut db, 0, 3).unwrap();
    let page = log::events_after(&mut db, 0, total, 100, bytes as usize).unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    // A single event over the byte budget still comes, alone: a replay always moves forward.
    let page = log::events_after(&mut db, 0, total, 100, 1).unwrap();
    assert_eq!(page.len(), 1);
}

#[test]
fn events_of_3_and_5_mb_are_split_and_joined_whole() {
    let mut db = db();
    let three = big_result(1, 3 * 1024 * 1024);
    let five = big_result(2, 5 * 1024 * 1024);
    assert!(log::insert(&mut db, &three).unwrap());
    assert!(log::insert(&mut db, &five).unwrap());
    assert!(log::insert(&mut db, &env(3, turn_result())).unwrap());
    assert!(!log::insert(&mut db, &five).unwrap());

    assert_eq!(log::get(&mut db, 1).unwrap().as_ref(), Some(&three));
    assert_eq!(log::get(&mut db, 2).unwrap().as_ref(), Some(&five));
    let chunks = db.query("SELECT owner, COUNT(*), MAX(length(data)) FROM event_chunks GROUP BY owner ORDER BY owner", &[]).unwrap();
    assert_eq!(chunks.len(), 2, "both big events are chunked");
    assert!(chunks.iter().all(|r| r.int(2).unwrap() <= 2_000_000));
    assert!(chunks[1].int(1).unwrap() >= 5);

    // A page of 8 MB cannot hold both: the 3 MB event comes, then the 5 MB one with the small one.
    let page = log::events_after(&mut db, 0, 3, 100, shared_types::MAX_FRAME_BYTES).unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
    let page = log::events_after(&mut db, 1, 3, 100, shared_types::MAX_FRAME_BYTES).unwrap();
    assert_eq!(page, vec![five, env(3, turn_result())]);
}
