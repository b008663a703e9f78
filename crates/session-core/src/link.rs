//! The outbound link to the gateway, as decisions over stored state and a clock reading.
//!
//! The Durable Object dials the gateway; the open socket keeps it from hibernating, so the link
//! is held only while the session needs it (invariant 3 and DESIGN.md "The Durable Object on
//! workerd"). A heartbeat goes out after 15 s without a ping or a frame from the gateway, a link
//! silent for 45 s is closed and redialled, and failed dials back off. The alarm drives all of
//! it, so the state lives in a `link` row: an evicted object wakes knowing how many dials failed
//! and when to try again.
//!
//! A link that carries frames needs no heartbeat: the gateway's frames prove the way in, the
//! DO's acks (which the gateway's own silence timer hears) the way out. So a streaming session
//! is never pinged, and its alarm is due 15 s after the stream's last frame, never in the middle
//! of it: under `wrangler dev` an alarm that fires holds the object for 100 to 400 ms (measured:
//! the session bench's 1,000 events/s turn stalled when the 15 s heartbeat alarm came due).

use serde::{Deserialize, Serialize};
use shared_types::TimestampMs;

use crate::config::CoreConfig;
use crate::error::Result;
use crate::sql::Sql;
use crate::state;

const KEY: &str = "link";

/// What the shell should do with its gateway socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LinkAction {
    #[default]
    Keep,
    /// Open a socket to the gateway, then report `link_up` or `dial_failed`.
    Dial,
    /// Close the socket, then report `link_closed`.
    Close,
}

/// The link's stored state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Link {
    #[serde(default)]
    pub up: bool,
    /// When a dial was started and not yet reported.
    #[serde(default)]
    pub dialing_since: Option<TimestampMs>,
    /// When the link last went down (cleared on link up): the `since` of `disconnected`.
    #[serde(default)]
    pub down_since: Option<TimestampMs>,
    /// When the last gateway frame arrived: silence is measured from here.
    #[serde(default)]
    pub last_received: TimestampMs,
    #[serde(default)]
    pub last_ping: TimestampMs,
    /// Dials that failed (or links that died before a single frame) since the last good frame.
    #[serde(default)]
    pub failures: u32,
    /// The earliest time to dial again.
    #[serde(default)]
    pub next_dial_at: Option<TimestampMs>,
}

impl Link {
    pub fn load(db: &mut impl Sql) -> Result<Self> {
        state::get_or_default(db, KEY)
    }

    pub fn save(&self, db: &mut impl Sql) -> Result<()> {
        state::put(db, KEY, self)
    }

    /// `Some(since)` while the link is down after having been up.
    pub fn down_since(&self) -> Option<TimestampMs> {
        if self.up {
            None
        } else {
            self.down_since
        }
    }

    /// A new instance holds no socket: whatever was up or being dialled is gone. The loss was
    /// the instance's, not the gateway's, so a needed link is redialled at once.
    pub fn woke(&mut self, now: TimestampMs) {
        if self.up {
            self.up = false;
            self.down_since = Some(now);
            self.next_dial_at = None;
        }
        self.dialing_since = None;
    }

    /// A dial starts now.
    pub fn dial(&mut self, now: TimestampMs) {
        self.dialing_since = Some(now);
    }

    /// The socket opened.
    pub fn opened(&mut self, now: TimestampMs) {
        self.up = true;
        self.dialing_since = None;
        self.down_since = None;
        self.next_dial_at = None;
        self.last_received = now;
        self.last_ping = now;
    }

    /// A frame arrived: the link is alive, and the gateway is good enough to reset the backoff.
    pub fn received(&mut self, now: TimestampMs) {
        self.last_received = now;
        self.failures = 0;
    }

    /// The socket closed or broke.
    pub fn went_down(&mut self, now: TimestampMs, cfg: &CoreConfig) {
        if self.up {
            self.down_since = Some(now);
        }
        self.up = false;
        self.dialing_since = None;
        self.next_dial_at = Some(now + backoff(self.failures, cfg));
        self.failures = self.failures.saturating_add(1);
    }

    /// The session no longer needs the link: closed on purpose, so no backoff and no `since`
    /// (with nothing running, the status stays what the runner said).
    pub fn closed_idle(&mut self, now: TimestampMs) {
        self.up = false;
        self.dialing_since = None;
        self.down_since = Some(now);
        self.next_dial_at = None;
    }

    /// A dial failed.
    pub fn dial_failed(&mut self, now: TimestampMs, cfg: &CoreConfig) {
        self.dialing_since = None;
        self.next_dial_at = Some(now + backoff(self.failures, cfg));
        self.failures = self.failures.saturating_add(1);
    }

    /// Whether to dial now, given that the session `wants` the link.
    pub fn should_dial(&self, wants: bool, now: TimestampMs) -> bool {
        wants && !self.up && self.dialing_since.is_none() && self.next_dial_at.is_none_or(|at| at <= now)
    }

    /// What the alarm does now: close a silent or unneeded link (counted as down at once, since a
    /// half-open socket may never report its close), ping, or dial.
    pub fn on_alarm(&mut self, wants: bool, now: TimestampMs, cfg: &CoreConfig) -> AlarmStep {
        if self.up {
            if now >= self.last_received + cfg.silence_ms {
                self.went_down(now, cfg);
                return AlarmStep::Close;
            }
            if !wants {
                self.closed_idle(now);
                return AlarmStep::Close;
            }
            if now >= self.ping_due(cfg) {
                self.last_ping = now;
                return AlarmStep::Ping;
            }
            return AlarmStep::Nothing;
        }
        if self.dialing_since.is_some_and(|since| now >= since + cfg.silence_ms) {
            self.dial_failed(now, cfg);
        }
        if self.should_dial(wants, now) {
            self.dial(now);
            return AlarmStep::Dial;
        }
        AlarmStep::Nothing
    }

    /// When a heartbeat is due: `heartbeat_ms` after the later of the last ping and the last
    /// frame from the gateway (a link that carries frames is known alive).
    pub fn ping_due(&self, cfg: &CoreConfig) -> TimestampMs {
        self.last_ping.max(self.last_received) + cfg.heartbeat_ms
    }

    /// When the alarm must next fire for the link's sake.
    pub fn next_alarm(&self, wants: bool, now: TimestampMs, cfg: &CoreConfig) -> Option<TimestampMs> {
        if self.up {
            return Some(self.ping_due(cfg).min(self.last_received + cfg.silence_ms));
        }
        if let Some(since) = self.dialing_since {
            return Some(since + cfg.silence_ms);
        }
        wants.then(|| self.next_dial_at.unwrap_or(now).max(now))
    }
}

/// One alarm's decision for the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmStep {
    Nothing,
    Ping,
    Dial,
    Close,
}

/// The redial delay after `failures` consecutive failures: doubling from the base, capped.
pub fn backoff(failures: u32, cfg: &CoreConfig) -> u64 {
    cfg.dial_backoff_base_ms.saturating_mul(1u64 << failures.min(20)).min(cfg.dial_backoff_max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let cfg = CoreConfig::default();
        assert_eq!([0, 1, 2, 3].map(|f| backoff(f, &cfg)), [1_000, 2_000, 4_000, 8_000]);
        assert_eq!(backoff(30, &cfg), cfg.dial_backoff_max_ms);
    }

    #[test]
    fn heartbeat_then_silence_closes() {
        let cfg = CoreConfig::default();
        let mut link = Link::default();
        link.opened(0);
        assert_eq!(link.next_alarm(true, 0, &cfg), Some(15_000));
        assert_eq!(link.on_alarm(true, 15_000, &cfg), AlarmStep::Ping);
        assert_eq!(link.next_alarm(true, 15_000, &cfg), Some(30_000));
        assert_eq!(link.on_alarm(true, 30_000, &cfg), AlarmStep::Ping);
        assert_eq!(link.next_alarm(true, 30_000, &cfg), Some(45_000));
        assert_eq!(link.on_alarm(true, 45_000, &cfg), AlarmStep::Close);
        assert!(!link.up);
        assert_eq!(link.down_since(), Some(45_000));
        assert_eq!(link.next_alarm(true, 45_000, &cfg), Some(46_000));
    }

    #[test]
    fn a_link_that_carries_frames_is_not_pinged_and_its_alarm_waits_for_the_last_frame() {
        let cfg = CoreConfig::default();
        let mut link = Link::default();
        link.opened(0);
        for t in (100..20_000).step_by(100) {
            link.received(t);
            assert_eq!(link.next_alarm(true, t, &cfg), Some(t + 15_000), "due 15 s after the last frame");
        }
        assert_eq!(link.on_alarm(true, 15_000, &cfg), AlarmStep::Nothing, "frames came: no ping");
        assert_eq!(link.on_alarm(true, 19_900 + 15_000, &cfg), AlarmStep::Ping, "15 s of quiet: a ping");
        assert_eq!(link.next_alarm(true, 34_900, &cfg), Some(49_900));
        assert_eq!(link.on_alarm(true, 19_900 + 45_000, &cfg), AlarmStep::Close, "45 s of silence: closed");
    }

    #[test]
    fn an_unneeded_link_is_closed_without_backoff() {
        let cfg = CoreConfig::default();
        let mut link = Link::default();
        link.opened(0);
        link.received(1);
        assert_eq!(link.on_alarm(false, 15_000, &cfg), AlarmStep::Close);
        assert_eq!((link.failures, link.next_alarm(false, 15_000, &cfg)), (0, None));
        assert!(link.should_dial(true, 15_001));
    }

    #[test]
    fn a_hung_dial_counts_as_failed() {
        let cfg = CoreConfig::default();
        let mut link = Link::default();
        link.dial(0);
        assert_eq!(link.on_alarm(true, 1_000, &cfg), AlarmStep::Nothing);
        assert_eq!(link.next_alarm(true, 1_000, &cfg), Some(45_000));
        assert_eq!(link.on_alarm(true, 45_000, &cfg), AlarmStep::Nothing);
        assert_eq!(link.failures, 1);
        assert_eq!(link.next_alarm(true, 45_000, &cfg), Some(46_000));
        assert_eq!(link.on_alarm(true, 46_000, &cfg), AlarmStep::Dial);
    }
}
