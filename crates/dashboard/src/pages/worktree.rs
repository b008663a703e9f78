//! The worktree panel: kata status (mode, phase, gates), a file browser and the git diff.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared_types::kata::PhaseStatus;
use shared_types::KataState;

use super::{loading_or_error, Loaded};
use shared_types::api::{DirEntry, EntryKind, FileContent, FileDiff, KataStatus};

use crate::api::{self, worktree_query};
use crate::route::{enc, new_session_href};
use crate::{display, render};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tab {
    Kata,
    Files,
    Diff,
}

/// The API path for `what` (`files`, `diff`...) of this checkout, with `extra` query pairs.
fn project_path(project: &str, worktree: Option<&str>, what: &str, extra: &str) -> String {
    let query: Vec<String> = [worktree_query(worktree), extra.to_string()].into_iter().filter(|q| !q.is_empty()).collect();
    format!("/api/projects/{}/{what}?{}", enc(project), query.join("&"))
}

fn fetch_into<T>(signal: RwSignal<Loaded<T>>, path: String)
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    signal.set(None);
    spawn_local(async move {
        let result = api::get::<T>(&path).await;
        signal.try_set(Some(result));
    });
}

#[component]
pub fn WorktreePanel(project: String, worktree: Option<String>) -> impl IntoView {
    let tab = RwSignal::new(Tab::Kata);
    let target = StoredValue::new((project.clone(), worktree.clone()));
    let tab_button = move |t: Tab, label: &'static str| {
        view! { <button class="tab" class:on=move || tab.get() == t data-testid=format!("tab-{}", label.to_lowercase()) on:click=move |_| tab.set(t)>{label}</button> }
    };
    let body = move || {
        let (project, worktree) = target.get_value();
        match tab.get() {
            Tab::Kata => view! { <KataView project worktree/> }.into_any(),
            Tab::Files => view! { <FilesView project worktree/> }.into_any(),
            Tab::Diff => view! { <DiffView project worktree/> }.into_any(),
        }
    };
    view! {
        <section class="page" data-testid="worktree-panel">
            <div class="page-head">
                <h1>{project.clone()}<span class="muted">{worktree.clone().map(|w| format!(" / {w}"))}</span></h1>
                <a class="btn primary" href=new_session_href(&project, worktree.as_deref())>"Start session"</a>
            </div>
            <div class="tabs">{tab_button(Tab::Kata, "Kata")}{tab_button(Tab::Files, "Files")}{tab_button(Tab::Diff, "Diff")}</div>
            {body}
        </section>
    }
}

#[component]
fn KataView(project: String, worktree: Option<String>) -> impl IntoView {
    let state = RwSignal::<Loaded<KataStatus>>::new(None);
    fetch_into(state, project_path(&project, worktree.as_deref(), "kata-status", ""));
    move || {
        state.with(|s| {
            if let Some(v) = loading_or_error(s) {
                return v;
            }
            match s.as_ref().and_then(|r| r.as_ref().ok()).and_then(|k| k.kata_state.clone()) {
                None => view! { <p class="empty" data-testid="kata-none">"No kata session in this worktree."</p> }.into_any(),
                Some(k) => kata_view(k).into_any(),
            }
        })
    }
}

fn kata_view(k: KataState) -> impl IntoView {
    let phase_title = k.current_phase().map(|p| p.title.clone()).unwrap_or_else(|| k.phase.clone());
    let active = if k.is_active() { "active" } else { "exited" };
    view! {
        <div class="card" data-testid="kata">
            <div class="card-head">
                <h2>{format!("Mode: {}", k.mode)}</h2>
                <span class="badges">
                    <span class="badge">{active}</span>
                    {k.issue.map(|i| view! { <span class="badge">{format!("issue #{i}")}</span> })}
                </span>
            </div>
            <p data-testid="kata-phase">"Phase: " <strong>{phase_title}</strong></p>
            <ol class="phases">
                {k.phases.iter().map(|p| {
                    let status = match p.status {
                        PhaseStatus::Pending => "pending",
                        PhaseStatus::Active => "active",
                        PhaseStatus::Done => "done",
                    };
                    view! {
                        <li class=format!("phase {status}") data-testid="kata-phase-row">
                            <span>{p.title.clone()}</span>
                            <span class="muted">{format!(" · {}", display::phase_progress(p))}</span>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </div>
    }
}

#[component]
fn FilesView(project: String, worktree: Option<String>) -> impl IntoView {
    let dir = RwSignal::new(String::new());
    let entries = RwSignal::<Loaded<Vec<DirEntry>>>::new(None);
    let file = RwSignal::<Option<Loaded<FileContent>>>::new(None);
    let target = StoredValue::new((project, worktree));
    let query = move |path: &str| format!("path={}", enc(path));
    Effect::new(move |_| {
        let path = dir.get();
        let (project, worktree) = target.get_value();
        fetch_into(entries, project_path(&project, worktree.as_deref(), "files", &query(&path)));
    });
    let open_file = move |path: String| {
        let (project, worktree) = target.get_value();
        let url = project_path(&project, worktree.as_deref(), "file", &query(&path));
        file.set(Some(None));
        spawn_local(async move {
            let result = api::get::<FileContent>(&url).await;
            file.try_set(Some(Some(result)));
        });
    };
    let join = |dir: &str, name: &str| if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") };
    let crumbs = move || {
        let d = dir.get();
        let mut acc = String::new();
        let mut parts = vec![view! { <button class="link-btn" on:click=move |_| dir.set(String::new())>"root"</button> }.into_any()];
        for seg in d.split('/').filter(|s| !s.is_empty()) {
            acc = join(&acc, seg);
            let to = acc.clone();
            parts.push(view! { <span>" / "</span><button class="link-btn" on:click=move |_| dir.set(to.clone())>{seg.to_string()}</button> }.into_any());
        }
        parts
    };
    let listing = move || {
        entries.with(|s| {
            if let Some(v) = loading_or_error(s) {
                return v;
            }
            let list = s.as_ref().and_then(|r| r.as_ref().ok()).cloned().unwrap_or_default();
            view! {
                <ul class="files" data-testid="files">
                    {list.into_iter().map(|e| {
                        let path = join(&dir.get_untracked(), &e.name);
                        let is_dir = e.kind == EntryKind::Dir;
                        let size = e.size.map(display::bytes).unwrap_or_default();
                        view! {
                            <li data-testid="file-entry" data-kind=e.kind.as_str()>
                                <button class="link-btn" on:click=move |_| if is_dir { dir.set(path.clone()) } else { open_file(path.clone()) }>
                                    {if is_dir { format!("{}/", e.name) } else { e.name.clone() }}
                                </button>
                                <span class="muted">{size}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
            .into_any()
        })
    };
    let viewer = move || {
        file.with(|f| {
            let state = f.as_ref()?;
            if let Some(v) = loading_or_error(state) {
                return Some(v);
            }
            let c = state.as_ref()?.as_ref().ok()?.clone();
            let body = match (&c.content, c.binary) {
                (Some(text), false) => view! { <pre class="file" data-testid="file-content">{text.clone()}</pre> }.into_any(),
                _ => view! { <p class="muted">{format!("Binary file, {}", display::bytes(c.size))}</p> }.into_any(),
            };
            Some(view! {
                <div class="card file-view">
                    <div class="card-head"><strong>{c.path.clone()}</strong><button class="link-btn" on:click=move |_| file.set(None)>"Close"</button></div>
                    {body}
                </div>
            }.into_any())
        })
    };
    view! {
        <div class="crumbs">{crumbs}</div>
        {viewer}
        {listing}
    }
}

#[component]
fn DiffView(project: String, worktree: Option<String>) -> impl IntoView {
    let diff = RwSignal::<Loaded<Vec<FileDiff>>>::new(None);
    fetch_into(diff, project_path(&project, worktree.as_deref(), "diff", ""));
    move || {
        diff.with(|s| {
            if let Some(v) = loading_or_error(s) {
                return v;
            }
            let files = s.as_ref().and_then(|r| r.as_ref().ok()).cloned().unwrap_or_default();
            if files.is_empty() {
                return view! { <p class="empty" data-testid="diff-clean">"No changes."</p> }.into_any();
            }
            files
                .into_iter()
                .map(|f| {
                    let stats = match (f.additions, f.deletions) {
                        (Some(a), Some(d)) => format!("+{a} −{d}"),
                        _ => "binary".into(),
                    };
                    view! {
                        <details class="card diff-file" data-testid="diff-file">
                            <summary><span class=format!("badge d-{}", f.status.as_str())>{f.status.as_str()}</span>" "<strong>{f.path.clone()}</strong>" "<span class="muted">{stats}</span></summary>
                            <div inner_html=render::patch(&f.patch)></div>
                        </details>
                    }
                })
                .collect_view()
                .into_any()
        })
    }
}
