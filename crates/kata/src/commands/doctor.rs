//! `kata doctor`: is everything kata needs in place? One line per check.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;
use crate::error::{KataError, Result};
use crate::git;
use crate::hooks;
use crate::layout::Layout;
use crate::state;

pub fn run(cwd: &Path) -> Result<ExitCode> {
    let mut problems = 0;
    let mut check = |ok: bool, line: String| {
        println!("{} {line}", if ok { "ok  " } else { "FAIL" });
        problems += usize::from(!ok);
    };
    match git::toplevel(cwd) {
        Some(top) => check(true, format!("git repository at {}", top.display())),
        None => check(
            false,
            "not inside a git repository (gates record the revision): `git init`".into(),
        ),
    }
    let layout = match Layout::find(cwd) {
        Ok(layout) => layout,
        Err(e) => {
            check(false, e.to_string());
            return Err(KataError::Unhealthy(problems));
        }
    };
    match Config::load(&layout.config()) {
        Ok(config) => check(
            true,
            format!(
                "config: modes {}",
                config.modes.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ),
        Err(e) => check(false, e.to_string()),
    }
    match state::scan(&layout) {
        Ok(scan) => {
            for bad in &scan.unreadable {
                check(
                    false,
                    format!(
                        "{}: {} (repair it or delete its session directory)",
                        bad.path, bad.error
                    ),
                );
            }
            match scan.newest_active() {
                Some(s) => check(
                    true,
                    format!(
                        "active session {} ({} mode, phase `{}`)",
                        s.session_id, s.mode, s.phase
                    ),
                ),
                None => check(
                    true,
                    "no active session (`kata enter <mode>` starts one)".into(),
                ),
            }
        }
        Err(e) => check(false, e.to_string()),
    }
    match hooks::missing(&layout.settings()) {
        Ok(missing) if missing.is_empty() => check(true, "Claude Code hooks installed".into()),
        Ok(missing) => check(
            false,
            format!(
                "Claude Code hooks missing: {} (`kata setup`)",
                missing.join(", ")
            ),
        ),
        Err(e) => check(false, e.to_string()),
    }
    match hooks::kata_on_path() {
        Some(path) => check(true, format!("`kata` on PATH at {}", path.display())),
        None => check(
            false,
            "`kata` is not on PATH, so the hooks cannot run it".into(),
        ),
    }
    if problems > 0 {
        return Err(KataError::Unhealthy(problems));
    }
    Ok(ExitCode::SUCCESS)
}
