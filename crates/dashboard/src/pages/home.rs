//! Home: every session, those waiting for the user first. The list is kept fresh app-wide while
//! signed in (every few seconds and when the window comes back into focus), so that a session
//! starting to need the user can notify from any screen (`notify`).
//!
//! Find: a search box (every word must appear in the title or the first prompt, case ignored)
//! and filters by project and status, done here on the list already fetched; they live in the
//! query string (`?q=&project=&status=`), so a reload or a shared link keeps them.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{loading_or_error, store, Loaded};
use shared_types::api::{SessionList, SessionSummary, StatusName};

use crate::api;
use crate::auth::{self, Auth};
use crate::route::{self, enc};
use crate::{display, notify};
use crate::session::mark;

const POLL: Duration = Duration::from_secs(4);

thread_local! {
    /// The list, app-wide: filled at start-up in parallel with `/api/me` when the app opens on
    /// Home, and shown at once when the user comes back to Home.
    static ROWS: std::cell::OnceCell<RwSignal<Loaded<Vec<SessionSummary>>>> = const { std::cell::OnceCell::new() };
}

pub fn rows() -> RwSignal<Loaded<Vec<SessionSummary>>> {
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

/// Loads the list now (a screen that needs it before the next poll).
pub fn refresh() {
    load(rows());
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

/// The list's search and filters, as in the query string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Find {
    pub q: String,
    pub project: String,
    pub status: String,
}

impl Find {
    fn from_query(query: &str) -> Find {
        let p = |k| route::query_param(query, k).unwrap_or_default();
        Find { q: p("q"), project: p("project"), status: p("status") }
    }

    fn to_query(&self) -> String {
        let parts: Vec<String> = [("q", &self.q), ("project", &self.project), ("status", &self.status)]
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        if parts.is_empty() { "/".into() } else { format!("/?{}", parts.join("&")) }
    }

    fn active(&self) -> bool {
        !(self.q.trim().is_empty() && self.project.is_empty() && self.status.is_empty())
    }

    /// Whether row `r` is shown: every word of the search in its title or first prompt, and
    /// the project and status chosen.
    pub fn matches(&self, r: &SessionSummary) -> bool {
        if !self.project.is_empty() && r.project != self.project {
            return false;
        }
        if !self.status.is_empty() && r.status.as_str() != self.status {
            return false;
        }
        let hay = format!("{}\n{}", r.title, r.prompt.as_deref().unwrap_or_default()).to_lowercase();
        self.q.split_whitespace().all(|w| hay.contains(&w.to_lowercase()))
    }
}

#[component]
pub fn Home() -> impl IntoView {
    let rows = rows();
    load(rows);
    let find = RwSignal::new(Find::from_query(&window().location().search().unwrap_or_default()));
    // the query string follows the search and filters (replaced, not pushed: typing adds no history)
    Effect::new(move |_| {
        let to = find.with(Find::to_query);
        let now = window().location();
        if format!("{}{}", now.pathname().unwrap_or_default(), now.search().unwrap_or_default()) != to {
            route::redirect(&to);
        }
    });
    Effect::new(move |drawn: Option<bool>| {
        let now = rows.with(|r| matches!(r, Some(Ok(_))));
        if now && drawn != Some(true) {
            mark("duraclaw:session-list-drawn");
        }
        now || drawn == Some(true)
    });
    let projects = Memo::new(move |_| {
        let mut names: Vec<String> =
            rows.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).map(|l| l.iter().map(|r| r.project.clone()).collect()).unwrap_or_default());
        names.sort();
        names.dedup();
        names
    });
    let list = move || {
        rows.with(|state| {
            if let Some(v) = loading_or_error(state) {
                return v;
            }
            let all = state.as_ref().and_then(|r| r.as_ref().ok()).cloned().unwrap_or_default();
            if all.is_empty() {
                return view! {
                    <p class="empty" data-testid="no-sessions">"No sessions yet. " <a href="/projects">"Start one from a project."</a></p>
                }
                .into_any();
            }
            let f = find.get();
            let list: Vec<SessionSummary> = all.into_iter().filter(|r| f.matches(r)).collect();
            if list.is_empty() {
                return view! {
                    <p class="empty" data-testid="no-matches">"No session matches. "
                        <button class="btn" data-testid="find-clear" on:click=move |_| find.set(Find::default())>"Clear the search"</button>
                    </p>
                }
                .into_any();
            }
            view! { <ul class="list" data-testid="session-list">{list.into_iter().map(row).collect_view()}</ul> }.into_any()
        })
    };
    let set = move |field: fn(&mut Find, String)| move |ev: leptos::ev::Event| find.update(|f| field(f, event_target_value(&ev)));
    view! {
        <section class="page">
            <div class="page-head">
                <h1>"Sessions"</h1>
                <a class="btn primary" href="/projects" data-testid="new-session">"New session"</a>
            </div>
            <NotifyOffer/>
            <div class="find" role="search">
                <input type="search" data-testid="find-q" aria-label="Search sessions" placeholder="Search titles and prompts"
                    prop:value=move || find.with(|f| f.q.clone()) on:input=set(|f, v| f.q = v)/>
                <select data-testid="find-project" aria-label="Project" prop:value=move || find.with(|f| f.project.clone())
                    on:change=set(|f, v| f.project = v)>
                    <option value="">"All projects"</option>
                    {move || {
                        let chosen = find.with_untracked(|f| f.project.clone());
                        let mut names = projects.get();
                        if !chosen.is_empty() && !names.contains(&chosen) {
                            names.push(chosen.clone());
                        }
                        names.into_iter().map(|n| view! { <option value=n.clone() selected=n == chosen>{n.clone()}</option> }).collect_view()
                    }}
                </select>
                <select data-testid="find-status" aria-label="Status" prop:value=move || find.with(|f| f.status.clone())
                    on:change=set(|f, v| f.status = v)>
                    <option value="">"Any status"</option>
                    {StatusName::ALL.into_iter().map(|st| {
                        let chosen = find.with_untracked(|f| f.status == st.as_str());
                        view! { <option value=st.as_str() selected=chosen>{display::status_label(st.as_str()).to_string()}</option> }
                    }).collect_view()}
                </select>
                <Show when=move || find.with(Find::active)>
                    <button class="btn" data-testid="find-reset" on:click=move |_| find.set(Find::default())>"Clear"</button>
                </Show>
            </div>
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
