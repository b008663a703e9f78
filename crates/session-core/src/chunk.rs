//! Values above the Durable Object row limit, split across rows and joined on read.
//!
//! A value is written chunks first and its owning row last, so a wake after a crash between the
//! two sees no owner and the rewrite replaces the orphan chunks: nothing half-written is read.

use crate::error::{CoreError, Result};
use crate::sql::{self, Sql, Value};

/// Bytes per chunk row: well under the 2 MB row limit, leaving room for the key columns.
pub const CHUNK_BYTES: usize = 1024 * 1024;

/// A value at most this long is stored inline in its owning row.
pub const INLINE_BYTES: usize = CHUNK_BYTES;

/// The tables that hold chunks, each keyed by its owner's integer id and a part number.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Chunks {
    Events,
    Commands,
}

impl Chunks {
    fn table(self) -> &'static str {
        match self {
            Chunks::Events => "event_chunks",
            Chunks::Commands => "command_chunks",
        }
    }
}

/// Writes `bytes` as chunks of `owner`; returns the number of parts.
pub(crate) fn write(db: &mut impl Sql, chunks: Chunks, owner: u64, bytes: &[u8]) -> Result<u64> {
    let insert = format!("INSERT OR REPLACE INTO {} (owner, part, data) VALUES (?, ?, ?)", chunks.table());
    let mut parts = 0u64;
    for piece in bytes.chunks(CHUNK_BYTES) {
        sql::exec(db, &insert, &[owner.into(), parts.into(), Value::Blob(piece.to_vec())])?;
        parts += 1;
    }
    Ok(parts)
}

/// Reads and joins the `parts` chunks of `owner` as UTF-8 text.
pub(crate) fn read(db: &mut impl Sql, chunks: Chunks, owner: u64, parts: u64) -> Result<String> {
    let select = format!("SELECT data FROM {} WHERE owner = ? AND part = ?", chunks.table());
    let mut bytes = Vec::new();
    for part in 0..parts {
        let rows = sql::query(db, &select, &[owner.into(), part.into()])?;
        let row = rows.first().ok_or_else(|| {
            CoreError::corrupt("chunk", format!("{} part {part} of {owner} is missing", chunks.table()))
        })?;
        bytes.extend_from_slice(row.blob(0)?);
    }
    String::from_utf8(bytes).map_err(|e| CoreError::corrupt("chunk", e))
}

/// Deletes every chunk of `owner`.
pub(crate) fn delete(db: &mut impl Sql, chunks: Chunks, owner: u64) -> Result<()> {
    sql::exec(db, &format!("DELETE FROM {} WHERE owner = ?", chunks.table()), &[owner.into()])?;
    Ok(())
}
