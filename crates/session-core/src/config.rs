//! The core's tunables, in one place so that tests can shrink them and the shell can read them.

use shared_types::MAX_FRAME_BYTES;

/// Thresholds and timers of a session's Durable Object. All times are milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct CoreConfig {
    /// Most events in one replay page.
    pub page_events: usize,
    /// Most bytes of event JSON in one replay page (a page is sent in one go).
    pub page_bytes: usize,
    /// A client missing more events than this gets a folded transcript instead of a replay.
    pub far_behind_events: u64,
    /// ...or missing more bytes of events than this.
    pub far_behind_bytes: u64,
    /// A heartbeat `ping` goes to the gateway this often (invariant 3).
    pub heartbeat_ms: u64,
    /// A link silent this long is treated as dead, half-open included (invariant 3).
    pub silence_ms: u64,
    /// The first redial delay after a failed or lost link; doubled per failure.
    pub dial_backoff_base_ms: u64,
    pub dial_backoff_max_ms: u64,
    /// The D1 sessions index is written at most this often unless the status changes.
    pub index_interval_ms: u64,
    /// A row that only moves `last_seq` waits for the heartbeat's alarm, but never longer than
    /// this after the last row (`IndexState::due`).
    pub index_max_lag_ms: u64,
    /// Most commands waiting for the gateway; more are refused, not dropped.
    pub max_queued_commands: u64,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            page_events: 200,
            page_bytes: MAX_FRAME_BYTES,
            far_behind_events: 500,
            far_behind_bytes: 4 * 1024 * 1024,
            heartbeat_ms: 15_000,
            silence_ms: 45_000,
            dial_backoff_base_ms: 1_000,
            dial_backoff_max_ms: 60_000,
            index_interval_ms: 5_000,
            index_max_lag_ms: 60_000,
            max_queued_commands: 100,
        }
    }
}
