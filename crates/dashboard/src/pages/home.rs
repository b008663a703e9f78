//! Home: every session, those waiting for the user first, refreshed every few seconds and when
//! the window comes back into focus.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{loading_or_error, store, Loaded};
use crate::api::{self, SessionRow};
use crate::display;
use crate::route::enc;
use crate::session::mark;

const POLL: Duration = Duration::from_secs(4);

thread_local! {
    /// The list, app-wide: filled at start-up in parallel with `/api/me` when the app opens on
    /// Home, and shown at once when the user comes back to Home.
    static ROWS: std::cell::OnceCell<RwSignal<Loaded<Vec<SessionRow>>>> = const { std::cell::OnceCell::new() };
}

fn rows() -> RwSignal<Loaded<Vec<SessionRow>>> {
    ROWS.with(|cell| *cell.get_or_init(|| RwSignal::new(None)))
}

/// Starts loading the list before the app knows who is signed in (a 401 is simply dropped).
pub fn prefetch() {
    let rows = rows();
    spawn_local(async move {
        if let Ok(list) = api::get_in::<Vec<SessionRow>>("/api/sessions", "sessions").await {
            if rows.with_untracked(Option::is_none) {
                store(rows, Ok(sorted(list)));
            }
        }
    });
}

fn sorted(mut list: Vec<SessionRow>) -> Vec<SessionRow> {
    // needing the user first; otherwise the API's order (newest first)
    list.sort_by_key(|r| !r.needs_user());
    list
}

fn load(rows: RwSignal<Loaded<Vec<SessionRow>>>) {
    spawn_local(async move {
        let result = api::get_in::<Vec<SessionRow>>("/api/sessions", "sessions").await.map(sorted);
        store(rows, result);
    });
}

#[component]
pub fn Home() -> impl IntoView {
    let rows = rows();
    load(rows);
    let timer = set_interval_with_handle(move || load(rows), POLL).ok();
    let listeners = ["focus", "visibilitychange"].map(|event| {
        window_event_listener_untyped(event, move |_| {
            if !document().hidden() {
                load(rows)
            }
        })
    });
    on_cleanup(move || {
        if let Some(t) = timer {
            t.clear();
        }
        listeners.into_iter().for_each(|l| l.remove());
    });
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
            {list}
        </section>
    }
}

fn row(r: SessionRow) -> impl IntoView {
    let status = r.status_name();
    let label = display::status_label(&status).to_string();
    let title = r.title.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| "Untitled session".into());
    let place = match &r.worktree {
        Some(w) => format!("{} / {}", r.project, w),
        None => r.project.clone(),
    };
    let meta = format!("{place} · {} · {}", display::cost(r.cost_usd), display::ago(r.updated_ms()));
    view! {
        <li class="row" class:attention=r.needs_user() data-testid="session-row" data-status=status.clone() data-id=r.id.clone()>
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
