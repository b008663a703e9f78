//! The Durable Object's view of a session, stamped on every frame it sends to browsers.

use serde::Serialize;
use shared_types_derive::TagFirst;

use crate::TimestampMs;

/// What a session is doing, as the DO derives it from the runner's facts and its own link.
/// Never `running` when nothing runs (invariant 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TagFirst)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SessionStatus {
    Starting,
    Running,
    AwaitingApproval,
    AwaitingAnswer,
    /// Between turns.
    Idle,
    /// The gateway link is down while work may be running.
    Disconnected { since: TimestampMs },
    Ended,
    Error,
}

impl SessionStatus {
    /// Whether the session still needs its gateway link (reconnects are driven while live).
    pub fn is_live(self) -> bool {
        !matches!(self, SessionStatus::Ended | SessionStatus::Error | SessionStatus::Idle)
    }

    /// Whether a human is needed.
    pub fn needs_user(self) -> bool {
        matches!(self, SessionStatus::AwaitingApproval | SessionStatus::AwaitingAnswer)
    }

    /// The bare name (`running`, `disconnected`...), for indexes and labels.
    pub fn name(self) -> &'static str {
        match self {
            SessionStatus::Starting => "starting",
            SessionStatus::Running => "running",
            SessionStatus::AwaitingApproval => "awaiting_approval",
            SessionStatus::AwaitingAnswer => "awaiting_answer",
            SessionStatus::Idle => "idle",
            SessionStatus::Disconnected { .. } => "disconnected",
            SessionStatus::Ended => "ended",
            SessionStatus::Error => "error",
        }
    }
}
