//! Telling the user when a session needs them (an approval or an answer) while they look
//! elsewhere: a notification through the service worker, tagged with the session so a second one
//! replaces the first, opening the session when tapped (`public/sw.js`). Fed by the sessions list,
//! which the app keeps fresh while signed in (`pages::home::keep_fresh`). Sessions already waiting
//! when the app opens are on Home's list; only changes after that notify.

use std::cell::RefCell;
use std::collections::HashMap;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use shared_types::api::SessionSummary;
use crate::{display, route};

#[wasm_bindgen]
extern "C" {
    // defined in index.html
    #[wasm_bindgen(js_name = duraclawNotifyPermission)]
    fn permission_js() -> String;
    #[wasm_bindgen(js_name = duraclawAskNotify, catch)]
    fn ask_js() -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_name = duraclawNotify, catch)]
    fn notify_js(title: &str, body: &str, tag: &str, url: &str) -> Result<js_sys::Promise, JsValue>;
}

thread_local! {
    /// Whether each session needed the user when the list was last seen; `None` before the first.
    static SEEN: RefCell<Option<HashMap<String, bool>>> = const { RefCell::new(None) };
}

/// `granted`, `denied`, `default` (not asked yet) or `unsupported`.
pub fn permission() -> String {
    permission_js()
}

/// Asks the browser for permission (call from a click); resolves to the new permission.
pub async fn ask() -> String {
    let Ok(promise) = ask_js() else { return permission() };
    wasm_bindgen_futures::JsFuture::from(promise).await.ok().and_then(|v| v.as_string()).unwrap_or_else(permission)
}

/// A fresh sessions list: notify for each session that has started needing the user since the
/// last one, unless the user is looking at it.
pub fn sessions_seen(rows: &[SessionSummary]) {
    let due: Vec<&SessionSummary> = SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        let first = seen.is_none();
        let map = seen.get_or_insert_with(HashMap::new);
        rows.iter()
            .filter(|r| {
                let needs = r.status.needs_user();
                let before = map.insert(r.id.clone(), needs);
                needs && !first && before != Some(true)
            })
            .collect()
    });
    if due.is_empty() || permission() != "granted" {
        return;
    }
    for r in due.into_iter().filter(|r| !looking_at(&r.id)) {
        let title = Some(r.title.as_str()).filter(|t| !t.trim().is_empty()).unwrap_or("A session");
        let place = r.worktree.as_ref().map_or_else(|| r.project.clone(), |w| format!("{} / {w}", r.project));
        let body = format!("{} · {}", display::status_label(r.status.as_str()), place);
        let _ = notify_js(&format!("Claude needs you: {title}"), &body, &r.id, &format!("/sessions/{}", route::enc(&r.id)));
    }
}

/// The session is on screen in a visible window.
fn looking_at(id: &str) -> bool {
    !document().hidden() && route::current() == route::Route::Session(id.to_string())
}
