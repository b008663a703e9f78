//! The HTTP API under `/api`: JSON in and out, every error `{"error": {"code", "message"}}` with
//! the code's status ([`error`]), bodies capped ([`body`]).
//!
//! - [`guard`]: the `Origin` and `Content-Type` rules every state-changing route is held to
//! - [`auth`]: sign-up, login, logout, me, admin user creation
//! - [`projects`]: the gateway's project routes, relayed
//! - [`sessions`]: list, create, state, events (ownership-checked)
//! - [`session_ws`]: the WebSocket upgrade to a session's Durable Object

pub mod auth;
pub mod body;
pub mod error;
pub mod guard;
pub mod projects;
pub mod session_ws;
pub mod sessions;
