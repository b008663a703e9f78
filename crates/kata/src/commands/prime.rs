//! `kata prime`: the context Claude Code starts with (the SessionStart hook prints it into the
//! session), so that it and the subagents it starts work through the open tasks in order.

use std::process::ExitCode;

use shared_types::kata::{KataState, PhaseStatus, StopCondition};

use crate::config::Config;
use crate::error::Result;
use crate::layout::Layout;
use crate::state;
use crate::tasks;

pub fn run(layout: &Layout) -> Result<ExitCode> {
    match state::find_active(layout)? {
        Some(session) => print!("{}", prime_text(&session)),
        None => {
            let config = Config::load(&layout.config())?;
            let modes: Vec<&str> = config.modes.keys().map(String::as_str).collect();
            println!(
                "kata: no active mode in this repository. To work in phases with verification gates, run `kata enter <mode>` (modes: {}).",
                modes.join(", ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The mode's context, the current phase, the open tasks in dependency order, the phase's gates
/// and what must hold before stopping.
pub fn prime_text(session: &KataState) -> String {
    let mut out = String::new();
    let issue = session
        .issue
        .map(|n| format!(", issue #{n}"))
        .unwrap_or_default();
    out += &format!(
        "# kata: {} mode (session {}{issue})\n",
        session.mode, session.session_id
    );
    if !session.context.is_empty() {
        out += &format!("{}\n", session.context);
    }
    let position = session
        .phases
        .iter()
        .position(|p| p.id == session.phase)
        .map_or(0, |i| i + 1);
    if let Some(phase) = session.current_phase() {
        out += &format!(
            "\n## Phase {position}/{}: {} ({}{})\n",
            session.phases.len(),
            phase.title,
            phase.id,
            if phase.status == PhaseStatus::Done {
                ", done"
            } else {
                ""
            }
        );
        if !phase.context.is_empty() {
            out += &format!("{}\n", phase.context);
        }
    }
    let open: Vec<_> = tasks::in_order(session)
        .into_iter()
        .filter(|(_, t)| !t.done)
        .collect();
    if open.is_empty() {
        out += "\nNo open tasks.\n";
    } else {
        out += "\n## Open tasks, in dependency order (work through them in this order; `kata task done <id>` after each)\n";
        for (n, (phase, task)) in open.iter().enumerate() {
            out += &format!(
                "{}. {} — {} [phase {}]",
                n + 1,
                task.id,
                task.title,
                phase.id
            );
            let deps = tasks::open_dependencies(session, task);
            if !deps.is_empty() {
                out += &format!(" (after {})", deps.join(", "));
            }
            out += "\n";
        }
    }
    if let Some(phase) = session.current_phase().filter(|p| !p.gates.is_empty()) {
        out += "\n## Gates of this phase (`kata gate` runs them; `kata advance` closes the phase when they pass)\n";
        for gate in &phase.gates {
            let last = match &gate.last {
                None => "not run yet".to_string(),
                Some(r) if r.passed => "passed on its last run".to_string(),
                Some(r) => format!("FAILED on its last run, see {}", r.evidence),
            };
            out += &format!(
                "- `{}` (expect exit {}): {last}\n",
                gate.run, gate.expect_exit
            );
        }
    }
    if !session.stop_conditions.is_empty() {
        let names: Vec<&str> = session
            .stop_conditions
            .iter()
            .map(|c| StopCondition::name(*c))
            .collect();
        out += &format!(
            "\nBefore stopping, these must hold (`kata can-exit` checks them): {}.\n",
            names.join(", ")
        );
    }
    out
}
