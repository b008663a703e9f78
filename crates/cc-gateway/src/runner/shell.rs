//! The tokio shell around the session core ([`super::session`]): one task that owns what the
//! core may not touch (the connections' writers, the `claude` process, the clock) and carries
//! out the core's effects. Socket connections, the CLI's output and kata reads arrive on one
//! channel as [`Inbound`]s, so the core sees them one at a time, in the order they came.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio::sync::mpsc;

use shared_types::ErrorCode;

use super::claude::{self, Cli, CliOutput, Launch};
use super::session::{CliLaunch, Effect, Input, Outgoing, Session, SessionError};
use crate::claims::{ClaimError, Claims};
use crate::config::RunnerSettings;
use crate::session_files::{self, History, SessionFileError};

/// The largest kata state file the runner reads.
const KATA_STATE_CAP: u64 = 1024 * 1024;

/// What the shell's tasks (the socket's connections, the CLI's readers, kata reads, signals)
/// send the shell's loop.
#[derive(Debug)]
pub enum Inbound {
    /// A new connection and the channel to its writer; the core hears [`Input::Open`].
    Connected { conn: u64, tx: mpsc::UnboundedSender<Outgoing> },
    /// An input for the core.
    Input(Input),
}

pub struct Shell {
    id: String,
    settings: RunnerSettings,
    /// The session's durable directory (where the CLI settings the runner writes go).
    session_dir: PathBuf,
    /// Which Duraclaw session has which Claude session.
    claims: Claims,
    /// A sender into the shell's own channel, for the CLI's output and kata reads.
    inbound: mpsc::UnboundedSender<Inbound>,
    conns: HashMap<u64, mpsc::UnboundedSender<Outgoing>>,
    /// The running CLI and its generation.
    cli: Option<(u64, Cli)>,
}

impl Shell {
    pub fn new(
        id: String,
        settings: RunnerSettings,
        session_dir: PathBuf,
        claims: Claims,
        inbound: mpsc::UnboundedSender<Inbound>,
    ) -> Self {
        Shell { id, settings, session_dir, claims, inbound, conns: HashMap::new(), cli: None }
    }

    /// Carries out `first` (what opening the session decided), then feeds the core until it
    /// says [`Effect::Exit`]. The connections' writers are dropped on return, so they finish.
    pub async fn run(
        mut self,
        mut session: Session,
        first: Vec<Effect>,
        mut inbound: mpsc::UnboundedReceiver<Inbound>,
    ) -> Result<(), SessionError> {
        let mut effects = first;
        loop {
            if self.carry_out(&mut session, effects)? {
                return Ok(());
            }
            let exit_at = session.exit_at().map(tokio::time::Instant::from_std);
            let input = tokio::select! {
                next = inbound.recv() => match next {
                    None => Input::Stop,
                    Some(Inbound::Connected { conn, tx }) => {
                        self.conns.insert(conn, tx);
                        Input::Open { conn }
                    }
                    Some(Inbound::Input(input)) => input,
                },
                _ = tokio::time::sleep_until(exit_at.unwrap_or_else(tokio::time::Instant::now)), if exit_at.is_some() => Input::Tick,
            };
            self.observe(&input);
            effects = session.handle(input, Instant::now())?;
        }
    }

    /// What the shell itself keeps track of before the core handles an input.
    fn observe(&mut self, input: &Input) {
        match input {
            Input::Close { conn } => {
                self.conns.remove(conn);
            }
            Input::CliExited { generation, .. } if self.cli.as_ref().is_some_and(|(g, _)| g == generation) => {
                self.cli = None;
            }
            _ => {}
        }
    }

    /// Carries out effects in order; true once the core said [`Effect::Exit`]. A spawn is
    /// answered at once, and what the core makes of the answer goes before the rest.
    fn carry_out(&mut self, session: &mut Session, effects: Vec<Effect>) -> Result<bool, SessionError> {
        let mut effects = VecDeque::from(effects);
        while let Some(effect) = effects.pop_front() {
            match effect {
                Effect::Send { conn, message } => {
                    if let Some(tx) = self.conns.get(&conn) {
                        let _ = tx.send(message);
                    }
                }
                Effect::SpawnCli { generation, launch } => {
                    let answer = self.spawn(generation, &launch);
                    for effect in session.handle(answer, Instant::now())?.into_iter().rev() {
                        effects.push_front(effect);
                    }
                }
                Effect::ToCli(message) => {
                    if let Some((_, cli)) = &self.cli {
                        cli.write(&message);
                    }
                }
                Effect::StopCli => {
                    if let Some((_, cli)) = self.cli.take() {
                        cli.terminate();
                    }
                }
                Effect::ReadKata { cwd } => self.read_kata(cwd),
                Effect::Claim { claude_session_id, resume_in } => {
                    let answer = Input::Claimed { result: self.claim(&claude_session_id, resume_in.as_deref()) };
                    for effect in session.handle(answer, Instant::now())?.into_iter().rev() {
                        effects.push_front(effect);
                    }
                }
                Effect::Exit => return Ok(true),
            }
        }
        Ok(false)
    }

    /// Starts the CLI in the worktree: resuming when Claude Code has recorded the session, with
    /// kata's hooks when the worktree uses kata. Returns the core's [`Input::CliSpawned`].
    fn spawn(&mut self, generation: u64, launch: &CliLaunch) -> Input {
        let (settings_file, settings_error) = match claude::kata_settings(&launch.cwd) {
            None => (None, None),
            Some(Ok(settings)) => (self.write_cli_settings(&settings), None),
            Some(Err(message)) => (None, Some(message)),
        };
        let cli_launch = Launch {
            bin: &self.settings.claude_bin,
            cwd: &launch.cwd,
            config: &launch.config,
            claude_session_id: &launch.claude_session_id,
            // Whether the CLI recorded the session, not whether the runner saw it start: a
            // runner killed during the first turn may have left either.
            resume: claude::session_recorded(&launch.claude_session_id),
            settings_file: settings_file.as_deref(),
        };
        let tag = move |output| {
            Inbound::Input(match output {
                CliOutput::Line(line) => Input::CliLine { generation, line },
                CliOutput::Exited { code, stderr } => Input::CliExited { generation, code, stderr },
            })
        };
        let started = match Cli::spawn(cli_launch, self.inbound.clone(), tag) {
            Ok(cli) => {
                self.cli = Some((generation, cli));
                Ok(())
            }
            Err(e) => Err(format!(
                "could not start Claude Code ({}): {e}; install it or set CLAUDE_BIN for the gateway",
                self.settings.claude_bin.display()
            )),
        };
        Input::CliSpawned { generation, started, settings_error }
    }

    /// Claims Claude session `claude_id` for this session; when it is resumed (in the worktree
    /// `resume_in`), reads its history first. A new session whose claim cannot be written still
    /// runs (its id is fresh: no one else can have it); a resumed one does not.
    fn claim(&self, claude_id: &str, resume_in: Option<&Path>) -> Result<Option<History>, (ErrorCode, String)> {
        let Some(cwd) = resume_in else {
            if let Err(e) = self.claims.take(claude_id, &self.id) {
                tracing::warn!(session_id = %self.id, "{e}; the session runs, but is not marked as Duraclaw's");
            }
            return Ok(None);
        };
        let history = resumed_history(cwd, claude_id)?;
        self.claims.take(claude_id, &self.id).map_err(|e| match e {
            ClaimError::Held(_) => (ErrorCode::Conflict, format!("{e}: open that session instead")),
            ClaimError::BadId(_) => (ErrorCode::InvalidInput, e.to_string()),
            ClaimError::Io { .. } => (ErrorCode::Internal, e.to_string()),
        })?;
        tracing::info!(session_id = %self.id, claude_session_id = %claude_id, events = history.events.len(), "resuming a Claude Code session");
        Ok(Some(history))
    }

    /// Writes the settings the CLI gets with `--settings` (kata's hooks), readable by the
    /// gateway's user only. `None` (and a log line) when it cannot be written.
    fn write_cli_settings(&self, settings: &str) -> Option<PathBuf> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.session_dir.join("claude-settings.json");
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(settings.as_bytes()));
        match written {
            Ok(()) => Some(path),
            Err(e) => {
                tracing::warn!(session_id = %self.id, "cannot write {}: {e}; kata's hooks will not run", path.display());
                None
            }
        }
    }

    /// Reads the worktree's kata state off the loop; the state comes back as [`Input::Kata`].
    fn read_kata(&self, cwd: PathBuf) {
        let inbound = self.inbound.clone();
        tokio::spawn(async move {
            let state = newest_kata_state(&cwd).await;
            let _ = inbound.send(Inbound::Input(Input::Kata(state.map(Box::new))));
        });
    }
}

/// The history of Claude session `claude_id` as the CLI recorded it for the worktree `cwd` (the
/// file `--resume` will continue), or why it cannot be resumed.
fn resumed_history(cwd: &Path, claude_id: &str) -> Result<History, (ErrorCode, String)> {
    let not_found = |m: String| (ErrorCode::NotFound, format!("cannot resume Claude Code session {claude_id}: {m}"));
    let projects = session_files::projects_dir().ok_or_else(|| not_found("neither CLAUDE_CONFIG_DIR nor HOME is set".into()))?;
    let cwd = cwd.canonicalize().map_err(|e| not_found(format!("the worktree {}: {e}", cwd.display())))?;
    let failed = |e: SessionFileError| match e {
        SessionFileError::NotFound(m) | SessionFileError::Refused(m) => not_found(m),
        SessionFileError::Io { .. } => (ErrorCode::Internal, e.to_string()),
    };
    let file = session_files::find(&projects, &cwd, claude_id).map_err(failed)?;
    if !session_files::head(&file).map_err(failed)?.is_of(&cwd) {
        return Err(not_found(format!("it was recorded in another directory, not {}", cwd.display())));
    }
    session_files::history(&file).map_err(failed)
}

/// The worktree's kata state; one that cannot be read (or leads out of the worktree) is none.
async fn newest_kata_state(cwd: &Path) -> Option<shared_types::KataState> {
    match crate::kata::newest_state(cwd, KATA_STATE_CAP).await {
        Ok(state) => state,
        Err(e) => {
            tracing::warn!("cannot read kata's state in {}: {e}", cwd.display());
            None
        }
    }
}
