//! Requests waiting for a human (tool approvals and questions), indexed so that status and
//! snapshots need no fold of the whole log, and so that the first answer wins.
//!
//! The index mirrors `fold`'s `pending` list exactly: a request or question adds (replacing an
//! earlier one with the same id), a resolution or result removes, `session.complete` clears. It
//! stores only the id, kind and the seq of the asking event; the request itself is read back from
//! the log, which already handles events of any size.

use shared_types::{GatewayEvent, PendingRequest};

use crate::error::{CoreError, Result};
use crate::log;
use crate::sql::{self, Sql, Value};

/// What a pending request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingKind {
    /// A tool call to approve or deny.
    Tool,
    /// An `AskUserQuestion` to answer.
    Question,
}

impl PendingKind {
    fn as_str(self) -> &'static str {
        match self {
            PendingKind::Tool => "tool",
            PendingKind::Question => "question",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "tool" => Ok(PendingKind::Tool),
            "question" => Ok(PendingKind::Question),
            other => Err(CoreError::corrupt("pending kind", other)),
        }
    }
}

/// One pending request as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    pub tool_call_id: String,
    pub kind: PendingKind,
    /// The seq of the event that asked.
    pub seq: u64,
    /// Who answered first, while the answer is on its way to the runner.
    pub answered_by: Option<String>,
}

/// The outcome of trying to answer a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This answer is the first: forward it.
    First(PendingKind),
    /// Someone answered already; the runner has not confirmed yet.
    AlreadyAnswered { by: String },
    /// Not pending: never asked, or already resolved.
    NotPending,
}

/// Applies one event (in seq order) to the index.
pub fn apply(db: &mut impl Sql, seq: u64, event: &GatewayEvent) -> Result<()> {
    match event {
        GatewayEvent::ToolRequest { tool_call } => add(db, &tool_call.id, PendingKind::Tool, seq),
        GatewayEvent::Question { tool_call_id, .. } => add(db, tool_call_id, PendingKind::Question, seq),
        GatewayEvent::ToolResolved { tool_call_id, .. } | GatewayEvent::ToolResult { tool_call_id, .. } => {
            remove(db, tool_call_id)
        }
        GatewayEvent::Complete { .. } => {
            sql::exec(db, "DELETE FROM pending", &[])?;
            Ok(())
        }
        _ => Ok(()),
    }
}

fn add(db: &mut impl Sql, id: &str, kind: PendingKind, seq: u64) -> Result<()> {
    sql::exec(
        db,
        "INSERT OR REPLACE INTO pending (tool_call_id, kind, seq, answered_by) VALUES (?, ?, ?, NULL)",
        &[id.into(), kind.as_str().into(), seq.into()],
    )?;
    Ok(())
}

fn remove(db: &mut impl Sql, id: &str) -> Result<()> {
    sql::exec(db, "DELETE FROM pending WHERE tool_call_id = ?", &[id.into()])?;
    Ok(())
}

/// Every pending entry, oldest first.
pub fn entries(db: &mut impl Sql) -> Result<Vec<PendingEntry>> {
    entries_where(db, "", &[])
}

fn entries_where(db: &mut impl Sql, filter: &str, params: &[Value]) -> Result<Vec<PendingEntry>> {
    let q = format!("SELECT tool_call_id, kind, seq, answered_by FROM pending {filter} ORDER BY seq");
    let rows = sql::query(db, &q, params)?;
    rows.iter()
        .map(|r| {
            Ok(PendingEntry {
                tool_call_id: r.text(0)?.to_string(),
                kind: PendingKind::parse(r.text(1)?)?,
                seq: r.uint(2)?,
                answered_by: r.opt_text(3)?.map(str::to_string),
            })
        })
        .collect()
}

/// One pending entry, by tool call id.
pub fn entry(db: &mut impl Sql, id: &str) -> Result<Option<PendingEntry>> {
    Ok(entries_where(db, "WHERE tool_call_id = ?", &[id.into()])?.into_iter().next())
}

/// The kind of the oldest pending request: what the status says the session waits for.
pub fn oldest_kind(db: &mut impl Sql) -> Result<Option<PendingKind>> {
    let rows = sql::query(db, "SELECT kind FROM pending ORDER BY seq LIMIT 1", &[])?;
    rows.first().map(|r| PendingKind::parse(r.text(0)?)).transpose()
}

/// The pending requests as browsers see them, oldest first, read from the asking events.
pub fn requests(db: &mut impl Sql) -> Result<Vec<PendingRequest>> {
    let mut out = Vec::new();
    for entry in entries(db)? {
        let event = log::get(db, entry.seq)?.map(|e| e.event);
        out.push(match event {
            Some(GatewayEvent::ToolRequest { tool_call }) => PendingRequest::Tool { tool_call },
            Some(GatewayEvent::Question { tool_call_id, questions }) => {
                PendingRequest::Question { tool_call_id, questions }
            }
            _ => {
                return Err(CoreError::corrupt(
                    "pending",
                    format!("{} points at seq {}, which is not its request", entry.tool_call_id, entry.seq),
                ))
            }
        });
    }
    Ok(out)
}

/// Records `by` as the answer to `id` if it is pending and unanswered: the first answer wins.
pub fn claim(db: &mut impl Sql, id: &str, by: &str) -> Result<Claim> {
    let rows = sql::query(db, "SELECT kind, answered_by FROM pending WHERE tool_call_id = ?", &[id.into()])?;
    let Some(row) = rows.first() else { return Ok(Claim::NotPending) };
    if let Some(first) = row.opt_text(1)? {
        return Ok(Claim::AlreadyAnswered { by: first.to_string() });
    }
    let kind = PendingKind::parse(row.text(0)?)?;
    sql::exec(db, "UPDATE pending SET answered_by = ? WHERE tool_call_id = ?", &[by.into(), id.into()])?;
    Ok(Claim::First(kind))
}
