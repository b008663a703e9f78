//! `kata setup`: install the Claude Code hooks.

use std::process::ExitCode;

use crate::config::Config;
use crate::error::Result;
use crate::hooks;
use crate::layout::Layout;

/// Time the Stop hook gets beyond the test command's own timeout.
const STOP_MARGIN_SECS: u64 = 120;

pub fn run(layout: &Layout, print: bool) -> Result<ExitCode> {
    let config = Config::load(&layout.config())?;
    let tests_timeout = config.tests.as_ref().map_or(0, |t| t.timeout);
    if print {
        let exe = std::env::current_exe().map_err(|e| crate::error::KataError::Io { path: "kata".into(), source: e })?;
        println!("{}", hooks::settings_for(&exe, tests_timeout + STOP_MARGIN_SECS));
        return Ok(ExitCode::SUCCESS);
    }
    let path = layout.settings();
    if hooks::install(&path, tests_timeout + STOP_MARGIN_SECS)? {
        println!(
            "installed in {}: SessionStart runs `{}`, Stop runs `{}`",
            path.display(),
            hooks::PRIME_COMMAND,
            hooks::STOP_COMMAND
        );
    } else {
        println!("{} already has kata's hooks", path.display());
    }
    if hooks::kata_on_path().is_none() {
        eprintln!("warning: `kata` is not on PATH, so Claude Code cannot run the hooks: install it (`cargo install --path crates/kata`) or add it to PATH");
    }
    Ok(ExitCode::SUCCESS)
}
