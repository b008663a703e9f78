//! `GET /projects/:name/kata-status?worktree=`: the kata state the dashboard shows for a
//! checkout, read from the newest `.kata/sessions/*/state.json` (DESIGN.md, "Kata").
//!
//! A missing or unreadable state is `{"kata_state": null}`, not an error: a checkout without
//! kata is normal, and a half-written state must not break the dashboard. The state files are
//! confined like any request path, so a `.kata` symlinked out of the checkout is refused (400).

use std::path::{Path, PathBuf};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use shared_types::kata::scan_states;
use shared_types::KataState;

use crate::api_error::ApiError;
use crate::confine;
use crate::daemon::AppState;
use crate::projects::{checkout_dir, read_capped, CheckoutQuery};

/// Where kata keeps one directory per kata session, relative to the checkout.
const KATA_SESSIONS: &str = ".kata/sessions";

/// The kata route (behind the bearer token).
pub fn router() -> Router<AppState> {
    Router::new().route("/projects/{name}/kata-status", get(kata_status))
}

/// The answer: the newest state, or null.
#[derive(Debug, Serialize)]
pub struct KataStatus {
    pub kata_state: Option<KataState>,
}

async fn kata_status(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
    query: Result<Query<CheckoutQuery>, QueryRejection>,
) -> Result<Json<KataStatus>, ApiError> {
    let Query(query) = query?;
    let checkout = checkout_dir(&state.config.projects_root, &name, query.worktree.as_deref()).await?;
    Ok(Json(KataStatus { kata_state: newest_state(&checkout, state.config.max_file_bytes).await? }))
}

/// The newest kata state of a checkout, `None` when there is none or it cannot be read. The
/// route above and the session runner (which announces changes as `session.kata`) share it.
pub async fn newest_state(checkout: &Path, cap: u64) -> Result<Option<KataState>, ApiError> {
    let files = read_state_files(checkout, cap).await?;
    let scan = scan_states(files.iter().map(|(path, json)| (path.as_str(), json.as_str())));
    for unreadable in &scan.unreadable {
        tracing::warn!(path = %unreadable.path, "unreadable kata state: {}", unreadable.error);
    }
    Ok(scan.newest().cloned())
}

/// `(path, json)` of every readable `state.json` under the checkout's `.kata/sessions`.
async fn read_state_files(checkout: &Path, cap: u64) -> Result<Vec<(String, String)>, ApiError> {
    let sessions = match confine::contain(checkout, Path::new(KATA_SESSIONS)) {
        Err(ApiError::NotFound(_)) => return Ok(Vec::new()),
        other => other?,
    };
    let Ok(entries) = std::fs::read_dir(&sessions) else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let relative = PathBuf::from(KATA_SESSIONS).join(entry.file_name()).join("state.json");
        let path = match confine::contain(checkout, &relative) {
            Err(ApiError::NotFound(_)) => continue,
            other => other?,
        };
        match read_capped(&path, cap).await {
            Ok(bytes) => files.push((relative.display().to_string(), String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) => tracing::warn!(path = %relative.display(), "skipping a kata state: {e}"),
        }
    }
    Ok(files)
}
