//! Home: every session, those waiting for the user first. The list is kept fresh app-wide while
//! signed in (every few seconds and when the window comes back into focus), so that a session
//! starting to need the user can notify from any screen (`notify`).

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{loading_or_error, store, Loaded};
use shared_types::api::{SessionList, SessionSummary};

use crate::api;
use crate::auth::{self, Auth};
use crate::route::enc;
use crate::{display, notify};
use crate::session::mark;

const POLL: Duration = Duration::from_secs(4);

thread_local! {
    /// The list, app-wide: filled at start-up in parallel with `/api/me` when the app opens on
    /// Home, and shown at once when the user comes back to Home.
    static ROWS: std::cell::OnceCell<RwSignal<Loaded<Vec<SessionSummary>>>> = const { std::cell::OnceCell::new() };
}

fn rows() -> RwSignal<Loaded<Vec<SessionSummary>>> {
    ROWS.with(|cell| *cell.get_or_init(|| RwSignal::new(None)))
}

/// Starts loading the list before the app knows who is signed in (a 401 is simply dropped).
pub fn prefetch() {
    let rows = rows();
    spawn_local(async move {
        if let Ok(list) = api::get::<SessionList>("/api/sessions").await {
            if rows.with_untracked(Option::is_none) {
                store(rows, Ok(sorted(list.sessions)));
            }
        }
    });
}

fn sorted(mut list: Vec<SessionSummary>) -> Vec<SessionSummary> {
    // needing the user first; otherwise the API's order (newest first)
    list.sort_by_key(|r| !r.status.needs_user());
    list
}

fn load(rows: RwSignal<Loaded<Vec<SessionSummary>>>) {
    spawn_local(async move {
        let result = api::get::<SessionList>("/api/sessions").await.map(|list| sorted(list.sessions));
        if let Ok(list) = &result {
            notify::sessions_seen(list);
        }
        store(rows, result);
    });
}

/// Keeps the sessions list fresh for the app's lifetime while someone is signed in: every
/// [`POLL`], and at once when the window comes back into view. Call once.
pub fn keep_fresh() {
    let rows = rows();
    let signed_in = || matches!(auth::use_auth().get_untracked(), Auth::SignedIn(_));
    let refresh = move || {
        if signed_in() && (!document().hidden() || notify::permission() == "granted") {
            load(rows);
        }
    };
    // app-lifetime: neither the timer nor the listeners are ever removed
    let _ = set_interval_with_handle(refresh, POLL);
    for event in ["focus", "visibilitychange"] {
        std::mem::forget(window_event_listener_untyped(event, move |_| {
            if !document().hidden() {
                refresh();
            }
        }));
    }
}

#[component]
pub fn Home() -> impl IntoView {
    let rows = rows();
    load(rows);
    Effect::new(move |drawn: Option<bool>| {
        let now = rows.with(|r| matches!(r, Some(Ok(_))));
        if now && drawn != Some(true) {
            mark("duraclaw:session-list-drawn");
        }
        now || drawn == Some(true)
    });
    let list = move || {
        rows.with(|state| {
            if let Some(v) = loading_or_error(state) {
                return v;
            }
            let list = state.as_ref().and_then(|r| r.as_ref().ok()).cloned().unwrap_or_default();
            if list.is_empty() {
                return view! {
                    <p class="empty" data-testid="no-sessions">"No sessions yet. " <a href="/projects">"Start one from a project."</a></p>
                }
                .into_any();
            }
            view! { <ul class="list" data-testid="session-list">{list.into_iter().map(row).collect_view()}</ul> }.into_any()
        })
    };
    view! {
        <section class="page">
            <div class="page-head">
                <h1>"Sessions"</h1>
                <a class="btn primary" href="/projects" data-testid="new-session">"New session"</a>
            </div>
            <NotifyOffer/>
            {list}
        </section>
    }
}

/// Offers notifications until the browser has been asked (the ask must come from a tap).
#[component]
fn NotifyOffer() -> impl IntoView {
    let permission = RwSignal::new(notify::permission());
    let ask = move |_| spawn_local(async move { permission.try_set(notify::ask().await); });
    view! {
        <Show when=move || permission.get() == "default">
            <p class="notice-line small" data-testid="notify-offer">
                "Get a notification when Claude needs you (an approval or an answer). "
                <button class="btn" data-testid="notify-enable" on:click=ask>"Turn on"</button>
            </p>
        </Show>
    }
}

fn row(r: SessionSummary) -> impl IntoView {
    let status = r.status.as_str();
    let label = display::status_label(status).to_string();
    let title = Some(r.title.clone()).filter(|t| !t.trim().is_empty()).unwrap_or_else(|| "Untitled session".into());
    let place = match &r.worktree {
        Some(w) => format!("{} / {}", r.project, w),
        None => r.project.clone(),
    };
    let meta = format!("{place} · {} · {}", display::cost(r.cost_usd), display::ago(r.updated_at as f64));
    view! {
        <li class="row" class:attention=r.status.needs_user() data-testid="session-row" data-status=status data-id=r.id.clone()>
            <a href=format!("/sessions/{}", enc(&r.id))>
                <span class="row-top">
                    <span class="title">{title}</span>
                    <span class=format!("badge s-{status}")>{label}</span>
                </span>
                <span class="row-sub muted">{meta}</span>
            </a>
        </li>
    }
}
