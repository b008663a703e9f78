//! Claude Code sessions started elsewhere: `GET /projects/{name}/claude-sessions` lists the CLI's
//! own session files of every checkout of the project (main and linked worktrees), newest first,
//! with their first prompt; `GET /projects/{name}/claude-sessions/{id}?worktree=` describes one
//! as resuming it would show it (400 for a bad id or name, 404 when the checkout has no such
//! session, 409 once a Duraclaw session has it). What the files say is read by
//! [`crate::session_files`], as hostile input; who has a session, by [`crate::claims`].

use std::path::{Path, PathBuf};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use shared_types::api::{is_claude_session_id, ClaudeSession, ClaudeSessionDetail, ClaudeSessionList};

use crate::api_error::ApiError;
use crate::checkout::{checkout_dir, project_dir};
use crate::git;
use crate::projects::CheckoutQuery;
use crate::session_files::{self, Head, SessionFile};
use crate::state::{AppState, Checkouts, ClaudeFiles};

/// The most sessions one list answer holds (the newest).
pub const MAX_LISTED: usize = 100;
/// The most files one list answer reads the start of (files that turn out to be another
/// checkout's, or unreadable, are skipped): planted files cannot make a listing read gigabytes.
const MAX_HEADS_READ: usize = 2 * MAX_LISTED;

/// The routes (behind the bearer token).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{name}/claude-sessions", get(list))
        .route("/projects/{name}/claude-sessions/{id}", get(detail))
}

/// A checkout of the project: its worktree name (`None` for the main one) and real path.
type CheckoutPath = (Option<String>, PathBuf);

async fn list(
    State(checkouts): State<Checkouts>,
    State(files): State<ClaudeFiles>,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<ClaudeSessionList>, ApiError> {
    let project = project_dir(&checkouts.projects_root, &name)?;
    let mut all: Vec<(Option<String>, PathBuf)> = vec![(None, project.clone())];
    match git::worktree_list(&project).await {
        Ok(linked) => all.extend(linked.into_iter().skip(1).map(|w| (w.path.file_name().map(|n| n.to_string_lossy().into_owned()), w.path))),
        Err(e) => tracing::warn!(project = %name, "cannot list worktrees: {e}"),
    }
    let Some(projects_dir) = files.projects_dir.clone() else {
        return Ok(Json(ClaudeSessionList { sessions: Vec::new(), total: 0 }));
    };
    let checkouts: Vec<CheckoutPath> = all.into_iter().filter_map(|(w, p)| p.canonicalize().ok().map(|real| (w, real))).collect();
    let listed = tokio::task::spawn_blocking(move || listed(&projects_dir, &checkouts, &files))
        .await
        .map_err(|e| ApiError::Internal(format!("listing Claude Code sessions failed: {e}")))?;
    Ok(Json(listed))
}

/// Every checkout's session files, newest first; the first prompt read for the newest
/// [`MAX_LISTED`] that belong to their checkout (of the newest [`MAX_HEADS_READ`]).
fn listed(projects_dir: &Path, checkouts: &[CheckoutPath], files: &ClaudeFiles) -> ClaudeSessionList {
    let mut found: Vec<(&CheckoutPath, SessionFile)> =
        checkouts.iter().flat_map(|c| session_files::list(projects_dir, &c.1).into_iter().map(move |f| (c, f))).collect();
    found.sort_by(|a, b| b.1.modified_ms.cmp(&a.1.modified_ms).then_with(|| a.1.id.cmp(&b.1.id)));
    let total = found.len() as u64;
    let sessions = found
        .into_iter()
        .take(MAX_HEADS_READ)
        .filter_map(|((worktree, cwd), file)| {
            let head = session_files::head(&file).ok().filter(|h| h.is_of(cwd))?;
            Some(summary(&file, worktree.clone(), head, files.claims.holder(&file.id).is_some()))
        })
        .take(MAX_LISTED)
        .collect();
    ClaudeSessionList { sessions, total }
}

fn summary(file: &SessionFile, worktree: Option<String>, head: Head, claimed: bool) -> ClaudeSession {
    ClaudeSession {
        id: file.id.clone(),
        worktree,
        first_prompt: head.first_prompt,
        modified_at: file.modified_ms,
        size: file.size,
        claimed,
    }
}

async fn detail(
    State(checkouts): State<Checkouts>,
    State(files): State<ClaudeFiles>,
    UrlPath((name, id)): UrlPath<(String, String)>,
    query: Result<Query<CheckoutQuery>, QueryRejection>,
) -> Result<Json<ClaudeSessionDetail>, ApiError> {
    let Query(query) = query?;
    if !is_claude_session_id(&id) {
        return Err(ApiError::InvalidInput(format!("invalid Claude Code session id {id:?}: a UUID like 0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11")));
    }
    let worktree = query.worktree.filter(|w| !w.is_empty());
    let checkout = checkout_dir(&checkouts.projects_root, &name, worktree.as_deref()).await?;
    let cwd = checkout.canonicalize().map_err(|e| ApiError::io("the checkout", &e))?;
    let projects_dir = files.projects_dir.clone().ok_or_else(|| {
        ApiError::NotFound("the gateway has no Claude Code config directory (neither CLAUDE_CONFIG_DIR nor HOME is set)".into())
    })?;
    tokio::task::spawn_blocking(move || describe(&projects_dir, &cwd, &id, worktree, &files))
        .await
        .map_err(|e| ApiError::Internal(format!("reading the Claude Code session failed: {e}")))?
        .map(Json)
}

/// One session of the checkout at `cwd`, or why not: unknown (or not the checkout's) 404, a
/// Duraclaw session's already 409.
fn describe(projects_dir: &Path, cwd: &Path, id: &str, worktree: Option<String>, files: &ClaudeFiles) -> Result<ClaudeSessionDetail, ApiError> {
    let file = session_files::find(projects_dir, cwd, id)?;
    let head = session_files::head(&file)?;
    if !head.is_of(cwd) {
        return Err(ApiError::NotFound(format!("Claude Code session {id} was recorded in another directory, not {}", cwd.display())));
    }
    if let Some(holder) = files.claims.holder(id) {
        let by = if holder.is_empty() { String::new() } else { format!(" (session {holder})") };
        return Err(ApiError::Conflict(format!("Claude Code session {id} is already open in Duraclaw{by}: open that session instead")));
    }
    let history = session_files::history(&file)?;
    Ok(ClaudeSessionDetail {
        session: summary(&file, worktree, head, false),
        cwd: cwd.to_string_lossy().into_owned(),
        prompts: history.prompts,
        history_truncated: history.truncated,
    })
}
