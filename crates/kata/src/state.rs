//! Sessions on disk: `.kata/sessions/<session>/state.json`, each a serialised
//! [`KataState`](shared_types::kata::KataState).
//!
//! # The state file
//! `kata enter` creates it from the mode in kata.toml; every command that changes something
//! rewrites it atomically (write, then rename). Its fields, all snake_case, times in ms since the
//! Unix epoch:
//!
//! - `session_id`, `mode`, `issue` (optional), `context`: who and what.
//! - `phase`: the current phase id; `phases[]`: `{id, title, status: pending|active|done, context,
//!   tasks[], gates[], gates_passed, gates_total}`.
//! - `tasks[]`: `{id, title, depends_on[], done, done_at_ms}`.
//! - `gates[]` and `tests`: `{run, expect_exit, timeout_secs, last}` where `last` is the newest run,
//!   `{passed, exit_code, timed_out, at_ms, duration_ms, git_rev, evidence}` and `evidence` is the
//!   path of the full record under `.kata/evidence/`.
//! - `stop_conditions[]`: `tasks_done | tests_pass | committed | evidence`.
//! - `started_at_ms`, `updated_at_ms`, `exited_at_ms` (absent while active).
//!
//! The active session is the newest one without `exited_at_ms`; the gateway shows the newest one
//! of all (`shared_types::kata::scan_states`).

use std::time::{SystemTime, UNIX_EPOCH};

use shared_types::kata::{scan_states, KataPhase, KataState, KataTask, PhaseStatus, StateScan};

use crate::config::{Config, ModeConfig};
use crate::error::{KataError, Result};
use crate::layout::{write_atomic, Layout};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Reads every session's state. A session directory without a readable `state.json` is listed
/// as unreadable.
pub fn scan(layout: &Layout) -> Result<StateScan> {
    let dir = layout.sessions();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StateScan::default()),
        Err(e) => {
            return Err(KataError::Io {
                path: dir,
                source: e,
            })
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(KataError::io(&dir))?;
        if !entry.path().is_dir() {
            continue;
        }
        let path = entry.path().join("state.json");
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string());
        files.push((path.display().to_string(), text));
    }
    let readable = files
        .iter()
        .filter_map(|(p, t)| t.as_ref().ok().map(|t| (p.as_str(), t.as_str())));
    let mut scan = scan_states(readable);
    for (path, text) in &files {
        if let Err(error) = text {
            scan.unreadable.push(shared_types::kata::UnreadableState {
                path: path.clone(),
                error: format!("cannot read it: {error}"),
            });
        }
    }
    Ok(scan)
}

/// The active session, if there is one. Any unreadable state is an error rather than a reason to
/// fall back to an older session.
pub fn find_active(layout: &Layout) -> Result<Option<KataState>> {
    let scan = scan(layout)?;
    if let Some(bad) = scan.unreadable.first() {
        return Err(KataError::StateCorrupt {
            path: bad.path.clone().into(),
            message: bad.error.clone(),
        });
    }
    Ok(scan.newest_active().cloned())
}

/// The active session, for the commands that need one.
pub fn load_active(layout: &Layout) -> Result<KataState> {
    find_active(layout)?.ok_or(KataError::NoSession)
}

/// Stamps `updated_at_ms`, recounts the gates and writes the state.
pub fn save(layout: &Layout, state: &mut KataState) -> Result<()> {
    state.updated_at_ms = now_ms();
    state.phases.iter_mut().for_each(KataPhase::count_gates);
    let json = serde_json::to_string_pretty(state).map_err(|e| KataError::StateCorrupt {
        path: layout.state(&state.session_id),
        message: e.to_string(),
    })?;
    write_atomic(&layout.state(&state.session_id), &(json + "\n"))
}

/// A fresh session of `mode_name`: the mode copied out of the config, its first phase active.
pub fn new_session(
    config: &Config,
    mode_name: &str,
    mode: &ModeConfig,
    issue: Option<u64>,
) -> KataState {
    let now = now_ms();
    let phases: Vec<KataPhase> = mode
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| KataPhase {
            id: p.id.clone(),
            title: p.title.clone(),
            status: if i == 0 {
                PhaseStatus::Active
            } else {
                PhaseStatus::Pending
            },
            tasks: p
                .tasks
                .iter()
                .map(|t| KataTask {
                    id: t.id.clone(),
                    title: t.title.clone(),
                    depends_on: t.depends_on.clone(),
                    done: false,
                    done_at_ms: None,
                })
                .collect(),
            gates_passed: 0,
            gates_total: 0,
            context: p.context.clone(),
            gates: p.gates.iter().map(|g| g.to_gate()).collect(),
        })
        .collect();
    KataState {
        session_id: format!("{mode_name}-{now}"),
        mode: mode_name.to_string(),
        issue,
        phase: phases.first().map(|p| p.id.clone()).unwrap_or_default(),
        phases,
        updated_at_ms: now,
        started_at_ms: now,
        exited_at_ms: None,
        context: mode.context.clone(),
        stop_conditions: mode.stop.clone(),
        tests: config.tests.as_ref().map(|t| Box::new(t.to_gate())),
    }
}
