//! The dashboard's routes and the little history-API router behind them.
//!
//! Five screens do not need leptos_router: one signal holds the location, `navigate` pushes a
//! history entry, and one document-level click listener turns same-origin `<a href="/...">` clicks
//! into navigations (so plain links work, and open in a new tab with a modifier key).

use std::cell::OnceCell;

use leptos::prelude::*;
use wasm_bindgen::{prelude::*, JsCast};

/// A screen and its parameters, parsed from the path and query.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Home,
    Login,
    Setup,
    Projects,
    /// Adding users (the admin's).
    Users,
    /// The worktree panel: kata status, files, diff. `worktree: None` is the main checkout.
    Worktree { project: String, worktree: Option<String> },
    NewSession { project: String, worktree: Option<String> },
    Session(String),
    NotFound,
}

impl Route {
    fn parse(path: &str, query: &str) -> Route {
        let q = |key: &str| query_param(query, key).filter(|v| !v.is_empty());
        let parts: Vec<String> = path.split('/').filter(|p| !p.is_empty()).map(decode).collect();
        match parts.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            [] => Route::Home,
            ["login"] => Route::Login,
            ["setup"] => Route::Setup,
            ["projects"] => Route::Projects,
            ["users"] => Route::Users,
            ["projects", name] => Route::Worktree { project: name.to_string(), worktree: q("worktree") },
            ["new"] => match q("project") {
                Some(project) => Route::NewSession { project, worktree: q("worktree") },
                None => Route::Projects,
            },
            ["sessions", id] => Route::Session(id.to_string()),
            _ => Route::NotFound,
        }
    }
}

/// Where the app is: `location.pathname` and `location.search`.
#[derive(Debug, Clone, PartialEq)]
struct Location {
    path: String,
    query: String,
}

thread_local! {
    static LOCATION: OnceCell<RwSignal<Location>> = const { OnceCell::new() };
}

fn location_signal() -> RwSignal<Location> {
    LOCATION.with(|cell| *cell.get_or_init(|| RwSignal::new(read_location())))
}

fn read_location() -> Location {
    let loc = window().location();
    Location { path: loc.pathname().unwrap_or_default(), query: loc.search().unwrap_or_default() }
}

/// The current route, read once (not tracked).
pub fn current() -> Route {
    location_signal().with_untracked(|l| Route::parse(&l.path, &l.query))
}

/// The current route, reactive.
pub fn use_route() -> Memo<Route> {
    let loc = location_signal();
    Memo::new(move |_| loc.with(|l| Route::parse(&l.path, &l.query)))
}

/// Goes to `to` (a same-origin path with an optional query), adding a history entry.
pub fn navigate(to: &str) {
    if let Ok(history) = window().history() {
        if history.push_state_with_url(&JsValue::NULL, "", Some(to)).is_ok() {
            location_signal().set(read_location());
            window().scroll_to_with_x_and_y(0.0, 0.0);
        }
    }
}

/// Replaces the current entry (for redirects that should not stay in the history).
pub fn redirect(to: &str) {
    if let Ok(history) = window().history() {
        if history.replace_state_with_url(&JsValue::NULL, "", Some(to)).is_ok() {
            location_signal().set(read_location());
        }
    }
}

/// Follows back/forward and intercepts same-origin link clicks. Called once at start-up.
pub fn install() {
    let loc = location_signal();
    let _listener = window_event_listener(leptos::ev::popstate, move |_| loc.set(read_location()));
    let on_click = Closure::<dyn Fn(web_sys::MouseEvent)>::new(on_document_click);
    document()
        .add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref())
        .unwrap_throw();
    on_click.forget();
}

fn on_document_click(ev: web_sys::MouseEvent) {
    if ev.default_prevented() || ev.button() != 0 || ev.meta_key() || ev.ctrl_key() || ev.shift_key() || ev.alt_key() {
        return;
    }
    let Some(anchor) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("a[href]").ok().flatten())
    else {
        return;
    };
    let href = anchor.get_attribute("href").unwrap_or_default();
    if href.starts_with('/') && !href.starts_with("//") && !anchor.has_attribute("target") && !href.starts_with("/api/") {
        ev.prevent_default();
        navigate(&href);
    }
}

/// A query parameter's decoded value.
pub fn query_param(query: &str, key: &str) -> Option<String> {
    query.trim_start_matches('?').split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == key).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    js_sys::decode_uri_component(&s).map(String::from).unwrap_or(s)
}

/// Percent-encodes a path segment or query value.
pub fn enc(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// `/projects/NAME?worktree=WT`, the worktree panel's link.
pub fn worktree_href(project: &str, worktree: Option<&str>) -> String {
    match worktree {
        Some(w) => format!("/projects/{}?worktree={}", enc(project), enc(w)),
        None => format!("/projects/{}", enc(project)),
    }
}

/// `/new?project=..&worktree=..`, the start-a-session form's link.
pub fn new_session_href(project: &str, worktree: Option<&str>) -> String {
    match worktree {
        Some(w) => format!("/new?project={}&worktree={}", enc(project), enc(w)),
        None => format!("/new?project={}", enc(project)),
    }
}
