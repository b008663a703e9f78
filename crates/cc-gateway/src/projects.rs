//! Projects and their worktrees, files and diffs: what the dashboard browses.
//!
//! Which directory a project and `worktree` parameter name is [`crate::checkout`]'s to say.
//!
//! Worktrees made through the API live in `<projects_root>/.worktrees/<project>/<name>`, where
//! `<name>` is the branch with every character outside `[A-Za-z0-9._-]` turned into `-`; the
//! branch they were made from is recorded as `branch.<branch>.duraclawBase` in the repository's
//! config, and their diff is taken against the merge-base with it.
//!
//! Every name and path from a request goes through [`crate::confine`].

use std::path::{Path, PathBuf};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use futures_util::future::join_all;
use serde::Deserialize;
use shared_types::api::{Checkout, DiffStatus, DirEntry, EntryKind, FileContent, FileDiff, NewWorktree};

use crate::api_error::ApiError;
use crate::checkout::{checkout_dir, find_worktree, project_dir};
use crate::confine::{self, read_capped};
use crate::git::{self, CheckoutStatus, GitError};
use crate::state::{AppState, BusyWorktrees, Checkouts};

/// Where API-made worktrees go, under the projects root (hidden, so never listed as a project).
pub const WORKTREES_DIR: &str = ".worktrees";
/// The most entries one directory listing returns.
pub const MAX_LISTING_ENTRIES: usize = 10_000;
/// How many leading bytes decide whether a file is binary (git looks at as many).
const BINARY_SNIFF_BYTES: usize = 8000;

/// The project routes (all behind the bearer token).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list_projects))
        .route("/projects/{name}/worktrees", post(create_worktree))
        .route("/projects/{name}/worktrees/{worktree}", delete(delete_worktree))
        .route("/projects/{name}/files", get(list_files))
        .route("/projects/{name}/file", get(read_file))
        .route("/projects/{name}/diff", get(diff))
}

/// The `worktree=` parameter shared by the checkout routes; absent or empty is the main checkout.
#[derive(Debug, Deserialize)]
pub struct CheckoutQuery {
    #[serde(default)]
    pub worktree: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
}

/// `GET /projects`: the git repositories directly under the projects root, by name.
async fn list_projects(State(checkouts): State<Checkouts>) -> Result<Json<Vec<Checkout>>, ApiError> {
    let root = &checkouts.projects_root;
    let entries = std::fs::read_dir(root).map_err(|e| ApiError::io("the projects root", &e))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| project_dir(root, name).is_ok())
        .collect();
    names.sort();
    Ok(Json(join_all(names.into_iter().map(|name| summarize_project(root, name))).await))
}

async fn summarize_project(root: &Path, name: String) -> Checkout {
    let dir = root.join(&name);
    let worktrees = match git::worktree_list(&dir).await {
        Ok(list) => join_all(list.into_iter().skip(1).map(|w| summarize_checkout(worktree_name(&w.path), w.path))).await,
        Err(e) => {
            tracing::warn!(project = %name, "cannot list worktrees: {e}");
            Vec::new()
        }
    };
    Checkout { worktrees: Some(worktrees), ..summarize_checkout(name, dir).await }
}

fn worktree_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

async fn summarize_checkout(name: String, path: PathBuf) -> Checkout {
    let (status, error) = match git::checkout_status(&path).await {
        Ok(status) => (status, None),
        Err(e) => (CheckoutStatus::default(), Some(e.to_string())),
    };
    let CheckoutStatus { branch, dirty, upstream, ahead, behind } = status;
    let path = path.to_string_lossy().into_owned();
    Checkout { name, path, branch, dirty, upstream, ahead, behind, error, worktrees: None }
}

/// `POST /projects/:name/worktrees {branch, base}`: `git worktree add -b branch <path> base`.
async fn create_worktree(
    State(checkouts): State<Checkouts>,
    UrlPath(name): UrlPath<String>,
    body: Result<Json<NewWorktree>, JsonRejection>,
) -> Result<(StatusCode, Json<Checkout>), ApiError> {
    let Json(request) = body?;
    let root = &checkouts.projects_root;
    let project = project_dir(root, &name)?;
    check_branch(&project, &request.branch).await?;
    let base = match request.base {
        Some(base) => check_base(&project, &base).await?,
        None => default_branch(&project).await,
    };
    let worktree = worktree_name_for(&request.branch)?;
    let path = root.join(WORKTREES_DIR).join(&name).join(&worktree);
    if path.exists() {
        return Err(ApiError::Conflict(format!("worktree {worktree:?} already exists at {}", path.display())));
    }
    std::fs::create_dir_all(path.parent().unwrap_or(root)).map_err(|e| ApiError::Internal(format!("cannot create {}: {e}", path.display())))?;
    let mut add = vec!["worktree".as_ref(), "add".as_ref(), "-b".as_ref(), request.branch.as_ref(), "--".as_ref()];
    add.extend([path.as_os_str(), base.as_ref()]);
    git::git(&project, add).await.map_err(refused_by_git)?;
    let key = format!("branch.{}.duraclawBase", request.branch);
    git::git(&project, ["config", key.as_str(), base.as_str()]).await?;
    tracing::info!(project = %name, worktree = %worktree, branch = %request.branch, base = %base, "worktree created");
    Ok((StatusCode::CREATED, Json(summarize_checkout(worktree, path).await)))
}

/// A valid, new branch name; never one git could read as an option.
async fn check_branch(project: &Path, branch: &str) -> Result<(), ApiError> {
    let invalid = || ApiError::InvalidInput(format!("invalid branch name {branch:?} (see `git check-ref-format --branch`)"));
    if branch.is_empty() || branch.starts_with('-') {
        return Err(invalid());
    }
    let normalized = git::git_text(project, ["check-ref-format", "--branch", branch]).await.map_err(|_| invalid())?;
    if normalized.trim_end() != branch {
        return Err(invalid());
    }
    let existing = format!("refs/heads/{branch}");
    if git::git(project, ["show-ref", "--verify", "--quiet", existing.as_str()]).await.is_ok() {
        return Err(ApiError::Conflict(format!("branch {branch:?} already exists")));
    }
    Ok(())
}

/// A base that names a commit in this repository.
async fn check_base(project: &Path, base: &str) -> Result<String, ApiError> {
    let unknown = || ApiError::InvalidInput(format!("base {base:?} is not a branch or commit of this project"));
    if base.is_empty() || base.starts_with('-') {
        return Err(unknown());
    }
    let commit = format!("{base}^{{commit}}");
    git::git(project, ["rev-parse", "--verify", "--quiet", "--end-of-options", commit.as_str()]).await.map_err(|_| unknown())?;
    Ok(base.to_string())
}

/// `origin`'s default branch when known, else the main checkout's branch, else `HEAD`.
async fn default_branch(project: &Path) -> String {
    let remote_head = git::git_text(project, ["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"]).await;
    let local_head = || git::git_text(project, ["symbolic-ref", "--quiet", "--short", "HEAD"]);
    let name = match remote_head {
        Ok(name) => name,
        Err(_) => local_head().await.unwrap_or_default(),
    };
    Some(name.trim().to_string()).filter(|n| !n.is_empty()).unwrap_or_else(|| "HEAD".into())
}

/// The directory name for a branch's worktree.
fn worktree_name_for(branch: &str) -> Result<String, ApiError> {
    let name: String = branch
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .collect();
    Ok(confine::check_name("worktree", &name)?.to_string())
}

/// `DELETE /projects/:name/worktrees/:worktree?force=`: refused (409) while a session runs there
/// or, without `force=true`, while it has uncommitted changes. The branch is kept.
async fn delete_worktree(
    State(checkouts): State<Checkouts>,
    State(busy): State<BusyWorktrees>,
    UrlPath((name, worktree)): UrlPath<(String, String)>,
    query: Result<Query<DeleteQuery>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let Query(query) = query?;
    let project = project_dir(&checkouts.projects_root, &name)?;
    let path = find_worktree(&project, confine::check_name("worktree", &worktree)?).await?;
    if is_busy(&busy, &path) {
        return Err(ApiError::Conflict(format!("a session is running in worktree {worktree:?}; end it first")));
    }
    let mut remove = vec!["worktree".as_ref(), "remove".as_ref()];
    if query.force {
        remove.push("--force".as_ref());
    }
    remove.extend(["--".as_ref(), path.as_os_str()]);
    git::git(&project, remove).await.map_err(refused_by_git)?;
    tracing::info!(project = %name, worktree = %worktree, "worktree removed");
    Ok(StatusCode::NO_CONTENT)
}

/// A worktree change git refused is a conflict with the repository's state (a branch or
/// directory taken meanwhile, uncommitted files, a lock); git's message says which.
fn refused_by_git(err: GitError) -> ApiError {
    match err {
        GitError::Failed { stderr, .. } => ApiError::Conflict(format!("git refused: {stderr}")),
        other => other.into(),
    }
}

#[derive(Debug, Deserialize)]
pub struct DeleteQuery {
    #[serde(default)]
    pub force: bool,
}

/// Whether a session runs in `path`, per the [`BusyWorktrees`] hook.
fn is_busy(busy: &BusyWorktrees, path: &Path) -> bool {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let path = canonical(path);
    busy().iter().any(|busy| canonical(busy) == path)
}

/// `GET /projects/:name/files?path=&worktree=`: a directory's entries, directories first.
async fn list_files(
    State(checkouts): State<Checkouts>,
    UrlPath(name): UrlPath<String>,
    query: Result<Query<CheckoutQuery>, QueryRejection>,
) -> Result<Json<Vec<DirEntry>>, ApiError> {
    let Query(query) = query?;
    let checkout = checkout_dir(&checkouts.projects_root, &name, query.worktree.as_deref()).await?;
    let dir = confine::resolve(&checkout, query.path.as_deref().unwrap_or(""))?;
    if !dir.is_dir() {
        return Err(ApiError::InvalidInput("not a directory; read files with /file".into()));
    }
    let mut entries: Vec<DirEntry> = std::fs::read_dir(&dir)
        .map_err(|e| ApiError::io("the directory", &e))?
        .filter_map(Result::ok)
        .take(MAX_LISTING_ENTRIES)
        .map(|e| describe(&e))
        .collect();
    entries.sort_by(|a, b| (a.kind != EntryKind::Dir, &a.name).cmp(&(b.kind != EntryKind::Dir, &b.name)));
    Ok(Json(entries))
}

fn describe(entry: &std::fs::DirEntry) -> DirEntry {
    let name = entry.file_name().to_string_lossy().into_owned();
    let Ok(meta) = entry.metadata() else {
        return DirEntry { name, kind: EntryKind::Other, size: None };
    };
    let kind = match meta.file_type() {
        t if t.is_dir() => EntryKind::Dir,
        t if t.is_file() => EntryKind::File,
        t if t.is_symlink() => EntryKind::Symlink,
        _ => EntryKind::Other,
    };
    DirEntry { name, kind, size: meta.is_file().then_some(meta.len()) }
}

/// `GET /projects/:name/file?path=&worktree=`: a text file's content; 413 above `max_file_bytes`.
async fn read_file(
    State(checkouts): State<Checkouts>,
    UrlPath(name): UrlPath<String>,
    query: Result<Query<CheckoutQuery>, QueryRejection>,
) -> Result<Json<FileContent>, ApiError> {
    let Query(query) = query?;
    let raw = query.path.unwrap_or_default();
    let checkout = checkout_dir(&checkouts.projects_root, &name, query.worktree.as_deref()).await?;
    let path = confine::resolve(&checkout, &raw)?;
    let bytes = read_capped(&path, checkouts.max_file_bytes).await?;
    let size = bytes.len() as u64;
    let text = (!bytes.iter().take(BINARY_SNIFF_BYTES).any(|b| *b == 0)).then(|| String::from_utf8(bytes).ok()).flatten();
    Ok(Json(FileContent { path: raw, size, binary: text.is_none(), content: text }))
}

/// `GET /projects/:name/diff?worktree=`: each changed file against the merge-base with the
/// branch the worktree was made from (or the default branch), working-tree changes included;
/// untracked files are listed with an empty patch.
async fn diff(
    State(checkouts): State<Checkouts>,
    UrlPath(name): UrlPath<String>,
    query: Result<Query<CheckoutQuery>, QueryRejection>,
) -> Result<Json<Vec<FileDiff>>, ApiError> {
    let Query(query) = query?;
    let project = project_dir(&checkouts.projects_root, &name)?;
    let checkout = checkout_dir(&checkouts.projects_root, &name, query.worktree.as_deref()).await?;
    let Some(base) = merge_base(&project, &checkout).await else {
        return Ok(Json(Vec::new()));
    };
    let diff_args = |format: &'static str| ["diff", "--no-color", "--no-ext-diff", "-M", "-z", format, base.as_str(), "--"];
    let name_status = git::git_text(&checkout, diff_args("--name-status")).await?;
    let numstat = git::git_text(&checkout, diff_args("--numstat")).await?;
    let patch = git::git_text(&checkout, diff_args("--patch")).await?;
    let mut files = git::parse_diff(&name_status, &numstat, &patch);
    let untracked = git::git_text(&checkout, ["ls-files", "--others", "--exclude-standard", "-z"]).await?;
    files.extend(untracked.split('\0').filter(|p| !p.is_empty()).map(|path| FileDiff {
        path: path.to_string(),
        status: DiffStatus::Untracked,
        additions: None,
        deletions: None,
        patch: String::new(),
    }));
    Ok(Json(files))
}

/// The commit the checkout's changes are measured from; `None` in a repository with no commit.
async fn merge_base(project: &Path, checkout: &Path) -> Option<String> {
    let head = git::git_text(checkout, ["rev-parse", "--verify", "--quiet", "HEAD"]).await.ok()?;
    let branch = git::checkout_status(checkout).await.ok().and_then(|s| s.branch);
    let recorded = match branch {
        Some(branch) => git::git_text(project, ["config", "--get", &format!("branch.{branch}.duraclawBase")]).await.ok(),
        None => None,
    };
    let base_ref = match recorded {
        Some(base) => base.trim().to_string(),
        None => default_branch(project).await,
    };
    let merge_base = git::git_text(checkout, ["merge-base", "HEAD", base_ref.as_str()]).await;
    Some(merge_base.unwrap_or(head).trim().to_string())
}
