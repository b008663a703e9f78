//! The one error type of the daemon's HTTP API: every failure a handler can meet becomes an
//! [`ErrorCode`], its HTTP status and `{"error":{"code","message"}}`, so that a bad request gets
//! an answer a person can act on and never a panic (DESIGN.md, invariant 7).
//!
//! The modules below the HTTP layer ([`crate::confine`], [`crate::checkout`], [`crate::git`])
//! have their own errors and know nothing of HTTP; the conversions into this one live here.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared_types::{ErrorBody, ErrorCode};

use crate::checkout::CheckoutError;
use crate::confine::ConfineError;
use crate::git::GitError;
use crate::session_files::SessionFileError;

/// Why a request failed; the message goes to the caller as is.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A well-formed request with values we refuse: a path leaving its project, a bad name...
    #[error("{0}")]
    InvalidInput(String),
    #[error("missing or wrong bearer token (send `Authorization: Bearer <token>`)")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what is on disk or running (a busy or dirty worktree...).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    /// Our side failed (git timed out, the disk refused); the message says what to look at.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The contract's code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::InvalidInput(_) => ErrorCode::InvalidInput,
            ApiError::Unauthorized => ErrorCode::Unauthorized,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::Conflict(_) => ErrorCode::Conflict,
            ApiError::TooLarge(_) => ErrorCode::FrameTooLarge,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// An I/O failure on the named thing: a missing file is a 404, anything else is ours.
    pub fn io(what: &str, err: &std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::NotFound => ApiError::NotFound(format!("{what} does not exist")),
            _ => ApiError::Internal(format!("cannot read {what}: {err}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        if code == ErrorCode::Internal {
            tracing::error!(error = %self, "request failed on the gateway's side");
        }
        let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(ErrorBody::new(code, self.to_string()))).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge(rejection.body_text());
        }
        ApiError::InvalidInput(format!("bad JSON body: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::InvalidInput(format!("bad query string: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::InvalidInput(format!("bad path: {}", rejection.body_text()))
    }
}

impl From<ConfineError> for ApiError {
    fn from(err: ConfineError) -> Self {
        match err {
            ConfineError::Refused(m) => ApiError::InvalidInput(m),
            ConfineError::NotFound(m) => ApiError::NotFound(m),
            ConfineError::TooLarge(m) => ApiError::TooLarge(m),
            ConfineError::Unreadable(m) => ApiError::Internal(m),
        }
    }
}

impl From<GitError> for ApiError {
    fn from(err: GitError) -> Self {
        match err {
            GitError::TooLarge { .. } => ApiError::TooLarge(err.to_string()),
            _ => ApiError::Internal(err.to_string()),
        }
    }
}

impl From<SessionFileError> for ApiError {
    /// A session file that is not a regular file (a symlink, a FIFO, a directory) is no session.
    fn from(err: SessionFileError) -> Self {
        match err {
            SessionFileError::NotFound(m) | SessionFileError::Refused(m) => ApiError::NotFound(m),
            SessionFileError::Io { .. } => ApiError::Internal(err.to_string()),
        }
    }
}

impl From<CheckoutError> for ApiError {
    fn from(err: CheckoutError) -> Self {
        match err {
            CheckoutError::Name(e) => e.into(),
            CheckoutError::NotFound(m) => ApiError::NotFound(m),
            CheckoutError::Ambiguous(m) => ApiError::Conflict(m),
            CheckoutError::Git(e) => e.into(),
        }
    }
}
