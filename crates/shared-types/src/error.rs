//! Error codes: every error that crosses the wire is `{code, message}` a person can act on.

use serde::{Deserialize, Serialize};

/// Machine-readable error kinds, shared by HTTP bodies, browser `error` frames and
/// `session.error` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or JSON of the wrong shape.
    BadFrame,
    /// A frame whose `type` is not in the contract.
    UnknownType,
    FrameTooLarge,
    /// A well-formed request with invalid values (bad path, bad rule, empty prompt...).
    InvalidInput,
    Unauthorized,
    Forbidden,
    NotFound,
    /// The request conflicts with the current state (e.g. deleting a worktree in use).
    Conflict,
    RateLimited,
    /// The tool call named is not pending (already answered, or never asked).
    UnknownToolCall,
    SessionEnded,
    /// The Durable Object cannot reach the gateway right now.
    GatewayUnavailable,
    /// The Claude Code CLI failed (did not start, exited, or broke the protocol).
    CliError,
    /// The model API failed (the CLI reported an API error).
    ApiError,
    Internal,
    /// An HTTP body whose `Content-Type` is not `application/json`.
    UnsupportedMediaType,
}

impl ErrorCode {
    /// The HTTP status this code maps to on the API.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadFrame | ErrorCode::UnknownType | ErrorCode::InvalidInput => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound | ErrorCode::UnknownToolCall => 404,
            ErrorCode::Conflict | ErrorCode::SessionEnded => 409,
            ErrorCode::FrameTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::GatewayUnavailable | ErrorCode::CliError | ErrorCode::ApiError => 502,
            ErrorCode::Internal => 500,
        }
    }
}

/// The body of every HTTP error: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody { error: ErrorDetail { code, message: message.into() } }
    }
}
