//! The session screen: the conversation as it streams, the requests waiting for the user, the
//! composer, and the session's controls. Everything here reads `use_session`'s signals.
//!
//! Long histories render in pages: only the last [`PAGE`] items are in the DOM until "Load
//! earlier" is pressed. Each item is drawn once per change of its [`item_rev`] (keyed `For`), so
//! a streaming message redraws itself alone.

use std::collections::BTreeMap;

use leptos::prelude::*;
use shared_types::fold::Item;
use shared_types::{
    content_problem, AssistantBlock, ClientCommand, ContentBlock, ImageSource, PendingRequest, Question, Scope, SessionStatus,
    ToolCall, IMAGE_MEDIA_TYPES, MAX_IMAGES,
};

use shared_types::api::SessionRename;

use crate::route::{enc, worktree_href};
use crate::session::{new_client_id, use_session, Link, SessionHandle};
use crate::{api, attach, display, export, render};

/// Items drawn at first, and added by each "Load earlier".
const PAGE: usize = 60;

#[component]
pub fn SessionPage(id: String) -> impl IntoView {
    let s = use_session(id.clone());
    let shown = RwSignal::new(PAGE);
    let status = Memo::new(move |_| s.sync.with(|x| x.status()));
    view! {
        <section
            class="session"
            data-testid="session"
            data-link=move || s.link.get().name()
            data-cursor=move || s.sync.with(|x| x.cursor())
            data-caught-up=move || s.caught_up.get().to_string()
            data-status=move || status.get().map(SessionStatus::name).unwrap_or("unknown")
        >
            <Header s status id/>
            {move || s.notice.get().map(|n| view! {
                <p class="error notice" data-testid="notice" on:click=move |_| s.notice.set(None)>{n}" ✕"</p>
            })}
            <TranscriptView s shown/>
            <Pending s/>
            <Composer s status/>
        </section>
    }
}

/// The title the user sees: the D1 row's (which a rename sets and nothing else overwrites),
/// read from the app-wide list (loaded here if it is not yet); the Durable Object's meta until then.
fn use_title(s: SessionHandle, id: String) -> (Signal<String>, RwSignal<Option<String>>) {
    let own = RwSignal::new(None::<String>);
    let list = super::home::rows();
    if list.with_untracked(Option::is_none) {
        super::home::refresh(); // opened straight on this session: the list is not loaded yet
    }
    let title = Signal::derive(move || {
        own.get()
            .or_else(|| list.with(|l| l.as_ref()?.as_ref().ok()?.iter().find(|r| r.id == id).map(|r| r.title.clone())))
            .or_else(|| s.sync.with(|x| x.meta().map(|m| m.title.clone())))
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "Session".into())
    });
    (title, own)
}

/// The title, and renaming it in place: Rename opens a field, Enter or Save sends
/// `PATCH /api/sessions/:id`; a refused title keeps the field open with the API's message.
#[component]
fn Title(id: String, title: Signal<String>, own: RwSignal<Option<String>>) -> impl IntoView {
    let id = StoredValue::new(id);
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let save = move || {
        if saving.get_untracked() {
            return;
        }
        let new = draft.get_untracked();
        let id = id.get_value();
        saving.set(true);
        leptos::task::spawn_local(async move {
            let result = api::submit("PATCH", &format!("/api/sessions/{}", enc(&id)), &SessionRename { title: new.clone() }).await;
            saving.try_set(false);
            match result {
                Ok(()) => {
                    let title = new.trim().to_string();
                    super::home::rows().try_update(|l| {
                        if let Some(Ok(rows)) = l {
                            rows.iter_mut().filter(|r| r.id == id).for_each(|r| r.title = title.clone());
                        }
                    });
                    own.try_set(Some(title));
                    error.try_set(None);
                    editing.try_set(false);
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        });
    };
    view! {
        <Show
            when=move || editing.get()
            fallback=move || view! {
                <h1 class="session-title" data-testid="session-title">{move || title.get()}</h1>
                <button class="btn small" data-testid="rename" aria-label="Rename the session"
                    on:click=move |_| { draft.set(title.get_untracked()); error.set(None); editing.set(true) }>"Rename"</button>
            }
        >
            <form class="rename" on:submit=move |ev| { ev.prevent_default(); save() }>
                <input data-testid="rename-input" aria-label="Session title" maxlength="400" bind:value=draft
                    on:keydown=move |ev| if ev.key() == "Escape" { editing.set(false) }/>
                <button class="btn primary" data-testid="rename-save" disabled=move || saving.get()>"Save"</button>
                <button class="btn" type="button" data-testid="rename-cancel" on:click=move |_| editing.set(false)>"Cancel"</button>
                {move || error.get().map(|e| view! { <p class="error small" data-testid="rename-error">{e}</p> })}
            </form>
        </Show>
    }
}

/// Downloads the transcript as Markdown (built here from the folded transcript).
fn download_markdown(s: SessionHandle, title: &str) {
    use wasm_bindgen::JsCast;
    let md = s.sync.with_untracked(|x| export::markdown(title, x.meta(), x.transcript()));
    let href = format!("data:text/markdown;charset=utf-8,{}", enc(&md));
    let Ok(a) = document().create_element("a") else { return };
    let _ = a.set_attribute("href", &href);
    let _ = a.set_attribute("download", &export::file_name(title));
    let _ = a.set_attribute("style", "display:none");
    if let (Some(body), Ok(a)) = (document().body(), a.dyn_into::<web_sys::HtmlElement>()) {
        let _ = body.append_child(&a);
        a.click();
        a.remove();
    }
}

#[component]
fn Header(s: SessionHandle, status: Memo<Option<SessionStatus>>, id: String) -> impl IntoView {
    let meta = Memo::new(move |_| s.sync.with(|x| x.meta().cloned()));
    let (shown_title, own) = use_title(s, id.clone());
    let place = move || {
        meta.with(|m| {
            m.as_ref().map(|m| {
                let wt = m.worktree.as_ref().map(|w| format!(" / {w}")).unwrap_or_default();
                let model = m.model.as_ref().map(|x| format!(" · {x}")).unwrap_or_default();
                format!("{}{wt}{model}", m.project)
            })
        })
    };
    let usage = move || {
        s.sync.with(|x| {
            let t = x.transcript();
            let input = t.usage.input_tokens + t.usage.cache_read_input_tokens + t.usage.cache_creation_input_tokens;
            format!("{} · {} in · {} out", display::cost(t.total_cost_usd), display::count(input), display::count(t.usage.output_tokens))
        })
    };
    let status_name = move || status.get().map(SessionStatus::name).unwrap_or("unknown");
    let working = move || matches!(status.get(), Some(SessionStatus::Running | SessionStatus::Starting | SessionStatus::AwaitingApproval | SessionStatus::AwaitingAnswer));
    let ended = move || matches!(status.get(), Some(SessionStatus::Ended)) || s.sync.with(|x| x.transcript().ended);
    let confirm_end = RwSignal::new(false);
    view! {
        <header class="session-head">
            <div class="head-line">
                <Title id title=shown_title own/>
                <LinkIndicator s/>
            </div>
            <div class="head-line muted small">
                <span>{place}</span>
                <span class=move || format!("badge s-{}", status_name()) data-testid="status">{move || display::status_label(status_name()).to_string()}</span>
                <span data-testid="usage">{usage}</span>
            </div>
            <KataStrip s/>
            <div class="actions small">
                <button class="btn" data-testid="export" title="Download the transcript as Markdown"
                    on:click=move |_| download_markdown(s, &shown_title.get_untracked())>"Export .md"</button>
                <button class="btn" data-testid="interrupt" disabled=move || !working() on:click=move |_| s.send(ClientCommand::Interrupt)>"Interrupt"</button>
                <Show
                    when=move || confirm_end.get()
                    fallback=move || view! { <button class="btn" data-testid="terminate" disabled=ended on:click=move |_| confirm_end.set(true)>"End session"</button> }
                >
                    <button class="btn danger" data-testid="terminate-confirm" on:click=move |_| { s.send(ClientCommand::Terminate); confirm_end.set(false) }>"End it for good"</button>
                    <button class="btn" on:click=move |_| confirm_end.set(false)>"Keep"</button>
                </Show>
            </div>
        </header>
    }
}

/// The worktree's kata work as the runner last announced it (`session.kata`): mode, phase and
/// how far the phase has got, linking to the worktree panel. Absent until a state is announced.
#[component]
fn KataStrip(s: SessionHandle) -> impl IntoView {
    let kata = Memo::new(move |_| s.sync.with(|x| x.transcript().kata.clone()));
    let panel = Memo::new(move |_| s.sync.with(|x| x.meta().map(|m| worktree_href(&m.project, m.worktree.as_deref()))));
    move || {
        kata.get().map(|k| {
            let phase = k.current_phase();
            let title = phase.map_or_else(|| k.phase.clone(), |p| p.title.clone());
            let progress = phase.map(display::phase_progress).unwrap_or_default();
            view! {
                <a class="kata-strip small" data-testid="session-kata" data-phase=k.phase.clone() href=panel.get().unwrap_or_default()>
                    <span class="badge">{format!("kata · {}", k.mode)}</span>
                    " " <strong data-testid="session-kata-phase">{title}</strong>
                    " " <span class="muted">{progress}</span>
                </a>
            }
        })
    }
}

#[component]
fn LinkIndicator(s: SessionHandle) -> impl IntoView {
    let text = move || match s.link.get() {
        Link::Live if !s.caught_up.get() => "catching up…",
        Link::Live => "live",
        Link::Connecting => "connecting…",
        Link::Waiting { .. } => "offline · retry",
    };
    view! {
        <button
            class=move || format!("link link-{}", s.link.get().name())
            data-testid="link"
            title="The session's connection; it reconnects by itself. Tap to retry now."
            on:click=move |_| s.retry_now()
        >
            <span class="dot"></span>{text}
        </button>
    }
}

/// Changes whenever what an item shows changes (so the keyed list redraws that item alone).
fn item_rev(item: &Item) -> u64 {
    match item {
        Item::Assistant { message, streaming, .. } => {
            let len: usize = message
                .content
                .iter()
                .map(|b| match b {
                    AssistantBlock::Text { text } => text.len(),
                    AssistantBlock::Thinking { thinking } => thinking.len(),
                    AssistantBlock::ToolUse { .. } => 1,
                })
                .sum();
            (len as u64) << 1 | u64::from(*streaming)
        }
        Item::Tool(t) => {
            u64::from(t.pending) | u64::from(t.result.is_some()) << 1 | (t.decision.map_or(0, |d| d as u64 + 1) << 2)
        }
        Item::Question { answers, decision, .. } => u64::from(answers.is_some()) | (decision.map_or(0, |d| d as u64 + 1) << 1),
        _ => 0,
    }
}

#[component]
fn TranscriptView(s: SessionHandle, shown: RwSignal<usize>) -> impl IntoView {
    let total = Memo::new(move |_| s.sync.with(|x| x.transcript().items.len()));
    let hidden = move || total.get().saturating_sub(shown.get());
    let keys = move || {
        s.sync.with(|x| {
            let items = &x.transcript().items;
            let start = items.len().saturating_sub(shown.get());
            (start..items.len()).map(|i| (i, item_rev(&items[i]))).collect::<Vec<_>>()
        })
    };
    let sending = move || {
        s.sync.with(|x| {
            x.unacked()
                .iter()
                .filter_map(|f| match &f.command {
                    ClientCommand::Message { client_id, content } => Some((client_id.clone(), render::content_text(content))),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
    };
    // Follow the bottom while the reader is there.
    let stick = RwSignal::new(true);
    let on_scroll = window_event_listener_untyped("scroll", move |_| {
        let w = window();
        let y = w.scroll_y().unwrap_or(0.0) + w.inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(0.0);
        let height = document().document_element().map(|e| e.scroll_height() as f64).unwrap_or(0.0);
        stick.set(y >= height - 120.0);
    });
    on_cleanup(move || on_scroll.remove());
    Effect::new(move |_| {
        s.sync.track();
        if stick.get_untracked() {
            request_animation_frame(|| {
                let height = document().document_element().map(|e| e.scroll_height()).unwrap_or(0);
                window().scroll_to_with_x_and_y(0.0, f64::from(height));
            });
        }
    });
    let load_earlier = move |_| {
        let before = document().document_element().map(|e| e.scroll_height()).unwrap_or(0);
        let y = window().scroll_y().unwrap_or(0.0);
        stick.set(false);
        shown.update(|n| *n += PAGE * 2);
        request_animation_frame(move || {
            let after = document().document_element().map(|e| e.scroll_height()).unwrap_or(0);
            window().scroll_to_with_x_and_y(0.0, y + f64::from(after - before));
        });
    };
    view! {
        <div class="transcript" data-testid="transcript">
            <Show when=move || { hidden() > 0 }>
                <button class="btn earlier" data-testid="load-earlier" on:click=load_earlier>
                    {move || format!("Load earlier ({} more)", hidden())}
                </button>
            </Show>
            <Show when=move || total.get() == 0 && s.caught_up.get()>
                <p class="muted">"Nothing yet."</p>
            </Show>
            <For
                each=keys
                key=|k| *k
                children=move |(i, _)| s.sync.with_untracked(|x| x.transcript().items.get(i).map(item_view))
            />
            <For
                each=sending
                key=|(id, _)| id.clone()
                children=|(_, text)| view! {
                    <div class="msg user sending" data-testid="sending"><div class="bubble">{text}</div><small class="muted">"sending…"</small></div>
                }
            />
        </div>
    }
}

/// One transcript item, drawn once per change (see [`item_rev`]) as escaped HTML.
fn item_view(item: &Item) -> AnyView {
    view! { <div class="item" inner_html=render::item(item)></div> }.into_any()
}

/// Requests waiting for a human, always in view above the composer, whatever page is shown.
#[component]
fn Pending(s: SessionHandle) -> impl IntoView {
    let pending = move || s.sync.with(|x| x.transcript().pending.clone());
    view! {
        <div class="pending" data-testid="pending">
            <For
                each=pending
                key=|p| p.tool_call_id().to_string()
                children=move |p| match p {
                    PendingRequest::Tool { tool_call } => view! { <ApprovalCard s call=tool_call/> }.into_any(),
                    PendingRequest::Question { tool_call_id, questions } => view! { <QuestionCard s id=tool_call_id questions/> }.into_any(),
                }
            />
        </div>
    }
}

/// Whether a decision for `id` was sent and not yet seen to take effect.
fn answering(s: SessionHandle, id: String) -> Memo<bool> {
    Memo::new(move |_| {
        s.sync.with(|x| {
            x.unacked().iter().any(|f| match &f.command {
                ClientCommand::ToolApprove { tool_call_id, .. }
                | ClientCommand::ToolDeny { tool_call_id, .. }
                | ClientCommand::QuestionAnswer { tool_call_id, .. } => *tool_call_id == id,
                _ => false,
            })
        })
    })
}

#[component]
fn ApprovalCard(s: SessionHandle, call: ToolCall) -> impl IntoView {
    let sending = answering(s, call.id.clone());
    let denying = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let id = StoredValue::new(call.id.clone());
    let approve = move |scope: Scope, grant: Option<u32>| {
        s.send(ClientCommand::ToolApprove { tool_call_id: id.get_value(), scope, grant })
    };
    // "Approve for this session" says exactly what it will allow from then on; a call the gate
    // cannot turn into a narrow grant (a command it cannot read) can only be approved once.
    let grants = call.session_grants.clone();
    let session_buttons = grants
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            let label = format!("Allow for this session: {}", g.summary);
            view! {
                <button class="btn" data-testid="approve-session" data-grant=i.to_string() title=label.clone()
                    disabled=move || sending.get() on:click=move |_| approve(Scope::Session, Some(i as u32))>{label.clone()}</button>
            }
        })
        .collect_view();
    let once_only = call.session_grants.is_empty().then(|| {
        view! { <p class="muted small" data-testid="once-only">"This call can only be approved once: the gate cannot tell what a session-wide approval would cover."</p> }
    });
    let deny = move |_| {
        let r = reason.get_untracked().trim().to_string();
        let reason = if r.is_empty() { "Denied from the dashboard.".to_string() } else { r };
        s.send(ClientCommand::ToolDeny { tool_call_id: id.get_value(), reason });
    };
    view! {
        <div class="card approval" data-testid="approval" data-tool=call.name.clone() data-id=call.id.clone()>
            <div class="card-head"><strong>{call.name.clone()}</strong><span class="muted">" wants to run"</span></div>
            <div class="tool-sum">{render::tool_summary(&call.name, &call.input)}</div>
            {call.reason.clone().map(|r| view! { <p class="muted small">{r}</p> })}
            <div inner_html=render::tool_input(&call.name, &call.input)></div>
            {once_only}
            <div class="actions">
                <button class="btn primary" data-testid="approve-once" disabled=move || sending.get() on:click=move |_| approve(Scope::Once, None)>"Approve once"</button>
                {session_buttons}
                <button class="btn danger" data-testid="deny" disabled=move || sending.get() on:click=move |_| denying.update(|d| *d = !*d)>"Deny…"</button>
            </div>
            <Show when=move || denying.get() && !sending.get()>
                <div class="form">
                    <textarea data-testid="deny-reason" rows="2" placeholder="Why? (Claude reads this)" bind:value=reason></textarea>
                    <button class="btn danger" data-testid="deny-confirm" on:click=deny>"Deny"</button>
                </div>
            </Show>
            <Show when=move || sending.get()><p class="muted small">"Sending…"</p></Show>
        </div>
    }
}

#[component]
fn QuestionCard(s: SessionHandle, id: String, questions: Vec<Question>) -> impl IntoView {
    let sending = answering(s, id.clone());
    let picks: Vec<(Question, RwSignal<Vec<String>>, RwSignal<String>)> =
        questions.into_iter().map(|q| (q, RwSignal::new(Vec::new()), RwSignal::new(String::new()))).collect();
    let picks = StoredValue::new(picks);
    let answer_of = |chosen: &[String], other: &str| {
        let mut parts = chosen.to_vec();
        if !other.trim().is_empty() {
            parts.push(other.trim().to_string());
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    };
    let answers = move || -> Option<BTreeMap<String, String>> {
        picks.with_value(|ps| {
            ps.iter()
                .map(|(q, chosen, other)| Some((q.question.clone(), answer_of(&chosen.get(), &other.get())?)))
                .collect()
        })
    };
    let id = StoredValue::new(id.clone());
    let submit = move |_| {
        if let Some(answers) = answers() {
            s.send(ClientCommand::QuestionAnswer { tool_call_id: id.get_value(), answers });
        }
    };
    let group = id.get_value();
    let body = picks.with_value(|ps| {
        ps.iter()
            .enumerate()
            .map(|(qi, (q, chosen, other))| {
                let (chosen, other) = (*chosen, *other);
                let multi = q.multi_select;
                let name = format!("{group}-{qi}");
                view! {
                    <fieldset class="question" data-testid="question">
                        <legend>{(!q.header.is_empty()).then(|| view! { <span class="badge">{q.header.clone()}</span>" " })}{q.question.clone()}</legend>
                        {q.options.iter().map(|o| {
                            let label = o.label.clone();
                            let toggle = move |_| {
                                let label = label.clone();
                                chosen.update(|c| {
                                    if !multi {
                                        *c = vec![label];
                                    } else if let Some(pos) = c.iter().position(|x| *x == label) {
                                        c.remove(pos);
                                    } else {
                                        c.push(label);
                                    }
                                })
                            };
                            view! {
                                <label class="opt" data-testid="option">
                                    <input type=if multi { "checkbox" } else { "radio" } name=name.clone() on:change=toggle/>
                                    <span>{o.label.clone()}{(!o.description.is_empty()).then(|| view! { <small class="muted">" — "{o.description.clone()}</small> })}</span>
                                </label>
                            }
                        }).collect_view()}
                        <input class="other" data-testid="answer-other" placeholder="Other answer" bind:value=other/>
                    </fieldset>
                }
            })
            .collect_view()
    });
    view! {
        <div class="card question-card" data-testid="question-card">
            <div class="card-head"><strong>"Claude asks"</strong></div>
            {body}
            <div class="actions">
                <button class="btn primary" data-testid="answer-submit" disabled=move || sending.get() || answers().is_none() on:click=submit>"Answer"</button>
            </div>
        </div>
    }
}

#[component]
fn Composer(s: SessionHandle, status: Memo<Option<SessionStatus>>) -> impl IntoView {
    let text = RwSignal::new(String::new());
    // The images attached so far, each with a key for its thumbnail's remove button.
    let images = RwSignal::new(Vec::<(u32, ImageSource)>::new());
    let next_key = StoredValue::new(0u32);
    let problem = RwSignal::new(None::<String>);
    let reading = RwSignal::new(0u32);
    let busy = move || matches!(status.get(), Some(SessionStatus::Running | SessionStatus::Starting | SessionStatus::AwaitingApproval | SessionStatus::AwaitingAnswer));
    let ended = move || matches!(status.get(), Some(SessionStatus::Ended)) || s.sync.with(|x| x.transcript().ended);
    let send = move || {
        if reading.get_untracked() > 0 {
            return problem.set(Some("an image is still being prepared".into()));
        }
        let t = text.get_untracked().trim().to_string();
        let mut content: Vec<ContentBlock> =
            images.get_untracked().into_iter().map(|(_, source)| ContentBlock::Image { source }).collect();
        if !t.is_empty() {
            content.push(ContentBlock::text(t));
        }
        if content.is_empty() {
            return;
        }
        if let Some(p) = content_problem(&content) {
            return problem.set(Some(p));
        }
        s.send(ClientCommand::Message { client_id: new_client_id(), content });
        text.set(String::new());
        images.set(Vec::new());
        problem.set(None);
    };
    let add = move |files: Vec<web_sys::File>| {
        if files.is_empty() {
            return;
        }
        problem.set(None);
        for file in files {
            if images.with_untracked(Vec::len) + reading.get_untracked() as usize >= MAX_IMAGES {
                problem.set(Some(format!("at most {MAX_IMAGES} images per message")));
                break;
            }
            reading.update(|n| *n += 1);
            leptos::task::spawn_local(async move {
                let prepared = attach::prepare(file).await;
                reading.update(|n| *n -= 1);
                match prepared {
                    Ok(source) => {
                        let key = next_key.get_value();
                        next_key.set_value(key + 1);
                        images.update(|v| v.push((key, source)));
                    }
                    Err(p) => problem.set(Some(p)),
                }
            });
        }
    };
    let picked = move |ev: web_sys::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        add(file_list(input.files()));
        input.set_value(""); // picking the same file again fires again
    };
    // A pasted file is attached; text pasted with it (a copied cell, say) still goes in the box.
    let pasted = move |ev: web_sys::ClipboardEvent| {
        let Some(data) = ev.clipboard_data() else { return };
        let files = file_list(data.files());
        if !files.is_empty() {
            if data.get_data("text/plain").map_or(true, |t| t.is_empty()) {
                ev.prevent_default();
            }
            add(files);
        }
    };
    let accept = IMAGE_MEDIA_TYPES.join(",");
    view! {
        <form class="composer" data-testid="composer" on:submit=move |ev| { ev.prevent_default(); send() }>
            {move || problem.get().map(|p| view! {
                <p class="error composer-error" data-testid="composer-error" on:click=move |_| problem.set(None)>{p}" ✕"</p>
            })}
            <Show when=move || !images.with(Vec::is_empty) || reading.get() != 0>
                <div class="attachments" data-testid="attachments">
                    <For each=move || images.get() key=|(k, _)| *k let:((key, source))>
                        <span class="attached" data-testid="attached">
                            <img class="thumb" alt="attached image" src=format!("data:{};base64,{}", source.media_type, source.data)/>
                            <button type="button" class="remove" data-testid="attached-remove" aria-label="Remove image"
                                on:click=move |_| images.update(|v| v.retain(|(k, _)| *k != key))>"✕"</button>
                        </span>
                    </For>
                    {move || (reading.get() != 0).then(|| view! { <span class="muted" data-testid="attach-reading">"Preparing…"</span> })}
                </div>
            </Show>
            <label class="btn attach" data-testid="attach-image" class:disabled=ended>
                "Image"
                <input type="file" class="file" data-testid="attach-image-input" accept=accept multiple disabled=ended on:change=picked/>
            </label>
            <label class="btn attach touch-only" data-testid="attach-photo" class:disabled=ended>
                "Photo"
                <input type="file" class="file" data-testid="attach-photo-input" accept="image/*" capture="environment" disabled=ended on:change=picked/>
            </label>
            <textarea
                data-testid="composer-input"
                rows="2"
                placeholder=move || if ended() { "This session has ended." } else if busy() { "Claude is working: your message waits for this turn." } else { "Message Claude (Ctrl+Enter sends)" }
                disabled=ended
                bind:value=text
                on:paste=pasted
                on:keydown=move |ev| if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) { ev.prevent_default(); send() }
            ></textarea>
            <button class="btn primary" data-testid="composer-send" disabled=ended>{move || if busy() { "Queue" } else { "Send" }}</button>
        </form>
    }
}

fn file_list(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    list.map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect()).unwrap_or_default()
}
