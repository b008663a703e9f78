//! First-run set-up (create the admin), login, the admin adding and disabling users, and anyone
//! changing their own password.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use shared_types::api::{Credentials, NewUser, PasswordChange, SetupState, SignUp, UserChange};
use crate::auth::Auth;
use crate::{auth, route};

/// Logs in and loads `/api/me`; the app then shows the page that was asked for.
async fn log_in(name: &str, password: &str) -> Result<(), api::ApiError> {
    let credentials = Credentials { name: name.into(), password: password.into() };
    api::submit("POST", "/api/auth/login", &credentials).await?;
    auth::refresh().await;
    Ok(())
}

/// A form's submit handler: one request at a time (`busy`), the error shown in `error`. `start`
/// reads the form when it is submitted and returns the request to run.
fn on_submit<F, Fut>(busy: RwSignal<bool>, error: RwSignal<Option<String>>, start: F) -> impl Fn(SubmitEvent) + Copy
where
    F: Fn() -> Result<Fut, String> + Copy + 'static,
    Fut: std::future::Future<Output = Result<(), api::ApiError>> + 'static,
{
    move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let request = match start() {
            Ok(request) => request,
            Err(message) => return error.set(Some(message)),
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            if let Err(e) = request.await {
                error.try_set(Some(e.message));
            }
            busy.try_set(false);
        });
    }
}

#[component]
pub fn Login() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = on_submit(busy, error, move || {
        let (n, p) = (name.get_untracked(), password.get_untracked());
        Ok(async move { log_in(&n, &p).await })
    });
    // A deployment with no user yet has no one to log in: it opens on set-up instead.
    spawn_local(async {
        let open = matches!(api::get::<SetupState>("/api/auth/setup").await, Ok(s) if s.setup_open);
        if open && auth::use_auth().get_untracked() == Auth::SignedOut {
            route::redirect("/setup");
        }
    });
    view! {
        <section class="page narrow" data-testid="login">
            <h1>"Log in"</h1>
            <form class="form" on:submit=submit>
                <label>"Name"<input data-testid="login-name" autocomplete="username" required bind:value=name/></label>
                <label>"Password"<input data-testid="login-password" type="password" autocomplete="current-password" required bind:value=password/></label>
                {move || error.get().map(|e| view! { <p class="error" data-testid="error">{e}</p> })}
                <button class="btn primary" data-testid="login-submit" disabled=move || busy.get()>"Log in"</button>
            </form>
            <p class="muted">"First time here? " <a href="/setup" data-testid="to-setup">"Set up Duraclaw"</a></p>
        </section>
    }
}

#[component]
pub fn Setup() -> impl IntoView {
    let code = RwSignal::new(String::new());
    let name = RwSignal::new(String::from("admin"));
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let taken = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let submit = on_submit(busy, error, move || {
        let (c, n, p) = (code.get_untracked(), name.get_untracked(), password.get_untracked());
        if p != confirm.get_untracked() {
            return Err("The two passwords differ.".into());
        }
        Ok(async move {
            let body = SignUp { name: n.clone(), password: p.clone(), setup_code: Some(c.trim().to_string()) };
            let created = api::submit("POST", "/api/auth/signup", &body).await;
            taken.try_set(matches!(&created, Err(e) if e.status == 403 && e.message.starts_with("sign-up is closed")));
            created?;
            log_in(&n, &p).await?;
            route::navigate("/");
            Ok(())
        })
    });
    view! {
        <section class="page narrow" data-testid="setup">
            <h1>"Set up Duraclaw"</h1>
            <p class="muted">"Create the administrator: the first account is the only one that can sign up; it adds everyone else. \
                The set-up code proves you run this server: scripts/run.sh prints it, a deployment has it as its SETUP_CODE secret."</p>
            <form class="form" on:submit=submit>
                <label>"Set-up code"<input data-testid="setup-code" autocomplete="one-time-code" spellcheck="false" required bind:value=code/></label>
                <label>"Name"<input data-testid="setup-name" autocomplete="username" required bind:value=name/></label>
                <label>"Password"<input data-testid="setup-password" type="password" autocomplete="new-password" minlength="8" required bind:value=password/></label>
                <label>"Password again"<input data-testid="setup-confirm" type="password" autocomplete="new-password" required bind:value=confirm/></label>
                {move || error.get().map(|e| view! { <p class="error" data-testid="error">{e}</p> })}
                <button class="btn primary" data-testid="setup-submit" disabled=move || busy.get()>"Create admin"</button>
            </form>
            <Show when=move || taken.get()>
                <p data-testid="setup-taken">"This server is already set up. " <a href="/login">"Log in"</a></p>
            </Show>
        </section>
    }
}

/// Anyone changes their own password; every other login of theirs ends.
#[component]
fn OwnPassword() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let submit = on_submit(busy, error, move || {
        let (c, n) = (current.get_untracked(), new.get_untracked());
        done.set(false);
        Ok(async move {
            api::submit("POST", "/api/auth/password", &PasswordChange { current_password: c, new_password: n }).await?;
            current.try_set(String::new());
            new.try_set(String::new());
            done.try_set(true);
            Ok(())
        })
    });
    view! {
        <h2 class="section">"Your password"</h2>
        <form class="form" data-testid="own-password" on:submit=submit>
            <label>"Current password"<input data-testid="password-current" type="password" autocomplete="current-password" required bind:value=current/></label>
            <label>"New password"<input data-testid="password-new" type="password" autocomplete="new-password" minlength="10" required bind:value=new/></label>
            {move || error.get().map(|e| view! { <p class="error" data-testid="password-error">{e}</p> })}
            <button class="btn" data-testid="password-submit" disabled=move || busy.get()>"Change password"</button>
            <Show when=move || done.get()>
                <p class="muted" data-testid="password-changed">"Password changed: your other logins were signed out."</p>
            </Show>
        </form>
    }
}

/// The admin disables a user (their logins and open sessions end) or enables them again.
#[component]
fn DisableUser() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let disabled = RwSignal::new(true);
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = on_submit(busy, error, move || {
        let (n, d) = (name.get_untracked().trim().to_string(), disabled.get_untracked());
        done.set(None);
        Ok(async move {
            let path = format!("/api/admin/users/{}", js_sys::encode_uri_component(&n));
            api::submit("PATCH", &path, &UserChange { disabled: d }).await?;
            done.try_set(Some(if d { format!("{n} is disabled and signed out everywhere.") } else { format!("{n} may log in again.") }));
            Ok(())
        })
    });
    view! {
        <h2 class="section">"Disable a user"</h2>
        <form class="form" data-testid="disable-user" on:submit=submit>
            <label>"Name"<input data-testid="disable-name" autocomplete="off" required bind:value=name/></label>
            <label class="check"><input type="checkbox" data-testid="disable-flag" bind:checked=disabled/>" Disabled (uncheck to enable again)"</label>
            {move || error.get().map(|e| view! { <p class="error" data-testid="disable-error">{e}</p> })}
            <button class="btn" data-testid="disable-submit" disabled=move || busy.get()>"Apply"</button>
            {move || done.get().map(|m| view! { <p class="muted" data-testid="disable-done">{m}</p> })}
        </form>
    }
}

/// The admin adds users (sign-up is closed after the first). Others are told it is the admin's.
#[component]
pub fn Users() -> impl IntoView {
    let admin = move || matches!(auth::use_auth().get(), Auth::SignedIn(me) if me.is_admin);
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let is_admin = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let added = RwSignal::new(Vec::<(String, bool)>::new());
    let busy = RwSignal::new(false);
    let submit = on_submit(busy, error, move || {
        let (n, p, a) = (name.get_untracked(), password.get_untracked(), is_admin.get_untracked());
        Ok(async move {
            api::submit("POST", "/api/admin/users", &NewUser { name: n.clone(), password: p, is_admin: a }).await?;
            added.try_update(|list| list.push((n, a)));
            name.try_set(String::new());
            password.try_set(String::new());
            is_admin.try_set(false);
            Ok(())
        })
    });
    view! {
        <section class="page narrow" data-testid="users">
            <h1>"Users"</h1>
            <Show
                when=admin
                fallback=|| view! { <p class="muted" data-testid="users-admin-only">"Only an administrator adds users."</p> }
            >
                <p class="muted">"Sign-up is closed: add the people who may use this Duraclaw. Each sees only their own sessions."</p>
                <form class="form" on:submit=submit>
                    <label>"Name"<input data-testid="user-name" autocomplete="off" required bind:value=name/></label>
                    <label>"Password"<input data-testid="user-password" type="password" autocomplete="new-password" minlength="8" required bind:value=password/></label>
                    <label class="check"><input type="checkbox" data-testid="user-admin" bind:checked=is_admin/>" Administrator (may add users)"</label>
                    {move || error.get().map(|e| view! { <p class="error" data-testid="error">{e}</p> })}
                    <button class="btn primary" data-testid="user-submit" disabled=move || busy.get()>"Add user"</button>
                </form>
                <ul class="plain" data-testid="users-added">
                    {move || added.get().into_iter().map(|(n, a)| view! {
                        <li data-testid="user-added">{format!("Added {n}")}{a.then_some(" (administrator)")}</li>
                    }).collect_view()}
                </ul>
                <DisableUser/>
            </Show>
            <OwnPassword/>
        </section>
    }
}
