//! Who is calling: users and passwords, login sessions (cookie + D1), the failed-login limit.
//!
//! - [`cookie`]: reading the `Cookie` header, writing `Set-Cookie`
//! - [`credentials`]: what names and passwords must look like
//! - [`password`] over [`crypto`]: PBKDF2-HMAC-SHA256 through WebCrypto
//! - [`users`]: the `users` table (first sign-up is the admin)
//! - [`login_session`]: the `duraclaw_session` cookie and the `login_sessions` table
//! - [`rate_limit`]: failed-login counters in D1

pub mod credentials;
pub mod crypto;
pub mod login_session;
pub mod password;
pub mod rate_limit;
pub mod users;

use worker::{Env, Request};

pub use login_session::Login;
pub use users::User;

use crate::api::error::ApiError;
use crate::d1;

/// The signed-in user, or 401.
pub async fn require_user(req: &Request, env: &Env) -> Result<User, ApiError> {
    Ok(require_login(req, env).await?.user)
}

/// The request's live login (user and login id), or 401.
pub async fn require_login(req: &Request, env: &Env) -> Result<Login, ApiError> {
    let db = d1::database(env)?;
    login_session::current(&db, req, d1::now_ms())
        .await?
        .ok_or_else(|| ApiError::Unauthorized("not signed in: log in with POST /api/auth/login".into()))
}
