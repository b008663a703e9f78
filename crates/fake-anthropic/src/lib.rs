//! A scripted fake of the Anthropic Messages API: the project's only test double.
//!
//! It stands in for the model so that the REAL Claude Code CLI runs in tests offline: point the
//! CLI at it with `ANTHROPIC_BASE_URL` and script the model by what the test types. Everything
//! else in a test stays real. [`FakeModel::start`] serves it in-process; the `fake-anthropic`
//! binary serves it for scripts (`--port`, prints `listening on http://127.0.0.1:PORT`);
//! [`cli`] spawns the real CLI against it.
//!
//! # Endpoints (127.0.0.1 only)
//! - `POST /v1/messages` (with or without `?beta=true`): `stream:true` gets SSE, otherwise one
//!   JSON message. A `role:"system"` entry in `messages` is accepted (the CLI sends one).
//! - `POST /v1/messages/count_tokens`: `{"input_tokens": N}` (a rough estimate).
//! - `GET /_fake/requests`: every request received so far (method, path, headers, body), as
//!   [`FakeModel::requests`] returns them. Other paths are recorded and get a 404.
//! - `POST /_fake/demo` with `{"on": true|false}`: demo mode on or off (answers `{"demo": bool}`;
//!   a body of any other shape is a 400); `GET /_fake/demo` says which. Also
//!   [`FakeModel::set_demo`], `fake-anthropic --demo` and `FAKE_ANTHROPIC_DEMO=1`.
//!
//! # How the fake answers
//! The CLI re-sends the whole history on every request, so the fake keeps no conversation state.
//! The *prompt* is the newest user message with text of its own (the CLI's `<system-reminder>`
//! blocks do not count); its directives script the turn:
//! 1. If the prompt has an `[[error:N]]`, the request fails with status N.
//! 2. Otherwise the tool directives play in order, one per response: response k (k = the number
//!    of assistant `tool_use` messages already after the prompt) is a `Calling <Tool>.` text plus
//!    one `tool_use`, `stop_reason:"tool_use"`. So each directive yields exactly one tool call.
//! 3. When they are all played, the reply is text with `stop_reason:"end_turn"`: if the last
//!    user message carries tool results, one line per result
//!    `tool result (error=<is_error>): <content>` (so a test can assert a deny reason or a
//!    question's answers reached the model); else the `[[text]]` or `You said: <prompt prose>`.
//!
//! A directive that does not parse makes the reply `fake-anthropic: bad directive ...`.
//!
//! In demo mode (off by default) a prompt with no directive at all plays the [`demo`] session
//! instead of the echo: Read, Edit (with its diff), Bash, AskUserQuestion, a summary.
//!
//! # Directive grammar
//! ```text
//! directive = "[[" name [":" sub] { ws arg } "]]"
//! arg       = quoted | key "=" value        ; at most one quoted (positional) argument
//! value     = quoted | bare
//! quoted    = '"' { char | '\"' | '\\' | '\n' } '"'
//! bare      = run of chars other than whitespace, '"' and '='   (and not "]]")
//! ```
//! | directive | effect |
//! |---|---|
//! | `[[text "Hi there"]]` | reply with this text instead of the echo |
//! | `[[thinking]]`, `[[thinking "why"]]` | every response of the turn opens with a thinking block (`thinking_delta` + `signature_delta`) |
//! | `[[slow ms=200 chunks=20]]` | text streams in `chunks` deltas `ms` apart (defaults 100, 10), for kill-mid-turn tests |
//! | `[[error:529]]`, `[[error:400 times=2]]` | fail with the real error shape (400, 401, 403, 404, 413, 429, 500, 529); `times=N`: only the first N requests of this turn |
//! | `[[tool:bash cmd="echo hi > out.txt"]]` | `Bash {command, description}` |
//! | `[[tool:write path=notes.txt content="a\nb"]]` | `Write {file_path, content}` |
//! | `[[tool:read path=notes.txt]]` | `Read {file_path}` |
//! | `[[tool:edit path=notes.txt old="a" new="b" all=false]]` | `Edit {file_path, old_string, new_string, replace_all}` (the CLI refuses an edit of a file not read first: script a `read` before it) |
//! | `[[tool:ask question="Which colour?" options="red,blue" multi=false header="Colour"]]` | `AskUserQuestion {questions:[{question, header, options:[{label, description}], multiSelect}]}` |
//! | `[[tool:Glob pattern="*.rs"]]` | any tool by its real capitalised name; the pairs are its input (bare `true`/`false`/numbers are typed, the rest strings) |
//!
//! Relative `path`s are resolved against the CLI's cwd, which it states in its system prompt.
//! Names, keys and values are checked strictly: a typo is an error, never silently ignored.

pub mod bench_cli;
pub mod cli;
pub mod demo;
pub mod directive;
pub mod reply;
mod server;
pub mod sse;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use server::RecordedRequest;

/// A running fake, serving on 127.0.0.1 until [`FakeModel::shutdown`] or drop.
#[derive(Debug)]
pub struct FakeModel {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl FakeModel {
    /// Starts on an ephemeral port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0).await
    }

    /// Starts on `port` (0 = ephemeral), on loopback only.
    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(server::Shared::new());
        let (stop, stopped) = oneshot::channel::<()>();
        let app = server::router(shared.clone());
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "fake-anthropic server failed");
            }
        });
        tracing::info!(%addr, "fake-anthropic listening");
        Ok(FakeModel {
            addr,
            shared,
            stop: Some(stop),
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the value for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Turns demo mode on or off (see [`demo`]): with it on, a prompt with no directive plays
    /// the demo session instead of `You said: ...`. Takes effect from the next request.
    pub fn set_demo(&self, on: bool) {
        self.shared.demo.store(on, Ordering::Relaxed);
    }

    /// Whether demo mode is on.
    pub fn demo(&self) -> bool {
        self.shared.demo.load(Ordering::Relaxed)
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        server::lock(&self.shared.log).clone()
    }

    /// Only the `POST /v1/messages` requests (the model calls), oldest first.
    pub fn message_requests(&self) -> Vec<RecordedRequest> {
        let all = self.requests();
        all.into_iter()
            .filter(|r| r.method == "POST" && r.path.split('?').next() == Some("/v1/messages"))
            .collect()
    }

    /// Stops accepting, lets open responses finish for up to 5 s, then cuts them off.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

impl Drop for FakeModel {
    /// A fake dropped without `shutdown` (a failing test) must not keep serving.
    fn drop(&mut self) {
        self.task.abort();
    }
}
