//! Decoding frames from text with typed errors: an oversize, non-JSON, untyped, unknown or
//! malformed frame each gets its own [`FrameError`], never a panic. Unknown fields are ignored
//! so that peers can add fields without breaking each other.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::browser::{ClientCommand, ClientFrame, ServerFrame};
use crate::error::ErrorCode;
use crate::gateway::{EventEnvelope, GatewayCommand, GatewayControl, GatewayEvent, GatewayFrame, EVENTS_FRAME};
use crate::MAX_FRAME_BYTES;

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameError {
    TooLarge { size: usize, max: usize },
    NotJson(String),
    /// JSON, but not an object with a string `type`.
    MissingType,
    UnknownType(String),
    /// A known `type` whose fields are wrong.
    Invalid { kind: String, message: String },
}

impl FrameError {
    /// The wire code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::TooLarge { .. } => ErrorCode::FrameTooLarge,
            FrameError::UnknownType(_) => ErrorCode::UnknownType,
            FrameError::NotJson(_) | FrameError::MissingType | FrameError::Invalid { .. } => {
                ErrorCode::BadFrame
            }
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { size, max } => {
                write!(f, "frame of {size} bytes is over the {max}-byte limit")
            }
            FrameError::NotJson(e) => write!(f, "frame is not JSON: {e}"),
            FrameError::MissingType => f.write_str("frame must be a JSON object with a string \"type\""),
            FrameError::UnknownType(t) => write!(f, "unknown frame type {t:?}"),
            FrameError::Invalid { kind, message } => write!(f, "invalid {kind:?} frame: {message}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Parses text into a JSON object, enforcing the size limit.
fn parse_object(text: &str) -> Result<serde_json::Map<String, Value>, FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge { size: text.len(), max: MAX_FRAME_BYTES });
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(FrameError::MissingType),
        Err(e) => Err(FrameError::NotJson(e.to_string())),
    }
}

/// Decodes a tagged object once its `type` is known to be one of `types`.
fn decode_tagged<T: DeserializeOwned>(
    map: serde_json::Map<String, Value>,
    types: &[&str],
) -> Result<T, FrameError> {
    let kind = match map.get("type") {
        Some(Value::String(t)) => t.clone(),
        _ => return Err(FrameError::MissingType),
    };
    if !types.contains(&kind.as_str()) {
        return Err(FrameError::UnknownType(kind));
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|e| FrameError::Invalid { kind, message: e.to_string() })
}

/// Reads a DO -> gateway command.
pub fn decode_command(text: &str) -> Result<GatewayCommand, FrameError> {
    decode_tagged(parse_object(text)?, GatewayCommand::TYPES)
}

/// Reads a gateway -> DO frame: `{"seq", "event"}`, an `events` batch of them, or an
/// unnumbered control frame.
pub fn decode_gateway_frame(text: &str) -> Result<GatewayFrame, FrameError> {
    let mut map = parse_object(text)?;
    if !map.contains_key("seq") {
        if map.get("type").and_then(Value::as_str) == Some(EVENTS_FRAME) {
            return decode_tagged(map, &[EVENTS_FRAME]).map(GatewayFrame::Events);
        }
        return decode_tagged(map, GatewayControl::TYPES).map(GatewayFrame::Control);
    }
    let invalid = |message: String| FrameError::Invalid { kind: "event".into(), message };
    let seq = map
        .get("seq")
        .and_then(Value::as_u64)
        .filter(|s| *s > 0)
        .ok_or_else(|| invalid("\"seq\" must be a positive integer".into()))?;
    let event = match map.remove("event") {
        Some(Value::Object(event)) => decode_tagged::<GatewayEvent>(event, GatewayEvent::TYPES)?,
        _ => return Err(invalid("\"event\" must be an object".into())),
    };
    Ok(GatewayFrame::Event(EventEnvelope { seq, event }))
}

/// Reads a browser -> DO frame. On error, also returns the frame's `request_id` when it could be
/// read, so that the `error` frame can name the request.
pub fn decode_client_frame(text: &str) -> Result<ClientFrame, (FrameError, Option<String>)> {
    let map = parse_object(text).map_err(|e| (e, None))?;
    let request_id = map.get("request_id").and_then(Value::as_str).map(str::to_string);
    let kind = match map.get("type") {
        Some(Value::String(t)) => t.clone(),
        _ => return Err((FrameError::MissingType, request_id)),
    };
    if !ClientCommand::TYPES.contains(&kind.as_str()) {
        return Err((FrameError::UnknownType(kind), request_id));
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|e| (FrameError::Invalid { kind, message: e.to_string() }, request_id))
}

/// Reads a DO -> browser frame.
pub fn decode_server_frame(text: &str) -> Result<ServerFrame, FrameError> {
    decode_tagged(parse_object(text)?, ServerFrame::TYPES)
}

/// Encodes any frame as JSON text. Serialising these types cannot fail (string keys only).
pub fn encode<T: serde::Serialize>(frame: &T) -> String {
    serde_json::to_string(frame).unwrap_or_else(|e| {
        // Unreachable with this crate's types; still, never panic on the wire path.
        serde_json::json!({"type": "error", "code": ErrorCode::Internal, "message": e.to_string()})
            .to_string()
    })
}
