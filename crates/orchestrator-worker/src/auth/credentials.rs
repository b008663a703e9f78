//! What a user name and a password must look like, with errors that say how to fix them.

use crate::api::error::ApiError;

pub const MAX_NAME_CHARS: usize = 64;
pub const MIN_PASSWORD_CHARS: usize = 10;
/// PBKDF2 hashes any length, but nobody needs more, and the bound keeps requests cheap.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Refuses a user name that is not 1-64 of `[A-Za-z0-9._@+-]`. The name travels to the session's
/// Durable Object in an HTTP header (`X-Duraclaw-User-Name`), which must stay plain ASCII.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    let charset_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '+' | '-'));
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || !charset_ok {
        return Err(ApiError::Invalid(format!(
            "invalid user name {name:?}: use 1-{MAX_NAME_CHARS} of letters, digits, '.', '_', '@', '+', '-'"
        )));
    }
    Ok(())
}

/// Refuses a password shorter than 10 characters (or absurdly long).
pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(ApiError::Invalid(format!(
            "the password is {n} characters; use at least {MIN_PASSWORD_CHARS} (a few random words work well)"
        )));
    }
    check_password_length(password)
}

/// The bound every password is held to, a login's included.
pub fn check_password_length(password: &str) -> Result<(), ApiError> {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ApiError::Invalid(format!("the password is over {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}
