//! The Worker's side of the SessionDO's internal routes (`https://do/internal/...`): the DO is
//! addressed by the session id (`id_from_name`), and only the Worker, after its auth and
//! ownership checks, ever calls it.

use serde::de::DeserializeOwned;
use serde::Serialize;
use shared_types::api::{CreateSession, EndSockets, SessionState};
use shared_types::ErrorBody;
use worker::{Env, Headers, Method, Request, Response, Stub};

use crate::api::error::ApiError;
use crate::auth::{Login, User};
use crate::outbound::{self, Redirect};
use crate::session_index;

/// The Durable Object namespace binding in wrangler.toml.
pub const BINDING: &str = "SESSION_DO";

/// One session's Durable Object.
pub struct SessionStub(Stub);

impl SessionStub {
    pub fn get(env: &Env, session_id: &str) -> Result<SessionStub, ApiError> {
        let namespace = env.durable_object(BINDING).map_err(|e| {
            ApiError::Internal(format!("no Durable Object binding `{BINDING}` ({e}): check wrangler.toml"))
        })?;
        Ok(SessionStub(namespace.id_from_name(session_id)?.get_stub()?))
    }

    /// Creates the session in its DO; `owner` is named as the first prompt's author. The DO's
    /// answer (`api::Created`, the id the Worker chose) is not read: success is its status.
    pub async fn create(&self, body: &CreateSession, owner: &User) -> Result<(), ApiError> {
        self.done(post_json("https://do/internal/create", body, identity_headers(owner)?)?).await
    }

    /// The DO's view of the session (status, last seq, pending requests...).
    pub async fn state(&self) -> Result<SessionState, ApiError> {
        self.json(Request::new("https://do/internal/state", Method::Get)?).await
    }

    /// Stored events after `after`, at most `limit`: the DO's [`shared_types::api::EventsPage`],
    /// relayed as the DO wrote it. Decoding a page of events only to encode them again would
    /// cost the Worker CPU for nothing; the DO is the one writer of this body.
    pub async fn events(&self, after: u64, limit: u64) -> Result<Response, ApiError> {
        let url = format!("https://do/internal/events?after={after}&limit={limit}");
        let mut response = self.0.fetch_with_request(Request::new(&url, Method::Get)?).await?;
        if response.status_code() != 200 {
            return Err(do_error(response).await);
        }
        let relayed = Response::builder().with_status(200).fixed(response.bytes().await?);
        relayed.headers().set("content-type", "application/json")?;
        relayed.headers().set("cache-control", "no-store")?;
        Ok(relayed)
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
        let request = outbound::request("https://do/internal/ws", Method::Get, &headers, None, Redirect::Follow)?;
        let response = self.0.fetch_with_request(request).await?;
        if response.status_code() == 101 {
            return Ok(response);
        }
        Err(do_error(response).await)
    }

    /// Closes the DO's browser sockets that `which` names (its `api::SocketsClosed` count is
    /// not needed: success is the status).
    pub async fn end_sockets(&self, which: &EndSockets) -> Result<(), ApiError> {
        self.done(post_json("https://do/internal/end-sockets", which, Headers::new())?).await
    }

    /// Sends `request`; a 2xx is done, anything else the DO's error passed on.
    async fn done(&self, request: Request) -> Result<(), ApiError> {
        let response = self.0.fetch_with_request(request).await?;
        if !(200..300).contains(&response.status_code()) {
            return Err(do_error(response).await);
        }
        Ok(())
    }

    /// Sends `request` and reads the DO's answer as `T`; the DO's error body is passed on.
    async fn json<T: DeserializeOwned>(&self, request: Request) -> Result<T, ApiError> {
        let mut response = self.0.fetch_with_request(request).await?;
        if !(200..300).contains(&response.status_code()) {
            return Err(do_error(response).await);
        }
        let text = response.text().await?;
        serde_json::from_str(&text)
            .map_err(|e| ApiError::Internal(format!("the session's Durable Object answered with an unexpected body: {e}")))
    }
}

/// A POST of `body` as JSON to one of the DO's internal routes.
fn post_json(url: &str, body: &impl Serialize, headers: Headers) -> Result<Request, ApiError> {
    let json = serde_json::to_string(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    headers.set("content-type", "application/json")?;
    Ok(outbound::request(url, Method::Post, &headers, Some(&wasm_bindgen::JsValue::from(json)), Redirect::Follow)?)
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
