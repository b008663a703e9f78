//! The D1 `sessions` table from the API's side: the Worker inserts a session's row when it is
//! created, renames it (`title`, the user's alone) and reads rows for the list and for ownership
//! checks; the session's Durable Object
//! updates `status`, `last_seq`, `cost_usd` and `updated_at` (see `session_do::index`).

use shared_types::api::SessionSummary;
use worker::D1Database;

use crate::api::error::ApiError;
use crate::d1::{int, opt_text, text};

/// The most rows `GET /api/sessions` returns.
pub const LIST_LIMIT: u64 = 500;

/// The columns of a [`SessionSummary`], which D1 rows are read into as they are (the owner is
/// in every query's `WHERE`, never in the answer).
const COLUMNS: &str = "id, title, project, worktree, status, cost_usd, last_seq, created_at, updated_at, prompt";

/// Adds the row of a new session of `owner_id`.
pub async fn insert(db: &D1Database, owner_id: &str, row: &SessionSummary) -> Result<(), ApiError> {
    db.prepare(format!("INSERT INTO sessions (owner_id, {COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"))
        .bind(&[
            text(owner_id),
            text(&row.id),
            text(&row.title),
            text(&row.project),
            opt_text(row.worktree.as_deref()),
            text(row.status.as_str()),
            wasm_bindgen::JsValue::from_f64(row.cost_usd),
            int(row.last_seq),
            int(row.created_at),
            int(row.updated_at),
            opt_text(row.prompt.as_deref()),
        ])?
        .run()
        .await?;
    Ok(())
}

/// Removes a row whose Durable Object refused to create the session.
pub async fn delete(db: &D1Database, id: &str) -> Result<(), ApiError> {
    db.prepare("DELETE FROM sessions WHERE id = ?1").bind(&[text(id)])?.run().await?;
    Ok(())
}

/// The owner's sessions, most recently updated first.
pub async fn list(db: &D1Database, owner_id: &str) -> Result<Vec<SessionSummary>, ApiError> {
    let result = db
        .prepare(format!("SELECT {COLUMNS} FROM sessions WHERE owner_id = ?1 ORDER BY updated_at DESC LIMIT ?2"))
        .bind(&[text(owner_id), int(LIST_LIMIT)])?
        .all()
        .await?;
    Ok(result.results()?)
}

/// The session if it exists and belongs to `owner_id`. Someone else's session is `None`, like a
/// missing one: the API never says that a session exists to anyone but its owner.
pub async fn find_owned(db: &D1Database, id: &str, owner_id: &str) -> Result<Option<SessionSummary>, ApiError> {
    Ok(db
        .prepare(format!("SELECT {COLUMNS} FROM sessions WHERE id = ?1 AND owner_id = ?2"))
        .bind(&[text(id), text(owner_id)])?
        .first(None)
        .await?)
}

/// Sets the title of `owner_id`'s session `id` and returns the row; `None` when no such row is
/// theirs. The only writer of `title` after the insert (the Durable Object's index writes leave
/// it alone). One statement: the ownership check is its `WHERE`.
pub async fn rename(db: &D1Database, id: &str, owner_id: &str, title: &str) -> Result<Option<SessionSummary>, ApiError> {
    Ok(db
        .prepare(format!("UPDATE sessions SET title = ?1 WHERE id = ?2 AND owner_id = ?3 RETURNING {COLUMNS}"))
        .bind(&[text(title), text(id), text(owner_id)])?
        .first(None)
        .await?)
}

/// The ids of every session of `owner_id` (to tell their Durable Objects that a login ended).
pub async fn ids_of(db: &D1Database, owner_id: &str) -> Result<Vec<String>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    let rows: Vec<Id> = db.prepare("SELECT id FROM sessions WHERE owner_id = ?1").bind(&[text(owner_id)])?.all().await?.results()?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}
