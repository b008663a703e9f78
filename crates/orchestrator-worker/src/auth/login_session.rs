//! Login sessions: a random 32-byte token in an `HttpOnly; Secure; SameSite=Lax; Path=/` cookie,
//! stored in D1 only as its SHA-256 (a leaked database row cannot be replayed as a cookie), with
//! an expiry. Logout deletes the row.

use cookie::time::Duration;
use cookie::{Cookie, SameSite};
use worker::{D1Database, Request};

use super::crypto;
use super::users::User;
use crate::api::error::ApiError;
use crate::d1::{int, text};

pub const COOKIE_NAME: &str = "duraclaw_session";
/// How long a login lasts.
pub const TTL_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// A new login session's cookie token (64 hex characters).
pub struct Token(String);

impl Token {
    fn generate() -> Result<Token, ApiError> {
        Ok(Token(hex::encode(crypto::random_bytes::<32>()?)))
    }

    /// The token the request's cookie carries, if it has the right shape.
    pub fn from_request(req: &Request) -> Option<Token> {
        let header = req.headers().get("cookie").ok().flatten()?;
        Cookie::split_parse(header)
            .filter_map(Result::ok)
            .find(|c| c.name() == COOKIE_NAME)
            .map(|c| c.value().to_string())
            .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(Token)
    }

    async fn hash_hex(&self) -> Result<String, ApiError> {
        let raw = hex::decode(&self.0).map_err(|_| ApiError::Unauthorized("malformed session cookie".into()))?;
        Ok(hex::encode(crypto::sha256(&raw).await?))
    }

    /// The `Set-Cookie` value that stores this token in the browser.
    pub fn set_cookie(&self) -> String {
        session_cookie(self.0.clone(), Duration::milliseconds(TTL_MS as i64))
    }
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie() -> String {
    session_cookie(String::new(), Duration::ZERO)
}

fn session_cookie(value: String, max_age: Duration) -> String {
    Cookie::build((COOKIE_NAME, value))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(max_age)
        .build()
        .to_string()
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

/// The user of the request's login session, if it has a live one.
pub async fn current_user(db: &D1Database, req: &Request, now: u64) -> Result<Option<User>, ApiError> {
    let Some(token) = Token::from_request(req) else { return Ok(None) };
    let user = db
        .prepare(
            "SELECT u.id, u.name, u.is_admin FROM login_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        )
        .bind(&[text(&token.hash_hex().await?), int(now)])?
        .first(None)
        .await?;
    Ok(user)
}

/// Ends the request's login session, if any.
pub async fn end(db: &D1Database, req: &Request) -> Result<(), ApiError> {
    if let Some(token) = Token::from_request(req) {
        db.prepare("DELETE FROM login_sessions WHERE token_hash = ?1").bind(&[text(&token.hash_hex().await?)])?.run().await?;
    }
    Ok(())
}
