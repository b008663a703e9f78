//! Stop conditions: what must hold before a session may end (`kata can-exit`, `kata exit`, and
//! the Claude Code Stop hook).

use shared_types::kata::{KataState, StopCondition};

use crate::error::Result;
use crate::gate;
use crate::git;
use crate::layout::Layout;
use crate::tasks;

/// The reasons the session cannot end yet; empty when it can. The cheap conditions are checked
/// first; the tests (which run the real test command and record evidence in `state.tests`) run
/// only once they hold.
pub fn unmet(layout: &Layout, state: &mut KataState) -> Result<Vec<String>> {
    let mut reasons = Vec::new();
    for condition in state.stop_conditions.clone() {
        match condition {
            StopCondition::TasksDone => reasons.extend(open_tasks(state)),
            StopCondition::Evidence => reasons.extend(missing_evidence(layout, state)),
            StopCondition::Committed => reasons.extend(uncommitted(layout)?),
            StopCondition::TestsPass => {}
        }
    }
    if state.stop_conditions.contains(&StopCondition::TestsPass) {
        if reasons.is_empty() {
            reasons.extend(run_tests(layout, state)?);
        } else {
            reasons.push("tests_pass: the tests run once the conditions above hold".into());
        }
    }
    Ok(reasons)
}

fn open_tasks(state: &KataState) -> Option<String> {
    let open: Vec<&str> = tasks::in_order(state)
        .into_iter()
        .filter(|(_, t)| !t.done)
        .map(|(_, t)| t.id.as_str())
        .collect();
    (!open.is_empty()).then(|| {
        format!(
            "tasks_done: open tasks {} (`kata task list`, then `kata task done <id>`)",
            open.join(", ")
        )
    })
}

fn missing_evidence(layout: &Layout, state: &KataState) -> Vec<String> {
    let mut reasons = Vec::new();
    for phase in &state.phases {
        for (i, g) in phase.gates.iter().enumerate() {
            let what = format!(
                "evidence: gate {} of phase `{}` (`{}`)",
                i + 1,
                phase.id,
                g.run
            );
            match &g.last {
                None => reasons.push(format!("{what} has not run (`kata gate {}`)", phase.id)),
                Some(r) if !r.passed => {
                    reasons.push(format!("{what} failed on its last run, see {}", r.evidence));
                }
                Some(r) if !layout.root.join(&r.evidence).is_file() => {
                    reasons.push(format!(
                        "{what}: evidence file {} is missing (`kata gate {}`)",
                        r.evidence, phase.id
                    ));
                }
                Some(_) => {}
            }
        }
    }
    reasons
}

fn uncommitted(layout: &Layout) -> Result<Option<String>> {
    let changes = git::uncommitted(&layout.root)?;
    Ok((!changes.is_empty()).then(|| {
        let shown: Vec<&str> = changes.iter().take(5).map(|c| c.trim()).collect();
        let more = changes.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        format!(
            "committed: uncommitted changes ({}{more}): commit them",
            shown.join("; ")
        )
    }))
}

fn run_tests(layout: &Layout, state: &mut KataState) -> Result<Option<String>> {
    let Some(tests) = state.tests.clone() else {
        return Ok(Some(
            "tests_pass: no [tests] command in .kata/kata.toml".into(),
        ));
    };
    let result = gate::run_and_record(layout, state, "tests", 1, &tests)?;
    let reason = (!result.passed).then(|| {
        format!(
            "tests_pass: `{}` failed ({}); see {}",
            tests.run,
            gate::describe(&tests, &result),
            result.evidence
        )
    });
    if let Some(tests) = state.tests.as_mut() {
        tests.last = Some(result);
    }
    Ok(reason)
}
