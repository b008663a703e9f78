//! Browser commands checked and turned into gateway commands.
//!
//! Bad input gets a clear `error{code, message, request_id}` and changes nothing (invariant 7):
//! an empty or oversize message or a bad image (`shared_types::content_problem`), an answer to a tool call that is not pending (or was answered
//! first by someone else), anything but `sync`/`ping` after the session ended, a full queue.

use std::collections::BTreeMap;

use shared_types::{ClientCommand, ClientFrame, ContentBlock, ErrorCode, GatewayCommand};

use crate::error::Result;
use crate::pending::{self, Claim, PendingKind};
use crate::queue;
use crate::sql::Sql;
use crate::status::Facts;

/// Largest message content (JSON of its blocks); the rule is `shared_types::content_problem`.
pub use shared_types::MAX_MESSAGE_BYTES;
/// Longest `client_id`, `tool_call_id` or `request_id`.
pub const MAX_ID_LEN: usize = 128;
/// Longest deny reason or single answer.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// Most answers in one `question.answer`.
pub const MAX_ANSWERS: usize = 32;

/// What a valid browser frame asks the Durable Object to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Accepted {
    /// Send the snapshot and the events after this cursor (in `events` batches when the client
    /// reads them).
    Sync { after_seq: u64, batches: bool },
    Pong,
    /// Queue this for the gateway under `key` (see `queue`).
    Forward { key: String, command: GatewayCommand },
}

/// Why a frame was refused, as the `error` frame will say it.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal { code, message: message.into() }
}

/// Checks a browser frame from `user` against the stored state. An answer that is accepted is
/// claimed in the pending index here, so that a second answer is refused (first answer wins).
pub fn accept(
    db: &mut impl Sql,
    facts: &Facts,
    max_queued: u64,
    frame: &ClientFrame,
    user: &str,
) -> Result<Result<Accepted, Refusal>> {
    if frame.request_id.as_ref().is_some_and(|id| id.len() > MAX_ID_LEN) {
        return Ok(Err(refuse(ErrorCode::InvalidInput, format!("request_id is over {MAX_ID_LEN} bytes"))));
    }
    let read_only = matches!(frame.command, ClientCommand::Sync { .. } | ClientCommand::Ping);
    if let Some(refusal) = if read_only { None } else { gate(db, facts, max_queued)? } {
        return Ok(Err(refusal));
    }
    Ok(match &frame.command {
        ClientCommand::Sync { after_seq, batches } => Ok(Accepted::Sync { after_seq: *after_seq, batches: *batches }),
        ClientCommand::Ping => Ok(Accepted::Pong),
        ClientCommand::Message { client_id, content } => message(client_id, content),
        ClientCommand::ToolApprove { tool_call_id, scope, grant } => {
            let command = GatewayCommand::ToolApprove {
                tool_call_id: tool_call_id.clone(),
                scope: *scope,
                grant: *grant,
                by: Some(user.to_string()),
            };
            claim(db, tool_call_id, &[PendingKind::Tool], user, command)?
        }
        ClientCommand::ToolDeny { tool_call_id, reason } => deny(db, tool_call_id, reason, user)?,
        ClientCommand::QuestionAnswer { tool_call_id, answers } => answer(db, tool_call_id, answers, user)?,
        ClientCommand::Interrupt => Ok(Accepted::Forward { key: queue::INTERRUPT_KEY.into(), command: GatewayCommand::Interrupt }),
        ClientCommand::Terminate => Ok(Accepted::Forward { key: queue::TERMINATE_KEY.into(), command: GatewayCommand::Terminate }),
    })
}

/// What refuses every command that changes the session: an ended session, a full queue.
fn gate(db: &mut impl Sql, facts: &Facts, max_queued: u64) -> Result<Option<Refusal>> {
    if facts.ended {
        return Ok(Some(refuse(ErrorCode::SessionEnded, "the session has ended; start a new one")));
    }
    if queue::waiting(db)? >= max_queued {
        return Ok(Some(refuse(
            ErrorCode::RateLimited,
            format!("{max_queued} commands are already waiting for the gateway; retry when it is reachable"),
        )));
    }
    Ok(None)
}

fn message(client_id: &str, content: &[ContentBlock]) -> Result<Accepted, Refusal> {
    check_id("client_id", client_id)?;
    if let Some(problem) = shared_types::content_problem(content) {
        return Err(refuse(ErrorCode::InvalidInput, problem));
    }
    Ok(Accepted::Forward {
        key: queue::message_key(client_id),
        command: GatewayCommand::Message { client_id: client_id.to_string(), content: content.to_vec() },
    })
}

fn deny(db: &mut impl Sql, id: &str, reason: &str, user: &str) -> Result<Result<Accepted, Refusal>> {
    if reason.len() > MAX_TEXT_BYTES {
        return Ok(Err(refuse(ErrorCode::InvalidInput, format!("the reason is over {MAX_TEXT_BYTES} bytes"))));
    }
    let by = Some(user.to_string());
    let command = GatewayCommand::ToolDeny { tool_call_id: id.to_string(), reason: reason.to_string(), by };
    claim(db, id, &[PendingKind::Tool, PendingKind::Question], user, command)
}

fn answer(
    db: &mut impl Sql,
    id: &str,
    answers: &BTreeMap<String, String>,
    user: &str,
) -> Result<Result<Accepted, Refusal>> {
    if answers.is_empty() || answers.len() > MAX_ANSWERS {
        return Ok(Err(refuse(ErrorCode::InvalidInput, format!("give between 1 and {MAX_ANSWERS} answers"))));
    }
    if answers.iter().any(|(q, a)| q.len() > MAX_TEXT_BYTES || a.len() > MAX_TEXT_BYTES) {
        return Ok(Err(refuse(ErrorCode::InvalidInput, format!("an answer is over {MAX_TEXT_BYTES} bytes"))));
    }
    let by = Some(user.to_string());
    let command = GatewayCommand::Answer { tool_call_id: id.to_string(), answers: answers.clone(), by };
    claim(db, id, &[PendingKind::Question], user, command)
}

/// First answer wins: only an unanswered pending request of an allowed kind is claimed.
fn claim(
    db: &mut impl Sql,
    id: &str,
    kinds: &[PendingKind],
    user: &str,
    command: GatewayCommand,
) -> Result<Result<Accepted, Refusal>> {
    if let Err(refusal) = check_id("tool_call_id", id) {
        return Ok(Err(refusal));
    }
    let Some(entry) = pending::entry(db, id)? else {
        return Ok(Err(refuse(ErrorCode::UnknownToolCall, format!("{id} is not pending: it was resolved or never asked"))));
    };
    if !kinds.contains(&entry.kind) {
        let hint = match entry.kind {
            PendingKind::Tool => "it is a tool call: approve or deny it",
            PendingKind::Question => "it is a question: answer or deny it",
        };
        return Ok(Err(refuse(ErrorCode::InvalidInput, format!("{id} cannot take this: {hint}"))));
    }
    Ok(match pending::claim(db, id, user)? {
        Claim::First(_) => Ok(Accepted::Forward { key: queue::tool_key(id), command }),
        Claim::AlreadyAnswered { by } => {
            Err(refuse(ErrorCode::UnknownToolCall, format!("{id} is not pending: {by} answered it first")))
        }
        Claim::NotPending => Err(refuse(ErrorCode::UnknownToolCall, format!("{id} is not pending"))),
    })
}

fn check_id(what: &str, id: &str) -> Result<(), Refusal> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(refuse(ErrorCode::InvalidInput, format!("{what} must be 1 to {MAX_ID_LEN} bytes")));
    }
    Ok(())
}
