//! `GET /api/auth/setup`, `POST /api/auth/signup`, `/login`, `/logout`, `/password`, `GET /api/me`,
//! `POST /api/admin/users`, `PATCH /api/admin/users/:name`.
//!
//! Ending a login also ends its open session sockets: logout closes that login's, a password
//! change every other login's, disabling a user all of theirs ([`end_sockets`]).

use percent_encoding::percent_decode_str;
use shared_types::api::{
    Credentials, Done, EndSockets, NewUser, PasswordChange, SetupState, SignUp, UserAnswer, UserChange, UserChanged,
};
use subtle::ConstantTimeEq;
use worker::{Env, Request, Response};

use super::body::read_json;
use super::error::{json_response, ApiError};
use crate::auth::credentials;
use crate::auth::password::{self, PasswordHash};
use crate::auth::users::{self, Creation};
use crate::auth::{login_session, rate_limit, require_login, require_user};
use crate::d1;
use crate::session_stub::end_sockets;

/// Whether set-up is open (no user exists yet): the dashboard then opens on set-up. Anyone may
/// ask; the answer says no more than a sign-up attempt would.
pub async fn setup_state(env: &Env) -> Result<Response, ApiError> {
    let setup_open = !users::any(&d1::database(env)?).await?;
    Ok(json_response(200, &SetupState { setup_open }))
}

/// The first sign-up becomes the admin and is signed in, and only with the operator's one-time
/// set-up code (the `SETUP_CODE` secret): without it anyone who reached a fresh deployment first
/// would own it. Every later sign-up is 403.
pub async fn signup(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let creds: SignUp = read_json(&mut req).await?;
    credentials::check_name(&creds.name)?;
    credentials::check_new_password(&creds.password)?;
    let db = d1::database(env)?;
    if users::any(&db).await? {
        return Err(users::signup_closed());
    }
    check_setup_code(env, creds.setup_code.as_deref())?;
    let hash = PasswordHash::new(&creds.password).await?;
    let now = d1::now_ms();
    let user = users::create(&db, &creds.name, &hash, Creation::FirstUser, now).await?;
    let token = login_session::start(&db, &user, now).await?;
    with_cookie(json_response(201, &UserAnswer { user }), &token.set_cookie(&req))
}

/// 403 unless `given` is the deployment's `SETUP_CODE` (compared in constant time).
fn check_setup_code(env: &Env, given: Option<&str>) -> Result<(), ApiError> {
    let expected = env.secret("SETUP_CODE").map(|s| s.to_string()).or_else(|_| env.var("SETUP_CODE").map(|v| v.to_string()));
    let expected = expected.map(|c| c.trim().to_string()).unwrap_or_default();
    if expected.is_empty() {
        return Err(ApiError::Forbidden(
            "set-up is locked: this deployment has no SETUP_CODE (set one with `wrangler secret put SETUP_CODE`; \
             scripts/run.sh prints one locally)"
                .into(),
        ));
    }
    let given = given.map(str::trim).unwrap_or_default();
    if given.is_empty() || !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(ApiError::Forbidden(
            "the set-up code is missing or wrong: use the one the operator holds (printed by scripts/run.sh, or the SETUP_CODE secret)".into(),
        ));
    }
    Ok(())
}

/// Checks the password (after counting the attempt against the failed-login limit) and starts
/// a login session. A disabled user with the right password is told so (403).
pub async fn login(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let creds: Credentials = read_json(&mut req).await?;
    if creds.name.is_empty() || creds.name.chars().count() > credentials::MAX_NAME_CHARS {
        return Err(ApiError::Invalid(format!("the user name must be 1-{} characters", credentials::MAX_NAME_CHARS)));
    }
    credentials::check_password_length(&creds.password)?;
    let db = d1::database(env)?;
    let now = d1::now_ms();
    let keys = rate_limit::Keys::new(&req, &creds.name);
    rate_limit::attempt(&db, &keys, &creds.name, now).await?;
    let found = match users::find_for_login(&db, &creds.name).await? {
        Some(found) => found.hash.verify(&creds.password).await?.then_some(found),
        None => {
            password::burn_equivalent_work(&creds.password).await?;
            None
        }
    };
    let Some(found) = found else {
        return Err(ApiError::Unauthorized("wrong user name or password".into()));
    };
    rate_limit::succeeded(&db, &keys, now).await?;
    if found.disabled {
        return Err(ApiError::Forbidden("this account is disabled: ask the admin".into()));
    }
    let token = login_session::start(&db, &found.user, now).await?;
    with_cookie(json_response(200, &UserAnswer { user: found.user }), &token.set_cookie(&req))
}

/// Ends the login session (if any), closes its open session sockets and clears the cookie;
/// always 200.
pub async fn logout(req: Request, env: &Env) -> Result<Response, ApiError> {
    let db = d1::database(env)?;
    let login = login_session::current(&db, &req, d1::now_ms()).await?;
    login_session::end(&db, &req).await?;
    if let Some(login) = login {
        let which = EndSockets { user_id: login.user.id, only: Some(login.id), except: None, reason: "logged out".into() };
        end_sockets(env, &db, which).await?;
    }
    with_cookie(json_response(200, &Done::OK), &login_session::clear_cookie(&req))
}

/// The signed-in user changes their own password (`{current_password, new_password}`). The
/// current one is checked like a login (counted against the same limit); every other login of
/// theirs ends, with its sockets; this one stays.
pub async fn change_password(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let login = require_login(&req, env).await?;
    let body: PasswordChange = read_json(&mut req).await?;
    credentials::check_password_length(&body.current_password)?;
    credentials::check_new_password(&body.new_password)?;
    let db = d1::database(env)?;
    let now = d1::now_ms();
    let keys = rate_limit::Keys::new(&req, &login.user.name);
    rate_limit::attempt(&db, &keys, &login.user.name, now).await?;
    let found = users::find_for_login(&db, &login.user.name).await?;
    let Some(found) = found.filter(|f| f.user.id == login.user.id) else {
        return Err(ApiError::Unauthorized("your account is gone: log in again".into()));
    };
    if !found.hash.verify(&body.current_password).await? {
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    rate_limit::succeeded(&db, &keys, now).await?;
    users::set_password(&db, &login.user.id, &PasswordHash::new(&body.new_password).await?).await?;
    login_session::end_all(&db, &login.user.id, Some(&login.id)).await?;
    let which = EndSockets { user_id: login.user.id, only: None, except: Some(login.id), reason: "the password changed".into() };
    end_sockets(env, &db, which).await?;
    Ok(json_response(200, &Done::OK))
}

pub async fn me(req: Request, env: &Env) -> Result<Response, ApiError> {
    let user = require_user(&req, env).await?;
    Ok(json_response(200, &UserAnswer { user }))
}

/// An admin creates a user (`{name, password, is_admin?}`); 403 for everyone else.
pub async fn create_user(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    let admin = require_user(&req, env).await?;
    if !admin.is_admin {
        return Err(ApiError::Forbidden("only an admin creates users".into()));
    }
    let creds: NewUser = read_json(&mut req).await?;
    credentials::check_name(&creds.name)?;
    credentials::check_new_password(&creds.password)?;
    let hash = PasswordHash::new(&creds.password).await?;
    let how = Creation::ByAdmin { is_admin: creds.is_admin };
    let user = users::create(&d1::database(env)?, &creds.name, &hash, how, d1::now_ms()).await?;
    Ok(json_response(201, &UserAnswer { user }))
}

/// An admin disables (`{"disabled": true}`) or enables again a user: a disabled user's logins
/// end, their open session sockets close and no new login starts. Admins cannot disable
/// themselves (there would be no one left to undo it).
pub async fn update_user(mut req: Request, env: &Env, raw_name: &str) -> Result<Response, ApiError> {
    let admin = require_user(&req, env).await?;
    if !admin.is_admin {
        return Err(ApiError::Forbidden("only an admin disables users".into()));
    }
    let change: UserChange = read_json(&mut req).await?;
    let name = percent_decode_str(raw_name)
        .decode_utf8()
        .map_err(|_| ApiError::Invalid(format!("the user name {raw_name:?} is not UTF-8")))?;
    if change.disabled && name.eq_ignore_ascii_case(&admin.name) {
        return Err(ApiError::Invalid("you cannot disable yourself: another admin can".into()));
    }
    let db = d1::database(env)?;
    let Some(user) = users::set_disabled(&db, &name, change.disabled).await? else {
        return Err(ApiError::NotFound(format!("no user {name:?}")));
    };
    if change.disabled {
        login_session::end_all(&db, &user.id, None).await?;
        let which = EndSockets { user_id: user.id.clone(), only: None, except: None, reason: "the account was disabled".into() };
        end_sockets(env, &db, which).await?;
    }
    Ok(json_response(200, &UserChanged { user, disabled: change.disabled }))
}

fn with_cookie(response: Response, set_cookie: &str) -> Result<Response, ApiError> {
    response.headers().append("set-cookie", set_cookie)?;
    Ok(response)
}
