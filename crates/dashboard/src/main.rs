//! Duraclaw's dashboard: a Leptos client-side-rendered app, phone first.
//!
//! - [`route`]: the screens' routes and a history-API router.
//! - [`auth`]: who is signed in. [`api`]: the Worker's JSON API.
//! - [`session`]: `use_session(id)`, the one owner of a session's WebSocket, over
//!   `shared_types::SessionSync`.
//! - [`render`]: markdown, diffs and tool calls as escaped HTML. [`display`]: numbers and times.
//! - [`pages`]: one module per screen.
//!
//! The styles are the one stylesheet in `index.html`; `public/` holds the PWA manifest, icons
//! and the service worker (app shell only, never `/api`).

mod api;
mod auth;
mod display;
mod pages;
mod render;
mod route;
mod session;

use leptos::prelude::*;

use auth::Auth;
use route::Route;

/// Signed in or not, without the user's details (so a refreshed `/api/me` redraws nothing).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Gate {
    Unknown,
    Out,
    In,
}

#[component]
fn App() -> impl IntoView {
    route::install();
    let auth = auth::use_auth();
    leptos::task::spawn_local(auth::refresh());
    let route = route::use_route();
    let gate = Memo::new(move |_| match auth.get() {
        Auth::Unknown => Gate::Unknown,
        Auth::SignedOut => Gate::Out,
        Auth::SignedIn(_) => Gate::In,
    });
    let page = move || match (gate.get(), route.get()) {
        (_, Route::Setup) => view! { <pages::auth::Setup/> }.into_any(),
        (Gate::Unknown, _) => view! { <p class="page muted">"Loading…"</p> }.into_any(),
        (Gate::Out, _) => view! { <pages::auth::Login/> }.into_any(),
        (Gate::In, Route::Home | Route::Login) => view! { <pages::home::Home/> }.into_any(),
        (Gate::In, Route::Projects) => view! { <pages::projects::Projects/> }.into_any(),
        (Gate::In, Route::NewSession { project, worktree }) => {
            view! { <pages::projects::NewSession project worktree/> }.into_any()
        }
        (Gate::In, Route::Worktree { project, worktree }) => {
            view! { <pages::worktree::WorktreePanel project worktree/> }.into_any()
        }
        (Gate::In, Route::Session(id)) => view! { <pages::session::SessionPage id/> }.into_any(),
        (Gate::In, Route::NotFound) => view! {
            <section class="page"><h1>"Not found"</h1><p><a href="/">"Back to the sessions"</a></p></section>
        }
        .into_any(),
    };
    Effect::new(move |_| {
        if gate.get() == Gate::In && route.get() == Route::Login {
            route::redirect("/");
        }
    });
    view! {
        <header class="top">
            <a href="/" class="brand" data-testid="app-title">"Duraclaw"</a>
            <Show when=move || gate.get() == Gate::In>
                <nav>
                    <a href="/" class:on=move || route.get() == Route::Home>"Sessions"</a>
                    <a href="/projects" class:on=move || route.get() == Route::Projects>"Projects"</a>
                    <button class="link-btn" data-testid="logout" on:click=move |_| auth::logout()>
                        {move || match auth.get() { Auth::SignedIn(me) => format!("Log out {}", me.name), _ => String::new() }}
                    </button>
                </nav>
            </Show>
        </header>
        <main>{page}</main>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
