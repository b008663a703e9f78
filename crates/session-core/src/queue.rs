//! The durable queue of commands for the gateway: what browsers asked while the link was down
//! (or before the runner confirmed it), flushed in order on every link up.
//!
//! Each command has a key (`msg:<client_id>`, `tool:<tool_call_id>`, `interrupt`, `terminate`).
//! A key is queued once: a browser resending the same `client_id` is not doubled. Commands whose
//! effect shows up as an event stay until that event arrives (a message until its
//! `session.user_message`, an answer until `session.tool.resolved`), then are marked done, and a
//! done key is never queued again; `interrupt` and `terminate` leave the queue once sent.
//!
//! A command is stored as the JSON text it is sent as, and sent again as stored: the queue never
//! decodes it back (so the Worker carries no `GatewayCommand` decoder).

use shared_types::GatewayEvent;

use crate::chunk::{self, Chunks, INLINE_BYTES};
use crate::error::Result;
use crate::sql::{self, Sql};

/// The queue key of a message, so that a resent `client_id` is recognised.
pub fn message_key(client_id: &str) -> String {
    format!("msg:{client_id}")
}

/// The queue key of an answer to a tool call or question.
pub fn tool_key(tool_call_id: &str) -> String {
    format!("tool:{tool_call_id}")
}

/// The queue key of `interrupt`.
pub const INTERRUPT_KEY: &str = "interrupt";
/// The queue key of `terminate`.
pub const TERMINATE_KEY: &str = "terminate";

/// Whether the command queued under `key` leaves the queue once sent (nothing in the log would
/// ever confirm it): `interrupt` and `terminate`.
pub fn is_fire_and_forget(key: &str) -> bool {
    key == INTERRUPT_KEY || key == TERMINATE_KEY
}

/// What enqueueing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New,
    /// The key is queued or was done already: nothing to send.
    Duplicate,
}

/// How many commands wait (not yet confirmed).
pub fn waiting(db: &mut impl Sql) -> Result<u64> {
    let rows = sql::query(db, "SELECT COUNT(*) FROM command_queue WHERE done = 0", &[])?;
    Ok(rows.first().map(|r| r.uint(0)).transpose()?.unwrap_or(0))
}

/// Queues a command (`text`: its frame, as [`shared_types::codec::encode`] wrote it) under `key`
/// unless that key was queued before.
pub fn enqueue(db: &mut impl Sql, key: &str, text: &str) -> Result<Enqueued> {
    if !sql::query(db, "SELECT 1 FROM command_queue WHERE key = ?", &[key.into()])?.is_empty() {
        return Ok(Enqueued::Duplicate);
    }
    let rows = sql::query(db, "SELECT COALESCE(MAX(id), 0) + 1 FROM command_queue", &[])?;
    let id = rows.first().map(|r| r.uint(0)).transpose()?.unwrap_or(1);
    let (body, parts) = if text.len() <= INLINE_BYTES {
        (text.to_string(), 0)
    } else {
        (String::new(), chunk::write(db, Chunks::Commands, id, text.as_bytes())?)
    };
    sql::exec(
        db,
        "INSERT INTO command_queue (id, key, done, parts, body) VALUES (?, ?, 0, ?, ?)",
        &[id.into(), key.into(), parts.into(), body.into()],
    )?;
    Ok(Enqueued::New)
}

/// Every waiting command, oldest first: its key and its frame's text, as stored (never decoded).
pub fn waiting_commands(db: &mut impl Sql) -> Result<Vec<(String, String)>> {
    let rows = sql::query(db, "SELECT id, key, parts, body FROM command_queue WHERE done = 0 ORDER BY id", &[])?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let body = match row.uint(2)? {
            0 => row.text(3)?.to_string(),
            parts => chunk::read(db, Chunks::Commands, row.uint(0)?, parts)?,
        };
        out.push((row.text(1)?.to_string(), body));
    }
    Ok(out)
}

/// Removes a sent fire-and-forget command.
pub fn remove(db: &mut impl Sql, key: &str) -> Result<()> {
    sql::exec(db, "DELETE FROM command_queue WHERE key = ?", &[key.into()])?;
    Ok(())
}

/// Marks done what an event confirms took effect.
pub fn acknowledge(db: &mut impl Sql, event: &GatewayEvent) -> Result<()> {
    match event {
        GatewayEvent::UserMessage { client_id, .. } => done(db, &message_key(client_id)),
        GatewayEvent::ToolResolved { tool_call_id, .. } | GatewayEvent::ToolResult { tool_call_id, .. } => {
            done(db, &tool_key(tool_call_id))
        }
        // Nothing waits on an ended session; its commands will never take effect.
        GatewayEvent::Complete { .. } => {
            let ids = sql::query(db, "SELECT id FROM command_queue WHERE done = 0 AND parts > 0", &[])?;
            for row in &ids {
                chunk::delete(db, Chunks::Commands, row.uint(0)?)?;
            }
            sql::exec(db, "UPDATE command_queue SET done = 1, parts = 0, body = '' WHERE done = 0", &[])?;
            Ok(())
        }
        _ => Ok(()),
    }
}

fn done(db: &mut impl Sql, key: &str) -> Result<()> {
    let rows = sql::query(db, "SELECT id, parts FROM command_queue WHERE key = ? AND done = 0", &[key.into()])?;
    let Some(row) = rows.first() else { return Ok(()) };
    let id = row.uint(0)?;
    if row.uint(1)? > 0 {
        chunk::delete(db, Chunks::Commands, id)?;
    }
    sql::exec(db, "UPDATE command_queue SET done = 1, parts = 0, body = '' WHERE id = ?", &[id.into()])?;
    Ok(())
}
