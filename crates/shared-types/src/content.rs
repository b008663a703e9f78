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
/// checked in place; only its first 12 bytes are decoded.
pub fn content_problem(content: &[ContentBlock]) -> Option<String> {
    let mut images = 0;
    let mut said = false;
    for block in content {
        let source = match block {
            ContentBlock::Text { text } => {
                said |= !text.trim().is_empty();
                continue;
            }
            ContentBlock::Image { source } => source,
        };
        images += 1;
        said = true;
        if images > MAX_IMAGES {
            return Some(format!("at most {MAX_IMAGES} images per message"));
        }
        if let Some(problem) = image_problem(source) {
            return Some(format!("image {images}: {problem}"));
        }
    }
    if !said {
        return Some("the message is empty: write something or attach an image".into());
    }
    let mut size = Count(0);
    let _ = serde_json::to_writer(&mut size, content);
    (size.0 > MAX_MESSAGE_BYTES)
        .then(|| format!("the message is {} bytes; the limit is {MAX_MESSAGE_BYTES} (attach smaller images)", size.0))
}

fn image_problem(source: &ImageSource) -> Option<String> {
    if source.kind != "base64" {
        return Some("only base64 images are taken".into());
    }
    let Some(kind) = IMAGE_MEDIA_TYPES.iter().position(|t| *t == source.media_type) else {
        return Some("the type must be PNG, JPEG, GIF or WebP".into());
    };
    let data = source.data.as_bytes();
    let body = data.strip_suffix(b"==").or_else(|| data.strip_suffix(b"=")).unwrap_or(data);
    if data.is_empty() || data.len() % 4 != 0 || !body.iter().all(|&c| sextet(c).is_some()) {
        return Some("the data is not base64".into());
    }
    let size = data.len() / 4 * 3 - (data.len() - body.len());
    if size > MAX_IMAGE_BYTES {
        return Some(format!("{size} bytes is over the limit of {MAX_IMAGE_BYTES} per image"));
    }
    let mut head = [0u8; 12];
    for (i, quad) in data.chunks(4).take(4).enumerate() {
        let v = quad.iter().fold(0u32, |v, &c| v << 6 | sextet(c).unwrap_or(0) as u32);
        head[i * 3..i * 3 + 3].copy_from_slice(&v.to_be_bytes()[1..]);
    }
    let signed = match kind {
        0 => head.starts_with(b"\x89PNG\r\n\x1a\n"),
        1 => head.starts_with(b"\xff\xd8\xff"),
        2 => head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a"),
        _ => head.starts_with(b"RIFF") && &head[8..] == b"WEBP",
    };
    (!signed).then(|| format!("the data is not a {} file", &source.media_type[6..]))
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Counts the bytes written (the JSON size without building the string).
struct Count(usize);

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
