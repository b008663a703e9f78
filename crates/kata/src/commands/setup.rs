//! `kata setup`: install the Claude Code hooks.

use std::process::ExitCode;

use crate::error::Result;
use crate::hooks;
use crate::layout::Layout;

pub fn run(layout: &Layout) -> Result<ExitCode> {
    let path = layout.settings();
    if hooks::install(&path)? {
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
