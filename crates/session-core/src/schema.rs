//! The Durable Object's schema and its migrations, run on every wake.
//!
//! Durable Object SQLite refuses `BEGIN`/`COMMIT`/`SAVEPOINT` and `PRAGMA user_version`, so the
//! version lives in a `schema_version` row and every step is idempotent: a wake that dies halfway
//! through a step simply runs it again. Steps are only ever appended.
//!
//! - v1: `schema_version`, `state` (named JSON rows), `events(seq, kind, body)`.
//! - v2: events above the row limit (`events.parts`, `events.size`, `event_chunks`), the pending
//!   index (`pending`, backfilled from the stored events), and the durable command queue
//!   (`command_queue`, `command_chunks`).

use crate::error::{CoreError, Result};
use crate::sql::{self, Sql};
use crate::status::Facts;
use crate::{log, pending};

/// The version this code writes.
pub const CURRENT_VERSION: u64 = 2;

const V1: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL)",
];

const V2_TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS event_chunks (owner INTEGER NOT NULL, part INTEGER NOT NULL, \
     data BLOB NOT NULL, PRIMARY KEY (owner, part))",
    "CREATE TABLE IF NOT EXISTS pending (tool_call_id TEXT PRIMARY KEY, kind TEXT NOT NULL, \
     seq INTEGER NOT NULL, answered_by TEXT)",
    "CREATE INDEX IF NOT EXISTS pending_by_seq ON pending (seq)",
    "CREATE TABLE IF NOT EXISTS command_queue (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, \
     done INTEGER NOT NULL DEFAULT 0, parts INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS command_chunks (owner INTEGER NOT NULL, part INTEGER NOT NULL, \
     data BLOB NOT NULL, PRIMARY KEY (owner, part))",
];

/// Brings the database to [`CURRENT_VERSION`]; returns the version it found.
pub fn migrate(db: &mut impl Sql) -> Result<u64> {
    sql::exec(
        db,
        "CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 0), version INTEGER NOT NULL)",
        &[],
    )?;
    let found = version(db)?;
    if found > CURRENT_VERSION {
        return Err(CoreError::SchemaTooNew { found, known: CURRENT_VERSION });
    }
    for step in found + 1..=CURRENT_VERSION {
        match step {
            1 => v1(db)?,
            _ => v2(db)?,
        }
        sql::exec(db, "INSERT OR REPLACE INTO schema_version (id, version) VALUES (0, ?)", &[step.into()])?;
    }
    Ok(found)
}

/// The stored schema version (0 for a new database).
pub fn version(db: &mut impl Sql) -> Result<u64> {
    let rows = sql::query(db, "SELECT version FROM schema_version WHERE id = 0", &[])?;
    Ok(rows.first().map(|r| r.uint(0)).transpose()?.unwrap_or(0))
}

fn v1(db: &mut impl Sql) -> Result<()> {
    for statement in V1 {
        sql::exec(db, statement, &[])?;
    }
    Ok(())
}

fn v2(db: &mut impl Sql) -> Result<()> {
    add_column(db, "events", "parts", "INTEGER NOT NULL DEFAULT 0")?;
    add_column(db, "events", "size", "INTEGER NOT NULL DEFAULT 0")?;
    sql::exec(db, "UPDATE events SET size = length(CAST(body AS BLOB)) WHERE parts = 0 AND size = 0", &[])?;
    for statement in V2_TABLES {
        sql::exec(db, statement, &[])?;
    }
    backfill_pending(db)
}

/// `ALTER TABLE ... ADD COLUMN` unless the column exists (the statement itself is not idempotent).
fn add_column(db: &mut impl Sql, table: &str, column: &str, decl: &str) -> Result<()> {
    let columns = sql::query(db, &format!("PRAGMA table_info({table})"), &[])?;
    let present = columns.iter().any(|row| row.text(1).is_ok_and(|name| name == column));
    if !present {
        sql::exec(db, &format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"), &[])?;
    }
    Ok(())
}

/// Rebuilds the pending index from the events v1 stored, up to the contiguous seq the facts
/// were applied to (later events are applied when they become contiguous, as always).
fn backfill_pending(db: &mut impl Sql) -> Result<()> {
    let up_to = Facts::load(db)?.contiguous_seq;
    let mut after = 0;
    while after < up_to {
        let page = log::events_after(db, after, up_to, 200, 4 * 1024 * 1024)?;
        let Some(last) = page.last().map(|e| e.seq) else { break };
        for e in &page {
            pending::apply(db, e.seq, &e.event)?;
        }
        after = last;
    }
    Ok(())
}
