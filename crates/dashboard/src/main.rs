//! Duraclaw's dashboard: a Leptos client-side-rendered app, phone first.
//!
//! - [`route`]: the screens' routes and a history-API router.
//! - [`auth`]: who is signed in. [`api`]: the Worker's JSON API.
//! - [`session`]: `use_session(id)`, the one owner of a session's WebSocket, over
//!   `shared_types::SessionSync`.
//! - [`notify`]: notifications when a session starts needing the user.
//! - [`app`]: the root, which screen to draw. [`render`]: diffs and tool calls as escaped HTML;
//!   [`markdown`]: markdown as safe HTML (its own renderer, see the module). [`display`]: numbers
//!   and times.
//! - [`attach`]: images for the composer (checked, resized in the browser).
//! - [`pages`]: one module per screen.
//!
//! The styles are the one stylesheet in `index.html`; `public/` holds the PWA manifest, icons
//! and the service worker (app shell only, never `/api`).

// Natively (`cargo test -p dashboard`) only the pure modules build, for their unit tests; the
// app itself, and leptos and the browser bindings it needs, only for wasm32.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

mod attach;
mod display;
mod export;
mod markdown;
mod render;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod auth;
#[cfg(target_arch = "wasm32")]
mod notify;
#[cfg(target_arch = "wasm32")]
mod pages;
#[cfg(target_arch = "wasm32")]
mod route;
#[cfg(target_arch = "wasm32")]
mod session;

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
