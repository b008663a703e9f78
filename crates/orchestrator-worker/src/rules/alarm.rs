//! When the Durable Object moves its alarm (`session_do/alarm.rs` sets it).

/// A set alarm that the core wants later is moved only once it is this close to firing.
const MOVE_WITHIN_MS: u64 = 5_000;

/// Whether to set the alarm to `wanted`, given the one this instance set last (`current`).
///
/// No alarm ahead, or one later than wanted: set it. One at or before the wanted time is kept
/// (firing early is harmless: the core re-arms), which spares a storage write per gateway
/// frame, until it is within [`MOVE_WITHIN_MS`] of firing: then it moves to the later time. So
/// a stream, whose heartbeat the core puts 15 s after its last frame, moves its alarm about
/// every 10 s and never lets it fire mid-stream (under `wrangler dev` an alarm that fires holds
/// the object for 100 to 400 ms).
pub fn should_set(current: Option<u64>, wanted: u64, now: u64) -> bool {
    match current.filter(|current| *current > now) {
        None => true,
        Some(current) if wanted < current => true,
        Some(current) => wanted > current && current <= now + MOVE_WITHIN_MS,
    }
}

#[cfg(test)]
mod tests {
    use super::should_set;

    #[test]
    fn an_alarm_is_set_when_none_is_ahead_or_the_core_wants_it_sooner() {
        assert!(should_set(None, 20_000, 1_000));
        assert!(should_set(Some(900), 20_000, 1_000), "the set one has fired");
        assert!(should_set(Some(30_000), 20_000, 1_000), "sooner");
        assert!(!should_set(Some(20_000), 20_000, 1_000), "the same");
    }

    #[test]
    fn a_streams_alarm_moves_later_only_when_it_would_fire_soon() {
        // the core wants the alarm 15 s after each frame; the shell set it at 16 s
        assert!(!should_set(Some(16_000), 16_500, 1_500), "wanted later, the set one far ahead: kept");
        assert!(!should_set(Some(16_000), 20_000, 5_000), "11 s ahead: kept (no write per frame)");
        assert!(should_set(Some(16_000), 26_000, 11_000), "within 5 s of firing: moved to 15 s after the last frame");
        // a stream that goes on never reaches its alarm
        let mut set = 16_000;
        for now in (1_000..120_000).step_by(10) {
            assert!(now < set, "the alarm fired mid-stream at {now}");
            if should_set(Some(set), now + 15_000, now) {
                set = now + 15_000;
            }
        }
    }
}
