//! The row of the D1 sessions index (the session list), written on status changes and at most
//! every few seconds otherwise, on the heartbeat's alarm: never once per event, never an alarm of
//! its own mid-stream (DESIGN.md, "The Durable Object on workerd").

use serde::{Deserialize, Serialize};
use shared_types::{SessionStatus, TimestampMs};

use crate::config::CoreConfig;
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

    /// Whether a row is due: the status changed (at once, whatever the input), or the log
    /// moved on and either this input is the alarm and the last row is `index_interval_ms` old,
    /// or the last row is `index_max_lag_ms` old.
    ///
    /// A row that only moves `last_seq` waits for the alarm that the link's heartbeat sets anyway
    /// (every 15 s while the link is up) and never asks for an alarm of its own: an alarm that
    /// fires in the middle of a stream holds the object for about 100 ms under `wrangler dev`
    /// (the 5 s index alarm was the stall that the session bench showed at event #490 of its
    /// 100 events/s turn). So the list's `last_seq` lags a running turn by at most 15 s, and
    /// its status never lags.
    pub fn due(&self, status: SessionStatus, last_seq: u64, now: TimestampMs, in_alarm: bool, cfg: &CoreConfig) -> bool {
        if self.status != Some(status) {
            return true;
        }
        last_seq != self.last_seq
            && ((in_alarm && now >= self.at + cfg.index_interval_ms) || now >= self.at + cfg.index_max_lag_ms)
    }

    /// When the core must wake for the index: only to write (or retry) a changed status.
    pub fn due_at(&self, status: SessionStatus) -> Option<TimestampMs> {
        (self.status != Some(status)).then_some(self.at)
    }
}
