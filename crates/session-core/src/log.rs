//! The session's event log, keyed by the runner's seq.
//!
//! Inserting is idempotent (a duplicate seq is ignored), out-of-order arrivals are kept, and an
//! event above the row limit is split across `event_chunks` rows and joined on read. Reads walk
//! seqs in order and in pages bounded by count and bytes, so a replay never builds more than a
//! frame's worth in memory.
//!
//! A numbered event the core cannot read (a newer variant, an oversize frame, invalid fields) is
//! kept too, so that its seq counts and nothing after it stalls: its row (kind [`UNREADABLE`])
//! holds the small `session.unknown` stand-in that readers get, and its chunks hold the frame
//! exactly as it came ([`raw`]).

use shared_types::{EventEnvelope, GatewayEvent};

use crate::batch::Incoming;
use crate::chunk::{self, Chunks, INLINE_BYTES};
use crate::error::{CoreError, Result};
use crate::sql::{self, Row, Sql};

/// The highest seq this code handles: JavaScript's largest safe integer, since a Durable Object
/// reads every number back as a JavaScript number.
pub const MAX_SEQ: u64 = (1 << 53) - 1;

/// The `kind` of a row whose event could not be read: its body is the `session.unknown` stand-in
/// and its chunks the frame as it came.
pub const UNREADABLE: &str = "unreadable";

/// The longest `reason` and `original_type` a stand-in keeps (they end up in every replay).
const MAX_REASON_CHARS: usize = 500;
const MAX_TYPE_CHARS: usize = 100;

/// Stores an event; returns whether it was new (a duplicate seq is ignored, first copy wins).
pub fn insert(db: &mut impl Sql, envelope: &EventEnvelope) -> Result<bool> {
    let body = serde_json::to_string(&envelope.event).map_err(|e| CoreError::corrupt("event", e))?;
    insert_body(db, envelope.seq, envelope.event.type_name(), body)
}

/// The most event JSON one batched `INSERT` binds: the batch goes to SQLite as one JSON array
/// parameter, kept within the statement limit although a parameter is not statement text.
pub const BATCH_STATEMENT_BYTES: usize = 96 * 1024;

const INSERT_BATCH: &str = "INSERT OR IGNORE INTO events (seq, kind, body, parts, size) \
     SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), 0, \
     length(CAST(json_extract(value, '$[2]') AS BLOB)) FROM json_each(?)";

/// Stores events that arrived together in as few statements as their size allows: one
/// `INSERT ... SELECT ... FROM json_each(?)` per [`BATCH_STATEMENT_BYTES`] of them (SQLite
/// reads the JSON; the body it stores is the event's JSON, minified). An event larger than
/// that is stored on its own (chunked above the row limit). Duplicates are ignored, first copy
/// wins, as with [`insert`]; returns how many statements it took.
pub fn insert_batch(db: &mut impl Sql, events: &[Incoming<'_>]) -> Result<usize> {
    fn flush(db: &mut impl Sql, param: &mut String) -> Result<usize> {
        if param.is_empty() {
            return Ok(0);
        }
        param.push(']');
        sql::exec(db, INSERT_BATCH, &[std::mem::take(param).into()])?;
        Ok(1)
    }
    let mut statements = 0;
    let mut param = String::new();
    for e in events {
        if e.body.len() + 64 > BATCH_STATEMENT_BYTES {
            insert_body(db, e.seq, e.event.type_name(), e.body.to_string())?;
            statements += 1;
            continue;
        }
        if param.len() + e.body.len() + 64 > BATCH_STATEMENT_BYTES {
            statements += flush(db, &mut param)?;
        }
        param.push(if param.is_empty() { '[' } else { ',' });
        // The type names are plain ASCII: no escaping needed.
        param.push_str(&format!("[{},\"{}\",", e.seq, e.event.type_name()));
        param.push_str(&e.body);
        param.push(']');
    }
    statements += flush(db, &mut param)?;
    Ok(statements)
}

fn insert_body(db: &mut impl Sql, seq: u64, kind: &str, body: String) -> Result<bool> {
    if !sql::query(db, "SELECT 1 FROM events WHERE seq = ?", &[seq.into()])?.is_empty() {
        return Ok(false);
    }
    let size = body.len() as u64;
    let (body, parts) = if body.len() <= INLINE_BYTES {
        (body, 0)
    } else {
        (String::new(), chunk::write(db, Chunks::Events, seq, body.as_bytes())?)
    };
    sql::exec(
        db,
        "INSERT OR IGNORE INTO events (seq, kind, body, parts, size) VALUES (?, ?, ?, ?, ?)",
        &[seq.into(), kind.into(), body.into(), parts.into(), size.into()],
    )?;
    Ok(true)
}

/// Where an undecodable gateway frame claims to belong: its `seq` (a positive integer up to
/// [`MAX_SEQ`]) and, when it has one, its event's `type`. `None` when the text is not a JSON
/// object with such a seq (then there is nothing to count).
pub fn numbered(text: &str) -> Option<(u64, Option<String>)> {
    let numbered: crate::batch::Numbered<'_> = serde_json::from_str(text).ok()?;
    if numbered.seq == 0 || numbered.seq > MAX_SEQ {
        return None;
    }
    Some((numbered.seq, numbered.event.and_then(|event| event_type(event.get()))))
}

/// An event's `type` (at most [`MAX_TYPE_CHARS`] of it), when its JSON is an object with a
/// string `type`.
pub fn event_type(event: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
    }
    serde_json::from_str::<Kind>(event).ok().map(|k| k.kind.chars().take(MAX_TYPE_CHARS).collect())
}

/// Stores an event that could not be read, as it came (`raw`, chunked), with the
/// `session.unknown` stand-in that readers get. Returns whether it was new, like [`insert`].
pub fn insert_unreadable(db: &mut impl Sql, seq: u64, raw: &str, original_type: Option<String>, reason: &str) -> Result<bool> {
    if !sql::query(db, "SELECT 1 FROM events WHERE seq = ?", &[seq.into()])?.is_empty() {
        return Ok(false);
    }
    let stand_in = GatewayEvent::Unknown {
        original_type,
        reason: reason.chars().take(MAX_REASON_CHARS).collect(),
        size: raw.len() as u64,
    };
    let body = serde_json::to_string(&stand_in).map_err(|e| CoreError::corrupt("event", e))?;
    // Chunks first, the owning row last (see `chunk`).
    let parts = chunk::write(db, Chunks::Events, seq, raw.as_bytes())?;
    sql::exec(
        db,
        "INSERT OR IGNORE INTO events (seq, kind, body, parts, size) VALUES (?, ?, ?, ?, ?)",
        &[seq.into(), UNREADABLE.into(), body.as_str().into(), parts.into(), (body.len() as u64).into()],
    )?;
    Ok(true)
}

/// The frame an unreadable event came as, by seq (`None` for a missing or readable one): for
/// operators and tests.
pub fn raw(db: &mut impl Sql, seq: u64) -> Result<Option<String>> {
    let rows = sql::query(db, "SELECT parts FROM events WHERE seq = ? AND kind = ?", &[seq.into(), UNREADABLE.into()])?;
    let Some(row) = rows.first() else { return Ok(None) };
    chunk::read(db, Chunks::Events, seq, row.uint(0)?).map(Some)
}

/// One stored event, by seq.
pub fn get(db: &mut impl Sql, seq: u64) -> Result<Option<EventEnvelope>> {
    let rows = sql::query(db, "SELECT seq, body, parts, kind FROM events WHERE seq = ?", &[seq.into()])?;
    rows.first().map(|row| decode(db, row)).transpose()
}

/// The stored events with `after < seq <= up_to`, in seq order: at most `max_events`, and no
/// more than `max_bytes` of event JSON unless a single event is larger (it comes alone).
pub fn events_after(
    db: &mut impl Sql,
    after: u64,
    up_to: u64,
    max_events: usize,
    max_bytes: usize,
) -> Result<Vec<EventEnvelope>> {
    let limit = max_events.max(1) as u64;
    let sizes = sql::query(
        db,
        "SELECT seq, size FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
        &[after.into(), up_to.into(), limit.into()],
    )?;
    let mut last = None;
    let mut bytes = 0u64;
    for row in &sizes {
        let size = row.uint(1)?;
        if last.is_some() && bytes + size > max_bytes as u64 {
            break;
        }
        bytes += size;
        last = Some(row.uint(0)?);
    }
    let Some(last) = last else { return Ok(Vec::new()) };
    let rows = sql::query(
        db,
        "SELECT seq, body, parts, kind FROM events WHERE seq > ? AND seq <= ? ORDER BY seq",
        &[after.into(), last.into()],
    )?;
    rows.iter().map(|row| decode(db, row)).collect()
}

/// The events right after `after` with no gap, in order (at most one page): what becomes
/// contiguous once they are applied.
pub fn contiguous_after(db: &mut impl Sql, after: u64, max_events: usize, max_bytes: usize) -> Result<Vec<EventEnvelope>> {
    let mut page = events_after(db, after, MAX_SEQ, max_events, max_bytes)?;
    let run = page.iter().zip(after + 1..).take_while(|(e, expected)| e.seq == *expected).count();
    page.truncate(run);
    Ok(page)
}

/// How many events, and how many bytes of them, lie in `after < seq <= up_to`.
pub fn backlog(db: &mut impl Sql, after: u64, up_to: u64) -> Result<(u64, u64)> {
    let rows = sql::query(
        db,
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM events WHERE seq > ? AND seq <= ?",
        &[after.into(), up_to.into()],
    )?;
    let row = rows.first().ok_or_else(|| CoreError::corrupt("events", "COUNT returned no row"))?;
    Ok((row.uint(0)?, row.uint(1)?))
}

/// The highest seq stored, gaps or not (0 when empty).
pub fn max_seq(db: &mut impl Sql) -> Result<u64> {
    let rows = sql::query(db, "SELECT COALESCE(MAX(seq), 0) FROM events", &[])?;
    Ok(rows.first().map(|r| r.uint(0)).transpose()?.unwrap_or(0))
}

/// Decodes a `(seq, body, parts, kind)` row, joining chunks when the event was split (an
/// unreadable event's chunks are its raw frame: its body is what readers get).
fn decode(db: &mut impl Sql, row: &Row) -> Result<EventEnvelope> {
    let seq = row.uint(0)?;
    let parts = row.uint(2)?;
    let body = match parts {
        _ if row.text(3)? == UNREADABLE => row.text(1)?.to_string(),
        0 => row.text(1)?.to_string(),
        n => chunk::read(db, Chunks::Events, seq, n)?,
    };
    let event: GatewayEvent = serde_json::from_str(&body).map_err(|e| CoreError::corrupt("event", e))?;
    Ok(EventEnvelope { seq, event })
}
