//! Duraclaw's dashboard (minimal placeholder SPA; the UI engineer replaces it).
//!
//! Everything below the `<body>` is rendered by this wasm: the static index.html has no content,
//! so the end-to-end test can tell the app really ran.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Computed in Rust so the browser test can check the DOM came from the wasm.
fn wasm_marker() -> String {
    let sum: u64 = (1..=10u64).map(|n| n * n).sum();
    format!("rendered by wasm: sum of squares 1..10 = {sum}")
}

/// `GET /health` on the Worker; returns the body text or an error description.
async fn fetch_health() -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str("/health")).await.map_err(|e| format!("{e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a Response".to_string())?;
    if !resp.ok() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let text = JsFuture::from(resp.text().map_err(|e| format!("{e:?}"))?).await.map_err(|e| format!("{e:?}"))?;
    text.as_string().ok_or_else(|| "body is not text".to_string())
}

#[component]
fn App() -> impl IntoView {
    let health = LocalResource::new(fetch_health);
    let health_view = move || match health.get() {
        None => view! { <span data-testid="health-status" data-state="loading">"checking..."</span> }.into_any(),
        Some(Ok(body)) => view! { <span data-testid="health-status" data-state="ok">{body}</span> }.into_any(),
        Some(Err(e)) => view! { <span data-testid="health-status" data-state="error">{e}</span> }.into_any(),
    };
    view! {
        <main>
            <h1 data-testid="app-title">"Duraclaw"</h1>
            <p data-testid="wasm-marker">{wasm_marker()}</p>
            <p>"Worker: " {health_view}</p>
        </main>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
