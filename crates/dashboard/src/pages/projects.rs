//! Projects: repositories and their worktrees (branch, dirty, ahead/behind), creating a worktree,
//! the Claude Code sessions started on the VPS outside Duraclaw (resumed with one tap), and the
//! form that starts a session.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared_types::api::{ClaudeSession, ClaudeSessionList, Checkout, Created, NewSession, NewWorktree, PolicyRules};
use shared_types::{PermissionMode, PermissionRule, ToolPolicy};

use super::{loading_or_error, store, Loaded};
use crate::api;
use crate::display;
use crate::route::{self, enc, new_session_href, worktree_href};

fn load(projects: RwSignal<Loaded<Vec<Checkout>>>) {
    spawn_local(async move { store(projects, api::get::<Vec<Checkout>>("/api/projects").await) });
}

#[component]
pub fn Projects() -> impl IntoView {
    let projects = RwSignal::<Loaded<Vec<Checkout>>>::new(None);
    load(projects);
    let list = move || {
        projects.with(|state| {
            if let Some(v) = loading_or_error(state) {
                return v;
            }
            let list = state.as_ref().and_then(|r| r.as_ref().ok()).cloned().unwrap_or_default();
            if list.is_empty() {
                return view! { <p class="empty">"No git repositories under the gateway's projects root."</p> }.into_any();
            }
            list.into_iter().map(|p| project_card(p, projects)).collect_view().into_any()
        })
    };
    view! {
        <section class="page" data-testid="projects">
            <div class="page-head"><h1>"Projects"</h1></div>
            {list}
        </section>
    }
}

fn project_card(p: Checkout, projects: RwSignal<Loaded<Vec<Checkout>>>) -> impl IntoView {
    let name = p.name.clone();
    let worktrees = p.worktrees.clone().unwrap_or_default();
    let (start_href, open_href) = (new_session_href(&name, None), worktree_href(&name, None));
    let rows = worktrees
        .into_iter()
        .map(|w| {
            let (project, wt) = (name.clone(), w.name.clone());
            view! {
                <li data-testid="worktree" data-name=wt.clone()>
                    <div class="wt-line"><strong>{wt.clone()}</strong>{checkout_badges(&w)}</div>
                    <div class="actions small">
                        <a class="btn" href=new_session_href(&project, Some(&wt))>"Start session"</a>
                        <a class="btn" href=worktree_href(&project, Some(&wt))>"Files & diff"</a>
                    </div>
                </li>
            }
        })
        .collect_view();
    view! {
        <article class="card" data-testid="project" data-name=name.clone()>
            <div class="card-head">
                <h2>{name.clone()}</h2>
                {checkout_badges(&p)}
            </div>
            <div class="actions">
                <a class="btn primary" data-testid="start-session" href=start_href>"Start session"</a>
                <a class="btn" data-testid="open-worktree" href=open_href>"Files & diff"</a>
            </div>
            <ul class="worktrees">{rows}</ul>
            <NewWorktreeForm project=name.clone() projects/>
            <VpsSessions project=name.clone()/>
        </article>
    }
}

fn checkout_badges(c: &Checkout) -> impl IntoView {
    let branch = c.branch.clone().unwrap_or_else(|| "detached".into());
    let sync = c.upstream.as_ref().map(|_| format!("↑{} ↓{}", c.ahead.unwrap_or(0), c.behind.unwrap_or(0)));
    view! {
        <span class="badges">
            <span class="badge branch">{branch}</span>
            {c.dirty.then(|| view! { <span class="badge dirty" title="uncommitted changes">"dirty"</span> })}
            {sync.map(|s| view! { <span class="badge">{s}</span> })}
            {c.error.clone().map(|e| view! { <span class="badge s-error" title=e>"unreadable"</span> })}
        </span>
    }
}

/// How many sessions started on the VPS a card shows before "Show all".
const VPS_SHOWN: usize = 5;

/// "Sessions started on the VPS": the project's Claude Code sessions that no Duraclaw session
/// has (started in a terminal, an editor...), newest first, each with its first prompt and age;
/// Resume creates a Duraclaw session that continues it and opens it.
#[component]
fn VpsSessions(project: String) -> impl IntoView {
    let found = RwSignal::<Loaded<ClaudeSessionList>>::new(None);
    let all = RwSignal::new(false);
    let path = format!("/api/projects/{}/claude-sessions", enc(&project));
    spawn_local(async move { store(found, api::get::<ClaudeSessionList>(&path).await) });
    let project = StoredValue::new(project);
    let list = move || {
        found.with(|state| {
            let list = match state {
                None => return view! { <p class="muted small">"Looking for sessions…"</p> }.into_any(),
                Some(Err(e)) => return view! { <p class="error small" data-testid="vps-sessions-error">{e.message.clone()}</p> }.into_any(),
                Some(Ok(list)) => list,
            };
            let open: Vec<ClaudeSession> = list.sessions.iter().filter(|s| !s.claimed).cloned().collect();
            if open.is_empty() {
                return view! { <p class="muted small" data-testid="vps-sessions-none">"None: every Claude Code session here is already in Duraclaw."</p> }.into_any();
            }
            let more = open.len().saturating_sub(VPS_SHOWN);
            let shown = if all.get() { open.len() } else { VPS_SHOWN };
            let rows = open.into_iter().take(shown).map(|s| vps_row(project.get_value(), s)).collect_view();
            view! {
                <ul class="worktrees">{rows}</ul>
                {(more > 0 && !all.get()).then(|| view! {
                    <button class="link-btn small" data-testid="vps-sessions-all" on:click=move |_| all.set(true)>{format!("Show all ({})", more + VPS_SHOWN)}</button>
                })}
            }
            .into_any()
        })
    };
    view! {
        <section class="vps-sessions" data-testid="vps-sessions">
            <h4>"Sessions started on the VPS"</h4>
            {list}
        </section>
    }
}

fn vps_row(project: String, s: ClaudeSession) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let prompt = s.first_prompt.clone().unwrap_or_else(|| "(no prompt recorded)".into());
    let place = s.worktree.clone().map(|w| view! { <span class="badge branch">{w}</span> });
    let age = display::ago(s.modified_at as f64);
    let (id, worktree) = (s.id.clone(), s.worktree.clone());
    let resume = move |_| {
        let body = NewSession {
            project: project.clone(),
            worktree: worktree.clone(),
            prompt: String::new(),
            model: None,
            permission_mode: None,
            policy: None,
            title: None,
            resume: Some(id.clone()),
        };
        create_session(body, busy, error);
    };
    view! {
        <li data-testid="vps-session" data-id=s.id.clone()>
            <div class="vps-prompt" title=prompt.clone()>{prompt.clone()}</div>
            <div class="wt-line small muted">{place}<span>{age}</span></div>
            <div class="actions small">
                <button class="btn" data-testid="vps-resume" disabled=move || busy.get() on:click=resume>"Resume"</button>
            </div>
            {move || error.get().map(|e| view! { <p class="error small" data-testid="vps-resume-error">{e}</p> })}
        </li>
    }
}

/// Creates the session and opens it; `busy` while the request runs, `error` if it is refused.
fn create_session(body: NewSession, busy: RwSignal<bool>, error: RwSignal<Option<String>>) {
    busy.set(true);
    error.set(None);
    spawn_local(async move {
        match api::post::<Created>("/api/sessions", &body).await {
            Ok(created) => route::navigate(&format!("/sessions/{}", enc(&created.id))),
            Err(e) => {
                error.try_set(Some(e.message));
            }
        }
        busy.try_set(false);
    });
}

#[component]
fn NewWorktreeForm(project: String, projects: RwSignal<Loaded<Vec<Checkout>>>) -> impl IntoView {
    let open = RwSignal::new(false);
    let branch = RwSignal::new(String::new());
    let base = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let project = StoredValue::new(project);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = NewWorktree {
            branch: branch.get_untracked().trim().to_string(),
            base: Some(base.get_untracked().trim().to_string()).filter(|b| !b.is_empty()),
        };
        let path = format!("/api/projects/{}/worktrees", enc(&project.get_value()));
        busy.set(true);
        spawn_local(async move {
            match api::submit("POST", &path, &body).await {
                Ok(_) => {
                    open.try_set(false);
                    branch.try_set(String::new());
                    load(projects);
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
            busy.try_set(false);
        });
    };
    view! {
        <Show
            when=move || open.get()
            fallback=move || view! { <button class="link-btn" data-testid="add-worktree" on:click=move |_| open.set(true)>"+ New worktree"</button> }
        >
            <form class="form inline" on:submit=submit>
                <label>"Branch"<input data-testid="worktree-branch" required placeholder="feature/x" bind:value=branch/></label>
                <label>"From (optional)"<input data-testid="worktree-base" placeholder="main" bind:value=base/></label>
                {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
                <div class="actions">
                    <button class="btn primary" data-testid="worktree-create" disabled=move || busy.get()>"Create worktree"</button>
                    <button class="btn" type="button" on:click=move |_| open.set(false)>"Cancel"</button>
                </div>
            </form>
        </Show>
    }
}

/// One rule per line; blank lines and `#` comments are skipped. Every bad line is reported.
fn parse_rules(text: &str) -> Result<Vec<PermissionRule>, Vec<String>> {
    let (mut rules, mut errors) = (Vec::new(), Vec::new());
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        match line.parse::<PermissionRule>() {
            Ok(rule) => rules.push(rule),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

const MODES: [(PermissionMode, &str); 4] = [
    (PermissionMode::Default, "Ask for every gated tool (default)"),
    (PermissionMode::AcceptEdits, "Accept file edits"),
    (PermissionMode::Plan, "Plan only"),
    (PermissionMode::BypassPermissions, "Bypass permissions"),
];

#[component]
pub fn NewSession(project: String, worktree: Option<String>) -> impl IntoView {
    let prompt = RwSignal::new(String::new());
    let title = RwSignal::new(String::new());
    let model = RwSignal::new(String::new());
    let mode = RwSignal::new(PermissionMode::Default.as_cli_arg().to_string());
    let allow = RwSignal::new(String::new());
    let deny = RwSignal::new(String::new());
    let allow_rules = Memo::new(move |_| allow.with(|t| parse_rules(t)));
    let deny_rules = Memo::new(move |_| deny.with(|t| parse_rules(t)));
    let invalid = move || allow_rules.with(Result::is_err) || deny_rules.with(Result::is_err);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let place = match &worktree {
        Some(w) => format!("{project} / {w}"),
        None => project.clone(),
    };
    let target = StoredValue::new((project, worktree));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (Ok(allow), Ok(deny)) = (allow_rules.get_untracked(), deny_rules.get_untracked()) else { return };
        let permission_mode = MODES
            .iter()
            .map(|(m, _)| *m)
            .find(|m| m.as_cli_arg() == mode.get_untracked())
            .unwrap_or_default();
        let (project, worktree) = target.get_value();
        let text = |s: RwSignal<String>| Some(s.get_untracked().trim().to_string()).filter(|t| !t.is_empty());
        let body = NewSession {
            project,
            worktree,
            prompt: prompt.get_untracked(),
            model: text(model),
            permission_mode: NewSession::mode(permission_mode),
            policy: Some(PolicyRules::from(&ToolPolicy { allow, deny })),
            title: text(title),
            resume: None,
        };
        create_session(body, busy, error);
    };
    let rule_errors = |rules: Memo<Result<Vec<PermissionRule>, Vec<String>>>| {
        move || rules.with(|r| r.as_ref().err().map(|errs| errs.iter().map(|e| view! { <p class="error" data-testid="rule-error">{e.clone()}</p> }).collect_view()))
    };
    view! {
        <section class="page" data-testid="new-session">
            <div class="page-head"><h1>"New session"</h1><span class="muted">{place}</span></div>
            <form class="form" on:submit=submit>
                <label>"Prompt"<textarea data-testid="prompt" rows="5" required placeholder="What should Claude do?" bind:value=prompt></textarea></label>
                <label>"Title (optional)"<input data-testid="title" bind:value=title/></label>
                <div class="two">
                    <label>"Model"
                        <input data-testid="model" list="models" placeholder="CLI default" bind:value=model/>
                        <datalist id="models"><option value="sonnet"/><option value="opus"/><option value="haiku"/></datalist>
                    </label>
                    <label>"Permission mode"
                        <select data-testid="permission-mode" on:change=move |ev| mode.set(event_target_value(&ev))>
                            {MODES.iter().map(|(m, label)| view! { <option value=m.as_cli_arg() selected=*m == PermissionMode::Default>{*label}</option> }).collect_view()}
                        </select>
                    </label>
                </div>
                <details class="policy">
                    <summary>"Tool policy"</summary>
                    <p class="muted">"One rule per line, e.g. " <code>"Bash(git status*)"</code> ", " <code>"Edit(src/**)"</code> ". Deny beats allow; everything else asks you."</p>
                    <label>"Allow"<textarea data-testid="allow-rules" rows="3" bind:value=allow></textarea></label>
                    {rule_errors(allow_rules)}
                    <label>"Deny"<textarea data-testid="deny-rules" rows="3" bind:value=deny></textarea></label>
                    {rule_errors(deny_rules)}
                </details>
                {move || error.get().map(|e| view! { <p class="error" data-testid="error">{e}</p> })}
                <button class="btn primary" data-testid="start" disabled=move || busy.get() || invalid()>"Start session"</button>
            </form>
        </section>
    }
}
