//! `kata init`: the default config, at the repository root.

use std::path::Path;
use std::process::ExitCode;

use crate::config::default_config;
use crate::error::{KataError, Result};
use crate::git;
use crate::layout::{write_atomic, Layout};

/// What keeps per-session files out of git: they change on every gate run.
const GITIGNORE: &str = "sessions/\nevidence/\n";

pub fn run(cwd: &Path, tests: Option<&str>) -> Result<ExitCode> {
    let layout = Layout {
        root: git::toplevel(cwd).unwrap_or_else(|| cwd.to_path_buf()),
    };
    let config = layout.config();
    if config.exists() {
        return Err(KataError::AlreadyInitialised { path: config });
    }
    let tests = tests
        .map(str::to_string)
        .unwrap_or_else(|| guess_tests(&layout.root));
    write_atomic(&config, &default_config(&tests))?;
    write_atomic(&layout.kata_dir().join(".gitignore"), GITIGNORE)?;
    println!("wrote {} (test command: {tests})", config.display());
    println!("next: `kata setup` to install the Claude Code hooks, then `kata enter <mode>`");
    Ok(ExitCode::SUCCESS)
}

/// The repository's usual test command, or one that fails saying what to configure.
fn guess_tests(root: &Path) -> String {
    let has = |file: &str| root.join(file).is_file();
    let guess = [
        ("scripts/test.sh", "scripts/test.sh"),
        ("Cargo.toml", "cargo test"),
        ("package.json", "npm test"),
        ("go.mod", "go test ./..."),
        ("pyproject.toml", "python -m pytest"),
        ("Makefile", "make test"),
    ]
    .into_iter()
    .find(|(file, _)| has(file));
    match guess {
        Some((_, command)) => command.to_string(),
        None => "echo 'set [tests] run in .kata/kata.toml' >&2; exit 1".to_string(),
    }
}
