//! Login sessions: a random 32-byte token in an `HttpOnly; Secure; SameSite=Lax; Path=/` cookie,
//! stored in D1 only as its SHA-256 (a leaked database row cannot be replayed as a cookie), with
//! an expiry. Logout deletes the row.
//!
//! Where the Worker is served over https the cookie is `__Host-duraclaw_session`: the browser
//! then refuses it from any other host (a sibling subdomain cannot plant or overwrite it) and
//! without `Secure`/`Path=/`. Over plain http (local `wrangler dev`) it is `duraclaw_session`,
//! since a `__Host-` cookie needs a secure origin. Each scheme reads only its own name.
//!
//! A login's id (the hex SHA-256 of its token, the row's key) names it to the session Durable
//! Objects, which keep it in each browser socket's attachment so that ending the login ends its
//! sockets ([`crate::session_stub::end_sockets`]).

use worker::{D1Database, Request};

use super::users::{User, UserRecord};
use super::crypto;
use crate::rules::cookie;
use crate::api::error::ApiError;
use crate::d1::{int, text};

pub const COOKIE_NAME: &str = "duraclaw_session";
/// The cookie's name on an https origin.
pub const SECURE_COOKIE_NAME: &str = "__Host-duraclaw_session";
/// How long a login lasts.
pub const TTL_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// A new login session's cookie token (64 hex characters).
pub struct Token(String);

impl Token {
    fn generate() -> Result<Token, ApiError> {
        Ok(Token(hex::encode(crypto::random_bytes::<32>()?)))
    }

    /// The token the request's cookie (of the name for its scheme) carries, if it has the right
    /// shape.
    pub fn from_request(req: &Request) -> Option<Token> {
        let header = req.headers().get("cookie").ok().flatten()?;
        let name = cookie_name(is_https(req));
        cookie::find(&header, name)
            .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|v| Token(v.to_string()))
    }

    async fn hash_hex(&self) -> Result<String, ApiError> {
        let raw = hex::decode(&self.0).map_err(|_| ApiError::Unauthorized("malformed session cookie".into()))?;
        Ok(hex::encode(crypto::sha256(&raw).await?))
    }

    /// The `Set-Cookie` value that stores this token in the browser that sent `req`.
    pub fn set_cookie(&self, req: &Request) -> String {
        session_cookie(is_https(req), &self.0, TTL_MS / 1000)
    }
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(req: &Request) -> String {
    session_cookie(is_https(req), "", 0)
}

/// The cookie's name: `__Host-` prefixed on https.
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    }
}

fn is_https(req: &Request) -> bool {
    req.url().is_ok_and(|u| u.scheme() == "https")
}

/// The `Set-Cookie` value; `__Host-` rules (Secure, Path=/, no Domain) hold for both names.
pub fn session_cookie(https: bool, value: &str, max_age_secs: u64) -> String {
    cookie::set_cookie(cookie_name(https), value, max_age_secs)
}

/// A live login: who, and its id (the hex SHA-256 of its token).
pub struct Login {
    pub user: User,
    pub id: String,
}

/// Starts a login session for `user`; returns its token for the cookie. Expired sessions are
/// swept at the same time.
pub async fn start(db: &D1Database, user: &User, now: u64) -> Result<Token, ApiError> {
    let token = Token::generate()?;
    let insert = db
        .prepare("INSERT INTO login_sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")
        .bind(&[text(&token.hash_hex().await?), text(&user.id), int(now), int(now + TTL_MS)])?;
    let sweep = db.prepare("DELETE FROM login_sessions WHERE expires_at <= ?1").bind(&[int(now)])?;
    db.batch(vec![insert, sweep]).await?;
    Ok(token)
}

/// The request's live login (its user not disabled), if it has one.
pub async fn current(db: &D1Database, req: &Request, now: u64) -> Result<Option<Login>, ApiError> {
    let Some(token) = Token::from_request(req) else { return Ok(None) };
    let id = token.hash_hex().await?;
    let user: Option<UserRecord> = db
        .prepare(
            "SELECT u.id, u.name, u.is_admin FROM login_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0",
        )
        .bind(&[text(&id), int(now)])?
        .first(None)
        .await?;
    Ok(user.map(|user| Login { user: user.into(), id }))
}

/// Ends the request's login session, if any; returns its id.
pub async fn end(db: &D1Database, req: &Request) -> Result<Option<String>, ApiError> {
    let Some(token) = Token::from_request(req) else { return Ok(None) };
    let id = token.hash_hex().await?;
    db.prepare("DELETE FROM login_sessions WHERE token_hash = ?1").bind(&[text(&id)])?.run().await?;
    Ok(Some(id))
}

/// Ends every login of `user_id` but `keep` (the caller's own, when it stays signed in).
pub async fn end_all(db: &D1Database, user_id: &str, keep: Option<&str>) -> Result<(), ApiError> {
    db.prepare("DELETE FROM login_sessions WHERE user_id = ?1 AND token_hash != ?2")
        .bind(&[text(user_id), text(keep.unwrap_or(""))])?
        .run()
        .await?;
    Ok(())
}
