//! Duraclaw's wire contract, shared by every crate that speaks it.
//!
//! The names here are binding across the Worker, the gateway and the dashboard (DESIGN.md,
//! "The contract"): frames are JSON text, internally tagged by `"type"`, with snake_case fields.
//! Both sides depend on this crate and never on each other, so a changed frame fails to compile
//! on both sides at once.
//!
//! - [`gateway`]: the Durable Object <-> gateway link ([`GatewayCommand`], [`GatewayEvent`] in its
//!   [`EventEnvelope`], and the unnumbered control frames).
//! - [`browser`]: the browser <-> Durable Object socket ([`ClientFrame`], [`ServerFrame`]).
//! - [`config`]: what a session is started with, including its tool [`ToolPolicy`].
//! - [`status`]: the Durable Object's [`SessionStatus`], stamped on every browser frame.
//! - [`fold`]: the one pure function that turns events into a [`Transcript`].
//! - [`sync`]: [`SessionSync`], the sans-IO client core (cursor, gaps, resends, backoff).
//! - [`codec`]: decoding with typed errors ([`FrameError`]) and the frame size limit.
//! - [`api`]: the HTTP API's request and answer bodies (Worker, gateway, Durable Object).
//! - [`kata`]: the kata state schema the gateway reads and the dashboard shows.
//! - [`safe_git`]: how git is run in a repository a session may have written.
//! - [`shell`]: reading a Bash command into simple commands for the tool gate, or refusing to.
//!
//! This crate does no I/O and builds for the host and for wasm32.

pub mod api;
pub mod browser;
pub mod codec;
pub mod config;
pub mod content;
pub mod error;
pub mod fold;
pub mod gateway;
pub mod kata;
pub mod safe_git;
pub mod shell;
pub mod status;
pub mod sync;
pub mod tag_first;

pub use browser::{ClientCommand, ClientFrame, PendingRequest, ServerFrame, SessionMeta};
pub use codec::FrameError;
pub use config::{FileTarget, Grant, PermissionMode, PermissionRule, SessionConfig, SessionGrant, ToolPolicy};
pub use content::{
    content_problem, AssistantBlock, AssistantMessage, ContentBlock, Delta, ImageSource, Usage, IMAGE_MEDIA_TYPES,
    MAX_IMAGES, MAX_IMAGE_BYTES, MAX_MESSAGE_BYTES,
};
pub use error::{ErrorBody, ErrorCode};
pub use fold::{fold, Transcript};
pub use gateway::{
    Decision, EventBatch, EventEnvelope, GatewayCommand, GatewayEvent, GatewayFrame, Question, QuestionOption,
    RunnerState, Scope, ToolCall,
};
pub use kata::KataState;
pub use status::SessionStatus;
pub use sync::SessionSync;

/// The version of this contract. Bumped only for a change that old peers cannot read; fields and
/// variants are added without a bump (readers ignore unknown fields).
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest frame either side accepts, in bytes of JSON text. A 3 MB tool result must fit.
pub const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;

/// The most event JSON a sender puts in one batch frame (`events`, on either link): every event
/// that is ready goes out together up to this, a larger event goes alone.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Milliseconds since the Unix epoch: every timestamp on the wire.
pub type TimestampMs = u64;

/// For `skip_serializing_if` on flags that are off by default (older peers leave them out).
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
