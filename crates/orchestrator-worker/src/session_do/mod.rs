//! The SessionDO: one Durable Object per session, a thin shell around `session_core`.
//!
//! The core holds every decision (status, event log, replay, approvals, link timing, index
//! throttling) and does no I/O; this shell feeds it inputs and carries out each
//! [`session_core::Output`] in the order the core documents: alarm, reply, broadcast, replay
//! pages, frames to the gateway, the link action, the D1 index row.
//!
//! - [`sql`]: the core's `Sql` trait over the object's SQLite.
//! - [`sockets`]: browser sockets (hibernation API; who and how far in each attachment).
//! - [`gateway`]: the outbound link (dial with a bearer header, reader task, epochs).
//! - [`alarm`]: the alarm, which re-arms first and then dials.
//! - [`index`]: the D1 sessions-index writer and the session's running cost.
//! - [`settings`]: vars and secrets (`CC_GATEWAY_URL`, `CC_GATEWAY_SECRET`, timers).
//!
//! Internal interface (the Worker is the only caller, after it checked the login, ownership
//! and Origin): `POST /internal/create`, `GET /internal/state`,
//! `GET /internal/events?after=N&limit=M`, `POST /internal/end-sockets` (bodies: `shared_types::api`),
//! `GET /internal/ws` (upgrade; `X-Duraclaw-User-Id`,
//! `X-Duraclaw-User-Name`).
//!
//! **Architecture invariant:** the shell keeps nothing that must survive hibernation in its
//! fields: the core's SQLite holds the session, each browser socket's attachment holds its
//! user and cursor. The fields are caches (the core instance, the open gateway socket) that a
//! new instance rebuilds on its first input.

mod alarm;
mod gateway;
mod index;
mod settings;
mod sockets;
mod sql;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use session_core::{CoreError, LinkAction, Output, Replay, SessionCore};
use shared_types::api::{CreateSession, Created, EndSockets, EventsPage, SessionState, SocketsClosed};
use shared_types::{ClientCommand, ClientFrame, ErrorBody, ErrorCode, EventEnvelope, ServerFrame};
use worker::*;

use gateway::Dialled;
use settings::Settings;
use sockets::Attachment;
use sql::DoSql;

/// Most events one `GET /internal/events` returns (also bounded by bytes, one replay page).
const MAX_EVENTS_PAGE: u64 = 200;

/// The Durable Object class (`SESSION_DO` binding, class `SessionDO`).
#[durable_object]
pub struct SessionDO {
    shell: Rc<Shell>,
}

/// Everything the handlers and the link's tasks share. Tasks hold an `Rc` of it, since `State`
/// is not `Clone`.
pub struct Shell {
    state: State,
    env: Env,
    settings: Settings,
    core: RefCell<Option<SessionCore<DoSql>>>,
    /// The open gateway socket and its epoch.
    gateway: RefCell<Option<(u64, WebSocket)>>,
    epoch: Cell<u64>,
    dial_attempt: Cell<u64>,
    /// The alarm time last set by this instance (`None`: unknown, set the next one).
    alarm_at: Cell<Option<u64>>,
    index: index::Writer,
}

/// What carrying out an output left to the caller.
struct Done {
    link: LinkAction,
    /// `reply` frames of an input that came from no socket (an internal HTTP call).
    replies: Vec<ServerFrame>,
}

impl DurableObject for SessionDO {
    fn new(state: State, env: Env) -> Self {
        let settings = Settings::from_env(&env);
        SessionDO {
            shell: Rc::new(Shell {
                state,
                env,
                settings,
                core: RefCell::new(None),
                gateway: RefCell::new(None),
                epoch: Cell::new(0),
                dial_attempt: Cell::new(0),
                alarm_at: Cell::new(None),
                index: index::Writer::default(),
            }),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let shell = &self.shell;
        let url = req.url()?;
        let result = match (req.method(), url.path()) {
            (Method::Post, "/internal/create") => shell.create(req).await,
            (Method::Get, "/internal/state") => shell.state_json(),
            (Method::Get, "/internal/events") => shell.events_json(&url),
            (Method::Get, "/internal/ws") => shell.accept_browser(&req),
            (Method::Post, "/internal/end-sockets") => shell.end_sockets(req).await,
            (method, path) => Err(Refused(ErrorCode::NotFound, format!("no internal route {method:?} {path}"))),
        };
        result.or_else(|Refused(code, message)| error_response(code, &message))
    }

    async fn alarm(&self) -> Result<Response> {
        alarm::fired(&self.shell).await;
        Response::ok("")
    }

    async fn websocket_message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        self.shell.on_browser_message(&ws, message);
        Ok(())
    }

    async fn websocket_close(&self, ws: WebSocket, code: usize, reason: String, _was_clean: bool) -> Result<()> {
        let reason: String = reason.chars().take(100).collect();
        // The peer's close is answered; it may already be gone.
        let _ = ws.close(Some(sockets::sendable_close_code(code)), Some(reason));
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, error: Error) -> Result<()> {
        console_log!("a browser socket failed: {error}");
        Ok(())
    }
}

/// A request the DO refuses, with what the caller can do about it.
struct Refused(ErrorCode, String);

impl From<CoreError> for Refused {
    fn from(e: CoreError) -> Self {
        console_error!("session storage failed: {e}");
        Refused(ErrorCode::Internal, format!("the session's storage failed: {e}"))
    }
}

impl From<Error> for Refused {
    fn from(e: Error) -> Self {
        Refused(ErrorCode::Internal, e.to_string())
    }
}

fn error_response(code: ErrorCode, message: &str) -> Result<Response> {
    Ok(Response::from_json(&ErrorBody::new(code, message))?.with_status(code.http_status()))
}

fn now_ms() -> u64 {
    Date::now().as_millis()
}

/// An internal request's JSON body. Read as text and decoded by serde_json, never through
/// `Request::json` (a JS value): the contract's tagged enums decode from JSON only
/// (`shared_types::tag_first`).
async fn json_body<T: serde::de::DeserializeOwned>(req: &mut Request, what: &str) -> std::result::Result<T, Refused> {
    let text = req.text().await.map_err(|e| Refused(ErrorCode::InvalidInput, format!("the {what} body cannot be read: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Refused(ErrorCode::InvalidInput, format!("the {what} body does not parse: {e}")))
}

impl Shell {
    /// `POST /internal/create`: store meta and config, queue the prompt (none for a resumed
    /// session); the dial that sends `session.create` and then the prompt runs after the answer.
    async fn create(self: &Rc<Self>, mut req: Request) -> std::result::Result<Response, Refused> {
        let body: CreateSession = json_body(&mut req, "create").await?;
        let user = header(&req, "X-Duraclaw-User-Name").unwrap_or_else(|| "owner".into());
        let id = body.meta.id.clone();
        let created = self.input(None, |core, now| core.create(body.meta, body.config, now))?;
        self.spawn_follow(created.link);
        // a resumed session may come without a prompt: it waits for the first
        if !body.prompt.is_empty() {
            let prompt = ClientFrame::new(ClientCommand::Message { client_id: body.client_id, content: body.prompt });
            let queued = self.input(None, |core, now| core.on_client_frame(&prompt, &user, now))?;
            self.spawn_follow(queued.link);
            if let Some(ServerFrame::Error { code, message, .. }) =
                queued.replies.into_iter().find(|f| matches!(f, ServerFrame::Error { .. }))
            {
                return Err(Refused(code, message));
            }
        }
        Ok(Response::from_json(&Created { id })?)
    }

    /// `GET /internal/state`: what the session list and the header need.
    fn state_json(self: &Rc<Self>) -> std::result::Result<Response, Refused> {
        let (meta, status, last_seq, pending) =
            self.with_core(|core| Ok((core.meta()?, core.status()?, core.contiguous_seq()?, core.pending()?)))?;
        let Some(meta) = meta else {
            return Err(Refused(ErrorCode::NotFound, "this session was never created".into()));
        };
        Ok(Response::from_json(&SessionState { meta, status, last_seq, pending })?)
    }

    /// `GET /internal/events?after=N&limit=M`: one page of the contiguous log after `after`.
    fn events_json(self: &Rc<Self>, url: &Url) -> std::result::Result<Response, Refused> {
        let number = |name: &str, default: u64| -> std::result::Result<u64, Refused> {
            match url.query_pairs().find(|(k, _)| k == name) {
                None => Ok(default),
                Some((_, v)) => v
                    .parse()
                    .map_err(|_| Refused(ErrorCode::InvalidInput, format!("{name} must be a whole number, not {v:?}"))),
            }
        };
        let after = number("after", 0)?;
        let limit = number("limit", MAX_EVENTS_PAGE)?.clamp(1, MAX_EVENTS_PAGE);
        let (events, last_seq) = self.with_core(|core| {
            let last_seq = core.contiguous_seq()?;
            let up_to = last_seq.min(after.saturating_add(limit));
            let mut replay = Replay { after, up_to, status: core.status()?, batches: true };
            let page = core.replay_page(&mut replay)?.unwrap_or_default();
            let events: Vec<EventEnvelope> = page
                .into_iter()
                .flat_map(|f| match f {
                    ServerFrame::Events { events, .. } => events,
                    _ => Vec::new(),
                })
                .collect();
            Ok((events, last_seq))
        })?;
        Ok(Response::from_json(&EventsPage { events, last_seq })?)
    }

    /// `GET /internal/ws`: a browser socket, accepted for hibernation, its user in the attachment.
    fn accept_browser(self: &Rc<Self>, req: &Request) -> std::result::Result<Response, Refused> {
        if !header(req, "Upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
            return Err(Refused(ErrorCode::InvalidInput, "expected a WebSocket upgrade".into()));
        }
        let Some(user_id) = header(req, "X-Duraclaw-User-Id") else {
            return Err(Refused(ErrorCode::Unauthorized, "X-Duraclaw-User-Id is missing: the Worker names the user".into()));
        };
        let user_name = header(req, "X-Duraclaw-User-Name").unwrap_or_else(|| user_id.clone());
        let login_id = header(req, "X-Duraclaw-Login-Id").unwrap_or_default();
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        Attachment { user_id, user_name, login_id, synced: false, cursor: 0, batches: false }.save(&pair.server);
        Ok(Response::from_websocket(pair.client)?)
    }

    /// `POST /internal/end-sockets`: a login ended (logout, password change, disabled user):
    /// close its sockets now. Every socket's attachment names its user and login, so this holds
    /// across hibernation.
    async fn end_sockets(self: &Rc<Self>, mut req: Request) -> std::result::Result<Response, Refused> {
        let body: EndSockets = json_body(&mut req, "end-sockets").await?;
        let reason: String = body.reason.chars().take(100).collect();
        let closed = sockets::close_where(&self.state, &reason, |a| {
            a.user_id == body.user_id
                && body.only.as_ref().is_none_or(|only| a.login_id == *only)
                && body.except.as_ref().is_none_or(|except| a.login_id != *except)
        });
        Ok(Response::from_json(&SocketsClosed { closed: closed as u64 })?)
    }

    fn on_browser_message(self: &Rc<Self>, ws: &WebSocket, message: WebSocketIncomingMessage) {
        let Some(attachment) = Attachment::of(ws) else {
            sockets::send(ws, &sockets::error_frame(ErrorCode::Unauthorized, "this socket has no user: reconnect"));
            let _ = ws.close(Some(1008), Some("no user"));
            return;
        };
        let text = match message {
            WebSocketIncomingMessage::String(text) => text,
            WebSocketIncomingMessage::Binary(_) => {
                let frame = sockets::error_frame(ErrorCode::BadFrame, "frames are JSON text; a binary frame was ignored");
                sockets::send(ws, &frame);
                return;
            }
        };
        match self.input(Some(ws), |core, now| core.on_client_text(&text, &attachment.user_name, now)) {
            Ok(done) => self.spawn_follow(done.link),
            Err(e) => {
                console_error!("a browser frame failed: {e}");
                sockets::send(ws, &sockets::error_frame(ErrorCode::Internal, format!("the session's storage failed: {e}")));
            }
        }
    }

    /// Runs `f` on the core (waking it first if this instance has not yet).
    fn with_core<T>(
        self: &Rc<Self>,
        f: impl FnOnce(&mut SessionCore<DoSql>) -> session_core::error::Result<T>,
    ) -> session_core::error::Result<T> {
        if let Some(action) = self.ensure_awake()? {
            self.spawn_follow(action);
        }
        let mut slot = self.core.borrow_mut();
        match slot.as_mut() {
            Some(core) => f(core),
            None => Err(CoreError::Corrupt { what: "instance", message: "the core is not awake".into() }),
        }
    }

    /// Wakes the core on this instance's first input: migrations, and whatever the wake
    /// decided (redial a link the previous instance held). Returns the link action to follow.
    fn ensure_awake(self: &Rc<Self>) -> session_core::error::Result<Option<LinkAction>> {
        if self.core.borrow().is_some() {
            return Ok(None);
        }
        let mut db = DoSql::new(self.state.storage().sql());
        index::migrate(&mut db)?;
        let (core, out) = SessionCore::wake(db, self.settings.core.clone(), now_ms())?;
        *self.core.borrow_mut() = Some(core);
        Ok(Some(self.carry_out(out, None).link))
    }

    /// One input: the core's step and every effect of it but the link action, synchronously
    /// (no other input can interleave, so frames leave in the core's order).
    fn input(
        self: &Rc<Self>,
        reply_to: Option<&WebSocket>,
        f: impl FnOnce(&mut SessionCore<DoSql>, u64) -> session_core::error::Result<Output>,
    ) -> session_core::error::Result<Done> {
        let out = self.with_core(|core| {
            let out = f(core, now_ms())?;
            index::add_costs(core.shell_sql(), &out.broadcast)?;
            Ok(out)
        })?;
        Ok(self.carry_out(out, reply_to))
    }

    /// An input from the link's reader: carried out, then its link action followed before the
    /// next frame is read.
    ///
    /// When the input fails (storage), nothing it carried was acked: the link is closed so that
    /// the redial re-attaches after the last acked seq and the gateway resends the rest.
    async fn link_input(
        self: &Rc<Self>,
        f: impl FnOnce(&mut SessionCore<DoSql>, u64) -> session_core::error::Result<Output>,
    ) {
        match self.input(None, f) {
            Ok(done) => self.clone().follow(done.link).await,
            Err(e) => {
                console_error!("a gateway input failed ({e}): closing the link so that the gateway resends what was not acked");
                self.close_gateway("the session's storage failed; resend after the last ack");
                match self.input(None, |core, now| core.link_closed(now)) {
                    Ok(done) => self.clone().follow(done.link).await,
                    Err(e) => console_error!("the link's close was not recorded: {e}"),
                }
            }
        }
    }

    /// Carries out an output in the core's order, except the link action, which is returned.
    fn carry_out(self: &Rc<Self>, out: Output, reply_to: Option<&WebSocket>) -> Done {
        let Output { to_gateway, reply, broadcast, replay, link, alarm, index, notes, .. } = out;
        self.arm(alarm);
        let mut replies = Vec::new();
        match reply_to {
            Some(ws) => reply.iter().for_each(|f| sockets::send(ws, f)),
            None => replies = reply,
        }
        sockets::broadcast(&self.state, &broadcast);
        if let (Some(replay), Some(ws)) = (replay, reply_to) {
            self.send_replay(ws, replay);
        }
        let mut link = link;
        if !self.send_to_gateway(&to_gateway) && link == LinkAction::Keep {
            link = LinkAction::Close;
        }
        if let Some(row) = index {
            match self.with_core(|core| index::total_cost(core.shell_sql())) {
                Ok(cost) => index::Writer::push(self, row, cost),
                Err(e) => console_error!("the session's cost is unreadable: {e}"),
            }
        }
        for note in notes {
            console_log!("session: {note}");
        }
        Done { link, replies }
    }

    /// Pages a replay into the socket that asked, then marks it synced: live events follow.
    fn send_replay(self: &Rc<Self>, ws: &WebSocket, mut replay: Replay) {
        loop {
            match self.with_core(|core| core.replay_page(&mut replay)) {
                Ok(Some(page)) => page.iter().for_each(|f| sockets::send(ws, f)),
                Ok(None) => break,
                Err(e) => {
                    console_error!("a replay failed: {e}");
                    sockets::send(ws, &sockets::error_frame(ErrorCode::Internal, format!("the replay failed: {e}; sync again")));
                    return;
                }
            }
        }
        if let Some(mut attachment) = Attachment::of(ws) {
            attachment.synced = true;
            attachment.cursor = replay.up_to;
            attachment.batches = replay.batches;
            attachment.save(ws);
        }
    }

    /// Sends the core's commands (JSON text, encoded by the core or stored in its queue) on the
    /// open link. `false` when the socket refused one (it is broken; the link is closed and
    /// redialled, and the queue resends what was not confirmed).
    fn send_to_gateway(&self, commands: &[String]) -> bool {
        if commands.is_empty() {
            return true;
        }
        let socket = self.gateway.borrow().as_ref().map(|(_, ws)| ws.clone());
        let Some(ws) = socket else {
            console_warn!("{} command(s) for the gateway while no link is open: they wait in the queue", commands.len());
            return true;
        };
        for command in commands {
            if let Err(e) = ws.send_with_str(command) {
                console_warn!("the gateway link refused a frame ({e}): closing it");
                return false;
            }
        }
        true
    }

    /// Follows a link action (and what it leads to) in the background.
    fn spawn_follow(self: &Rc<Self>, action: LinkAction) {
        if action != LinkAction::Keep {
            wasm_bindgen_futures::spawn_local(self.clone().follow(action));
        }
    }

    /// Dials or closes as the core asked, and reports the outcome to it, until it asks nothing.
    async fn follow(self: Rc<Self>, mut action: LinkAction) {
        // A dial either opens (its reader reports) or fails (backoff: the alarm redials), so
        // this settles in a step or two; the bound only guards against a core bug.
        for _ in 0..4 {
            let next = match action {
                LinkAction::Keep => return,
                LinkAction::Close => {
                    self.close_gateway("closed by the session (idle, or silent too long)");
                    self.input(None, |core, now| core.link_closed(now))
                }
                LinkAction::Dial => match gateway::dial(&self).await {
                    Dialled::Opened | Dialled::Stale => return,
                    Dialled::Failed => self.input(None, |core, now| core.dial_failed(now)),
                },
            };
            action = match next {
                Ok(done) => done.link,
                Err(e) => {
                    console_error!("the link step failed: {e}");
                    return;
                }
            };
        }
    }

    /// Makes `ws` the gateway socket; returns its epoch. A previous socket is closed quietly.
    fn install_gateway(&self, ws: WebSocket) -> u64 {
        let epoch = self.epoch.get() + 1;
        self.epoch.set(epoch);
        if let Some((_, old)) = self.gateway.replace(Some((epoch, ws))) {
            let _ = old.close(Some(1000), Some("replaced by a new link"));
        }
        epoch
    }

    fn is_current_gateway(&self, epoch: u64) -> bool {
        self.gateway.borrow().as_ref().is_some_and(|(e, _)| *e == epoch)
    }

    /// The socket ended by itself: forget it (its reader reports the close).
    fn forget_gateway(&self) {
        self.gateway.replace(None);
    }

    /// Closes the socket on purpose; its reader stays quiet, the caller reports.
    fn close_gateway(&self, reason: &str) {
        if let Some((_, ws)) = self.gateway.replace(None) {
            let _ = ws.close(Some(1000), Some(reason));
        }
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten().filter(|v| !v.is_empty())
}
