//! The Worker's side of the SessionDO's internal routes (`https://do/internal/...`): the DO is
//! addressed by the session id (`id_from_name`), and only the Worker, after its auth and
//! ownership checks, ever calls it.

use serde::Serialize;
use serde_json::Value;
use shared_types::{ContentBlock, ErrorBody, SessionConfig, SessionMeta};
use worker::{Env, Headers, Method, Request, RequestInit, Response, Stub};

use crate::api::error::{json_response, ApiError};
use crate::auth::{Login, User};
use crate::session_index;

/// The Durable Object namespace binding in wrangler.toml.
pub const BINDING: &str = "SESSION_DO";

/// The body of `POST /internal/create`.
#[derive(Debug, Serialize)]
pub struct CreateSession {
    pub meta: SessionMeta,
    pub config: SessionConfig,
    /// Names the first prompt, so its `session.user_message` can be matched.
    pub client_id: String,
    pub prompt: Vec<ContentBlock>,
}

/// One session's Durable Object.
pub struct SessionStub(Stub);

impl SessionStub {
    pub fn get(env: &Env, session_id: &str) -> Result<SessionStub, ApiError> {
        let namespace = env.durable_object(BINDING).map_err(|e| {
            ApiError::Internal(format!("no Durable Object binding `{BINDING}` ({e}): check wrangler.toml"))
        })?;
        Ok(SessionStub(namespace.id_from_name(session_id)?.get_stub()?))
    }

    /// Creates the session in its DO; `owner` is named as the first prompt's author.
    pub async fn create(&self, body: &CreateSession, owner: &User) -> Result<(), ApiError> {
        let json = serde_json::to_string(body).map_err(|e| ApiError::Internal(e.to_string()))?;
        let headers = identity_headers(owner)?;
        headers.set("content-type", "application/json")?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers).with_body(Some(json.into()));
        let request = Request::new_with_init("https://do/internal/create", &init)?;
        self.json(request).await.map(|_| ())
    }

    /// The DO's view of the session (status, last seq, pending requests...).
    pub async fn state(&self) -> Result<Value, ApiError> {
        self.json(Request::new("https://do/internal/state", Method::Get)?).await
    }

    /// Stored events after `after`, at most `limit`.
    pub async fn events(&self, after: u64, limit: u64) -> Result<Response, ApiError> {
        let url = format!("https://do/internal/events?after={after}&limit={limit}");
        let body = self.json(Request::new(&url, Method::Get)?).await?;
        Ok(json_response(200, &body))
    }

    /// Hands a browser's WebSocket upgrade to the DO with the caller's identity and login id;
    /// returns the DO's 101 (or its error). The cookie stays behind: the DO trusts these headers,
    /// which only the Worker can set (the DO has no public route).
    pub async fn websocket(&self, req: &Request, login: &Login) -> Result<Response, ApiError> {
        let headers = Headers::new();
        for (name, value) in req.headers().entries() {
            if name != "cookie" && name != "host" {
                headers.append(&name, &value)?;
            }
        }
        set_identity(&headers, &login.user)?;
        headers.set("x-duraclaw-login-id", &login.id)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Get).with_headers(headers);
        let request = Request::new_with_init("https://do/internal/ws", &init)?;
        let response = self.0.fetch_with_request(request).await?;
        if response.status_code() == 101 {
            return Ok(response);
        }
        Err(do_error(response).await)
    }

    /// Closes the DO's browser sockets that `which` names.
    pub async fn end_sockets(&self, which: &EndSockets) -> Result<(), ApiError> {
        let json = serde_json::to_string(which).map_err(|e| ApiError::Internal(e.to_string()))?;
        let headers = Headers::new();
        headers.set("content-type", "application/json")?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers).with_body(Some(json.into()));
        self.json(Request::new_with_init("https://do/internal/end-sockets", &init)?).await.map(|_| ())
    }

    async fn json(&self, request: Request) -> Result<Value, ApiError> {
        let mut response = self.0.fetch_with_request(request).await?;
        if !(200..300).contains(&response.status_code()) {
            return Err(do_error(response).await);
        }
        let text = response.text().await?;
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| ApiError::Internal(format!("the session's Durable Object answered non-JSON: {e}")))
    }
}

/// The body of `POST /internal/end-sockets`: the sockets of `user_id`, only those of login `only`
/// (a logout), or all but those of login `except` (a password change), or all (a disabled user).
#[derive(Debug, Clone, Serialize)]
pub struct EndSockets {
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub except: Option<String>,
    /// Told to the browser in the close frame.
    pub reason: &'static str,
}

/// At most this many session DOs are told at once.
const END_SOCKETS_AT_ONCE: usize = 20;

/// Tells every session DO of `which.user_id` to close the sockets `which` names, and waits until
/// each has (a login that ended keeps no socket open). A socket can only be open on its owner's
/// sessions (the upgrade checks ownership), so the owner's sessions are all there is to tell.
/// A DO that fails is logged and the others still told.
pub async fn end_sockets(env: &Env, db: &worker::D1Database, which: EndSockets) -> Result<(), ApiError> {
    let ids = session_index::ids_of(db, &which.user_id).await?;
    for batch in ids.chunks(END_SOCKETS_AT_ONCE) {
        let calls = batch.iter().map(|id| {
            let which = &which;
            async move {
                let result = match SessionStub::get(env, id) {
                    Ok(stub) => stub.end_sockets(which).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    worker::console_error!("session {id}: its sockets of an ended login were not closed: {e}");
                }
            }
        });
        futures_util::future::join_all(calls).await;
    }
    Ok(())
}

/// Who is calling, for the DO (which trusts these headers: only the Worker reaches it).
fn identity_headers(user: &User) -> Result<Headers, ApiError> {
    let headers = Headers::new();
    set_identity(&headers, user)?;
    Ok(headers)
}

fn set_identity(headers: &Headers, user: &User) -> Result<(), ApiError> {
    headers.set("x-duraclaw-user-id", &user.id)?;
    headers.set("x-duraclaw-user-name", &user.name)?;
    Ok(())
}

/// The DO's error body passed through, or an internal error naming its status.
async fn do_error(mut response: Response) -> ApiError {
    let status = response.status_code();
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => ApiError::Relayed { status, body },
        Err(_) => ApiError::Internal(format!("the session's Durable Object answered {status}: {}", text.chars().take(200).collect::<String>())),
    }
}
