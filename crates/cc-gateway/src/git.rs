//! Running git for the daemon, and reading its machine formats.
//!
//! Git runs as a direct child (`tokio::process::Command`, never through a shell) with a time
//! limit, a cap on what it may print, no terminal prompts and no optional locks (so a status
//! never fights Claude Code over `index.lock`), and never runs a program the repository
//! configures ([`shared_types::safe_git`]: fsmonitor, hooks, filters, external diff, textconv,
//! credential helpers, system and global config). The parsers here are pure functions of git's
//! porcelain output, unit-tested below.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

pub use shared_types::api::FileDiff;
use shared_types::api::DiffStatus;
use shared_types::safe_git;
use tokio::io::AsyncReadExt;

/// How long one git command may run.
pub const GIT_TIMEOUT: Duration = Duration::from_secs(30);
/// The most a git command may print before it is stopped (a huge diff, say).
pub const MAX_GIT_OUTPUT_BYTES: u64 = 64 * 1024 * 1024;
const MAX_GIT_STDERR_BYTES: u64 = 64 * 1024;

/// Why a git command gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git: {0} (is git installed and on PATH?)")]
    Spawn(std::io::Error),
    #[error("git {command} took longer than {}s", GIT_TIMEOUT.as_secs())]
    Timeout { command: String },
    #[error("git {command} printed more than {} bytes", MAX_GIT_OUTPUT_BYTES)]
    TooLarge { command: String },
    #[error("git {command} failed: {stderr}")]
    Failed { command: String, stderr: String },
}

/// Runs `git -C dir args...` and returns its stdout; a non-zero exit is [`GitError::Failed`].
pub async fn git<I, S>(dir: &Path, args: I) -> Result<Vec<u8>, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_os_string()).collect();
    let command = args.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default();
    // The repository's filter drivers, read first (reading config runs nothing), then switched off.
    let filters = match run(dir, &[], safe_git::LIST_FILTERS, "config").await {
        Ok(listing) => safe_git::filter_overrides(&String::from_utf8_lossy(&listing)),
        Err(GitError::Failed { .. }) => vec![], // exit 1: no filter is configured
        Err(e) => return Err(e),
    };
    run(dir, &filters, &args, &command).await
}

/// Runs one hardened git command (the overrides of [`safe_git`], then `extra` as `-c`).
async fn run<S: AsRef<OsStr>>(dir: &Path, extra: &[String], args: &[S], command: &str) -> Result<Vec<u8>, GitError> {
    let command = command.to_string();
    let mut cmd = tokio::process::Command::new("git");
    for (key, _) in std::env::vars_os().filter(|(k, _)| safe_git::clears(k)) {
        cmd.env_remove(key);
    }
    let mut child = cmd
        .envs(safe_git::ENV.iter().copied())
        .arg("-C")
        .arg(dir)
        .args(safe_git::args(extra, args))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(GitError::Spawn)?;
    let run = async {
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let (out, err) = tokio::join!(read_capped(stdout, MAX_GIT_OUTPUT_BYTES), read_capped(stderr, MAX_GIT_STDERR_BYTES));
        if out.len() as u64 > MAX_GIT_OUTPUT_BYTES {
            return Err(GitError::TooLarge { command: command.clone() });
        }
        let status = child.wait().await.map_err(GitError::Spawn)?;
        if status.success() {
            return Ok(out);
        }
        let stderr = String::from_utf8_lossy(&err).trim().to_string();
        Err(GitError::Failed { command: command.clone(), stderr })
    };
    tokio::time::timeout(GIT_TIMEOUT, run).await.unwrap_or_else(|_| Err(GitError::Timeout { command: command.clone() }))
}

/// Reads up to `cap + 1` bytes, so that the caller can tell "more than cap" apart.
async fn read_capped(pipe: Option<impl tokio::io::AsyncRead + Unpin>, cap: u64) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(pipe) = pipe {
        let _ = pipe.take(cap + 1).read_to_end(&mut buf).await;
    }
    buf
}

/// Like [`git`], with stdout as text (lossy: paths that are not UTF-8 still show).
pub async fn git_text<I, S>(dir: &Path, args: I) -> Result<String, GitError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Ok(String::from_utf8_lossy(&git(dir, args).await?).into_owned())
}

/// Branch and cleanliness of one checkout, from `git status --porcelain=v2 --branch` (the
/// fields of an `api::Checkout`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckoutStatus {
    /// The checked-out branch; `None` when HEAD is detached.
    pub branch: Option<String>,
    /// Uncommitted changes, untracked files included.
    pub dirty: bool,
    /// The upstream branch, when one is set.
    pub upstream: Option<String>,
    /// Commits on the branch and not on its upstream; `None` without an upstream.
    pub ahead: Option<u64>,
    /// Commits on the upstream and not on the branch; `None` without an upstream.
    pub behind: Option<u64>,
}

/// Parses `git status --porcelain=v2 --branch`.
pub fn parse_status(porcelain: &str) -> CheckoutStatus {
    let mut status = CheckoutStatus::default();
    for line in porcelain.lines() {
        if let Some(head) = line.strip_prefix("# branch.head ") {
            status.branch = (head != "(detached)").then(|| head.to_string());
        } else if let Some(upstream) = line.strip_prefix("# branch.upstream ") {
            status.upstream = Some(upstream.to_string());
        } else if let Some(ab) = line.strip_prefix("# branch.ab ") {
            let mut counts = ab.split(' ').map(|n| n.trim_start_matches(['+', '-']).parse().ok());
            status.ahead = counts.next().flatten();
            status.behind = counts.next().flatten();
        } else if !line.starts_with('#') && !line.is_empty() {
            status.dirty = true;
        }
    }
    status
}

/// The status of the checkout at `dir`.
pub async fn checkout_status(dir: &Path) -> Result<CheckoutStatus, GitError> {
    Ok(parse_status(&git_text(dir, ["status", "--porcelain=v2", "--branch"]).await?))
}

/// One entry of `git worktree list --porcelain`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorktreeEntry {
    pub path: PathBuf,
    /// `refs/heads/` stripped; `None` when detached.
    pub branch: Option<String>,
    pub bare: bool,
}

/// Parses `git worktree list --porcelain`; the main worktree comes first.
pub fn parse_worktree_list(porcelain: &str) -> Vec<WorktreeEntry> {
    let mut entries = Vec::new();
    for line in porcelain.lines() {
        if let Some(path) = line.strip_prefix("worktree ") {
            entries.push(WorktreeEntry { path: PathBuf::from(path), branch: None, bare: false });
        } else if let Some(entry) = entries.last_mut() {
            if let Some(branch) = line.strip_prefix("branch ") {
                entry.branch = Some(branch.strip_prefix("refs/heads/").unwrap_or(branch).to_string());
            } else if line == "bare" {
                entry.bare = true;
            }
        }
    }
    entries
}

/// The worktrees of the repository at `dir`, the main one first.
pub async fn worktree_list(dir: &Path) -> Result<Vec<WorktreeEntry>, GitError> {
    Ok(parse_worktree_list(&git_text(dir, ["worktree", "list", "--porcelain"]).await?))
}

/// Joins `git diff --name-status -z`, `--numstat -z` and the patch (same options, so the same
/// file order) into one entry per file.
pub fn parse_diff(name_status: &str, numstat: &str, patch: &str) -> Vec<FileDiff> {
    let stats = parse_numstat(numstat);
    let patches = split_patch(patch);
    let mut fields = name_status.split('\0').filter(|f| !f.is_empty());
    let mut files = Vec::new();
    while let Some(code) = fields.next() {
        let renamed = code.starts_with('R') || code.starts_with('C');
        let mut path = fields.next().unwrap_or_default();
        if renamed {
            path = fields.next().unwrap_or(path);
        }
        let (additions, deletions) = stats.get(files.len()).copied().unwrap_or((None, None));
        let patch = patches.get(files.len()).cloned().unwrap_or_default();
        files.push(FileDiff { path: path.to_string(), status: status_name(code), additions, deletions, patch });
    }
    files
}

fn status_name(code: &str) -> DiffStatus {
    match code.chars().next() {
        Some('A') => DiffStatus::Added,
        Some('D') => DiffStatus::Deleted,
        Some('R') => DiffStatus::Renamed,
        Some('C') => DiffStatus::Copied,
        Some('T') => DiffStatus::TypeChanged,
        _ => DiffStatus::Modified,
    }
}

/// `added\tdeleted\tpath\0` or, for a rename, `added\tdeleted\t\0old\0new\0`; `-` for binary.
fn parse_numstat(numstat: &str) -> Vec<(Option<u64>, Option<u64>)> {
    let mut stats = Vec::new();
    let mut fields = numstat.split('\0').filter(|f| !f.is_empty());
    while let Some(field) = fields.next() {
        let mut parts = field.splitn(3, '\t');
        let additions = parts.next().and_then(|n| n.parse().ok());
        let deletions = parts.next().and_then(|n| n.parse().ok());
        if parts.next().is_some_and(str::is_empty) {
            fields.next();
            fields.next();
        }
        stats.push((additions, deletions));
    }
    stats
}

/// Splits a multi-file patch at each `diff --git` header.
fn split_patch(patch: &str) -> Vec<String> {
    let mut chunks: Vec<String> = Vec::new();
    for line in patch.split_inclusive('\n') {
        if line.starts_with("diff --git ") || chunks.is_empty() {
            chunks.push(String::new());
        }
        if let Some(chunk) = chunks.last_mut() {
            chunk.push_str(line);
        }
    }
    chunks.retain(|c| c.starts_with("diff --git "));
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_branch_upstream_counts_and_dirt() {
        let out = "# branch.oid abc\n# branch.head main\n# branch.upstream origin/main\n# branch.ab +2 -1\n? new.txt\n";
        let s = parse_status(out);
        assert_eq!(s.branch.as_deref(), Some("main"));
        assert_eq!(s.upstream.as_deref(), Some("origin/main"));
        assert_eq!((s.ahead, s.behind, s.dirty), (Some(2), Some(1), true));
        let clean = parse_status("# branch.oid abc\n# branch.head (detached)\n");
        assert_eq!(clean, CheckoutStatus::default());
    }

    #[test]
    fn worktree_list_keeps_branches_and_detached_heads() {
        let out = "worktree /r\nHEAD 1\nbranch refs/heads/main\n\nworktree /w/x\nHEAD 2\ndetached\n\n";
        let list = parse_worktree_list(out);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].branch.as_deref(), Some("main"));
        assert_eq!((list[1].path.as_path(), list[1].branch.as_deref()), (Path::new("/w/x"), None));
    }

    #[test]
    fn diff_joins_status_counts_and_patches_renames_included() {
        let name_status = "M\0a.txt\0R100\0old.txt\0new.txt\0A\0bin.dat\0";
        let numstat = "1\t2\ta.txt\0" .to_string() + "0\t0\t\0old.txt\0new.txt\0-\t-\tbin.dat\0";
        let patch = "diff --git a/a.txt b/a.txt\n+x\ndiff --git a/old.txt b/new.txt\nrename\ndiff --git a/bin.dat b/bin.dat\nBinary\n";
        let files = parse_diff(name_status, &numstat, patch);
        assert_eq!(files.len(), 3);
        assert_eq!((files[0].status, files[0].additions, files[0].deletions), (DiffStatus::Modified, Some(1), Some(2)));
        assert_eq!((files[1].path.as_str(), files[1].status), ("new.txt", DiffStatus::Renamed));
        assert!(files[1].patch.contains("rename"));
        assert_eq!((files[2].additions, files[2].status), (None, DiffStatus::Added));
        assert!(files[2].patch.starts_with("diff --git a/bin.dat"));
    }
}
