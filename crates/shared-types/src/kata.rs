//! The kata state schema: what `kata` writes to `.kata/sessions/<id>/state.json` and what the
//! gateway (`GET /projects/:name/kata-status?worktree=`) and the dashboard read. The kata CLI owns
//! the file; this is its documented shape, and the file IS a serialised [`KataState`].
//!
//! A state is self-contained: `kata enter` copies the mode's phases, tasks, gates, stop conditions
//! and test command out of `.kata/kata.toml`, so a reader needs nothing else to show it. Every
//! timestamp is milliseconds since the Unix epoch. Fields are only ever added (with defaults), so
//! an older state file still reads.
//!
//! To find the state to show for a worktree, read every `.kata/sessions/*/state.json` and hand the
//! `(path, json)` pairs to [`scan_states`]; [`StateScan::newest`] is the one to show. This module
//! does no I/O.

use serde::{Deserialize, Serialize};

/// One kata session's state, as stored in `state.json` and shown per worktree by the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KataState {
    /// The kata session id (the directory name under `.kata/sessions/`).
    pub session_id: String,
    /// The mode entered (`research`, `planning`, `implementation`, `verify`, `task`, `freeform`).
    pub mode: String,
    /// The issue this work is for, if `kata enter --issue N` named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<u64>,
    /// The id of the current phase (the last one once every phase is done).
    pub phase: String,
    /// Every phase of the mode, in order.
    #[serde(default)]
    pub phases: Vec<KataPhase>,
    /// Milliseconds since the Unix epoch of the last change.
    pub updated_at_ms: u64,
    /// When `kata enter` started this session.
    #[serde(default)]
    pub started_at_ms: u64,
    /// When `kata exit` ended it; `None` while the session is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exited_at_ms: Option<u64>,
    /// What the mode is for and how to work in it: the text `kata prime` opens with.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
    /// What `kata can-exit` checks before the session may end.
    #[serde(default)]
    pub stop_conditions: Vec<StopCondition>,
    /// The repository's test command, run by the `tests_pass` stop condition. Boxed to keep
    /// `GatewayEvent::Kata` (which carries a whole state) small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<Box<KataGate>>,
}

impl KataState {
    /// A session is active from `kata enter` until `kata exit`.
    pub fn is_active(&self) -> bool {
        self.exited_at_ms.is_none()
    }

    /// The phase `phase` names.
    pub fn current_phase(&self) -> Option<&KataPhase> {
        self.phases.iter().find(|p| p.id == self.phase)
    }
}

/// A phase and how far its tasks and gates have got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KataPhase {
    pub id: String,
    pub title: String,
    pub status: PhaseStatus,
    #[serde(default)]
    pub tasks: Vec<KataTask>,
    /// How many of `gates` passed on their last run.
    pub gates_passed: u32,
    /// `gates.len()`.
    pub gates_total: u32,
    /// What this phase is for, printed by `kata prime` while it is active.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
    /// The commands that must pass against the real system before the phase closes.
    #[serde(default)]
    pub gates: Vec<KataGate>,
}

impl KataPhase {
    /// Recomputes `gates_passed` and `gates_total` from `gates`.
    pub fn count_gates(&mut self) {
        self.gates_total = count(self.gates.len());
        self.gates_passed = count(self.gates.iter().filter(|g| g.passed()).count());
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Where a phase stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    Pending,
    Active,
    Done,
}

/// A task of a phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KataTask {
    /// Unique within the mode.
    pub id: String,
    pub title: String,
    /// Ids of tasks (of this phase or an earlier one) that must be done first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    pub done: bool,
    /// When `kata task done` closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at_ms: Option<u64>,
}

/// A verification gate: a shell command run in the repository root against the real system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KataGate {
    /// The command, run with `sh -c`.
    pub run: String,
    /// The exit code that counts as a pass.
    pub expect_exit: i32,
    /// Killed (and failed) after this many seconds.
    pub timeout_secs: u64,
    /// The outcome of the newest run; `None` until the gate has run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<GateResult>,
}

impl KataGate {
    /// Whether the newest run passed.
    pub fn passed(&self) -> bool {
        self.last.as_ref().is_some_and(|r| r.passed)
    }
}

/// The outcome of one gate run; the full record is the evidence file it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    pub passed: bool,
    /// `None` when the command was killed (timeout or signal).
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// When the run started.
    pub at_ms: u64,
    pub duration_ms: u64,
    /// `git rev-parse HEAD` at the time (`None` before the first commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_rev: Option<String>,
    /// The evidence file, relative to the repository root (`.kata/evidence/...json`).
    pub evidence: String,
}

/// A condition `kata can-exit` checks before a session of the mode may end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCondition {
    /// Every task of every phase of the mode is done.
    TasksDone,
    /// The repository's test command (`[tests]` in kata.toml) passes now.
    TestsPass,
    /// The work tree has no uncommitted change (outside `.kata/sessions` and `.kata/evidence`).
    Committed,
    /// Every gate of every phase has a passing run with its evidence file present.
    Evidence,
}

impl StopCondition {
    /// The name used in kata.toml and state.json.
    pub fn name(self) -> &'static str {
        match self {
            StopCondition::TasksDone => "tasks_done",
            StopCondition::TestsPass => "tests_pass",
            StopCondition::Committed => "committed",
            StopCondition::Evidence => "evidence",
        }
    }
}

/// The state files of one worktree, parsed: readable states newest first, and the ones that
/// could not be read, so the caller can report them instead of silently showing an older state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateScan {
    /// Newest first: by `updated_at_ms`, then by `session_id`.
    pub states: Vec<KataState>,
    pub unreadable: Vec<UnreadableState>,
}

/// A `state.json` that is not a valid [`KataState`].
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableState {
    pub path: String,
    pub error: String,
}

impl StateScan {
    /// The most recently changed session, active or not: what the dashboard shows.
    pub fn newest(&self) -> Option<&KataState> {
        self.states.first()
    }

    /// The most recently changed session that has not exited: the one `kata` works on.
    pub fn newest_active(&self) -> Option<&KataState> {
        self.states.iter().find(|s| s.is_active())
    }
}

/// Parses `(path, json)` pairs of `.kata/sessions/*/state.json` files (read by the caller) and
/// orders them newest first.
pub fn scan_states<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> StateScan {
    let mut scan = StateScan::default();
    for (path, json) in files {
        match serde_json::from_str::<KataState>(json) {
            Ok(state) => scan.states.push(state),
            Err(e) => scan.unreadable.push(UnreadableState {
                path: path.to_string(),
                error: e.to_string(),
            }),
        }
    }
    scan.states
        .sort_by(|a, b| (b.updated_at_ms, &b.session_id).cmp(&(a.updated_at_ms, &a.session_id)));
    scan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: &str, updated: u64, exited: Option<u64>) -> String {
        serde_json::json!({
            "session_id": id, "mode": "task", "phase": "do", "phases": [],
            "updated_at_ms": updated, "exited_at_ms": exited,
        })
        .to_string()
    }

    #[test]
    fn scan_orders_newest_first_and_reports_unreadable_files() {
        let (a, b, c) = (
            state("a", 10, None),
            state("b", 30, Some(30)),
            state("c", 20, None),
        );
        let scan = scan_states([
            ("s/a/state.json", a.as_str()),
            ("s/bad/state.json", "{not json"),
            ("s/b/state.json", b.as_str()),
            ("s/c/state.json", c.as_str()),
        ]);
        let ids: Vec<&str> = scan.states.iter().map(|s| s.session_id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
        assert_eq!(scan.newest().map(|s| s.session_id.as_str()), Some("b"));
        assert_eq!(
            scan.newest_active().map(|s| s.session_id.as_str()),
            Some("c")
        );
        assert_eq!(scan.unreadable.len(), 1);
        assert_eq!(scan.unreadable[0].path, "s/bad/state.json");
    }

    #[test]
    fn a_state_without_the_newer_fields_still_reads() {
        let old = r#"{"session_id":"x","mode":"task","phase":"do","updated_at_ms":1,
            "phases":[{"id":"do","title":"Do","status":"active","gates_passed":0,"gates_total":0,
            "tasks":[{"id":"t","title":"T","done":false}]}]}"#;
        let s: KataState = serde_json::from_str(old).expect("old state parses");
        assert!(s.is_active());
        assert_eq!(s.current_phase().map(|p| p.tasks.len()), Some(1));
        assert!(s.stop_conditions.is_empty());
    }

    #[test]
    fn gate_counts_follow_the_last_runs() {
        let result = |passed| GateResult {
            passed,
            exit_code: Some(0),
            timed_out: false,
            at_ms: 1,
            duration_ms: 1,
            git_rev: None,
            evidence: "e.json".into(),
        };
        let gate = |last| KataGate {
            run: "true".into(),
            expect_exit: 0,
            timeout_secs: 5,
            last,
        };
        let mut phase = KataPhase {
            id: "p".into(),
            title: "P".into(),
            status: PhaseStatus::Active,
            tasks: vec![],
            gates_passed: 9,
            gates_total: 9,
            context: String::new(),
            gates: vec![
                gate(Some(result(true))),
                gate(Some(result(false))),
                gate(None),
            ],
        };
        phase.count_gates();
        assert_eq!((phase.gates_passed, phase.gates_total), (1, 3));
        assert_eq!(StopCondition::TestsPass.name(), "tests_pass");
        let json = serde_json::to_value(StopCondition::TasksDone).expect("serialises");
        assert_eq!(json, "tasks_done");
    }
}
