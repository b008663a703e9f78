//! The one error type of the HTTP API: every failure becomes `{"error": {"code", "message"}}`
//! with the code's HTTP status (DESIGN.md, invariant 7). Nothing from the network reaches an
//! `unwrap`: handlers return `Result<Response, ApiError>` and the router turns the error into a
//! response here.

use serde::Serialize;
use shared_types::{ErrorBody, ErrorCode};
use worker::Response;

/// Why a request failed, with a message a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or JSON of the wrong shape.
    #[error("{0}")]
    BadJson(String),
    /// Well-formed but invalid values (a name too long, a bad rule, an empty prompt...).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
    /// A body that is not declared `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Too many failed logins; the seconds until the next attempt is accepted.
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    #[error("{0}")]
    GatewayUnavailable(String),
    /// An error body from the gateway or the session's Durable Object, passed through as is.
    #[error("{}", body.error.message)]
    Relayed { status: u16, body: ErrorBody },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::BadJson(_) => ErrorCode::BadFrame,
            ApiError::Invalid(_) => ErrorCode::InvalidInput,
            ApiError::TooLarge(_) => ErrorCode::FrameTooLarge,
            ApiError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::Conflict(_) => ErrorCode::Conflict,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::GatewayUnavailable(_) => ErrorCode::GatewayUnavailable,
            ApiError::Relayed { body, .. } => body.error.code,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The error as the response the browser gets.
    pub fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            worker::console_error!("internal error: {detail}");
        }
        let status = match &self {
            ApiError::Relayed { status, .. } => *status,
            other => other.code().http_status(),
        };
        let retry_after = match &self {
            ApiError::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
        let body = match self {
            ApiError::Relayed { body, .. } => body,
            other => ErrorBody::new(other.code(), other.to_string()),
        };
        let response = json_response(status, &body);
        if let Some(secs) = retry_after {
            let _ = response.headers().set("retry-after", &secs.to_string());
        }
        response
    }
}

/// A JSON response that cannot fail to build (API responses are never cached).
pub fn json_response(status: u16, value: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(value)
        .unwrap_or_else(|_| br#"{"error":{"code":"internal","message":"unserializable response"}}"#.to_vec());
    let response = Response::builder().with_status(status).fixed(bytes);
    let _ = response.headers().set("content-type", "application/json");
    let _ = response.headers().set("cache-control", "no-store");
    response
}
