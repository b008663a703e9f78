//! The few facts kata asks git for: the revision, the uncommitted changes, the top level.
//!
//! kata runs inside Claude Code's hooks, in a worktree the session may have written, so its git
//! never runs a program the repository configures (`shared_types::safe_git`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use shared_types::safe_git;

use crate::error::{KataError, Result};

/// One hardened git command in `dir`, with `extra` `-c` settings.
fn run(dir: &Path, extra: &[String], args: &[&str]) -> std::io::Result<Output> {
    let mut cmd = Command::new("git");
    for (key, _) in std::env::vars_os().filter(|(k, _)| safe_git::clears(k)) {
        cmd.env_remove(key);
    }
    cmd.envs(safe_git::ENV.iter().copied())
        .args(safe_git::args(extra, args))
        .current_dir(dir)
        .output()
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let describe = || args.join(" ");
    let filters = run(dir, &[], safe_git::LIST_FILTERS)
        .map(|o| safe_git::filter_overrides(&String::from_utf8_lossy(&o.stdout)))
        .unwrap_or_default();
    let out = run(dir, &filters, args)
        .map_err(|e| KataError::Git {
            args: describe(),
            message: format!("{e} (is git installed?)"),
        })?;
    if !out.status.success() {
        return Err(KataError::Git {
            args: describe(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

/// `HEAD`'s commit, or `None` outside a repository or before the first commit.
pub fn revision(dir: &Path) -> Option<String> {
    git(dir, &["rev-parse", "--verify", "--quiet", "HEAD"])
        .ok()
        .filter(|r| !r.is_empty())
}

/// The repository's top-level directory, if `dir` is inside one.
pub fn toplevel(dir: &Path) -> Option<PathBuf> {
    git(dir, &["rev-parse", "--show-toplevel"])
        .ok()
        .map(PathBuf::from)
}

/// `git status --porcelain` lines, leaving out kata's own session and evidence files (they change
/// with every gate run and are not part of the work).
pub fn uncommitted(dir: &Path) -> Result<Vec<String>> {
    let out = git(
        dir,
        &[
            "status",
            "--porcelain",
            "--untracked-files=all",
            "--",
            ".",
            ":(exclude,top).kata/sessions",
            ":(exclude,top).kata/evidence",
        ],
    )?;
    Ok(out.lines().map(str::to_string).collect())
}
