//! `POST /api/auth/signup`, `/login`, `/logout`, `GET /api/me`, `POST /api/admin/users`.

use serde::Serialize;
use worker::{Env, Request, Response};

use super::body::read_json;
use super::error::{json_response, ApiError};
use crate::auth::credentials::{self, Credentials};
use crate::auth::password::{self, PasswordHash};
use crate::auth::users::{self, Creation};
use crate::auth::{login_session, rate_limit, require_user, User};
use crate::d1;

#[derive(Serialize)]
struct UserBody<'a> {
    user: &'a User,
}

/// The first sign-up becomes the admin and is signed in; every later one is 403.
pub async fn signup(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let creds: Credentials = read_json(&mut req).await?;
    credentials::check_name(&creds.name)?;
    credentials::check_new_password(&creds.password)?;
    let db = d1::database(env)?;
    if users::any(&db).await? {
        return Err(users::signup_closed());
    }
    let hash = PasswordHash::new(&creds.password).await?;
    let now = d1::now_ms();
    let user = users::create(&db, &creds.name, &hash, Creation::FirstUser, now).await?;
    let token = login_session::start(&db, &user, now).await?;
    with_cookie(json_response(201, &UserBody { user: &user }), &token.set_cookie())
}

/// Checks the password (after the failed-login limit) and starts a login session.
pub async fn login(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let creds: Credentials = read_json(&mut req).await?;
    if creds.name.is_empty() || creds.name.chars().count() > credentials::MAX_NAME_CHARS {
        return Err(ApiError::Invalid(format!("the user name must be 1-{} characters", credentials::MAX_NAME_CHARS)));
    }
    credentials::check_password_length(&creds.password)?;
    let db = d1::database(env)?;
    let now = d1::now_ms();
    rate_limit::check(&db, &creds.name, now).await?;
    let user = match users::find_for_login(&db, &creds.name).await? {
        Some((user, hash)) => hash.verify(&creds.password).await?.then_some(user),
        None => {
            password::burn_equivalent_work(&creds.password).await?;
            None
        }
    };
    let Some(user) = user else {
        rate_limit::record_failure(&db, &creds.name, now).await?;
        return Err(ApiError::Unauthorized("wrong user name or password".into()));
    };
    rate_limit::clear(&db, &creds.name, now).await?;
    let token = login_session::start(&db, &user, now).await?;
    with_cookie(json_response(200, &UserBody { user: &user }), &token.set_cookie())
}

/// Ends the login session (if any) and clears the cookie; always 200.
pub async fn logout(req: Request, env: &Env) -> Result<Response, ApiError> {
    login_session::end(&d1::database(env)?, &req).await?;
    with_cookie(json_response(200, &serde_json::json!({"ok": true})), &login_session::clear_cookie())
}

pub async fn me(req: Request, env: &Env) -> Result<Response, ApiError> {
    let user = require_user(&req, env).await?;
    Ok(json_response(200, &UserBody { user: &user }))
}

/// An admin creates a user (`{name, password, is_admin?}`); 403 for everyone else.
pub async fn create_user(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let admin = require_user(&req, env).await?;
    if !admin.is_admin {
        return Err(ApiError::Forbidden("only an admin creates users".into()));
    }
    let creds: Credentials = read_json(&mut req).await?;
    credentials::check_name(&creds.name)?;
    credentials::check_new_password(&creds.password)?;
    let hash = PasswordHash::new(&creds.password).await?;
    let how = Creation::ByAdmin { is_admin: creds.is_admin };
    let user = users::create(&d1::database(env)?, &creds.name, &hash, how, d1::now_ms()).await?;
    Ok(json_response(201, &UserBody { user: &user }))
}

fn with_cookie(response: Response, set_cookie: &str) -> Result<Response, ApiError> {
    response.headers().append("set-cookie", set_cookie)?;
    Ok(response)
}
