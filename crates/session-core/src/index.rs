//! The row of the D1 sessions index (the session list), written on status changes and at most
//! every few seconds otherwise: never once per event (DESIGN.md, "The Durable Object on workerd").

use serde::{Deserialize, Serialize};
use shared_types::{SessionStatus, TimestampMs};

use crate::error::Result;
use crate::sql::Sql;
use crate::state;

const KEY: &str = "index";

/// What the session list shows of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    pub session_id: String,
    pub status: SessionStatus,
    pub last_seq: u64,
    pub updated_at: TimestampMs,
}

/// What was last handed to the shell for D1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexState {
    #[serde(default)]
    pub status: Option<SessionStatus>,
    #[serde(default)]
    pub last_seq: u64,
    #[serde(default)]
    pub at: TimestampMs,
}

impl IndexState {
    pub fn load(db: &mut impl Sql) -> Result<Self> {
        state::get_or_default(db, KEY)
    }

    pub fn save(&self, db: &mut impl Sql) -> Result<()> {
        state::put(db, KEY, self)
    }

    /// Whether a row is due: the status changed, or the log moved on and the interval passed.
    pub fn due(&self, status: SessionStatus, last_seq: u64, now: TimestampMs, interval_ms: u64) -> bool {
        self.status != Some(status) || (last_seq != self.last_seq && now >= self.at + interval_ms)
    }

    /// When a throttled update becomes due, if one waits.
    pub fn due_at(&self, status: SessionStatus, last_seq: u64, interval_ms: u64) -> Option<TimestampMs> {
        if self.status != Some(status) {
            return Some(self.at);
        }
        (last_seq != self.last_seq).then_some(self.at + interval_ms)
    }
}
