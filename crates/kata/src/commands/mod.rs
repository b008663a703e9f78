//! One file per command; each takes the repository [`Layout`] and prints for a person (or, with
//! `--json`, for a program).

mod doctor;
mod enter;
mod exit;
mod gate;
mod init;
mod prime;
mod setup;
mod status;
mod task;

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{Cmd, TaskCmd};
use crate::error::Result;
use crate::layout::Layout;

/// Runs `command` from the working directory `cwd`.
pub fn run(command: Cmd, cwd: &Path) -> Result<ExitCode> {
    let layout = || Layout::find(cwd);
    match command {
        Cmd::Init { tests } => init::run(cwd, tests.as_deref()),
        Cmd::Doctor => doctor::run(cwd),
        Cmd::Enter { mode, issue } => enter::run(&layout()?, &mode, issue),
        Cmd::Task {
            action: TaskCmd::List,
        } => task::list(&layout()?),
        Cmd::Task {
            action: TaskCmd::Done { id },
        } => task::done(&layout()?, &id),
        Cmd::Status { json } => status::run(&layout()?, json),
        Cmd::Gate { phase } => gate::run(&layout()?, phase.as_deref()),
        Cmd::Advance => gate::advance(&layout()?),
        Cmd::CanExit { json, hook } => exit::can_exit(&layout()?, json, hook),
        Cmd::Exit { force } => exit::run(&layout()?, force),
        Cmd::Prime => prime::run(&layout()?),
        Cmd::Setup { print } => setup::run(&layout()?, print),
    }
}
