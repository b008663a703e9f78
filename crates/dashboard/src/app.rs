//! The app's root: which screen to draw for the route and who is signed in, under the header.

use leptos::prelude::*;

use crate::auth::{self, Auth};
use crate::pages;
use crate::route::{self, Route};

/// Signed in or not, without the user's details (so a refreshed `/api/me` redraws nothing).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Gate {
    Unknown,
    Out,
    In,
}

#[derive(Debug, Clone, PartialEq)]
enum Screen {
    Setup,
    Loading,
    Login,
    Page(Route),
}

#[component]
pub fn App() -> impl IntoView {
    route::install();
    pages::home::keep_fresh();
    let auth = auth::use_auth();
    leptos::task::spawn_local(auth::refresh());
    let route = route::use_route();
    if route.get_untracked() == Route::Home {
        pages::home::prefetch();
    }
    let gate = Memo::new(move |_| match auth.get() {
        Auth::Unknown => Gate::Unknown,
        Auth::SignedOut => Gate::Out,
        Auth::SignedIn(_) => Gate::In,
    });
    // Which screen to draw; a memo, so that learning who is signed in redraws nothing when the
    // screen stays the same. Home is drawn before `/api/me` answers (its list was requested at
    // start-up; a 401 there signs out).
    let screen = Memo::new(move |_| match (gate.get(), route.get()) {
        (_, Route::Setup) => Screen::Setup,
        (Gate::Unknown, Route::Home) | (Gate::In, Route::Login) => Screen::Page(Route::Home),
        (Gate::Unknown, _) => Screen::Loading,
        (Gate::Out, _) => Screen::Login,
        (Gate::In, r) => Screen::Page(r),
    });
    let page = move || match screen.get() {
        Screen::Setup => view! { <pages::auth::Setup/> }.into_any(),
        Screen::Loading => view! { <p class="page muted">"Loading…"</p> }.into_any(),
        Screen::Login => view! { <pages::auth::Login/> }.into_any(),
        Screen::Page(Route::Home | Route::Login | Route::Setup) => view! { <pages::home::Home/> }.into_any(),
        Screen::Page(Route::Projects) => view! { <pages::projects::Projects/> }.into_any(),
        Screen::Page(Route::Users) => view! { <pages::auth::Users/> }.into_any(),
        Screen::Page(Route::NewSession { project, worktree }) => {
            view! { <pages::projects::NewSession project worktree/> }.into_any()
        }
        Screen::Page(Route::Worktree { project, worktree }) => {
            view! { <pages::worktree::WorktreePanel project worktree/> }.into_any()
        }
        Screen::Page(Route::Session(id)) => view! { <pages::session::SessionPage id/> }.into_any(),
        Screen::Page(Route::NotFound) => view! {
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
                    <Show
                        when=move || matches!(auth.get(), Auth::SignedIn(me) if me.is_admin)
                        fallback=move || view! {
                            <a href="/users" data-testid="nav-account" class:on=move || route.get() == Route::Users>"Account"</a>
                        }
                    >
                        <a href="/users" data-testid="nav-users" class:on=move || route.get() == Route::Users>"Users"</a>
                    </Show>
                    <button class="link-btn logout" data-testid="logout" on:click=move |_| auth::logout()
                        title=move || match auth.get() { Auth::SignedIn(me) => format!("Log out {}", me.name), _ => String::new() }>
                        <span>"Log out"</span>" "
                        <span class="who">{move || match auth.get() { Auth::SignedIn(me) => me.name, _ => String::new() }}</span>
                    </button>
                </nav>
            </Show>
        </header>
        <main>{page}</main>
    }
}
