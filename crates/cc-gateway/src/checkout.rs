//! Checkout resolution: which directory a request's project and worktree names lead to.
//!
//! A project is a git repository directly under the projects root (hidden directories are not
//! projects). A checkout is either a project's main checkout (no worktree name) or one of its
//! linked worktrees, named by the last component of its path in `git worktree list`. The HTTP
//! routes and the link (for `session.create`) share this; it knows nothing about HTTP, so its
//! failures are a [`CheckoutError`] that each caller words for its own peer.

use std::path::{Path, PathBuf};

use crate::confine::{self, ConfineError};
use crate::git::{self, GitError};

/// Why a project or worktree name does not lead to a checkout.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// The name itself is refused (not a plain name).
    #[error(transparent)]
    Name(#[from] ConfineError),
    #[error("{0}")]
    NotFound(String),
    /// Two linked worktrees share the name: the request cannot say which.
    #[error("{0}")]
    Ambiguous(String),
    #[error(transparent)]
    Git(#[from] GitError),
}

/// A project's directory, after checking the name; not found when it is not a git repository.
pub fn project_dir(root: &Path, name: &str) -> Result<PathBuf, CheckoutError> {
    let dir = root.join(confine::check_name("project", name)?);
    if !dir.join(".git").exists() {
        return Err(CheckoutError::NotFound(format!("no project {name:?} under the projects root")));
    }
    Ok(dir)
}

/// The directory of a project's checkout: the main one for `None`/empty, else the linked
/// worktree of that name.
pub async fn checkout_dir(root: &Path, project: &str, worktree: Option<&str>) -> Result<PathBuf, CheckoutError> {
    let project_dir = project_dir(root, project)?;
    match worktree.filter(|w| !w.is_empty()) {
        None => Ok(project_dir),
        Some(name) => find_worktree(&project_dir, confine::check_name("worktree", name)?).await,
    }
}

/// The linked worktree of `project_dir` whose directory is called `name`.
pub async fn find_worktree(project_dir: &Path, name: &str) -> Result<PathBuf, CheckoutError> {
    let linked = git::worktree_list(project_dir).await?.into_iter().skip(1);
    let mut matches = linked.filter(|w| w.path.file_name().is_some_and(|n| n == name)).map(|w| w.path);
    match (matches.next(), matches.next()) {
        (Some(path), None) => Ok(path),
        (None, _) => Err(CheckoutError::NotFound(format!("no worktree {name:?} in this project"))),
        (Some(_), Some(_)) => Err(CheckoutError::Ambiguous(format!("several worktrees are named {name:?}; rename one"))),
    }
}
