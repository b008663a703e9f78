//! The command line.

use clap::{Parser, Subcommand};

/// Phased, verification-gated work: modes, phases, tasks, gates and recorded evidence.
#[derive(Debug, Parser)]
#[command(name = "kata", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Write the default .kata/kata.toml (six modes) and .kata/.gitignore at the repository root.
    Init {
        /// The test command for [tests] and the test gates (default: guessed from the repository).
        #[arg(long)]
        tests: Option<String>,
    },
    /// Start a session in a mode; its first phase becomes active.
    Enter {
        /// research, planning, implementation, verify, task, freeform, or any mode of kata.toml.
        mode: String,
        /// The issue this work is for.
        #[arg(long)]
        issue: Option<u64>,
    },
    /// List tasks, or mark one done.
    Task {
        #[command(subcommand)]
        action: TaskCmd,
    },
    /// Show the active session.
    Status {
        /// Print the state as JSON (the state.json document).
        #[arg(long)]
        json: bool,
    },
    /// Run a phase's gates (default: the current phase) and record their evidence.
    Gate {
        /// The phase id.
        phase: Option<String>,
    },
    /// Close the current phase and activate the next: needs its tasks done and its gates passing
    /// (they run again now).
    Advance,
    /// Exit 0 if the session may end; otherwise exit 1 and say why.
    CanExit {
        /// Print `{can_exit, session_id, reasons}` as JSON.
        #[arg(long)]
        json: bool,
        /// Act as Claude Code's Stop hook: read the hook input on stdin, print a block decision
        /// while conditions fail, never block when `stop_hook_active` is set; always exit 0.
        #[arg(long, conflicts_with = "json")]
        hook: bool,
    },
    /// End the session (refused while stop conditions fail, unless --force).
    Exit {
        /// End it anyway, abandoning unmet conditions.
        #[arg(long)]
        force: bool,
    },
    /// Print the session's context and open tasks in dependency order (the SessionStart hook).
    Prime,
    /// Install kata's Claude Code hooks in .claude/settings.json.
    Setup {
        /// Print the settings (kata's hooks, calling this kata by its absolute path) as JSON
        /// instead of writing .claude/settings.json: for a host that passes them to Claude Code
        /// with `--settings` and ignores the repository's own settings (the Duraclaw runner).
        #[arg(long)]
        print: bool,
    },
    /// Check the config, the state files, the hooks and the tools kata needs.
    Doctor,
}

#[derive(Debug, Subcommand)]
pub enum TaskCmd {
    /// Every task in dependency order, with its status.
    List,
    /// Mark a task done (refused while its dependencies are open).
    Done { id: String },
}
