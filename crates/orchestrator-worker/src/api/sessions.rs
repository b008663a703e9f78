//! `/api/sessions...`: the caller's sessions. Every route with an id checks ownership first:
//! another user's session is 404, exactly like a missing one.

use shared_types::api::{
    CreateSession, Created, NewSession, PolicyRules, SessionDetail, SessionList, SessionRename, SessionSummary, StatusName,
    SESSION_PROMPT_CHARS,
};
use shared_types::{ContentBlock, PermissionMode, PermissionRule, SessionConfig, SessionMeta, ToolPolicy};
use worker::{Env, Request, Response};

use super::body::{query_u64, read_json};
use super::error::{json_response, ApiError};
use crate::auth::{crypto, require_user, User};
use crate::d1;
use crate::gateway::Gateway;
use crate::session_index;
use crate::session_stub::SessionStub;

/// The longest first prompt, in bytes (UTF-8).
pub const MAX_PROMPT_BYTES: usize = 100_000;
const MAX_MODEL_CHARS: usize = 100;
const MAX_PROJECT_CHARS: usize = 100;
const MAX_RULES: usize = 200;
/// The events page size when `limit` is absent, and its maximum.
const DEFAULT_EVENTS_LIMIT: u64 = 500;
const MAX_EVENTS_LIMIT: u64 = 5000;

/// The tools a session may use without asking when the request names no policy: the read-only
/// ones (reading files, searching, listing, the todo list).
pub const DEFAULT_ALLOWED_TOOLS: &[&str] = &["Read", "Glob", "Grep", "LS", "TodoWrite"];

/// `GET /api/sessions`: mine, most recently updated first.
pub async fn list(req: Request, env: &Env) -> Result<Response, ApiError> {
    let user = require_user(&req, env).await?;
    let sessions = session_index::list(&d1::database(env)?, &user.id).await?;
    Ok(json_response(200, &SessionList { sessions }))
}

/// `POST /api/sessions`: validates (only admins may choose `bypassPermissions`), writes the index row (`starting`), then creates the DO with
/// the first prompt. If the DO refuses, the row is removed and its error passed on. A session
/// that resumes a Claude Code session is first checked with the gateway (its 404 or 409 passed
/// on, nothing created); its title and searchable prompt are that session's first prompt.
pub async fn create(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let user = require_user(&req, env).await?;
    // through `Value`, whose reader the Worker has anyway (a derived decoder costs code)
    let body = NewSession::from_value(read_json(&mut req).await?)
        .map_err(|e| ApiError::BadJson(format!("the body is not the JSON this route takes: {e}")))?;
    let (mut config, prompt) = validate(body)?;
    let first = match &config.resume {
        Some(id) => resumable(env, &config, id).await?,
        None => String::new(),
    };
    // no title and no prompt: a resumed session, named by its first prompt
    if config.title.is_none() {
        let title = title_from_prompt(&first);
        config.title = Some(if title.is_empty() { "Resumed Claude Code session".into() } else { title });
    }
    if config.permission_mode == PermissionMode::BypassPermissions && !user.is_admin {
        return Err(ApiError::Forbidden(
            "only an admin may start a session in bypassPermissions (every tool call runs unasked); \
             use default, acceptEdits or plan"
                .into(),
        ));
    }
    let id = crypto::random_id()?;
    let now = d1::now_ms();
    let meta = SessionMeta {
        id: id.clone(),
        title: config.title.clone().unwrap_or_default(),
        project: config.project.clone(),
        worktree: config.worktree.clone(),
        model: config.model.clone(),
        permission_mode: config.permission_mode,
        created_at: now,
        claude_session_id: None,
    };
    let row = SessionSummary {
        id: id.clone(),
        title: meta.title.clone(),
        project: meta.project.clone(),
        worktree: meta.worktree.clone(),
        status: StatusName::Starting,
        cost_usd: 0.0,
        last_seq: 0,
        created_at: now,
        updated_at: now,
        prompt: Some(if prompt.is_empty() { &first } else { &prompt }.chars().take(SESSION_PROMPT_CHARS).collect()),
    };
    let db = d1::database(env)?;
    session_index::insert(&db, &user.id, &row).await?;
    let prompt = if prompt.is_empty() { Vec::new() } else { vec![ContentBlock::text(prompt)] };
    let create = CreateSession { meta, config, client_id: crypto::random_id()?, prompt };
    if let Err(e) = SessionStub::get(env, &id)?.create(&create, &user).await {
        session_index::delete(&db, &id).await?;
        return Err(e);
    }
    Ok(json_response(201, &Created { id }))
}

/// Asks the gateway whether Claude Code session `id` can be resumed in the config's checkout
/// (its 400, 404 or 409 is the answer's); its first prompt when it can (empty when none).
async fn resumable(env: &Env, config: &SessionConfig, id: &str) -> Result<String, ApiError> {
    let gateway = Gateway::from_env(env)?;
    let query: Vec<(&str, String)> = config.worktree.iter().map(|w| ("worktree", w.clone())).collect();
    let url = gateway.url(&["projects", &config.project, "claude-sessions", id], &query);
    let mut answer = gateway.relay(worker::Method::Get, url, None).await?;
    let text = answer.text().await?;
    let detail: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let first = detail.get("session").and_then(|s| s.get("first_prompt")).and_then(serde_json::Value::as_str);
    Ok(first.unwrap_or_default().to_string())
}

/// `GET /api/sessions/:id`: the index row and the DO's state.
pub async fn get(req: Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let row = owned(&require_user(&req, env).await?, env, id).await?;
    let state = SessionStub::get(env, id)?.state().await?;
    Ok(json_response(200, &SessionDetail { session: row, state }))
}

/// `PATCH /api/sessions/:id` ([`SessionRename`]): the owner's new title, checked before anything
/// is written; the answer is the updated row. Another user's session is 404 like a missing one
/// (the `UPDATE`'s `WHERE` names the owner; a bad body is refused before any lookup).
pub async fn rename(mut req: Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let user = require_user(&req, env).await?;
    // through `Value`, whose reader the Worker has anyway (a derived decoder: +1.6 KB of code)
    let body = SessionRename::from_value(read_json(&mut req).await?)
        .map_err(|e| ApiError::BadJson(format!("the body is not the JSON this route takes: {e}")))?;
    let title = body.checked_title().map_err(ApiError::Invalid)?;
    let row = match is_session_id(id) {
        true => session_index::rename(&d1::database(env)?, id, &user.id, title).await?,
        false => None,
    };
    let row = row.ok_or_else(|| ApiError::NotFound(format!("no session {id:?}")))?;
    Ok(json_response(200, &row))
}

/// `GET /api/sessions/:id/events?after=&limit=`
pub async fn events(req: Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    owned(&require_user(&req, env).await?, env, id).await?;
    let url = req.url()?;
    let after = query_u64(&url, "after")?.unwrap_or(0);
    let limit = query_u64(&url, "limit")?.unwrap_or(DEFAULT_EVENTS_LIMIT);
    if limit == 0 || limit > MAX_EVENTS_LIMIT {
        return Err(ApiError::Invalid(format!("`limit` must be 1-{MAX_EVENTS_LIMIT}")));
    }
    SessionStub::get(env, id)?.events(after, limit).await
}

/// The caller's session `id`: 404 when it is missing or someone else's (or the id is not one we
/// make).
pub async fn owned(user: &User, env: &Env, id: &str) -> Result<SessionSummary, ApiError> {
    let not_found = || ApiError::NotFound(format!("no session {id:?}"));
    if !is_session_id(id) {
        return Err(not_found());
    }
    session_index::find_owned(&d1::database(env)?, id, &user.id).await?.ok_or_else(not_found)
}

/// Session ids are 32 lowercase hex characters.
fn is_session_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks every field and builds the session's config; returns it with the first prompt.
fn validate(body: NewSession) -> Result<(SessionConfig, String), ApiError> {
    check_checkout_name("project", &body.project)?;
    let worktree = body.worktree.filter(|w| !w.is_empty());
    if let Some(w) = &worktree {
        check_checkout_name("worktree", w)?;
    }
    // a resumed session's id is checked by the gateway (400 for anything but a Claude Code session id)
    let resume = body.resume.filter(|r| !r.is_empty());
    if body.prompt.trim().is_empty() && (resume.is_none() || !body.prompt.is_empty()) {
        return Err(ApiError::Invalid("the prompt is empty: say what Claude should do".into()));
    }
    if body.prompt.len() > MAX_PROMPT_BYTES {
        return Err(ApiError::Invalid(format!(
            "the prompt is {} bytes; the limit is {MAX_PROMPT_BYTES} (attach large text as a file in the worktree instead)",
            body.prompt.len()
        )));
    }
    let model = body.model.filter(|m| !m.is_empty());
    if let Some(m) = &model {
        if m.chars().count() > MAX_MODEL_CHARS || m.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ApiError::Invalid(format!("invalid model {m:?}: a model id like `claude-sonnet-4-5`")));
        }
    }
    let permission_mode = match body.permission_mode.as_deref() {
        None | Some("") => PermissionMode::default(),
        Some(mode) => serde_json::from_value(serde_json::Value::from(mode)).map_err(|_| {
            ApiError::Invalid(format!(
                "invalid permission_mode {mode:?}: use default, acceptEdits, plan or bypassPermissions"
            ))
        })?,
    };
    let policy = match body.policy {
        None => default_policy(),
        Some(p) => parse_policy(p)?,
    };
    // an explicit title follows the rename rules (length, no control characters); a resumed
    // session with no prompt takes its title from the gateway's answer
    let title = match body.title.filter(|t| !t.trim().is_empty()) {
        Some(title) => Some(SessionRename { title }.checked_title().map_err(ApiError::Invalid)?.to_string()),
        None => Some(title_from_prompt(&body.prompt)).filter(|t| !t.is_empty()),
    };
    let config = SessionConfig { project: body.project, worktree, model, permission_mode, policy, title, resume };
    Ok((config, body.prompt))
}

/// The same rule the gateway applies to project and worktree names, so that a bad one is refused
/// before a session exists.
fn check_checkout_name(what: &str, name: &str) -> Result<(), ApiError> {
    let charset_ok = name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if name.is_empty() || name.len() > MAX_PROJECT_CHARS || !charset_ok || name.starts_with('.') {
        return Err(ApiError::Invalid(format!(
            "invalid {what} name {name:?}: use 1-{MAX_PROJECT_CHARS} of letters, digits, '.', '_', '-', not starting with '.'"
        )));
    }
    Ok(())
}

fn default_policy() -> ToolPolicy {
    let allow = DEFAULT_ALLOWED_TOOLS.iter().map(|t| PermissionRule { tool: (*t).to_string(), pattern: None }).collect();
    ToolPolicy { allow, deny: vec![] }
}

fn parse_policy(p: PolicyRules) -> Result<ToolPolicy, ApiError> {
    if p.allow.len() + p.deny.len() > MAX_RULES {
        return Err(ApiError::Invalid(format!("the policy has over {MAX_RULES} rules")));
    }
    let parse = |rules: Vec<String>, list: &str| -> Result<Vec<PermissionRule>, ApiError> {
        rules
            .iter()
            .map(|r| r.parse().map_err(|e| ApiError::Invalid(format!("policy.{list}: {e}"))))
            .collect()
    };
    Ok(ToolPolicy { allow: parse(p.allow, "allow")?, deny: parse(p.deny, "deny")? })
}

/// The first line of the prompt, cut to 80 characters.
fn title_from_prompt(prompt: &str) -> String {
    let line = prompt.trim().lines().next().unwrap_or_default();
    let mut title: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        title.push('…');
    }
    title
}
