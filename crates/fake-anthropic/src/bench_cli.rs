//! A synthetic Claude Code CLI for the benchmarks (never for tests): it prints stream-json text
//! deltas whose text is the wall-clock time each was printed, so a bench measures the time from
//! a CLI output line to wherever the event arrives (the gateway's WebSocket, a browser), with
//! neither the model nor the real CLI in the figure.
//!
//! A bench re-executes itself as the gateway's `claude` with [`MODE_ENV`] set and calls [`run`].
//! Each user message says `"LINES RATE"`: LINES deltas at RATE per second (0: as fast as it can),
//! then a `result`.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Set in the environment of a bench binary re-executed as the CLI.
pub const MODE_ENV: &str = "DURACLAW_BENCH_CLI";

/// Nanoseconds since the Unix epoch: what each delta carries, and what a reader compares to.
pub fn now_nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// The synthetic CLI's main loop, on stdin and stdout.
pub fn run() {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut turn = 0u64;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { return };
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        if msg["type"] != "user" {
            continue;
        }
        let prompt = msg.pointer("/message/content/0/text").and_then(|t| t.as_str()).unwrap_or("10 10");
        let mut numbers = prompt.split_whitespace().map(|n| n.parse::<u64>().unwrap_or(0));
        let (lines, rate) = (numbers.next().unwrap_or(10), numbers.next().unwrap_or(0));
        let _ = writeln!(out, r#"{{"type":"system","subtype":"init","session_id":"bench"}}"#);
        // each turn its own message, as the real CLI's are
        turn += 1;
        let _ = writeln!(out, r#"{{"type":"stream_event","event":{{"type":"message_start","message":{{"id":"msg_bench_{turn}"}}}}}}"#);
        let start = Instant::now();
        for i in 0..lines {
            if let Some(step) = 1_000_000_000u64.checked_div(rate) {
                let due = start + Duration::from_nanos(i * step);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            let _ = writeln!(
                out,
                r#"{{"type":"stream_event","event":{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"{}"}}}}}}"#,
                now_nanos()
            );
            let _ = out.flush();
        }
        let _ = writeln!(out, r#"{{"type":"result","subtype":"success","is_error":false,"num_turns":1,"total_cost_usd":0,"duration_ms":1}}"#);
        let _ = out.flush();
    }
}
