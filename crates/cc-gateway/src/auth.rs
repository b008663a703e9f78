//! The bearer token that guards the daemon (DESIGN.md, invariant 6): where it comes from, how
//! strong it must be, and the middleware that checks it, in constant time, on every route but
//! `/health`, WebSocket upgrades included.
//!
//! The token is read from `CC_GATEWAY_TOKEN` or from `--token-file`, never from argv (where `ps`
//! shows it to every user) and never from a URL or a `Sec-WebSocket-Protocol` (where logs and
//! proxies keep it): the only accepted carrier is `Authorization: Bearer <token>`. It is never
//! logged; its `Debug` is redacted.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::api_error::ApiError;
use crate::config::MIN_TOKEN_BYTES;

/// The environment variable holding the token; the daemon removes it once read.
pub const TOKEN_ENV: &str = "CC_GATEWAY_TOKEN";

const HOW_TO_MAKE_ONE: &str = "make one with `openssl rand -hex 32 > token` \
    (or `head -c 32 /dev/urandom | base64 > token`), `chmod 600 token`, then pass --token-file token \
    or set CC_GATEWAY_TOKEN";

/// Why the daemon has no usable token; each message says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no token: set {TOKEN_ENV} or pass --token-file; {HOW_TO_MAKE_ONE}")]
    Missing,
    #[error("the token is {len} bytes; at least {MIN_TOKEN_BYTES} are required: {HOW_TO_MAKE_ONE}")]
    TooShort { len: usize },
    #[error("{TOKEN_ENV} is not valid UTF-8: {HOW_TO_MAKE_ONE}")]
    NotUtf8,
    #[error("cannot read the token file {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("the token file {} is readable by group or others (mode {mode:o}); run `chmod 600 {}`", path.display(), path.display())]
    TooOpen { path: PathBuf, mode: u32 },
}

/// The shared secret the Worker's Durable Objects present.
pub struct Token(Vec<u8>);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// Takes the token from `CC_GATEWAY_TOKEN` if set, else from `token_file`. Surrounding
    /// whitespace (the newline `openssl rand -hex 32 > token` writes) is not part of it.
    pub fn load(token_file: Option<&Path>) -> Result<Token, TokenError> {
        let text = match std::env::var_os(TOKEN_ENV) {
            Some(value) => value.into_string().map_err(|_| TokenError::NotUtf8)?,
            None => read_token_file(token_file.ok_or(TokenError::Missing)?)?,
        };
        Token::new(text.trim())
    }

    /// A token of at least [`MIN_TOKEN_BYTES`] bytes.
    pub fn new(text: &str) -> Result<Token, TokenError> {
        match text.len() {
            0 => Err(TokenError::Missing),
            len if len < MIN_TOKEN_BYTES => Err(TokenError::TooShort { len }),
            _ => Ok(Token(text.as_bytes().to_vec())),
        }
    }

    /// Whether the request carries `Authorization: Bearer <this token>`, compared in constant
    /// time (a length difference is the only thing that shows).
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        bearer(headers).is_some_and(|presented| bool::from(presented.ct_eq(&self.0)))
    }
}

/// Refuses a token file that group or others can read: the token lets its holder run Claude
/// Code, hence commands, as the gateway's user, and a warning in a log nobody reads protects
/// nothing, while the fix is one `chmod`. (systemd's `LoadCredential` files are 0400.)
fn read_token_file(path: &Path) -> Result<String, TokenError> {
    let unreadable = |source| TokenError::Unreadable { path: path.to_path_buf(), source };
    let mode = std::fs::metadata(path).map_err(unreadable)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(TokenError::TooOpen { path: path.to_path_buf(), mode: mode & 0o777 });
    }
    std::fs::read_to_string(path).map_err(unreadable)
}

/// The credentials of `Authorization: Bearer <credentials>` (the scheme is case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, credentials) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(credentials)
}

/// Middleware: lets a request through only with the right bearer token; 401 with the error
/// body otherwise.
pub async fn require_bearer(State(token): State<Arc<Token>>, request: Request, next: Next) -> Response {
    if token.admits(request.headers()) {
        return next.run(request).await;
    }
    tracing::warn!(method = %request.method(), path = %request.uri().path(), "refused a request without the right bearer token");
    let mut response = ApiError::Unauthorized.into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn only_the_exact_bearer_token_is_admitted() {
        let secret = "s".repeat(MIN_TOKEN_BYTES);
        let token = Token::new(&secret).expect("long enough");
        assert!(token.admits(&headers(&format!("Bearer {secret}"))));
        assert!(token.admits(&headers(&format!("bearer {secret}"))));
        assert!(!token.admits(&headers(&format!("Bearer {secret}x"))));
        assert!(!token.admits(&headers(&format!("Basic {secret}"))));
        assert!(!token.admits(&headers("Bearer")));
        assert!(!token.admits(&HeaderMap::new()));
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    }

    #[test]
    fn short_tokens_are_refused() {
        assert!(matches!(Token::new("short"), Err(TokenError::TooShort { len: 5 })));
        assert!(matches!(Token::new(""), Err(TokenError::Missing)));
    }
}
