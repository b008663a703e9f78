//! The session bench, on the real stack (wrangler dev + SessionDO + cc-gateway + runner):
//! `cargo run -p e2e --release --bin bench` (after scripts/build-wasm.sh, with wrangler on PATH).
//!
//! The gateway's `claude` is this binary re-executed (`DURACLAW_BENCH_CLI=1`): a synthetic CLI
//! that prints N stream-json text deltas at a given rate, each delta's text being the wall-clock
//! time it was printed. So a browser measures the one-way latency of each event from the moment
//! the CLI emitted it, through the runner, the gateway, the DO (SQLite insert, ack, broadcast)
//! and the browser socket. Prints:
//! - latency p50/p99 at 100 and 1,000 events/s (one browser);
//! - the highest rate one session sustained to 10 browsers with none lost (each browser got
//!   every seq exactly once), stepping the rate up;
//! - the time from a token leaving the CLI to its text drawn in a real Chromium on the dashboard;
//! - the Worker bundle's gzipped size.
//!
//! The ten browsers read at once (as real ones do), each on its own socket.
//!
//! `DURACLAW_BENCH_WHERE=1` also prints where in each turn the events over 50 ms were (a stall
//! at one moment, or queuing throughout), the slowest runs of events by seq (to line up with
//! the DO's and the gateway's logs) and when the first and the last browser had each turn.
//! `DURACLAW_BENCH_PARTS=latency,fanout,chromium` runs only the parts named;
//! `DURACLAW_BENCH_LOGS=DIR` keeps the stack's logs (workerd's console lines, the gateway's) in DIR.

use std::time::Instant;

use e2e::browser::Browser;
use e2e::stack::{Options, Stack};
use shared_types::fold::Item;
use shared_types::{ClientCommand, ContentBlock, Delta, GatewayEvent};

use fake_anthropic::bench_cli::{self, now_nanos, MODE_ENV as CLI_MODE};


fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn results(b: &Browser) -> usize {
    b.sync.transcript().items.iter().filter(|i| matches!(i, Item::Result { .. })).count()
}

/// One turn of `lines` deltas at `rate`/s seen by every browser; returns the latencies (us) of
/// the first browser, and whether every browser got every seq exactly once.
async fn turn(browsers: &mut [Browser], turn_no: usize, lines: u64, rate: u64) -> (Vec<u64>, bool, f64) {
    let start_events: Vec<usize> = browsers.iter().map(|b| b.events.len()).collect();
    let prompt = format!("{lines} {rate}");
    browsers[0]
        .command(ClientCommand::Message { client_id: format!("bench-{turn_no}"), content: vec![ContentBlock::text(prompt)] })
        .await;
    let started = Instant::now();
    // Every browser reads at once, as real ones do (read one after another, the later ones'
    // frames waited in their sockets and were counted as late as the bench got to them).
    let done = futures_util::future::join_all(browsers.iter_mut().map(|b| async move {
        b.until("the bench turn's result", |b| results(b) >= turn_no).await;
        started.elapsed().as_secs_f64()
    }))
    .await;
    let seconds = started.elapsed().as_secs_f64();
    if std::env::var_os("DURACLAW_BENCH_WHERE").is_some() && browsers.len() > 1 {
        println!("    (the first browser had the turn after {:.2} s, the last of {} after {seconds:.2} s)", done[0], browsers.len());
    }
    let mut latencies = Vec::new();
    let first = &browsers[0];
    for (e, at) in first.events[start_events[0]..].iter().zip(&first.arrivals[start_events[0]..]) {
        if let GatewayEvent::MessageDelta { content: Delta::Text { text, .. }, .. } = &e.event {
            let sent: u128 = text.parse().unwrap_or(0);
            let arrived = now_nanos() - at.elapsed().as_nanos();
            latencies.push((arrived.saturating_sub(sent) / 1000) as u64);
        }
    }
    if std::env::var_os("DURACLAW_BENCH_WHERE").is_some() {
        // where in the turn the slow events were (to tell a start-up stall from steady queuing)
        let slow: Vec<usize> = latencies.iter().enumerate().filter(|(_, l)| **l > 50_000).map(|(i, _)| i).collect();
        if let (Some(first), Some(last)) = (slow.first(), slow.last()) {
            let tenth = latencies.len().div_ceil(10).max(1);
            let per_tenth: Vec<usize> = (0..10).map(|t| slow.iter().filter(|i| **i / tenth == t).count()).collect();
            println!("    ({} of {} events over 50 ms, from #{first} to #{last}; per tenth of the turn: {per_tenth:?})", slow.len(), latencies.len());
        }
        // the slowest stretches: each run of events over 20 ms, by seq, with the worst latency in it
        // (to line up with the DO's and the gateway's logs)
        let seqs: Vec<u64> = first.events[start_events[0]..]
            .iter()
            .filter(|e| matches!(e.event, GatewayEvent::MessageDelta { .. }))
            .map(|e| e.seq)
            .collect();
        let mut runs: Vec<(u64, u64, u64)> = Vec::new();
        for (seq, lat) in seqs.iter().zip(&latencies).filter(|(_, l)| **l > 20_000) {
            match runs.last_mut() {
                Some((_, to, worst)) if *to + 1 == *seq => {
                    *to = *seq;
                    *worst = (*worst).max(*lat);
                }
                _ => runs.push((*seq, *seq, *lat)),
            }
        }
        runs.sort_by_key(|r| std::cmp::Reverse(r.2));
        for (from, to, worst) in runs.iter().take(8) {
            println!("    slow: seq {from}..={to}, worst {:.1} ms", *worst as f64 / 1000.0);
        }
    }
    latencies.sort_unstable();
    // None lost: each browser got this turn's events as one contiguous run of seqs (no gap, no
    // repeat) right after what it held, and every delta of the turn.
    let whole = browsers.iter().zip(&start_events).all(|(b, &from)| {
        let seqs: Vec<u64> = b.events[from..].iter().map(|e| e.seq).collect();
        let deltas = b.events[from..].iter().filter(|e| matches!(e.event, GatewayEvent::MessageDelta { .. })).count() as u64;
        let contiguous = seqs.windows(2).all(|w| w[1] == w[0] + 1);
        let after_held = from == 0 || seqs.first().is_none_or(|s| *s == b.events[from - 1].seq + 1);
        contiguous && after_held && deltas == lines && b.sync.duplicates() == 0
    });
    (latencies, whole, seconds)
}

/// The time from a token leaving the CLI to its text drawn in Chromium: the dashboard open on
/// the session in a real Chromium (`browser/token-latency.mjs`), a turn of 1,000 tokens at
/// 100/s while the ten clients stay connected.
async fn token_to_chromium(browsers: &mut [Browser], stack: &Stack, id: &str, cookie: &str, turn_no: usize) {
    use tokio::io::AsyncBufReadExt;
    let tokens = 1_000u64;
    let script = e2e::repo_root().join("crates/e2e/browser/token-latency.mjs");
    let mut child = match tokio::process::Command::new("node")
        .arg(&script)
        .env("DURACLAW_STACK_URL", format!("http://127.0.0.1:{}", stack.worker_port))
        .env("DURACLAW_BENCH_COOKIE", cookie)
        .env("DURACLAW_BENCH_SESSION", id)
        .env("DURACLAW_BENCH_TOKENS", tokens.to_string())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return println!("token -> Chromium: not measured (node: {e})"),
    };
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("piped")).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(90), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line == "ready" {
                return true;
            }
        }
        false
    });
    if !ready.await.unwrap_or(false) {
        return println!("token -> Chromium: not measured (the page did not open; see the script's stderr)");
    }
    browsers[0]
        .command(ClientCommand::Message { client_id: format!("bench-{turn_no}"), content: vec![ContentBlock::text(format!("{tokens} 100"))] })
        .await;
    for b in browsers.iter_mut() {
        b.until("the token turn's result", |b| results(b) >= turn_no).await;
    }
    match tokio::time::timeout(std::time::Duration::from_secs(120), lines.next_line()).await {
        Ok(Ok(Some(line))) => println!("{line}"),
        _ => println!("token -> Chromium: not measured (no figures from the page)"),
    }
    let _ = child.wait().await;
}

#[tokio::main]
async fn main() {
    if std::env::var_os(CLI_MODE).is_some() {
        bench_cli::run();
        return;
    }
    // The runner starts `claude` with the gateway's environment: the mode flag reaches it.
    std::env::set_var(CLI_MODE, "1");
    let me = std::env::current_exe().expect("this binary");
    let stack = Stack::start(Options { claude_override: Some(me), ..Options::default() }).await;
    let mut api = stack.api();
    api.signup("bench").await;
    let cookie = api.cookie.clone().expect("cookie");
    let id = api.create_session("demo", "10 100").await;
    let mut one = vec![Browser::open(stack.worker_port, &id, &cookie).await];
    one[0].until("the warm-up turn", |b| results(b) >= 1).await;
    let mut turn_no = 1;
    // DURACLAW_BENCH_PARTS: a comma list of latency, fanout, chromium (default: all of them)
    let parts = std::env::var("DURACLAW_BENCH_PARTS").unwrap_or_else(|_| "latency,fanout,chromium".into());
    let part = |name: &str| parts.split(',').any(|p| p.trim() == name);
    if part("latency") {
        println!("one-way latency, CLI stdout -> runner -> gateway -> SessionDO -> browser (1 browser):");
        for (rate, lines) in [(100u64, 1_000u64), (1_000, 5_000)] {
            turn_no += 1;
            let (lat, whole, secs) = turn(&mut one, turn_no, lines, rate).await;
            println!(
                "  {rate:>5} events/s: {} events in {secs:.1} s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, all delivered once: {whole}",
                lat.len(),
                percentile(&lat, 0.5) as f64 / 1000.0,
                percentile(&lat, 0.99) as f64 / 1000.0,
                lat.last().copied().unwrap_or(0) as f64 / 1000.0
            );
        }
    }
    let cursor_events = one.pop().expect("browser").close().await;
    drop(cursor_events);
    let mut ten = Vec::new();
    for _ in 0..10 {
        if !(part("fanout") || part("chromium")) {
            break;
        }
        ten.push(Browser::open(stack.worker_port, &id, &cookie).await);
    }
    for b in ten.iter_mut() {
        b.until("the replay", |b| results(b) >= turn_no).await;
    }
    if part("fanout") {
        println!("fan-out to 10 browsers (rate the CLI emits; sustained = none lost and at least 90% of the rate delivered):");
        let (mut best, mut most_delivered) = (0, 0.0f64);
        let mut stopped = false;
        for rate in [100u64, 250, 500, 1_000, 2_500, 5_000, 10_000] {
            if stopped {
                println!("  {rate:>5} events/s x 10: not tried (a lower rate was not sustained)");
                continue;
            }
            turn_no += 1;
            let lines = rate * 3;
            let frames_before = ten[0].frames;
            let (lat, whole, secs) = turn(&mut ten, turn_no, lines, rate).await;
            let frames = ten[0].frames - frames_before;
            let achieved = lines as f64 / secs;
            let sustained = whole && achieved >= 0.9 * rate as f64;
            if whole {
                most_delivered = most_delivered.max(achieved);
            }
            println!(
                "  {rate:>5} events/s x 10: {achieved:>7.0} events/s delivered, p50 {:.2} ms, p99 {:.2} ms, {:.1} events per frame, none lost: {whole}, sustained: {sustained}",
                percentile(&lat, 0.5) as f64 / 1000.0,
                percentile(&lat, 0.99) as f64 / 1000.0,
                lat.len() as f64 / frames.max(1) as f64,
            );
            if sustained {
                best = rate;
            } else {
                stopped = true;
            }
        }
        println!("most events/s one session sustained to 10 browsers with none lost: {best} (the most delivered with none lost: {most_delivered:.0} events/s)");
    }
    if part("chromium") {
        turn_no += 1;
        token_to_chromium(&mut ten, &stack, &id, &cookie, turn_no).await;
    }
    if let Some(dir) = std::env::var_os("DURACLAW_BENCH_LOGS") {
        // the stack's logs (workerd's console lines, the gateway's), kept after the stack is gone
        let dir = std::path::PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        for name in ["wrangler", "gateway"] {
            let _ = std::fs::copy(stack.log(name), dir.join(format!("{name}.log")));
        }
    }
    let wasm = e2e::repo_root().join("build/index_bg.wasm");
    let js = e2e::repo_root().join("build/index.js");
    let gz = |p: &std::path::Path| -> u64 {
        let out = std::process::Command::new("gzip").args(["-9", "-n", "-c"]).arg(p).output().expect("gzip");
        out.stdout.len() as u64
    };
    println!(
        "Worker bundle: index_bg.wasm {:.1} KB gzipped, index.js {:.1} KB gzipped",
        gz(&wasm) as f64 / 1024.0,
        gz(&js) as f64 / 1024.0
    );
}
