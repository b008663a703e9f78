//! `/api/projects/...`: the gateway's project routes for signed-in users, relayed by
//! [`crate::gateway::Gateway`].

use percent_encoding::percent_decode_str;
use worker::{Env, Method, Request, Response};

use super::body::{query_param, read_capped};
use super::error::ApiError;
use crate::auth::require_user;
use crate::gateway::Gateway;

/// The read-only views of a checkout, and the query parameters each passes on.
pub const VIEWS: &[(&str, &[&str])] = &[
    ("files", &["path", "worktree"]),
    ("file", &["path", "worktree"]),
    ("diff", &["worktree"]),
    ("kata-status", &["worktree"]),
    ("claude-sessions", &[]),
];

/// `GET /api/projects`
pub async fn list(req: Request, env: &Env) -> Result<Response, ApiError> {
    require_user(&req, env).await?;
    let gateway = Gateway::from_env(env)?;
    gateway.relay(Method::Get, gateway.url(&["projects"], &[]), None).await
}

/// `POST /api/projects/:name/worktrees` (the body goes to the gateway as is, size-capped).
pub async fn create_worktree(mut req: Request, env: &Env, raw_name: &str) -> Result<Response, ApiError> {
    require_user(&req, env).await?;
    let name = decode_segment(raw_name)?;
    let body = read_capped(&mut req).await?;
    let gateway = Gateway::from_env(env)?;
    gateway.relay(Method::Post, gateway.url(&["projects", &name, "worktrees"], &[]), Some(body)).await
}

/// `GET /api/projects/:name/{files,file,diff,kata-status,claude-sessions}`; `view` is one of [`VIEWS`].
pub async fn view(req: Request, env: &Env, raw_name: &str, view: &str) -> Result<Response, ApiError> {
    require_user(&req, env).await?;
    let name = decode_segment(raw_name)?;
    let params = VIEWS.iter().find(|(v, _)| *v == view).map_or(&[][..], |(_, p)| *p);
    let url = req.url()?;
    let query: Vec<(&str, String)> = params.iter().filter_map(|p| query_param(&url, p).map(|v| (*p, v))).collect();
    let gateway = Gateway::from_env(env)?;
    gateway.relay(Method::Get, gateway.url(&["projects", &name, view], &query), None).await
}

/// A path segment as the user meant it; the gateway checks the name itself.
fn decode_segment(raw: &str) -> Result<String, ApiError> {
    let name = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| ApiError::Invalid(format!("the project name {raw:?} is not UTF-8")))?;
    if name.is_empty() {
        return Err(ApiError::Invalid("empty project name".into()));
    }
    Ok(name.into_owned())
}
