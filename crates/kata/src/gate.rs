//! Gates and their evidence: running a gate command against the real system, with a timeout, and
//! recording what happened.
//!
//! # Evidence files
//! Each run writes `.kata/evidence/<session>/<phase>/<at_ms>-g<n>.json` (`n` counts the phase's
//! gates from 1; the `tests_pass` stop condition records under the phase name `tests`):
//!
//! ```json
//! { "session_id": "...", "mode": "...", "phase": "verify", "gate": 1,
//!   "command": "cargo test", "expect_exit": 0, "exit_code": 0, "timed_out": false,
//!   "passed": true, "output_tail": "...last 8 KiB of stdout+stderr...", "output_bytes": 12345,
//!   "at_ms": 1732000000000, "duration_ms": 5321,
//!   "git_rev": "abc123...", "git_dirty": false }
//! ```

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use shared_types::kata::{GateResult, KataGate, KataState};

use crate::error::{KataError, Result};
use crate::git;
use crate::layout::{write_atomic, Layout};
use crate::state::now_ms;

/// How much of the output the evidence keeps: the end, where the verdict is.
const TAIL_BYTES: usize = 8 * 1024;

/// One gate run, as written to its evidence file.
#[derive(Debug, Serialize)]
pub struct Evidence {
    pub session_id: String,
    pub mode: String,
    pub phase: String,
    pub gate: usize,
    pub command: String,
    pub expect_exit: i32,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub passed: bool,
    pub output_tail: String,
    pub output_bytes: u64,
    pub at_ms: u64,
    pub duration_ms: u64,
    pub git_rev: Option<String>,
    pub git_dirty: bool,
}

/// Runs `gate` at the repository root and records its evidence for gate number `number` (from 1)
/// of `phase`. Returns the result to store in the state.
pub fn run_and_record(
    layout: &Layout,
    state: &KataState,
    phase: &str,
    number: usize,
    gate: &KataGate,
) -> Result<GateResult> {
    let at_ms = now_ms();
    let started = Instant::now();
    let outcome = run(&layout.root, gate)?;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let passed = !outcome.timed_out && outcome.exit_code == Some(gate.expect_exit);
    let git_rev = git::revision(&layout.root);
    let evidence_rel = Layout::evidence_rel(&state.session_id, phase, at_ms, number);
    let evidence = Evidence {
        session_id: state.session_id.clone(),
        mode: state.mode.clone(),
        phase: phase.to_string(),
        gate: number,
        command: gate.run.clone(),
        expect_exit: gate.expect_exit,
        exit_code: outcome.exit_code,
        timed_out: outcome.timed_out,
        passed,
        output_tail: outcome.tail,
        output_bytes: outcome.bytes,
        at_ms,
        duration_ms,
        git_dirty: git::uncommitted(&layout.root)
            .map(|c| !c.is_empty())
            .unwrap_or(false),
        git_rev: git_rev.clone(),
    };
    let json = serde_json::to_string_pretty(&evidence).map_err(|e| KataError::Io {
        path: evidence_rel.clone().into(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&layout.root.join(&evidence_rel), &(json + "\n"))?;
    Ok(GateResult {
        passed,
        exit_code: outcome.exit_code,
        timed_out: outcome.timed_out,
        at_ms,
        duration_ms,
        git_rev,
        evidence: evidence_rel,
    })
}

/// How a run ended, for people: `exit 1, expected 0`, `timed out after 5 s`, or a signal.
pub fn describe(gate: &KataGate, result: &GateResult) -> String {
    match (result.timed_out, result.exit_code) {
        (true, _) => format!("timed out after {} s", gate.timeout_secs),
        (false, Some(code)) => format!("exit {code}, expected {}", gate.expect_exit),
        (false, None) => "killed by a signal".to_string(),
    }
}

struct Outcome {
    exit_code: Option<i32>,
    timed_out: bool,
    tail: String,
    bytes: u64,
}

/// Runs the command with `sh -c`, stdout and stderr merged, in its own process group so that a
/// timeout kills everything it started.
fn run(root: &Path, gate: &KataGate) -> Result<Outcome> {
    let spawn_error = |source| KataError::GateSpawn {
        command: gate.run.clone(),
        source,
    };
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1\n{}", gate.run))
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(spawn_error)?;
    let output = read_tail(&mut child);
    let deadline = Instant::now() + Duration::from_secs(gate.timeout_secs);
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().map_err(spawn_error)? {
            break (Some(status), false);
        }
        if Instant::now() >= deadline {
            kill_group(&child);
            let _ = child.wait();
            break (None, true);
        }
        thread::sleep(Duration::from_millis(20));
    };
    // A background process the gate left behind may hold the output open: give it a moment,
    // then end the group.
    let (tail, bytes) = match output.recv_timeout(Duration::from_secs(1)) {
        Ok(out) => out,
        Err(_) => {
            kill_group(&child);
            output
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|_| {
                    (
                        "(output unavailable: a process the gate started kept it open)".into(),
                        0,
                    )
                })
        }
    };
    Ok(Outcome {
        exit_code: status.and_then(|s| s.code()),
        timed_out,
        tail,
        bytes,
    })
}

/// Reads the child's output on a thread, keeping the last [`TAIL_BYTES`]; sends (tail, total).
fn read_tail(child: &mut Child) -> mpsc::Receiver<(String, u64)> {
    let (tx, rx) = mpsc::channel();
    let Some(mut stdout) = child.stdout.take() else {
        let _ = tx.send((String::new(), 0));
        return rx;
    };
    thread::spawn(move || {
        let mut kept: Vec<u8> = Vec::new();
        let mut total = 0u64;
        let mut buf = [0u8; 8192];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n as u64;
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > 2 * TAIL_BYTES {
                kept.drain(..kept.len() - TAIL_BYTES);
            }
        }
        let start = kept.len().saturating_sub(TAIL_BYTES);
        let _ = tx.send((String::from_utf8_lossy(&kept[start..]).into_owned(), total));
    });
    rx
}

fn kill_group(child: &Child) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -KILL -{} 2>/dev/null", child.id()))
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(run: &str, timeout_secs: u64) -> KataGate {
        KataGate {
            run: run.into(),
            expect_exit: 0,
            timeout_secs,
            last: None,
        }
    }

    #[test]
    fn output_is_merged_and_the_exit_code_kept() {
        let dir = std::env::temp_dir();
        let out = run(&dir, &gate("echo out; echo err >&2; exit 3", 10)).expect("runs");
        assert_eq!(out.exit_code, Some(3));
        assert!(!out.timed_out);
        assert_eq!(out.tail, "out\nerr\n");
    }

    #[test]
    fn a_timeout_kills_the_whole_group() {
        let dir = std::env::temp_dir();
        let started = Instant::now();
        let out = run(&dir, &gate("sleep 30 & sleep 30", 1)).expect("runs");
        assert!(out.timed_out);
        assert_eq!(out.exit_code, None);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn only_the_tail_of_long_output_is_kept() {
        let dir = std::env::temp_dir();
        let out = run(&dir, &gate("seq 1 20000", 10)).expect("runs");
        assert!(out.tail.len() <= TAIL_BYTES);
        assert!(out.tail.ends_with("19999\n20000\n"));
        assert!(out.bytes > TAIL_BYTES as u64);
    }
}
