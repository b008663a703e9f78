//! The Worker's side of the SessionDO's internal routes (`https://do/internal/...`): the DO is
//! addressed by the session id (`id_from_name`), and only the Worker, after its auth and
//! ownership checks, ever calls it.

use serde::Serialize;
use serde_json::Value;
use shared_types::{ContentBlock, ErrorBody, SessionConfig, SessionMeta};
use worker::{Env, Headers, Method, Request, RequestInit, Response, Stub};

use crate::api::error::{json_response, ApiError};
use crate::auth::User;

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

    /// Hands a browser's WebSocket upgrade to the DO with the caller's identity; returns the DO's
    /// 101 (or its error). The cookie stays behind: the DO trusts these headers, which only the
    /// Worker can set (the DO has no public route).
    pub async fn websocket(&self, req: &Request, user: &User) -> Result<Response, ApiError> {
        let headers = Headers::new();
        for (name, value) in req.headers().entries() {
            if name != "cookie" && name != "host" {
                headers.append(&name, &value)?;
            }
        }
        set_identity(&headers, user)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Get).with_headers(headers);
        let request = Request::new_with_init("https://do/internal/ws", &init)?;
        let response = self.0.fetch_with_request(request).await?;
        if response.status_code() == 101 {
            return Ok(response);
        }
        Err(do_error(response).await)
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
