//! Message content: what users send and what the model answers.

use serde::{Deserialize, Serialize};
use shared_types_derive::TagFirst;
use serde_json::Value;

/// A block of a user's message (text or an image), as the Messages API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, TagFirst)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text { text: String },
    Image { source: ImageSource },
}

impl ContentBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text { text: text.into() }
    }
}

/// An inline image, base64-encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSource {
    /// Always `base64` today; kept so that URL sources can be added.
    #[serde(rename = "type")]
    pub kind: String,
    pub media_type: String,
    pub data: String,
}

/// A block of an assistant message.
#[derive(Debug, Clone, PartialEq, Serialize, TagFirst)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AssistantBlock {
    Text { text: String },
    Thinking { thinking: String },
    ToolUse { id: String, name: String, input: Value },
}

/// A complete assistant message. The CLI emits one event per block with the same id; the
/// gateway merges them, so `content` holds every block seen so far for `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssistantMessage {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub content: Vec<AssistantBlock>,
}

/// A streamed piece of an assistant message block.
#[derive(Debug, Clone, PartialEq, Serialize, TagFirst)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    Text { index: u32, text: String },
    Thinking { index: u32, thinking: String },
    /// Partial JSON of a tool_use block's input.
    InputJson { index: u32, partial_json: String },
}

/// Token counts of a turn, as the CLI reports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
}
