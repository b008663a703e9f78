//! The session's status, derived (never reported): from the runner's facts folded in seq order,
//! the oldest pending request, and whether the gateway link is down (invariant 5).
//!
//! The facts are a small state row (`facts`) updated as each event becomes contiguous, so that a
//! woken Durable Object knows its status without reading the log.

use serde::{Deserialize, Serialize};
use shared_types::{GatewayEvent, RunnerState, SessionStatus, TimestampMs};

use crate::error::Result;
use crate::pending::PendingKind;
use crate::sql::Sql;
use crate::state;

const KEY: &str = "facts";

/// What the runner has told us, up to the contiguous seq.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// The highest seq with every seq 1..=it stored and applied: what the DO attaches with and
    /// acks, and the cursor of replays.
    #[serde(default)]
    pub contiguous_seq: u64,
    /// The runner's last `session.status`, corrected by results and endings.
    #[serde(default)]
    pub runner: Option<RunnerState>,
    /// `session.created` was seen: the runner exists, `session.create` need not be sent again.
    #[serde(default)]
    pub created: bool,
    #[serde(default)]
    pub claude_session_id: Option<String>,
    /// `session.complete` was seen: nothing more will happen.
    #[serde(default)]
    pub ended: bool,
    /// A fatal `session.error` and no sign of life since.
    #[serde(default)]
    pub fatal: bool,
}

impl Facts {
    pub fn load(db: &mut impl Sql) -> Result<Self> {
        state::get_or_default(db, KEY)
    }

    pub fn save(&self, db: &mut impl Sql) -> Result<()> {
        state::put(db, KEY, self)
    }

    /// Folds one event's facts in. Idempotent, so re-applying after a crash changes nothing.
    pub fn apply(&mut self, seq: u64, event: &GatewayEvent) {
        self.contiguous_seq = self.contiguous_seq.max(seq);
        match event {
            GatewayEvent::Created { claude_session_id, .. } => {
                self.created = true;
                self.claude_session_id = Some(claude_session_id.clone());
            }
            GatewayEvent::Status { state } => {
                self.runner = Some(*state);
                if matches!(state, RunnerState::Starting | RunnerState::Running) {
                    self.fatal = false;
                }
            }
            // The end of a turn: whatever the last status said, the turn no longer runs. A queued
            // prompt starting the next turn arrives as its own `session.status{running}`.
            GatewayEvent::Result { .. } => self.runner = Some(RunnerState::Idle),
            GatewayEvent::Complete { .. } => {
                self.ended = true;
                self.runner = Some(RunnerState::Stopped);
            }
            GatewayEvent::Error { fatal: true, .. } => {
                self.fatal = true;
                self.runner = Some(RunnerState::Stopped);
            }
            _ => {}
        }
    }

    /// Whether the runner may be doing something a lost link would hide.
    pub fn work_may_run(&self, pending: Option<PendingKind>) -> bool {
        pending.is_some() || matches!(self.runner, Some(RunnerState::Starting | RunnerState::Running))
    }
}

/// The status from the facts, the oldest pending request and the link (`Some(since)` while down).
pub fn derive(facts: &Facts, pending: Option<PendingKind>, link_down_since: Option<TimestampMs>) -> SessionStatus {
    if facts.ended {
        return SessionStatus::Ended;
    }
    if facts.fatal {
        return SessionStatus::Error;
    }
    if let Some(since) = link_down_since.filter(|_| facts.work_may_run(pending)) {
        return SessionStatus::Disconnected { since };
    }
    match (pending, facts.runner) {
        (Some(PendingKind::Tool), _) => SessionStatus::AwaitingApproval,
        (Some(PendingKind::Question), _) => SessionStatus::AwaitingAnswer,
        (None, None | Some(RunnerState::Starting)) => SessionStatus::Starting,
        (None, Some(RunnerState::Running)) => SessionStatus::Running,
        (None, Some(RunnerState::Idle | RunnerState::Stopped)) => SessionStatus::Idle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_types::{ErrorCode, Usage};

    fn result() -> GatewayEvent {
        GatewayEvent::Result { cost_usd: 0.0, usage: Usage::default(), duration_ms: 1, turns: 1, is_error: false }
    }

    #[test]
    fn never_running_after_a_result_or_complete() {
        let mut f = Facts::default();
        f.apply(1, &GatewayEvent::Status { state: RunnerState::Running });
        assert_eq!(derive(&f, None, None), SessionStatus::Running);
        f.apply(2, &result());
        assert_eq!(derive(&f, None, None), SessionStatus::Idle);
        f.apply(3, &GatewayEvent::Status { state: RunnerState::Running });
        f.apply(4, &GatewayEvent::Complete { summary: "done".into() });
        assert_eq!(derive(&f, None, None), SessionStatus::Ended);
        assert_eq!(derive(&f, None, Some(9)), SessionStatus::Ended);
    }

    #[test]
    fn disconnected_only_while_work_may_run() {
        let mut f = Facts::default();
        f.apply(1, &GatewayEvent::Status { state: RunnerState::Idle });
        assert_eq!(derive(&f, None, Some(5)), SessionStatus::Idle);
        assert_eq!(derive(&f, Some(PendingKind::Tool), Some(5)), SessionStatus::Disconnected { since: 5 });
        assert_eq!(derive(&f, Some(PendingKind::Question), None), SessionStatus::AwaitingAnswer);
        f.apply(2, &GatewayEvent::Status { state: RunnerState::Running });
        assert_eq!(derive(&f, None, Some(5)), SessionStatus::Disconnected { since: 5 });
    }

    #[test]
    fn fatal_error_until_the_runner_lives_again() {
        let mut f = Facts::default();
        f.apply(1, &GatewayEvent::Status { state: RunnerState::Running });
        let fatal = GatewayEvent::Error { code: ErrorCode::CliError, message: "gone".into(), fatal: true };
        f.apply(2, &fatal);
        assert_eq!(derive(&f, None, Some(1)), SessionStatus::Error);
        f.apply(3, &GatewayEvent::Status { state: RunnerState::Starting });
        assert_eq!(derive(&f, None, None), SessionStatus::Starting);
    }
}
