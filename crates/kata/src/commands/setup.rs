//! `kata setup`: install the Claude Code hooks.

use std::process::ExitCode;

use crate::config::Config;
use crate::error::Result;
use crate::hooks;
use crate::layout::Layout;

/// Time the Stop hook gets beyond the test command's own timeout.
const STOP_MARGIN_SECS: u64 = 120;

pub fn run(layout: &Layout) -> Result<ExitCode> {
    let config = Config::load(&layout.config())?;
    let tests_timeout = config.tests.as_ref().map_or(0, |t| t.timeout);
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
