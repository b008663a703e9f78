//! Tasks and their dependencies: the order to work in, and what may be closed.

use shared_types::kata::{KataPhase, KataState, KataTask, PhaseStatus};

use crate::error::{KataError, Result};

/// Every task of the session with its phase, phases in order and, within a phase, each task after
/// its dependencies (config order where they do not constrain it). Dependencies only point to the
/// same or an earlier phase, so this is a dependency order of the whole mode.
pub fn in_order(state: &KataState) -> Vec<(&KataPhase, &KataTask)> {
    let mut ordered = Vec::new();
    for phase in &state.phases {
        let mut placed: Vec<&str> = Vec::new();
        while placed.len() < phase.tasks.len() {
            let next = phase.tasks.iter().find(|t| {
                !placed.contains(&t.id.as_str())
                    && t.depends_on
                        .iter()
                        .all(|d| placed.contains(&d.as_str()) || !in_phase(phase, d))
            });
            // Config validation rules out cycles; should a hand-edited state have one, the rest
            // of the phase follows in file order rather than being dropped.
            let Some(task) = next.or_else(|| {
                phase
                    .tasks
                    .iter()
                    .find(|t| !placed.contains(&t.id.as_str()))
            }) else {
                break;
            };
            placed.push(&task.id);
            ordered.push((phase, task));
        }
    }
    ordered
}

fn in_phase(phase: &KataPhase, id: &str) -> bool {
    phase.tasks.iter().any(|t| t.id == id)
}

/// The ids among `task`'s dependencies that are not done yet.
pub fn open_dependencies<'a>(state: &'a KataState, task: &'a KataTask) -> Vec<&'a str> {
    task.depends_on
        .iter()
        .map(String::as_str)
        .filter(|dep| !find(state, dep).is_some_and(|(_, t)| t.done))
        .collect()
}

fn find<'a>(state: &'a KataState, id: &str) -> Option<(&'a KataPhase, &'a KataTask)> {
    state
        .phases
        .iter()
        .find_map(|p| p.tasks.iter().find(|t| t.id == id).map(|t| (p, t)))
}

/// Marks task `id` done at `now_ms`: refused for an unknown task, a task whose phase has not
/// started, or one with open dependencies. Returns whether it was open before.
pub fn mark_done(state: &mut KataState, id: &str, now_ms: u64) -> Result<bool> {
    let (phase, task) =
        find(state, id).ok_or_else(|| KataError::UnknownTask { id: id.to_string() })?;
    if phase.status == PhaseStatus::Pending {
        return Err(KataError::TaskNotStarted {
            id: id.to_string(),
            phase: phase.id.clone(),
        });
    }
    let open = open_dependencies(state, task);
    if !open.is_empty() {
        return Err(KataError::TaskBlocked {
            id: id.to_string(),
            open: open.join(", "),
        });
    }
    let task = state
        .phases
        .iter_mut()
        .flat_map(|p| p.tasks.iter_mut())
        .find(|t| t.id == id)
        .ok_or_else(|| KataError::UnknownTask { id: id.to_string() })?;
    let was_open = !task.done;
    if was_open {
        task.done = true;
        task.done_at_ms = Some(now_ms);
    }
    Ok(was_open)
}
