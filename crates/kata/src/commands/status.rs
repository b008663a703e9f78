//! `kata status [--json]`.

use std::process::ExitCode;

use shared_types::kata::PhaseStatus;

use crate::error::{KataError, Result};
use crate::layout::Layout;
use crate::state;

pub fn run(layout: &Layout, json: bool) -> Result<ExitCode> {
    let session = state::load_active(layout)?;
    if json {
        let text = serde_json::to_string_pretty(&session).map_err(|e| KataError::StateCorrupt {
            path: layout.state(&session.session_id),
            message: e.to_string(),
        })?;
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let issue = session
        .issue
        .map(|n| format!(", issue #{n}"))
        .unwrap_or_default();
    println!(
        "{} mode, session {}{issue}",
        session.mode, session.session_id
    );
    for phase in &session.phases {
        let mark = match phase.status {
            PhaseStatus::Done => "done   ",
            PhaseStatus::Active => "active ",
            PhaseStatus::Pending => "pending",
        };
        let done = phase.tasks.iter().filter(|t| t.done).count();
        println!(
            "  {mark} {:<12} {}  tasks {done}/{}, gates {}/{}",
            phase.id,
            phase.title,
            phase.tasks.len(),
            phase.gates_passed,
            phase.gates_total
        );
    }
    Ok(ExitCode::SUCCESS)
}
