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

/// The largest message content, in bytes of the JSON of its blocks: room for the images, and
/// its echo as `session.user_message` still fits a frame.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// The largest image, in decoded bytes.
pub const MAX_IMAGE_BYTES: usize = 1536 * 1024;
/// The most images in one message.
pub const MAX_IMAGES: usize = 4;
/// The image types a message may carry (the Messages API's).
pub const IMAGE_MEDIA_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// What is wrong with a message's content, as a sentence for the user, or `None` when it may be
/// sent: something to say (text that is not blank, or an image), at most [`MAX_IMAGES`] images,
/// each base64 of at most [`MAX_IMAGE_BYTES`] whose first bytes are the file signature of its
/// declared media type (one of [`IMAGE_MEDIA_TYPES`]), and at most [`MAX_MESSAGE_BYTES`] of JSON
/// in all. The one rule for the composer, the Durable Object and the gateway. The base64 is
/// checked in place, never decoded.
pub fn content_problem(content: &[ContentBlock]) -> Option<String> {
    let mut images = 0;
    let mut said = false;
    // An upper bound of the content's JSON size, counted without serialising it: each byte that
    // JSON may escape counted as 6 (`\u0000`), and room for each block's keys.
    let mut size = 0;
    for block in content {
        match block {
            ContentBlock::Text { text } => {
                said |= !text.trim().is_empty();
                size += 32 + text.len() + 5 * text.bytes().filter(|&b| b < 0x20 || b == b'"' || b == b'\\').count();
            }
            ContentBlock::Image { source } => {
                images += 1;
                said = true;
                if images > MAX_IMAGES {
                    const _: () = assert!(MAX_IMAGES == 4, "the message below says 4");
                    return Some("at most 4 images per message".into());
                }
                if let Some(problem) = image_problem(source) {
                    return Some(format!("image {images}: {problem}"));
                }
                size += 96 + source.data.len();
            }
        }
    }
    if !said {
        return Some("the message is empty: write something or attach an image".into());
    }
    (size > MAX_MESSAGE_BYTES).then(|| "the message is over the limit of 4 MB: attach smaller images".into())
}

fn image_problem(source: &ImageSource) -> Option<&'static str> {
    if source.kind != "base64" {
        return Some("only base64 images are taken");
    }
    let Some(kind) = IMAGE_MEDIA_TYPES.iter().position(|t| *t == source.media_type) else {
        return Some("the type must be PNG, JPEG, GIF or WebP");
    };
    let data = source.data.as_bytes();
    let body = data.strip_suffix(b"==").or_else(|| data.strip_suffix(b"=")).unwrap_or(data);
    if data.is_empty() || data.len() % 4 != 0 || !body.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/') {
        return Some("the data is not base64");
    }
    if data.len() / 4 * 3 - (data.len() - body.len()) > MAX_IMAGE_BYTES {
        return Some("it is over the limit of 1.5 MB per image");
    }
    // The file's signature, compared in base64 (it starts on a 3-byte boundary): PNG
    // `\x89PNG\r\n\x1a\n`, JPEG `\xff\xd8\xff`, GIF `GIF87a`/`GIF89a`, WebP `RIFF` + size + `WEBP`.
    let signed = match kind {
        0 => data.starts_with(b"iVBORw0KGgo"),
        1 => data.starts_with(b"/9j/"),
        2 => data.starts_with(b"R0lGODdh") || data.starts_with(b"R0lGODlh"),
        _ => data.starts_with(b"UklG") && data.get(12..16) == Some(b"RUJQ"),
    };
    (!signed).then_some("the data is not what its media type says")
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
