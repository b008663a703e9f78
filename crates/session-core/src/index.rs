//! The row of the D1 sessions index (the session list), written on status changes and at most
//! every few seconds otherwise, when the gateway pauses: never once per event, never mid-burst
//! (DESIGN.md, "The Durable Object on workerd").

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

    /// Whether a row is due: the status changed, or the log moved on, the interval passed and
    /// the gateway has gone quiet (or the row is `index_max_lag_ms` old). `last_received` is when
    /// the last gateway frame arrived.
    pub fn due(&self, status: SessionStatus, last_seq: u64, now: TimestampMs, last_received: TimestampMs, cfg: &CoreConfig) -> bool {
        self.due_at(status, last_seq, last_received, cfg).is_some_and(|at| now >= at)
    }

    /// When a row becomes due, if one waits. A status change is due at once; a moved `last_seq`
    /// once the interval has passed and the link has been quiet for `index_quiet_ms`, and at the
    /// latest `index_max_lag_ms` after the last row. (In `wrangler dev` a D1 write holds the
    /// whole workerd process for about 100 ms, which showed as a stall mid-stream; in
    /// production it costs a subrequest. Either way the list gains nothing from a row per
    /// burst.)
    pub fn due_at(&self, status: SessionStatus, last_seq: u64, last_received: TimestampMs, cfg: &CoreConfig) -> Option<TimestampMs> {
        if self.status != Some(status) {
            return Some(self.at);
        }
        let quiet = (last_received + cfg.index_quiet_ms).min(self.at + cfg.index_max_lag_ms);
        (last_seq != self.last_seq).then_some((self.at + cfg.index_interval_ms).max(quiet))
    }
}
