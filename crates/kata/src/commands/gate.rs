//! `kata gate [phase]` and `kata advance`: running gates, and closing a phase on them.

use std::process::ExitCode;

use shared_types::kata::{KataState, PhaseStatus};

use crate::error::{KataError, Result};
use crate::gate;
use crate::layout::Layout;
use crate::state;
use crate::tasks;

pub fn run(layout: &Layout, phase: Option<&str>) -> Result<ExitCode> {
    let mut session = state::load_active(layout)?;
    let index = phase_index(&session, phase.unwrap_or(&session.phase))?;
    let failed = run_gates(layout, &mut session, index)?;
    state::save(layout, &mut session)?;
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub fn advance(layout: &Layout) -> Result<ExitCode> {
    let mut session = state::load_active(layout)?;
    let index = phase_index(&session, &session.phase.clone())?;
    if session.phases[index].status == PhaseStatus::Done {
        return Err(KataError::NothingToAdvance);
    }
    let phase_id = session.phases[index].id.clone();
    let open: Vec<&str> = tasks::in_order(&session)
        .into_iter()
        .filter(|(phase, task)| phase.id == phase_id && !task.done)
        .map(|(_, task)| task.id.as_str())
        .collect();
    if !open.is_empty() {
        return Err(KataError::AdvanceRefused {
            phase: phase_id,
            reasons: vec![format!(
                "open tasks: {} (the gates run once they are done)",
                open.join(", ")
            )],
        });
    }
    let failed = run_gates(layout, &mut session, index)?;
    if !failed.is_empty() {
        state::save(layout, &mut session)?;
        return Err(KataError::AdvanceRefused {
            phase: phase_id,
            reasons: failed,
        });
    }
    session.phases[index].status = PhaseStatus::Done;
    match session.phases.get_mut(index + 1) {
        Some(next) => {
            next.status = PhaseStatus::Active;
            session.phase = next.id.clone();
            println!(
                "phase `{phase_id}` done; now in `{}`: {}",
                next.id, next.title
            );
        }
        None => println!(
            "phase `{phase_id}` done, and with it every phase: `kata can-exit`, then `kata exit`"
        ),
    }
    state::save(layout, &mut session)?;
    Ok(ExitCode::SUCCESS)
}

fn phase_index(session: &KataState, id: &str) -> Result<usize> {
    session
        .phases
        .iter()
        .position(|p| p.id == id)
        .ok_or_else(|| KataError::UnknownPhase {
            id: id.to_string(),
            known: session
                .phases
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Runs every gate of phase `index`, storing each result; prints one line per gate and returns
/// a reason for each failure.
fn run_gates(layout: &Layout, session: &mut KataState, index: usize) -> Result<Vec<String>> {
    let phase_id = session.phases[index].id.clone();
    if session.phases[index].gates.is_empty() {
        println!("phase `{phase_id}` has no gates");
    }
    let mut failed = Vec::new();
    for number in 1..=session.phases[index].gates.len() {
        let gate = session.phases[index].gates[number - 1].clone();
        let result = gate::run_and_record(layout, session, &phase_id, number, &gate)?;
        let verdict = if result.passed { "PASS" } else { "FAIL" };
        let how = gate::describe(&gate, &result);
        println!(
            "{verdict} `{}` ({how}, {} ms) evidence: {}",
            gate.run, result.duration_ms, result.evidence
        );
        if !result.passed {
            failed.push(format!(
                "gate `{}` failed ({how}); see {}",
                gate.run, result.evidence
            ));
        }
        session.phases[index].gates[number - 1].last = Some(result);
    }
    Ok(failed)
}
