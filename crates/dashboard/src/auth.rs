//! Who is signed in: one app-wide signal, filled from `GET /api/me` at start-up and after login,
//! cleared by logout or by any API call answered 401 (the cookie expired).

use std::cell::OnceCell;

use leptos::prelude::*;
use leptos::task::spawn_local;

use shared_types::api::{User, UserAnswer};

use crate::api;

#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// `/api/me` has not answered yet.
    Unknown,
    SignedOut,
    SignedIn(User),
}

thread_local! {
    static AUTH: OnceCell<RwSignal<Auth>> = const { OnceCell::new() };
}

pub fn use_auth() -> RwSignal<Auth> {
    AUTH.with(|cell| *cell.get_or_init(|| RwSignal::new(Auth::Unknown)))
}

/// Asks the Worker who this browser is.
pub async fn refresh() {
    let state = match api::get::<UserAnswer>("/api/me").await {
        Ok(me) => Auth::SignedIn(me.user),
        Err(e) if e.status == 401 || e.status == 403 => Auth::SignedOut,
        // A network error is not a logout: keep whatever we knew, but leave Unknown behind.
        Err(_) if use_auth().get_untracked() != Auth::Unknown => return,
        Err(_) => Auth::SignedOut,
    };
    use_auth().set(state);
}

/// The session cookie is gone.
pub fn signed_out() {
    use_auth().set(Auth::SignedOut);
}

pub fn logout() {
    spawn_local(async {
        let _ = api::submit("POST", "/api/auth/logout", &serde_json::json!({})).await;
        signed_out();
        crate::route::navigate("/login");
    });
}
