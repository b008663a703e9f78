//! Waking a Durable Object written by version-1 code with the current code.

mod common;

use common::*;
use session_core::sqlite::SqliteDo;
use session_core::{log, schema, CoreConfig, CoreError, SessionCore, Sql, Value};
use shared_types::gateway::RunnerState;
use shared_types::{EventEnvelope, PendingRequest, SessionStatus, Transcript};

/// Exactly what version-1 code ran and wrote: its schema, then its rows.
fn version_1_database(events: &[EventEnvelope]) -> SqliteDo {
    let mut db = SqliteDo::memory().unwrap();
    for sql in [
        "CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 0), version INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL)",
        "INSERT OR REPLACE INTO schema_version (id, version) VALUES (0, 1)",
    ] {
        db.exec(sql, &[]).unwrap();
    }
    for e in events {
        let body = serde_json::to_string(&e.event).unwrap();
        db.exec(
            "INSERT OR IGNORE INTO events (seq, kind, body) VALUES (?, ?, ?)",
            &[Value::Integer(e.seq as i64), e.event.type_name().into(), body.into()],
        )
        .unwrap();
    }
    let last = events.last().map_or(0, |e| e.seq);
    let rows = [
        ("meta", serde_json::to_string(&meta()).unwrap()),
        ("config", serde_json::to_string(&config()).unwrap()),
        (
            "facts",
            format!(r#"{{"contiguous_seq":{last},"runner":"running","created":true,"claude_session_id":"c0ffee","ended":false,"fatal":false}}"#),
        ),
        ("link", r#"{"up":true,"last_received":1764000000000,"last_ping":1764000000000,"failures":0}"#.to_string()),
    ];
    for (key, value) in rows {
        db.exec("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", &[key.into(), value.into()]).unwrap();
    }
    db
}

/// Two full turns, then a third waiting on an approval and a question that was answered.
fn v1_history() -> Vec<EventEnvelope> {
    let mut events = history(2);
    let next = events.len() as u64;
    events.extend([
        env(next + 1, user("c-9", "deploy")),
        env(next + 2, runner(RunnerState::Running)),
        env(next + 3, question("toolu_q")),
        env(next + 4, resolved("toolu_q", "ada")),
        env(next + 5, request("toolu_9")),
    ]);
    events
}

#[test]
fn a_version_1_database_wakes_with_its_history_intact() {
    let events = v1_history();
    let db = version_1_database(&events);
    let (mut core, out) = SessionCore::wake(db, CoreConfig::default(), T0 + 1_000).unwrap();
    assert_eq!(schema::version(core.sql()).unwrap(), schema::CURRENT_VERSION);

    // Every event reads back as written, and the fold is the fold of the original events.
    for e in &events {
        assert_eq!(log::get(core.sql(), e.seq).unwrap().as_ref(), Some(e));
    }
    assert_eq!(core.transcript().unwrap(), Transcript::from_events(&events));
    assert_eq!(core.contiguous_seq().unwrap(), events.len() as u64);

    // The pending index (new in v2) was rebuilt from the v1 events.
    assert_eq!(core.pending().unwrap(), vec![PendingRequest::Tool { tool_call: tool_call("toolu_9") }]);
    // The old instance's socket is gone: the runner waits on a human, the link is down.
    assert_eq!(out.status, SessionStatus::Disconnected { since: T0 + 1_000 });
    assert_eq!(out.link, session_core::LinkAction::Dial);

    // v2's sizes were backfilled: a byte-bounded page stops where it should.
    let (_, first_two) = log::backlog(core.sql(), 0, 2).unwrap();
    assert_eq!(log::events_after(core.sql(), 0, 100, 100, first_two as usize).unwrap().len(), 2);
}

#[test]
fn the_v2_tables_work_after_migrating() {
    let events = v1_history();
    let db = version_1_database(&events);
    let (mut core, _) = SessionCore::wake(db, CoreConfig::default(), T0).unwrap();
    core.link_up(T0).unwrap();
    let next = events.len() as u64 + 1;
    let big = env(next, tool_result("toolu_9", serde_json::json!("x".repeat(3 * 1024 * 1024))));
    let out = core.on_gateway_frame(shared_types::GatewayFrame::Event(big.clone()), T0).unwrap();
    assert!(out.commands().contains(&shared_types::GatewayCommand::Ack { seq: next }));
    assert_eq!(log::get(core.sql(), next).unwrap(), Some(big));
    assert!(core.pending().unwrap().is_empty());
}

#[test]
fn migrating_again_or_after_a_half_done_step_changes_nothing() {
    let events = v1_history();
    let mut db = version_1_database(&events);
    // A wake died in v2 after adding one column, before recording the version.
    db.exec("ALTER TABLE events ADD COLUMN parts INTEGER NOT NULL DEFAULT 0", &[]).unwrap();
    assert_eq!(schema::migrate(&mut db).unwrap(), 1);
    assert_eq!(schema::migrate(&mut db).unwrap(), 2);
    let pending = db.query("SELECT tool_call_id FROM pending", &[]).unwrap();
    assert_eq!(pending.len(), 1);
    // Re-running the v2 step by hand (version row lost) is harmless too.
    db.exec("UPDATE schema_version SET version = 1", &[]).unwrap();
    schema::migrate(&mut db).unwrap();
    assert_eq!(db.query("SELECT tool_call_id FROM pending", &[]).unwrap().len(), 1);
    assert_eq!(log::max_seq(&mut db).unwrap(), events.len() as u64);
}

#[test]
fn a_fresh_database_gets_the_current_schema() {
    let mut db = SqliteDo::memory().unwrap();
    assert_eq!(schema::migrate(&mut db).unwrap(), 0);
    assert_eq!(schema::version(&mut db).unwrap(), schema::CURRENT_VERSION);
}

#[test]
fn a_newer_schema_is_refused_not_downgraded() {
    let mut db = SqliteDo::memory().unwrap();
    schema::migrate(&mut db).unwrap();
    db.exec("UPDATE schema_version SET version = 99", &[]).unwrap();
    assert!(matches!(schema::migrate(&mut db), Err(CoreError::SchemaTooNew { found: 99, .. })));
}
