//! `GET /projects/:name/kata-status?worktree=`: the kata state the dashboard shows for a
//! checkout, as [`crate::kata`] reads it.
//!
//! A missing or unreadable state is `{"kata_state": null}`, not an error: a checkout without
//! kata is normal, and a half-written state must not break the dashboard. A `.kata` symlinked
//! out of the checkout is refused (400).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use shared_types::api::KataStatus;

use crate::api_error::ApiError;
use crate::checkout::checkout_dir;
use crate::kata::newest_state;
use crate::projects::CheckoutQuery;
use crate::state::{AppState, Checkouts};

/// The kata route (behind the bearer token).
pub fn router() -> Router<AppState> {
    Router::new().route("/projects/{name}/kata-status", get(kata_status))
}

async fn kata_status(
    State(checkouts): State<Checkouts>,
    UrlPath(name): UrlPath<String>,
    query: Result<Query<CheckoutQuery>, QueryRejection>,
) -> Result<Json<KataStatus>, ApiError> {
    let Query(query) = query?;
    let checkout = checkout_dir(&checkouts.projects_root, &name, query.worktree.as_deref()).await?;
    Ok(Json(KataStatus { kata_state: newest_state(&checkout, checkouts.max_file_bytes).await? }))
}
