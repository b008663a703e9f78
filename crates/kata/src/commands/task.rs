//! `kata task list` and `kata task done <id>`.

use std::process::ExitCode;

use shared_types::kata::{KataState, PhaseStatus};

use crate::error::Result;
use crate::layout::Layout;
use crate::state;
use crate::tasks;

pub fn list(layout: &Layout) -> Result<ExitCode> {
    let session = state::load_active(layout)?;
    for line in task_lines(&session) {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn done(layout: &Layout, id: &str) -> Result<ExitCode> {
    let mut session = state::load_active(layout)?;
    if tasks::mark_done(&mut session, id, state::now_ms())? {
        state::save(layout, &mut session)?;
        println!("done: {id}");
    } else {
        println!("{id} was already done");
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per task, in dependency order: `[x]` done, `[ ]` ready, `[-]` waiting (on open
/// dependencies or a phase not yet active).
pub fn task_lines(session: &KataState) -> Vec<String> {
    tasks::in_order(session)
        .into_iter()
        .map(|(phase, task)| {
            let open = tasks::open_dependencies(session, task);
            let (mark, note) = if task.done {
                ("[x]", String::new())
            } else if phase.status == PhaseStatus::Pending {
                ("[-]", format!(" (phase `{}` not active yet)", phase.id))
            } else if !open.is_empty() {
                ("[-]", format!(" (after {})", open.join(", ")))
            } else {
                ("[ ]", String::new())
            };
            format!(
                "{mark} {:<16} {}  [{}]{note}",
                task.id, task.title, phase.id
            )
        })
        .collect()
}
