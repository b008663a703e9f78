//! Each command of the built `kata` binary, on a real temporary git repository.

mod common;

use std::process::Command;

use common::{stdout, Repo};
use serde_json::Value;
use shared_types::kata::{scan_states, PhaseStatus, StopCondition};

#[test]
fn init_writes_the_default_config_once() {
    let repo = Repo::new();
    std::fs::create_dir(repo.path().join("sub")).expect("mkdir");
    let out = Command::new(env!("CARGO_BIN_EXE_kata"))
        .arg("init")
        .current_dir(repo.path().join("sub"))
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let config = repo.read(".kata/kata.toml");
    for mode in [
        "research",
        "planning",
        "implementation",
        "verify",
        "task",
        "freeform",
    ] {
        assert!(
            config.contains(&format!("[modes.{mode}]")),
            "mode {mode} missing"
        );
    }
    assert!(config.contains("run = \"echo 'set [tests] run in .kata/kata.toml' >&2; exit 1\""));
    assert_eq!(repo.read(".kata/.gitignore"), "sessions/\nevidence/\n");
    assert!(repo.fails(&["init"]).contains("already exists"));
    // The default config is usable as written: every mode can be entered.
    repo.ok(&["enter", "freeform"]);
    assert!(repo.ok(&["can-exit"]).contains("yes"));
}

#[test]
fn init_guesses_the_test_command() {
    let repo = Repo::new();
    repo.write("Cargo.toml", "[workspace]\n");
    repo.ok(&["init"]);
    assert!(repo
        .read(".kata/kata.toml")
        .contains("run = \"cargo test\""));
}

#[test]
fn enter_creates_a_state_the_gateway_can_read() {
    let repo = Repo::with_config();
    assert!(repo
        .fails(&["enter", "nope"])
        .contains("no mode named `nope` in .kata/kata.toml (modes: loose, work)"));
    let out = repo.ok(&["enter", "work", "--issue", "6"]);
    assert!(out.contains("entered work mode"), "{out}");
    let state = repo.state();
    assert_eq!(state.mode, "work");
    assert_eq!(state.issue, Some(6));
    assert_eq!(state.phase, "build");
    assert!(state.is_active());
    assert_eq!(state.phases[0].status, PhaseStatus::Active);
    assert_eq!(state.phases[1].status, PhaseStatus::Pending);
    assert_eq!(state.phases[0].gates_total, 1);
    assert_eq!(state.stop_conditions.len(), 4);
    assert_eq!(
        state.tests.as_ref().map(|t| t.run.as_str()),
        Some("test -f tests-pass")
    );

    // The file on disk is the same document, found the way the gateway finds it.
    let path = format!(".kata/sessions/{}/state.json", state.session_id);
    let json = repo.read(&path);
    let scan = scan_states([(path.as_str(), json.as_str())]);
    assert_eq!(scan.newest(), Some(&state));

    let again = repo.fails(&["enter", "loose"]);
    assert!(again.contains("is still active"), "{again}");
    let human = repo.ok(&["status"]);
    assert!(
        human.contains("work mode") && human.contains("issue #6"),
        "{human}"
    );
    assert!(
        human.contains("active  build") && human.contains("gates 0/1"),
        "{human}"
    );
}

#[test]
fn a_task_with_open_dependencies_cannot_be_done() {
    let repo = Repo::with_config();
    repo.ok(&["enter", "work"]);
    let list = repo.ok(&["task", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].starts_with("[ ] first"), "{list}");
    assert!(
        lines[1].starts_with("[-] second") && lines[1].contains("after first"),
        "{list}"
    );
    assert!(
        lines[2].starts_with("[-] ship") && lines[2].contains("not active yet"),
        "{list}"
    );

    let blocked = repo.fails(&["task", "done", "second"]);
    assert!(
        blocked.contains("task `second` depends on open tasks: first"),
        "{blocked}"
    );
    assert!(repo
        .fails(&["task", "done", "ship"])
        .contains("not active yet"));
    assert!(repo
        .fails(&["task", "done", "nope"])
        .contains("no task `nope`"));
    assert!(!repo.state().phases[0].tasks.iter().any(|t| t.done));

    repo.ok(&["task", "done", "first"]);
    repo.ok(&["task", "done", "second"]);
    assert!(repo
        .ok(&["task", "done", "second"])
        .contains("already done"));
    let state = repo.state();
    assert!(state.phases[0]
        .tasks
        .iter()
        .all(|t| t.done && t.done_at_ms.is_some()));
}

#[test]
fn prime_lists_open_tasks_in_dependency_order() {
    let repo = Repo::with_config();
    let idle = repo.ok(&["prime"]);
    assert!(
        idle.contains("no active mode") && idle.contains("loose, work"),
        "{idle}"
    );
    repo.ok(&["enter", "work", "--issue", "6"]);
    let prime = repo.ok(&["prime"]);
    assert!(prime.contains("# kata: work mode"), "{prime}");
    assert!(prime.contains("Work mode for the tests.") && prime.contains("Build phase context."));
    let first = prime.find("1. first").expect("first is listed first");
    let second = prime.find("2. second").expect("second follows");
    let ship = prime.find("3. ship").expect("ship is last");
    assert!(first < second && second < ship, "{prime}");
    assert!(
        prime.contains("`echo checking gate; test -f gate-ok` (expect exit 0): not run yet"),
        "{prime}"
    );
    assert!(
        prime.contains("tasks_done, tests_pass, committed, evidence"),
        "{prime}"
    );
    repo.ok(&["task", "done", "first"]);
    let prime = repo.ok(&["prime"]);
    assert!(
        prime.contains("1. second") && !prime.contains("first —"),
        "{prime}"
    );
}

#[test]
fn a_failing_gate_blocks_advance_and_can_exit_and_leaves_evidence() {
    let repo = Repo::with_config();
    repo.ok(&["enter", "work"]);
    let refused = repo.fails(&["advance"]);
    assert!(refused.contains("open tasks: first, second"), "{refused}");
    repo.ok(&["task", "done", "first"]);
    repo.ok(&["task", "done", "second"]);

    let gate = repo.kata(&["gate"]);
    assert_eq!(gate.status.code(), Some(1), "a failing gate exits 1");
    assert!(
        stdout(&gate).contains("FAIL `echo checking gate; test -f gate-ok` (exit 1, expected 0")
    );
    let refused = repo.fails(&["advance"]);
    assert!(
        refused.contains("cannot advance past phase `build`") && refused.contains("failed (exit 1"),
        "{refused}"
    );
    let state = repo.state();
    assert_eq!(state.phase, "build");
    let last = state.phases[0].gates[0]
        .last
        .clone()
        .expect("the gate result is stored");
    assert!(!last.passed);
    assert_eq!(state.phases[0].gates_passed, 0);

    let evidence: Value =
        serde_json::from_str(&repo.read(&last.evidence)).expect("evidence is JSON");
    assert_eq!(evidence["command"], "echo checking gate; test -f gate-ok");
    assert_eq!(evidence["exit_code"], 1);
    assert_eq!(evidence["expect_exit"], 0);
    assert_eq!(evidence["passed"], false);
    assert_eq!(evidence["timed_out"], false);
    assert_eq!(evidence["output_tail"], "checking gate\n");
    assert_eq!(evidence["phase"], "build");
    assert_eq!(evidence["session_id"], state.session_id.as_str());
    assert!(evidence["duration_ms"].is_u64());
    assert!(evidence["at_ms"]
        .as_u64()
        .is_some_and(|t| t > 1_600_000_000_000));
    let head = repo.git(&["rev-parse", "HEAD"]);
    assert_eq!(evidence["git_rev"], head.trim());

    let can_exit = repo.kata(&["can-exit", "--json"]);
    assert_eq!(can_exit.status.code(), Some(1));
    let verdict: Value = serde_json::from_str(&stdout(&can_exit)).expect("can-exit --json is JSON");
    assert_eq!(verdict["can_exit"], false);
    let reasons = verdict["reasons"].to_string();
    assert!(
        reasons.contains("open tasks ship") && reasons.contains("failed on its last run"),
        "{reasons}"
    );
    assert!(repo.fails(&["exit"]).contains("cannot end yet"));

    repo.write("gate-ok", "");
    let out = repo.ok(&["advance"]);
    assert!(
        out.contains("PASS") && out.contains("now in `ship`"),
        "{out}"
    );
    let state = repo.state();
    assert_eq!(state.phase, "ship");
    assert_eq!(state.phases[0].status, PhaseStatus::Done);
    assert_eq!(state.phases[0].gates_passed, 1);
    assert_eq!(state.phases[1].status, PhaseStatus::Active);
}

#[test]
fn the_whole_flow_ends_only_when_every_stop_condition_holds() {
    let repo = Repo::with_config();
    repo.ok(&["enter", "work"]);
    repo.write("gate-ok", "");
    for task in ["first", "second"] {
        repo.ok(&["task", "done", task]);
    }
    repo.ok(&["advance"]);
    repo.ok(&["task", "done", "ship"]);
    let out = repo.ok(&["advance"]);
    assert!(out.contains("every phase"), "{out}");
    assert!(repo.fails(&["advance"]).contains("every phase is done"));

    let no = repo.fails(&["can-exit"]);
    assert!(
        no.contains("committed: uncommitted changes (?? gate-ok)"),
        "{no}"
    );
    assert!(
        !no.contains(".kata/sessions"),
        "kata's own files do not count: {no}"
    );
    repo.commit_all("work");
    let no = repo.fails(&["can-exit"]);
    assert!(
        no.contains("tests_pass: `test -f tests-pass` failed (exit 1, expected 0)"),
        "{no}"
    );
    let tests = repo
        .state()
        .tests
        .and_then(|t| t.last)
        .expect("the test run is recorded");
    assert!(!tests.passed && tests.evidence.contains("/tests/"));

    repo.write("tests-pass", "");
    repo.commit_all("tests");
    assert!(repo.ok(&["can-exit"]).contains("yes"));
    let state = repo.state();
    assert!(state.tests.and_then(|t| t.last).is_some_and(|r| r.passed));
    assert!(state.stop_conditions.contains(&StopCondition::Evidence));

    let out = repo.ok(&["exit"]);
    assert!(out.contains("exited session"), "{out}");
    assert!(repo.fails(&["status"]).contains("no active kata session"));
    // A new session can start after the old one ended.
    repo.ok(&["enter", "loose"]);
    assert!(repo.ok(&["can-exit"]).contains("yes"));
    repo.ok(&["exit"]);
}

#[test]
fn exit_force_abandons_unmet_conditions() {
    let repo = Repo::with_config();
    repo.ok(&["enter", "work"]);
    repo.fails(&["exit"]);
    repo.ok(&["exit", "--force"]);
    let out = repo.kata(&["can-exit", "--json"]);
    assert!(out.status.success());
    let verdict: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(verdict["can_exit"], true);
    assert_eq!(verdict["session_id"], Value::Null);
}

#[test]
fn a_gate_that_hangs_is_killed_and_recorded_as_timed_out() {
    let repo = Repo::with_config();
    let config = common::TEST_CONFIG.replace(
        r#"gates = [{ run = "echo checking gate; test -f gate-ok", expect_exit = 0, timeout = 30 }]"#,
        r#"gates = [{ run = "sleep 60", expect_exit = 0, timeout = 1 }]"#,
    );
    assert_ne!(config, common::TEST_CONFIG);
    repo.write(".kata/kata.toml", &config);
    repo.ok(&["enter", "work"]);
    let started = std::time::Instant::now();
    let out = repo.kata(&["gate", "build"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(
        stdout(&out).contains("timed out after 1 s"),
        "{}",
        stdout(&out)
    );
    let last = repo.state().phases[0].gates[0]
        .last
        .clone()
        .expect("recorded");
    let evidence: Value = serde_json::from_str(&repo.read(&last.evidence)).expect("JSON");
    assert_eq!(evidence["timed_out"], true);
    assert_eq!(evidence["exit_code"], Value::Null);
    assert!(repo
        .fails(&["gate", "nope"])
        .contains("no phase `nope` in this session (phases: build, ship)"));
}

#[test]
fn corrupt_or_missing_files_give_clear_errors() {
    let bare = Repo::new();
    assert!(bare.fails(&["status"]).contains("no .kata/kata.toml"));
    assert!(bare.fails(&["prime"]).contains("run `kata init`"));

    let repo = Repo::with_config();
    assert!(repo
        .fails(&["status"])
        .contains("no active kata session: start one with `kata enter <mode>`"));
    assert!(repo
        .fails(&["task", "list"])
        .contains("no active kata session"));

    repo.ok(&["enter", "work"]);
    let id = repo.state().session_id;
    let state_path = format!(".kata/sessions/{id}/state.json");
    repo.write(&state_path, "{\"session_id\": 3");
    for args in [
        &["status"][..],
        &["prime"],
        &["task", "done", "first"],
        &["gate"],
        &["can-exit"],
    ] {
        let err = repo.fails(args);
        assert!(
            err.contains("is not a valid kata state") && err.contains(&state_path),
            "{args:?}: {err}"
        );
    }
    let doctor = repo.fails(&["doctor"]);
    assert!(
        doctor.contains("FAIL") && doctor.contains(&state_path),
        "{doctor}"
    );

    std::fs::remove_file(repo.path().join(&state_path)).expect("rm");
    let err = repo.fails(&["status"]);
    assert!(
        err.contains(&state_path) && err.contains("cannot read it"),
        "{err}"
    );

    repo.write(".kata/kata.toml", "[modes.x]\nphases = 3\n");
    let err = repo.fails(&["enter", "x"]);
    assert!(err.contains("is not a valid kata config"), "{err}");
}

#[test]
fn setup_installs_the_hooks_and_doctor_checks_them() {
    let repo = Repo::with_config();
    repo.write(
        ".claude/settings.json",
        r#"{"permissions":{"allow":["Bash(ls)"]}}"#,
    );
    let doctor = repo.fails(&["doctor"]);
    assert!(
        doctor.contains("FAIL Claude Code hooks missing: SessionStart, Stop (`kata setup`)"),
        "{doctor}"
    );
    assert!(repo.ok(&["setup"]).contains("installed"));
    assert!(repo.ok(&["setup"]).contains("already has"));
    let settings: Value = serde_json::from_str(&repo.read(".claude/settings.json")).expect("JSON");
    assert_eq!(settings["permissions"]["allow"][0], "Bash(ls)");
    assert_eq!(
        settings["hooks"]["SessionStart"][0]["hooks"][0]["command"],
        "kata prime"
    );
    assert_eq!(
        settings["hooks"]["Stop"][0]["hooks"][0]["command"],
        "kata can-exit --hook"
    );
    assert_eq!(settings["hooks"]["Stop"].as_array().map(Vec::len), Some(1));
    // The Stop hook may run the tests: it gets their timeout (30 s here) and a margin.
    assert_eq!(settings["hooks"]["Stop"][0]["hooks"][0]["timeout"], 150);
    let doctor = repo.ok(&["doctor"]);
    assert!(!doctor.contains("FAIL"), "{doctor}");
    assert!(
        doctor.contains("ok   Claude Code hooks installed"),
        "{doctor}"
    );

    repo.write(".claude/settings.json", "{broken");
    assert!(repo
        .fails(&["setup"])
        .contains("is not valid JSON settings"));
}

#[test]
fn the_stop_hook_blocks_once_and_never_when_stop_hook_active() {
    let repo = Repo::with_config();
    let input = |active: bool| {
        format!(
            r#"{{"session_id":"abc","transcript_path":"/tmp/t.jsonl","cwd":"{}","hook_event_name":"Stop","stop_hook_active":{active}}}"#,
            repo.path().display()
        )
    };
    // No session: nothing to hold.
    let out = repo.kata_with_stdin(&["can-exit", "--hook"], &input(false));
    assert!(out.status.success() && stdout(&out).is_empty());

    repo.ok(&["enter", "work"]);
    let out = repo.kata_with_stdin(&["can-exit", "--hook"], &input(false));
    assert!(out.status.success());
    let decision: Value = serde_json::from_str(&stdout(&out)).expect("a JSON decision");
    assert_eq!(decision["decision"], "block");
    let reason = decision["reason"].as_str().expect("a reason");
    assert!(
        reason.contains("does not let this session stop yet")
            && reason.contains("open tasks first"),
        "{reason}"
    );

    let out = repo.kata_with_stdin(&["can-exit", "--hook"], &input(true));
    assert!(
        out.status.success() && stdout(&out).is_empty(),
        "stop_hook_active lets it stop"
    );

    let out = repo.kata_with_stdin(&["can-exit", "--hook"], "not json");
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains("hook input on stdin is not valid JSON"));
}

#[test]
fn can_exit_never_runs_a_program_the_repository_configures() {
    let repo = Repo::with_config();
    repo.ok(&["enter", "work"]);
    let marks = tempfile::tempdir().expect("tempdir");
    let mark = marks.path().join("fsmonitor");
    let config = repo.path().join(".git/config");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!("[core]\n\tfsmonitor = \"touch {}\"\n", mark.display()));
    std::fs::write(&config, text).expect("write");
    let plain = std::process::Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(repo.path())
        .output()
        .expect("git");
    assert!(plain.status.success() && mark.exists(), "plain git runs the fsmonitor (the setting is live)");
    std::fs::remove_file(&mark).expect("rm");
    // can-exit reads the uncommitted changes (the `committed` stop condition) with git.
    let _ = repo.kata(&["can-exit", "--json"]);
    assert!(!mark.exists(), "kata's git ran the repository's fsmonitor");
}
