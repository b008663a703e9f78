//! Decoding frames from text with typed errors: an oversize, non-JSON, untyped, unknown or
//! malformed frame each gets its own [`FrameError`], never a panic. Unknown fields are ignored
//! so that peers can add fields without breaking each other.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::error::Category;
use serde_json::value::RawValue;
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

/// What every frame is read for first: its shape, its `type`, and the fields that error frames
/// and numbered events need. Only this struct goes through `Value` (for fields of any JSON type);
/// each frame type itself is decoded straight from the text, so the Worker and the dashboard
/// carry one deserializer per frame type, not two.
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", default)]
    kind: Option<Value>,
    #[serde(default)]
    request_id: Option<Value>,
    #[serde(default)]
    seq: Option<Value>,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
}

impl Head<'_> {
    fn kind(&self) -> Option<&str> {
        self.kind.as_ref().and_then(Value::as_str)
    }
}

/// Reads a frame's head, enforcing the size limit: not JSON, or not an object, is refused here.
fn head(text: &str) -> Result<Head<'_>, FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge { size: text.len(), max: MAX_FRAME_BYTES });
    }
    serde_json::from_str(text).map_err(|e| match e.classify() {
        Category::Data => FrameError::MissingType,
        _ => FrameError::NotJson(e.to_string()),
    })
}

/// Decodes a tagged object once its `type` is known to be one of `types`.
fn decode_tagged<T: DeserializeOwned>(text: &str, head: &Head<'_>, types: &[&str]) -> Result<T, FrameError> {
    let kind = head.kind().ok_or(FrameError::MissingType)?;
    if !types.contains(&kind) {
        return Err(FrameError::UnknownType(kind.to_string()));
    }
    serde_json::from_str(text).map_err(|e| FrameError::Invalid { kind: kind.to_string(), message: e.to_string() })
}

/// Reads a DO -> gateway command.
pub fn decode_command(text: &str) -> Result<GatewayCommand, FrameError> {
    decode_tagged(text, &head(text)?, GatewayCommand::TYPES)
}

/// Reads a gateway -> DO frame: `{"seq", "event"}`, an `events` batch of them, or an
/// unnumbered control frame.
pub fn decode_gateway_frame(text: &str) -> Result<GatewayFrame, FrameError> {
    let h = head(text)?;
    let Some(seq) = &h.seq else {
        if h.kind() == Some(EVENTS_FRAME) {
            return decode_tagged(text, &h, &[EVENTS_FRAME]).map(GatewayFrame::Events);
        }
        return decode_tagged(text, &h, GatewayControl::TYPES).map(GatewayFrame::Control);
    };
    let invalid = |message: &str| FrameError::Invalid { kind: "event".into(), message: message.into() };
    let seq = seq.as_u64().filter(|s| *s > 0).ok_or_else(|| invalid("\"seq\" must be a positive integer"))?;
    let event = h.event.map(RawValue::get).filter(|e| e.starts_with('{')).ok_or_else(|| invalid("\"event\" must be an object"))?;
    let event = decode_tagged::<GatewayEvent>(event, &head(event)?, GatewayEvent::TYPES)?;
    Ok(GatewayFrame::Event(EventEnvelope { seq, event }))
}

/// Reads an unnumbered gateway -> DO frame, a control (`pong`, `error`): what the DO reads with
/// this once it knows the frame has no `seq` and is not an `events` batch (it reads those
/// itself, an event at a time), so that the Worker carries no decoder of whole event frames.
pub fn decode_control(text: &str) -> Result<GatewayControl, FrameError> {
    decode_tagged(text, &head(text)?, GatewayControl::TYPES)
}

/// Reads a browser -> DO frame. On error, also returns the frame's `request_id` when it could be
/// read, so that the `error` frame can name the request.
pub fn decode_client_frame(text: &str) -> Result<ClientFrame, (FrameError, Option<String>)> {
    let h = head(text).map_err(|e| (e, None))?;
    let request_id = h.request_id.as_ref().and_then(Value::as_str).map(str::to_string);
    decode_tagged(text, &h, ClientCommand::TYPES).map_err(|e| (e, request_id))
}

/// Reads a DO -> browser frame.
pub fn decode_server_frame(text: &str) -> Result<ServerFrame, FrameError> {
    decode_tagged(text, &head(text)?, ServerFrame::TYPES)
}

/// Encodes any frame as JSON text. Serialising these types cannot fail (string keys only).
pub fn encode<T: serde::Serialize>(frame: &T) -> String {
    serde_json::to_string(frame).unwrap_or_else(|e| {
        // Unreachable with this crate's types; still, never panic on the wire path.
        serde_json::json!({"type": "error", "code": ErrorCode::Internal, "message": e.to_string()})
            .to_string()
    })
}
