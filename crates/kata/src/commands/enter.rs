//! `kata enter <mode>`: start a session.

use std::process::ExitCode;

use crate::config::Config;
use crate::error::{KataError, Result};
use crate::layout::Layout;
use crate::state;

pub fn run(layout: &Layout, mode_name: &str, issue: Option<u64>) -> Result<ExitCode> {
    let config = Config::load(&layout.config())?;
    let mode = config.mode(mode_name)?;
    if let Some(active) = state::find_active(layout)? {
        return Err(KataError::SessionActive {
            session_id: active.session_id,
            mode: active.mode,
        });
    }
    let mut session = state::new_session(&config, mode_name, mode, issue);
    state::save(layout, &mut session)?;
    println!(
        "entered {} mode: session {}, phase `{}`; `kata prime` shows what to do",
        session.mode, session.session_id, session.phase
    );
    Ok(ExitCode::SUCCESS)
}
