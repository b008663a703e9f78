//! `kata`: phased, verification-gated work for Claude Code (and for people).
//!
//! Work happens in a **mode** (`research`, `planning`, `implementation`, `verify`, `task`,
//! `freeform`, or any mode `.kata/kata.toml` defines). A mode is a list of **phases**; a phase has
//! **tasks** (with dependencies) and **gates**: shell commands run against the real, running
//! system. A phase closes (`kata advance`) only when its tasks are done and its gates pass, and
//! every gate run is recorded as **evidence** (command, exit code, output tail, duration, time,
//! git revision) under `.kata/evidence/`. A session ends (`kata exit`) only when the mode's
//! **stop conditions** hold (`kata can-exit`).
//!
//! Claude Code follows along through two hooks that `kata setup` installs in
//! `.claude/settings.json`: SessionStart runs `kata prime` (the mode's context and the open tasks
//! in dependency order become the session's context), and Stop runs `kata can-exit --hook`
//! (which blocks the stop with the reasons while conditions fail, but never when the hook input's
//! `stop_hook_active` says Claude Code is already continuing because of it).
//!
//! The state of a session is `.kata/sessions/<id>/state.json`, a serialised
//! [`shared_types::kata::KataState`]; the gateway reads the newest one for a worktree and the
//! dashboard shows it. Its fields are documented in [`state`]; the evidence format in [`gate`];
//! the config format in [`config`]; the file layout in [`layout`].
//!
//! The modules, one concept each:
//! - [`cli`]: the command line; [`commands`]: one file per command.
//! - [`config`]: kata.toml and the default config `kata init` writes.
//! - [`state`]: session state files; [`tasks`]: dependency order and closing tasks.
//! - [`gate`]: running gates with a timeout and writing evidence.
//! - [`stop`]: the stop conditions; [`hooks`]: the Claude Code hook settings and protocol.
//! - [`git`]: revision and uncommitted changes; [`error`]: every failure and what to do about it.

mod cli;
mod commands;
mod config;
mod error;
mod gate;
mod git;
mod hooks;
mod layout;
mod state;
mod stop;
mod tasks;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = std::env::current_dir()
        .map_err(error::KataError::io("."))
        .and_then(|cwd| commands::run(cli.command, &cwd));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kata: {e}");
            ExitCode::FAILURE
        }
    }
}
