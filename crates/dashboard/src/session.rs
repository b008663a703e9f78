//! `use_session(id)`: one session's live connection, the dashboard's only WebSocket code.
//!
//! The protocol logic is `shared_types::SessionSync` (cursor, gaps, unacknowledged commands,
//! backoff); this hook is its thin browser shell, like quinn over quinn-proto. It owns the socket,
//! feeds frames to the core and sends what the core returns, reconnects after the core's backoff
//! (jitter from `Math.random`), pings every 15 s and treats 45 s of silence as a dead link, and
//! dials at once when the browser comes back online or to the foreground.
//!
//! Screens read four signals: `sync` (the folded transcript, status, meta and unacknowledged
//! commands; redrawn at most once per animation frame however fast events arrive), `link`,
//! `caught_up` and `notice`. The transcript outlives the hook: it is kept in memory when the
//! screen is left and in sessionStorage when the page is hidden or reloaded, so coming back
//! replays only what is new (`sync{after_seq: cursor}`), and commands not yet acknowledged are
//! sent again.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::Duration;

use leptos::prelude::*;
use shared_types::sync::{Update, BACKOFF_MAX_MS};
use shared_types::{codec, ClientCommand, ClientFrame, ServerFrame, SessionSync};
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{MessageEvent, WebSocket};

/// A heartbeat goes out this often while the socket is open.
const PING_EVERY: Duration = Duration::from_secs(15);
/// A socket that has been silent this long is dead, even if the browser has not noticed.
const SILENCE_MS: f64 = 45_000.0;
/// The close code of a socket whose login ended (logout elsewhere, password change, disabled):
/// the app asks `/api/me` again, and a 401 takes it to the login screen.
const LOGIN_ENDED: u16 = 4001;
/// How often the screen is redrawn while a long replay is being caught up.
const CATCH_UP_REDRAW: Duration = Duration::from_millis(250);

/// The state of the session's socket, as the connection indicator shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Link {
    /// Dialling, or open and waiting for the snapshot.
    Connecting,
    /// The snapshot arrived: events are live.
    Live,
    /// Closed; the next attempt is due at `retry_at` (ms since the epoch).
    Waiting { retry_at: f64 },
}

impl Link {
    pub fn name(self) -> &'static str {
        match self {
            Link::Connecting => "connecting",
            Link::Live => "live",
            Link::Waiting { .. } => "offline",
        }
    }
}

/// What a session screen reads and calls. Cheap to copy into closures.
#[derive(Clone, Copy)]
pub struct SessionHandle {
    /// The client core: `transcript()`, `status()`, `meta()`, `cursor()`, `unacked()`.
    pub sync: RwSignal<SessionSync>,
    pub link: RwSignal<Link>,
    /// Every event up to the last snapshot's `last_seq` is folded in.
    pub caught_up: RwSignal<bool>,
    /// The last error the session sent back (a refused command, an unreadable frame).
    pub notice: RwSignal<Option<String>>,
    driver: StoredValue<Rc<Driver>, LocalStorage>,
}

impl SessionHandle {
    /// Sends a command now, or queues it until the socket is back; kept until acknowledged.
    pub fn send(&self, command: ClientCommand) {
        self.driver.with_value(|d| d.send(command));
    }

    /// Dials now instead of waiting for the backoff.
    pub fn retry_now(&self) {
        self.driver.with_value(|d| d.retry_now());
    }
}

/// Opens (or resumes) session `id` for as long as the calling component lives.
pub fn use_session(id: String) -> SessionHandle {
    let sync = RwSignal::new(restore(&id));
    let driver = Rc::new(Driver {
        id,
        sync,
        link: RwSignal::new(Link::Connecting),
        caught_up: RwSignal::new(false),
        notice: RwSignal::new(None),
        socket: RefCell::new(None),
        dead: RefCell::new(None),
        retry: Cell::new(None),
        heartbeat: Cell::new(None),
        listeners: RefCell::new(Vec::new()),
        last_heard: Cell::new(0.0),
        target: Cell::new(u64::MAX),
        redraw_queued: Cell::new(false),
        slow_redraw: Cell::new(None),
        marked: Cell::new(false),
        disposed: Cell::new(false),
    });
    driver.listen_to_window();
    driver.connect();
    let handle = SessionHandle {
        sync,
        link: driver.link,
        caught_up: driver.caught_up,
        notice: driver.notice,
        driver: StoredValue::new_local(driver),
    };
    let stored = handle.driver;
    on_cleanup(move || {
        let _ = stored.try_with_value(|d| d.dispose());
    });
    handle
}

struct Driver {
    id: String,
    sync: RwSignal<SessionSync>,
    link: RwSignal<Link>,
    caught_up: RwSignal<bool>,
    notice: RwSignal<Option<String>>,
    socket: RefCell<Option<Socket>>,
    /// The last closed socket: its handlers may still be on the stack, so it is dropped later.
    dead: RefCell<Option<Socket>>,
    retry: Cell<Option<TimeoutHandle>>,
    heartbeat: Cell<Option<IntervalHandle>>,
    listeners: RefCell<Vec<WindowListenerHandle>>,
    last_heard: Cell<f64>,
    /// The `last_seq` of the last snapshot: caught up once the cursor reaches it.
    target: Cell<u64>,
    redraw_queued: Cell<bool>,
    /// The pending throttled redraw while catching up.
    slow_redraw: Cell<Option<TimeoutHandle>>,
    /// The first catch-up was marked for the performance timeline.
    marked: Cell<bool>,
    disposed: Cell<bool>,
}

/// An open socket and the JS callbacks it calls (kept alive as long as the socket).
struct Socket {
    ws: WebSocket,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

impl Driver {
    fn connect(self: &Rc<Self>) {
        if self.disposed.get() {
            return;
        }
        self.clear_retry();
        self.dead.borrow_mut().take();
        self.socket.borrow_mut().take();
        let ws = match WebSocket::new(&socket_url(&self.id)) {
            Ok(ws) => ws,
            Err(_) => return self.closed(),
        };
        self.link.set(Link::Connecting);
        let weak = Rc::downgrade(self);
        let on = |weak: &Weak<Driver>, f: fn(&Rc<Driver>, JsValue)| {
            let weak = weak.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
                if let Some(d) = weak.upgrade() {
                    f(&d, ev)
                }
            })
        };
        let handlers = vec![
            on(&weak, |d, _| d.opened()),
            on(&weak, |d, ev| {
                if let Some(text) = ev.unchecked_into::<MessageEvent>().data().as_string() {
                    d.received(&text)
                }
            }),
            on(&weak, |d, ev| {
                if ev.unchecked_into::<web_sys::CloseEvent>().code() == LOGIN_ENDED {
                    leptos::task::spawn_local(crate::auth::refresh());
                }
                d.closed()
            }),
        ];
        ws.set_onopen(Some(handlers[0].as_ref().unchecked_ref()));
        ws.set_onmessage(Some(handlers[1].as_ref().unchecked_ref()));
        ws.set_onclose(Some(handlers[2].as_ref().unchecked_ref()));
        self.last_heard.set(now());
        *self.socket.borrow_mut() = Some(Socket { ws, _handlers: handlers });
    }

    fn opened(self: &Rc<Self>) {
        self.last_heard.set(now());
        let frames = self.sync.try_update_untracked(|s| s.on_open()).unwrap_or_default();
        for frame in &frames {
            self.send_frame(frame);
        }
        self.start_heartbeat();
    }

    fn received(self: &Rc<Self>, text: &str) {
        self.last_heard.set(now());
        let frame = match decode(text) {
            Ok(frame) => frame,
            Err(e) => return self.notice.set(Some(format!("unreadable frame from the session: {e}"))),
        };
        if let ServerFrame::Snapshot { last_seq, .. } = &frame {
            self.target.set(*last_seq);
        }
        match self.sync.try_update_untracked(|s| s.on_frame(frame)) {
            Some(Update::Changed) => self.changed(),
            Some(Update::Resync(sync)) => self.send_frame(&sync),
            Some(Update::Error { message, .. }) => {
                self.notice.set(Some(message));
                self.changed();
            }
            Some(Update::Unchanged) | None => {}
        }
    }

    fn closed(self: &Rc<Self>) {
        let socket = self.socket.borrow_mut().take();
        *self.dead.borrow_mut() = socket;
        self.stop_heartbeat();
        if self.disposed.get() {
            return;
        }
        let delay = self.sync.try_update_untracked(|s| s.on_close(js_sys::Math::random())).unwrap_or(BACKOFF_MAX_MS);
        self.link.set(Link::Waiting { retry_at: now() + delay as f64 });
        let weak = Rc::downgrade(self);
        let timer = set_timeout_with_handle(
            move || {
                if let Some(d) = weak.upgrade() {
                    d.connect()
                }
            },
            Duration::from_millis(delay),
        );
        self.retry.set(timer.ok());
    }

    fn retry_now(self: &Rc<Self>) {
        if self.socket.borrow().is_none() && !self.disposed.get() {
            self.connect();
        }
    }

    fn send(self: &Rc<Self>, command: ClientCommand) {
        if let Some(frame) = self.sync.try_update_untracked(|s| s.command(command)).flatten() {
            self.send_frame(&frame);
        }
        self.changed();
    }

    fn send_frame(&self, frame: &ClientFrame) {
        if let Some(socket) = self.socket.borrow().as_ref() {
            if socket.ws.ready_state() == WebSocket::OPEN {
                let _ = socket.ws.send_with_str(&codec::encode(frame));
            }
        }
    }

    /// Schedules one redraw for the next animation frame, however many frames arrive before it.
    /// While catching up on a long replay it redraws only every [`CATCH_UP_REDRAW`], so the
    /// replay is not slowed by drawing states nobody can read; the frame that completes the
    /// catch-up is drawn at once.
    fn changed(self: &Rc<Self>) {
        let target = self.target.get();
        let catching_up = target != u64::MAX && self.sync.with_untracked(|s| s.cursor()) < target;
        let weak = Rc::downgrade(self);
        let redraw = move || {
            if let Some(d) = weak.upgrade() {
                d.redraw()
            }
        };
        if catching_up {
            if !self.redraw_queued.replace(true) {
                self.slow_redraw.set(set_timeout_with_handle(redraw, CATCH_UP_REDRAW).ok());
            }
            return;
        }
        if let Some(timer) = self.slow_redraw.take() {
            timer.clear();
            self.redraw_queued.set(false);
        }
        if !self.redraw_queued.replace(true) {
            request_animation_frame(redraw);
        }
    }

    fn redraw(&self) {
        self.redraw_queued.set(false);
        self.slow_redraw.take();
        if self.disposed.get() {
            return;
        }
        let (live, cursor) = self.sync.with_untracked(|s| (s.is_live(), s.cursor()));
        if live && self.link.get_untracked() != Link::Live {
            self.link.set(Link::Live);
        }
        let caught_up = live && cursor >= self.target.get();
        if caught_up != self.caught_up.get_untracked() {
            self.caught_up.set(caught_up);
        }
        self.sync.notify();
        if caught_up && !self.marked.replace(true) {
            // after this frame is drawn: the browser tests read it as "session opened"
            request_animation_frame(|| mark("duraclaw:session-caught-up"));
        }
    }

    fn start_heartbeat(self: &Rc<Self>) {
        self.stop_heartbeat();
        let weak = Rc::downgrade(self);
        let handle = set_interval_with_handle(
            move || {
                let Some(d) = weak.upgrade() else { return };
                if now() - d.last_heard.get() > SILENCE_MS {
                    d.closed(); // half-open: the browser may not notice for minutes
                } else {
                    d.send_frame(&ClientFrame::new(ClientCommand::Ping));
                }
            },
            PING_EVERY,
        );
        self.heartbeat.set(handle.ok());
    }

    fn stop_heartbeat(&self) {
        if let Some(h) = self.heartbeat.take() {
            h.clear();
        }
    }

    fn clear_retry(&self) {
        if let Some(t) = self.retry.take() {
            t.clear();
        }
    }

    fn listen_to_window(self: &Rc<Self>) {
        let mut listeners = self.listeners.borrow_mut();
        for event in ["online", "focus", "visibilitychange"] {
            let weak = Rc::downgrade(self);
            listeners.push(window_event_listener_untyped(event, move |_| {
                if let Some(d) = weak.upgrade().filter(|_| !document().hidden()) {
                    d.retry_now();
                }
            }));
        }
        let weak = Rc::downgrade(self);
        listeners.push(window_event_listener_untyped("pagehide", move |_| {
            if let Some(d) = weak.upgrade() {
                d.sync.with_untracked(|s| keep(&d.id, s));
            }
        }));
    }

    fn dispose(&self) {
        self.disposed.set(true);
        self.clear_retry();
        self.stop_heartbeat();
        for l in self.listeners.borrow_mut().drain(..) {
            l.remove();
        }
        self.socket.borrow_mut().take();
        self.dead.borrow_mut().take();
        let _ = self.sync.try_with_untracked(|s| keep(&self.id, s));
    }
}

/// Reads a DO -> browser frame straight from its text (one pass; `codec::decode_server_frame`
/// goes through a `Value` first, which costs a second tree per frame and, in wasm, its own copy
/// of every frame type's deserializer).
fn decode(text: &str) -> Result<ServerFrame, serde_json::Error> {
    serde_json::from_str(text)
}

fn socket_url(id: &str) -> String {
    let loc = window().location();
    let scheme = if loc.protocol().as_deref() == Ok("https:") { "wss" } else { "ws" };
    format!("{scheme}://{}/api/sessions/{}/ws", loc.host().unwrap_or_default(), crate::route::enc(id))
}

fn now() -> f64 {
    js_sys::Date::now()
}

/// A fresh `client_id` for a prompt: the session accepts each id once, so a resend never doubles.
pub fn new_client_id() -> String {
    let r = || (js_sys::Math::random() * 4_294_967_296.0) as u32;
    format!("c{:x}{:08x}{:08x}", now() as u64, r(), r())
}

/// Adds a mark to the page's performance timeline (read by the browser tests).
pub fn mark(name: &str) {
    if let Some(p) = window().performance() {
        let _ = p.mark(name);
    }
}

// ---------------------------------------------------------------------------------------------
// what a session screen leaves behind
// ---------------------------------------------------------------------------------------------

thread_local! {
    /// Sessions this page has shown, so that coming back replays only what is new.
    static KEPT: RefCell<HashMap<String, SessionSync>> = RefCell::new(HashMap::new());
}

fn storage_key(id: &str) -> String {
    format!("duraclaw:session:{id}")
}

/// Keeps a session's state in memory and in sessionStorage, the latter as the `snapshot` frame
/// the session itself would send (so reading it back is the code that reads snapshots). Best
/// effort: a transcript over the storage quota is simply replayed from the session next time.
/// Unacknowledged commands stay in memory only.
fn keep(id: &str, sync: &SessionSync) {
    KEPT.with(|k| k.borrow_mut().insert(id.to_string(), sync.clone()));
    let (Some(storage), Some(meta), Some(status)) = (window().session_storage().ok().flatten(), sync.meta(), sync.status()) else {
        return;
    };
    let frame = format!(
        r#"{{"type":"snapshot","meta":{},"status":{},"last_seq":{},"pending":[],"transcript":{}}}"#,
        json(meta),
        json(&status),
        sync.cursor(),
        json(sync.transcript())
    );
    if storage.set_item(&storage_key(id), &frame).is_err() {
        let _ = storage.remove_item(&storage_key(id));
    }
}

/// The state kept for session `id`, or a fresh client.
fn restore(id: &str) -> SessionSync {
    if let Some(sync) = KEPT.with(|k| k.borrow_mut().remove(id)) {
        return sync;
    }
    let stored = window().session_storage().ok().flatten().and_then(|s| s.get_item(&storage_key(id)).ok().flatten());
    match stored.map(|json| decode(&json)) {
        Some(Ok(ServerFrame::Snapshot { transcript: Some(t), .. })) => SessionSync::resume(*t),
        _ => SessionSync::new(),
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}
