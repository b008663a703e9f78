//! One module per screen.

pub mod auth;
pub mod home;
pub mod projects;
pub mod session;
pub mod worktree;

use leptos::prelude::*;

use crate::api::ApiError;

/// A load that has not answered, failed, or gave `T`.
pub type Loaded<T> = Option<Result<T, ApiError>>;

/// What a screen shows while loading or after an error.
pub fn loading_or_error<T>(state: &Loaded<T>) -> Option<AnyView> {
    match state {
        None => Some(view! { <p class="muted">"Loading…"</p> }.into_any()),
        Some(Err(e)) => Some(view! { <p class="error" data-testid="error">{e.message.clone()}</p> }.into_any()),
        Some(Ok(_)) => None,
    }
}

/// Stores a load's answer only if it differs, so a poll that changes nothing redraws nothing.
pub fn store<T: PartialEq + Send + Sync + 'static>(signal: RwSignal<Loaded<T>>, value: Result<T, ApiError>) {
    let value = Some(value);
    if signal.try_with_untracked(|old| *old != value) == Some(true) {
        signal.set(value);
    }
}
