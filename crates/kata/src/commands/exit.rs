//! `kata can-exit [--json | --hook]` and `kata exit [--force]`.

use std::io::Read;
use std::process::ExitCode;

use serde_json::json;

use crate::error::{KataError, Result};
use crate::hooks::{self, StopInput};
use crate::layout::Layout;
use crate::state;
use crate::stop;

pub fn can_exit(layout: &Layout, json: bool, hook: bool) -> Result<ExitCode> {
    if hook {
        return stop_hook(layout);
    }
    let (session_id, reasons) = match state::find_active(layout)? {
        Some(mut session) => {
            let reasons = stop::unmet(layout, &mut session)?;
            state::save(layout, &mut session)?;
            (Some(session.session_id), reasons)
        }
        None => (None, Vec::new()),
    };
    if json {
        println!(
            "{}",
            json!({ "can_exit": reasons.is_empty(), "session_id": session_id, "reasons": reasons })
        );
    } else if reasons.is_empty() {
        println!("yes: nothing holds the session");
    } else {
        println!("no:");
        reasons.iter().for_each(|r| println!("  - {r}"));
    }
    Ok(if reasons.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Claude Code's Stop hook: block while conditions fail, except when Claude Code is already
/// continuing because of a Stop hook (`stop_hook_active`), so it never loops forever.
fn stop_hook(layout: &Layout) -> Result<ExitCode> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| KataError::HookInput(e.to_string()))?;
    if StopInput::parse(&input)?.stop_hook_active {
        return Ok(ExitCode::SUCCESS);
    }
    let Some(mut session) = state::find_active(layout)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let reasons = stop::unmet(layout, &mut session)?;
    state::save(layout, &mut session)?;
    if !reasons.is_empty() {
        let reason = format!(
            "kata ({} mode) does not let this session stop yet:\n{}\nWork through these (`kata prime` shows the open tasks in order), then stop again.",
            session.mode,
            reasons.iter().map(|r| format!("- {r}")).collect::<Vec<_>>().join("\n")
        );
        println!("{}", hooks::block(&reason));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(layout: &Layout, force: bool) -> Result<ExitCode> {
    let mut session = state::load_active(layout)?;
    if !force {
        let reasons = stop::unmet(layout, &mut session)?;
        if !reasons.is_empty() {
            state::save(layout, &mut session)?;
            return Err(KataError::CannotExit { reasons });
        }
    }
    session.exited_at_ms = Some(state::now_ms());
    state::save(layout, &mut session)?;
    println!(
        "exited session {} ({} mode)",
        session.session_id, session.mode
    );
    Ok(ExitCode::SUCCESS)
}
