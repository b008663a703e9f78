//! The session runner: one detached process per session (`cc-gateway runner`).
//!
//! It takes the session's lock (so two runners never share a session), serves the session on its
//! unix socket ([`socket`]), and runs the session: its logic is a core with no I/O
//! ([`session`]: the turn, the queue, interrupts, terminate, the idle exit, recovery; the only
//! writer of the outbox), driven by a tokio shell ([`shell`]) that owns the connections' writers,
//! the `claude` process ([`claude`]) and the clock. It runs on a current-thread runtime: the
//! CLI's parent-death signal is tied to the thread that started it, which must live as long as
//! the runner.
//!
//! **Architecture invariant:** nothing here imports the daemon's HTTP modules (`tests/layers.rs`).

pub mod claude;
pub mod session;
pub mod shell;
pub mod socket;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use crate::config::{valid_session_id, RunnerArgs};
use crate::outbox::{Outbox, OutboxError};
use session::{Input, Session, SessionError};
use shell::{Inbound, Shell};

/// How long an exiting runner waits for its peers' sockets to take its last frames.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("invalid session id {0:?}: use 1-64 of A-Z a-z 0-9 - _")]
    SessionId(String),
    #[error("session {0} is unknown here and no --cwd was given to create it")]
    UnknownSession(String),
    #[error("{what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// The outbox of a session, in its durable directory.
pub fn outbox_path(session_dir: &Path) -> PathBuf {
    session_dir.join("outbox.sqlite")
}

pub fn main(args: RunnerArgs) -> Result<(), Box<dyn std::error::Error>> {
    run(args).map_err(Into::into)
}

fn run(args: RunnerArgs) -> Result<(), RunnerError> {
    let id = args.session_id.clone();
    if !valid_session_id(&id) {
        return Err(RunnerError::SessionId(id));
    }
    let session_dir = args.dirs.session_dir(&id);
    std::fs::create_dir_all(&session_dir).map_err(io("cannot create", &session_dir))?;
    let Some(_lock) = lock(&session_dir.join("runner.lock"))? else {
        tracing::info!(session_id = %id, "another runner serves this session; exiting");
        return Ok(());
    };
    let outbox = Outbox::open(&outbox_path(&session_dir))?;
    if outbox.record()?.is_none() && args.cwd.is_none() {
        return Err(RunnerError::UnknownSession(id));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io("cannot start a runtime for", &session_dir))?;
    let socket_path = args.dirs.socket_path(&id);
    let pid_path = socket_path.with_extension("pid");
    let result = runtime.block_on(async {
        let listener = socket::bind(&socket_path).map_err(io("cannot bind", &socket_path))?;
        std::fs::write(&pid_path, format!("{}\n", std::process::id())).map_err(io("cannot write", &pid_path))?;
        tracing::info!(session_id = %id, socket = %socket_path.display(), "runner serving");
        let (tx, rx) = mpsc::unbounded_channel();
        let idle_exit = std::time::Duration::from_secs(args.runner.idle_exit_secs);
        let (session, first) = Session::open(id.clone(), idle_exit, args.cwd.clone(), outbox, std::time::Instant::now())?;
        let claims = crate::claims::Claims::new(&args.dirs.state_dir);
        let shell = Shell::new(id.clone(), args.runner.clone(), session_dir.clone(), claims, tx.clone());
        let (drained_tx, mut drained) = mpsc::channel::<()>(1);
        let server = tokio::spawn(socket::serve(listener, tx.clone(), drained_tx));
        tokio::spawn(stop_on_signal(tx));
        let result = shell.run(session, first, rx).await.map_err(RunnerError::from);
        // The shell is gone: let the writers flush its last events (they are in the outbox too).
        server.abort();
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, drained.recv()).await;
        result
    });
    let _ = std::fs::remove_file(&socket_path);
    let _ = std::fs::remove_file(&pid_path);
    result
}

fn io<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> RunnerError + 'p {
    move |source| RunnerError::Io { what, path: path.to_path_buf(), source }
}

/// Takes the session's exclusive lock; `None` when another runner holds it. The lock lives as
/// long as the returned file.
fn lock(path: &Path) -> Result<Option<File>, RunnerError> {
    let file = File::options().create(true).truncate(false).write(true).open(path).map_err(io("cannot open", path))?;
    // SAFETY: flock(2) on a descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    Ok((rc == 0).then_some(file))
}

async fn stop_on_signal(inputs: mpsc::UnboundedSender<Inbound>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    let _ = inputs.send(Inbound::Input(Input::Stop));
}
