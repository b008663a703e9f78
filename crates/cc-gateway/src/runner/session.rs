//! The session's logic as a core with no I/O of its own (the shape of `session-core`): the
//! shell ([`super::shell`]) feeds it [`Input`]s with the time they happened, and carries out the
//! [`Effect`]s it returns: frames to connections, lines to the CLI, starting and stopping the
//! CLI, reading kata's state, exiting. The core holds the turn, the queue, interrupts,
//! terminate, the idle exit and the recovery after a killed predecessor, so each rule is tested
//! here in milliseconds, with time passed in as a value (`session/tests.rs`).
//!
//! It is the only writer of the session's outbox: every event is numbered and stored
//! ([`Outbox::append`]) before an effect sends it, and inputs are handled one at a time, so the
//! order of events is the order inputs were handled and a replay never races a live event. The
//! outbox is the real SQLite store (as session-core runs over a real SQL store); the gate reads
//! the disk only to follow a tool path's symlinks.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use shared_types::api::is_claude_session_id;
use shared_types::codec::encode;
use shared_types::gateway::{GatewayControl, GatewayFrame};
use shared_types::{ContentBlock, ErrorCode, GatewayCommand, GatewayEvent, KataState, RunnerState, SessionConfig};

use super::claude::{ToCli, HOOK_ID};
use crate::gate::{Answer, Gate, GateError, Verdict, BY_POLICY};
use crate::outbox::{Outbox, OutboxError, SessionRecord};
use crate::session_files::History;
use crate::translate::{Output, Translator};

/// After `session.terminate`, the runner stays this long so the end reaches attached peers.
pub const ENDED_GRACE: Duration = Duration::from_secs(5);

/// Everything the session reacts to. Each comes with the time it is handled.
#[derive(Debug)]
pub enum Input {
    /// A peer connected to the session's socket.
    Open { conn: u64 },
    Frame { conn: u64, command: GatewayCommand },
    /// A frame that could not be read; answered with an error frame.
    BadFrame { conn: u64, code: ErrorCode, message: String },
    Close { conn: u64 },
    /// The answer to [`Effect::SpawnCli`]: whether the CLI started (`Err`: why not, for
    /// people), and why kata's hooks will not run, when they will not.
    CliSpawned { generation: u64, started: Result<(), String>, settings_error: Option<String> },
    /// One stdout line of the CLI `generation`.
    CliLine { generation: u64, line: String },
    /// The CLI `generation` exited; `stderr` is its last lines.
    CliExited { generation: u64, code: Option<i32>, stderr: String },
    /// The worktree's newest kata state, read after a tool ran or a turn ended.
    Kata(Option<Box<KataState>>),
    /// The answer to [`Effect::Claim`]: the session's Claude session is ours (with the history
    /// of the one resumed), or why not (a code and a message for people).
    Claimed { result: Result<Option<History>, (ErrorCode, String)> },
    /// The time given with it has come: the core checks whether it may exit now.
    Tick,
    /// SIGTERM or SIGINT: stop the CLI and exit.
    Stop,
}

/// What a connection's writer is given to send ([`super::socket::Window`] decides when).
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A numbered event frame; `batches`: the peer reads `events` frames.
    Event { seq: u64, text: String, batches: bool },
    /// The peer acked up to this seq.
    Acked(u64),
    /// Anything else (a control frame): always on its own line, at once.
    Other(String),
}

/// How to start the CLI: what the session knows. The shell adds the binary, whether the CLI has
/// recorded the session (then it resumes), and kata's hooks.
#[derive(Debug, Clone, PartialEq)]
pub struct CliLaunch {
    pub cwd: PathBuf,
    pub config: SessionConfig,
    pub claude_session_id: String,
}

/// What the shell carries out, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// To one connection: a stored event, an ack for its writer's window, or a control reply.
    Send { conn: u64, message: Outgoing },
    /// Start the CLI; the shell answers at once with [`Input::CliSpawned`] and tags its output
    /// with `generation`.
    SpawnCli { generation: u64, launch: CliLaunch },
    /// A line to the running CLI.
    ToCli(ToCli),
    /// Stop the CLI (SIGTERM). Its exit, arriving later, is ignored: the generation moved on.
    StopCli,
    /// Read the worktree's kata state and come back with [`Input::Kata`].
    ReadKata { cwd: PathBuf },
    /// Claim Claude session `claude_session_id` for this session and, when it is resumed, read
    /// its history from the CLI's session file for the worktree `resume_in`; the shell answers at
    /// once with [`Input::Claimed`].
    Claim { claude_session_id: String, resume_in: Option<PathBuf> },
    /// The runner is done: nothing runs, nothing is pending (or it was told to stop).
    Exit,
}

/// Why the session stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

struct Conn {
    attached: bool,
    /// Its `session.attach` asked for `batches`: the writer may join ready events in one frame.
    batches: bool,
}

/// Where the CLI is, as the core knows it.
#[derive(Debug)]
enum CliState {
    Down,
    /// [`Effect::SpawnCli`] went out; the prompt waits for [`Input::CliSpawned`].
    Starting { prompt: Vec<ContentBlock> },
    Up,
}

/// A `session.create` waiting for its [`Input::Claimed`].
#[derive(Debug)]
struct Creating {
    config: SessionConfig,
    cwd: PathBuf,
    claude_session_id: String,
}

pub struct Session {
    id: String,
    /// A session idle this long with nothing pending exits; the next message resumes it.
    idle_exit: Duration,
    /// The worktree given on the command line, for a session not created yet.
    cwd_arg: Option<PathBuf>,
    outbox: Outbox,
    record: Option<SessionRecord>,
    creating: Option<Creating>,
    gate: Option<Gate>,
    translator: Translator,
    /// The CLI the core talks to; output tagged with another generation is stale.
    generation: u64,
    cli: CliState,
    turn: bool,
    queue: VecDeque<Vec<ContentBlock>>,
    conns: BTreeMap<u64, Conn>,
    last_activity: Instant,
    interrupts: u64,
    /// The kata state last announced, so only changes are.
    kata: Option<KataState>,
    /// What the input being handled has decided so far.
    effects: Vec<Effect>,
}

impl Session {
    /// Opens the session over its outbox at `now`. A runner that finds its predecessor died
    /// mid-turn closes what it left open: the returned effects are the first to carry out.
    pub fn open(
        id: String,
        idle_exit: Duration,
        cwd_arg: Option<PathBuf>,
        outbox: Outbox,
        now: Instant,
    ) -> Result<(Self, Vec<Effect>), SessionError> {
        let record = outbox.record()?;
        let gate = match &record {
            Some(r) => Some(gate_for(r, &outbox)?),
            None => None,
        };
        let mut session = Session {
            id,
            idle_exit,
            cwd_arg,
            outbox,
            record,
            creating: None,
            gate,
            translator: Translator::new(),
            generation: 0,
            cli: CliState::Down,
            turn: false,
            queue: VecDeque::new(),
            conns: BTreeMap::new(),
            last_activity: now,
            interrupts: 0,
            kata: None,
            effects: Vec::new(),
        };
        let recovered = session.recover();
        let effects = std::mem::take(&mut session.effects);
        recovered.map(|()| (session, effects))
    }

    /// Handles one input at `now` and returns what to do about it.
    pub fn handle(&mut self, input: Input, now: Instant) -> Result<Vec<Effect>, SessionError> {
        let handled = self.dispatch(input, now);
        let effects = std::mem::take(&mut self.effects);
        handled.map(|()| effects)
    }

    /// When the runner may exit, if nothing happens before: `None` while a turn runs, a
    /// request is parked or prompts wait. The shell sends [`Input::Tick`] then.
    pub fn exit_at(&self) -> Option<Instant> {
        let ended = self.record.as_ref().is_some_and(|r| r.ended);
        let busy = self.turn_running()
            || !self.queue.is_empty()
            || self.gate.as_ref().is_some_and(Gate::has_pending);
        if ended {
            Some(self.last_activity + ENDED_GRACE)
        } else if busy {
            None
        } else {
            Some(self.last_activity + self.idle_exit)
        }
    }

    fn dispatch(&mut self, input: Input, now: Instant) -> Result<(), SessionError> {
        match input {
            Input::Open { conn } => {
                self.conns.insert(conn, Conn { attached: false, batches: false });
            }
            Input::Close { conn } => {
                self.conns.remove(&conn);
            }
            Input::BadFrame { conn, code, message } => self.reply_error(conn, code, message),
            Input::Frame { conn, command } => {
                if !matches!(command, GatewayCommand::Ping | GatewayCommand::Ack { .. }) {
                    self.last_activity = now;
                }
                self.command(conn, command)?;
            }
            Input::CliSpawned { generation, started, settings_error } if generation == self.generation => {
                self.cli_spawned(started, settings_error)?;
            }
            Input::CliLine { generation, line } if generation == self.generation => {
                self.last_activity = now;
                for out in self.translator.line(&line) {
                    self.translated(out)?;
                }
            }
            Input::CliExited { generation, code, stderr } if generation == self.generation => {
                self.last_activity = now;
                self.cli_exited(code, stderr)?;
            }
            Input::Kata(Some(state)) if self.kata.as_ref() != Some(&*state) => {
                self.kata = Some((*state).clone());
                self.emit(GatewayEvent::Kata { state: *state })?;
            }
            Input::Claimed { result } => self.claimed(result)?,
            Input::Tick => {
                if self.exit_at().is_some_and(|at| at <= now) {
                    tracing::info!(session_id = %self.id, "idle with nothing pending: exiting (the next message resumes)");
                    self.exit()?;
                }
            }
            Input::Stop => self.exit()?,
            Input::CliSpawned { .. } | Input::CliLine { .. } | Input::CliExited { .. } | Input::Kata(_) => {}
        }
        Ok(())
    }

    /// A runner that finds its predecessor died mid-turn (SIGKILL, OOM, a reboot) closes what it
    /// left open for every device: its parked requests expire, the turn ends in error. The next
    /// message resumes the Claude session with whatever history the CLI had recorded.
    fn recover(&mut self) -> Result<(), SessionError> {
        let Some(record) = self.record.clone() else { return Ok(()) };
        for tool_call_id in &record.open_requests {
            let event = GatewayEvent::ToolResolved {
                tool_call_id: tool_call_id.clone(),
                decision: shared_types::Decision::Expired,
                by: BY_POLICY.into(),
            };
            self.emit(event)?;
        }
        if record.turn_open && !record.ended {
            let message = "the session's runner stopped during a turn (killed, or the machine restarted); send a message to continue";
            self.end_turn_in_error(message.into())?;
            self.emit(GatewayEvent::Status { state: RunnerState::Stopped })?;
        }
        Ok(())
    }

    /// A turn runs, or is about to (the CLI is starting for its prompt).
    fn turn_running(&self) -> bool {
        self.turn || matches!(self.cli, CliState::Starting { .. })
    }

    /// Ends the running turn in error: the error, then a `session.result` so that every device
    /// closes the turn (no message left streaming).
    fn end_turn_in_error(&mut self, message: String) -> Result<(), SessionError> {
        self.emit(GatewayEvent::Error { code: ErrorCode::CliError, message, fatal: false })?;
        let usage = shared_types::Usage::default();
        self.emit(GatewayEvent::Result { cost_usd: 0.0, usage, duration_ms: 0, turns: 0, is_error: true })?;
        self.set_turn_open(false)
    }

    /// Persists whether a turn runs (so a successor can tell its predecessor died mid-turn).
    fn set_turn_open(&mut self, open: bool) -> Result<(), SessionError> {
        self.turn = open;
        if let Some(record) = self.record.as_mut().filter(|r| r.turn_open != open) {
            record.turn_open = open;
            let record = record.clone();
            self.outbox.set_record(&record)?;
        }
        Ok(())
    }

    fn command(&mut self, conn: u64, command: GatewayCommand) -> Result<(), SessionError> {
        match command {
            GatewayCommand::Ping => self.reply(conn, &GatewayFrame::Control(GatewayControl::Pong)),
            GatewayCommand::Ack { seq } => {
                self.outbox.ack(seq)?;
                if self.conns.get(&conn).is_some_and(|c| c.batches) {
                    self.effects.push(Effect::Send { conn, message: Outgoing::Acked(seq) });
                }
            }
            GatewayCommand::Attach { after_seq, batches } => self.attach(conn, after_seq, batches)?,
            GatewayCommand::Create { config } => self.create(conn, config)?,
            GatewayCommand::Message { client_id, content } => self.message(conn, client_id, content)?,
            GatewayCommand::ToolApprove { tool_call_id, scope, grant, by } => {
                let by = by.unwrap_or_else(|| "someone".into());
                let answer = self.gate_mut(conn).map(|g| g.approve(&tool_call_id, scope, grant, &by));
                self.answered(conn, answer)?;
            }
            GatewayCommand::ToolDeny { tool_call_id, reason, by } => {
                let by = by.unwrap_or_else(|| "someone".into());
                let answer = self.gate_mut(conn).map(|g| g.deny(&tool_call_id, &reason, &by));
                self.answered(conn, answer)?;
            }
            GatewayCommand::Answer { tool_call_id, answers, by } => {
                let by = by.unwrap_or_else(|| "someone".into());
                let answer = self.gate_mut(conn).map(|g| g.answer(&tool_call_id, answers, &by));
                self.answered(conn, answer)?;
            }
            GatewayCommand::Interrupt => match (&self.cli, self.turn) {
                (CliState::Up, true) => {
                    self.interrupts += 1;
                    let request_id = format!("interrupt-{}", self.interrupts);
                    self.effects.push(Effect::ToCli(ToCli::Interrupt { request_id }));
                }
                _ => self.reply_error(conn, ErrorCode::Conflict, "no turn is running: nothing to interrupt".into()),
            },
            GatewayCommand::Terminate => self.terminate()?,
        }
        Ok(())
    }

    fn attach(&mut self, conn: u64, after_seq: u64, batches: bool) -> Result<(), SessionError> {
        self.outbox.raise_floor(after_seq)?;
        let replay = self.outbox.after(after_seq)?;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.batches = batches;
            c.attached = true;
            for envelope in replay {
                let seq = envelope.seq;
                let message = Outgoing::Event { seq, text: encode(&GatewayFrame::Event(envelope)), batches };
                self.effects.push(Effect::Send { conn, message });
            }
        }
        Ok(())
    }

    /// Creates the session: its Claude session (a new one, or the one `config.resume` names)
    /// is claimed first ([`Effect::Claim`]); the record is written when the claim is answered.
    fn create(&mut self, conn: u64, config: SessionConfig) -> Result<(), SessionError> {
        if self.record.is_some() || self.creating.is_some() {
            return Ok(()); // idempotent: the session exists
        }
        let Some(cwd) = self.cwd_arg.clone() else {
            self.reply_error(conn, ErrorCode::InvalidInput, "the runner was started without a worktree".into());
            return Ok(());
        };
        if let Some(id) = config.resume.as_deref().filter(|id| !is_claude_session_id(id)) {
            let message = format!("cannot resume {id:?}: not a Claude Code session id (a UUID)");
            self.reply_error(conn, ErrorCode::InvalidInput, message);
            return Ok(());
        }
        let claude_session_id = config.resume.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let resume_in = config.resume.is_some().then(|| cwd.clone());
        self.effects.push(Effect::Claim { claude_session_id: claude_session_id.clone(), resume_in });
        self.creating = Some(Creating { config, cwd, claude_session_id });
        Ok(())
    }

    /// The claim is answered: the session exists from now on. A resumed session's history goes
    /// out as events (so every device folds the same transcript) before it waits for a prompt;
    /// a refused one (another Duraclaw session has that Claude session, its file is gone) ends
    /// at once, saying why.
    fn claimed(&mut self, result: Result<Option<History>, (ErrorCode, String)>) -> Result<(), SessionError> {
        let Some(Creating { config, cwd, claude_session_id }) = self.creating.take() else { return Ok(()) };
        let record = SessionRecord {
            config,
            cwd,
            claude_session_id: claude_session_id.clone(),
            started: false,
            ended: result.is_err(),
            turn_open: false,
            open_requests: vec![],
        };
        self.outbox.set_record(&record)?;
        self.gate = Some(gate_for(&record, &self.outbox)?);
        self.record = Some(record);
        self.emit(GatewayEvent::Created { session_id: self.id.clone(), claude_session_id })?;
        match result {
            Err((code, message)) => {
                self.emit(GatewayEvent::Error { code, message: message.clone(), fatal: true })?;
                self.emit(GatewayEvent::Status { state: RunnerState::Stopped })?;
                return self.emit(GatewayEvent::Complete { summary: message });
            }
            Ok(Some(history)) => {
                if let Some(notice) = history.notice() {
                    self.emit(GatewayEvent::Error { code: ErrorCode::FrameTooLarge, message: notice, fatal: false })?;
                }
                for event in history.events {
                    self.emit(event)?;
                }
            }
            Ok(None) => {}
        }
        self.emit(GatewayEvent::Status { state: RunnerState::Stopped })
    }

    fn message(&mut self, conn: u64, client_id: String, content: Vec<ContentBlock>) -> Result<(), SessionError> {
        let Some(record) = &self.record else {
            self.reply_error(conn, ErrorCode::NotFound, "the session was never created".into());
            return Ok(());
        };
        if record.ended {
            self.reply_error(conn, ErrorCode::SessionEnded, "the session has ended: start a new one".into());
            return Ok(());
        }
        if client_id.is_empty() {
            self.reply_error(conn, ErrorCode::InvalidInput, "a message needs a client_id".into());
            return Ok(());
        }
        if let Some(problem) = shared_types::content_problem(&content) {
            self.reply_error(conn, ErrorCode::InvalidInput, problem);
            return Ok(());
        }
        if !self.outbox.accept(&client_id)? {
            return Ok(()); // a resend of a prompt already accepted: its events are in the outbox
        }
        let queued = self.turn_running();
        self.emit(GatewayEvent::UserMessage { client_id, content: content.clone(), queued })?;
        if queued {
            self.queue.push_back(content);
            Ok(())
        } else {
            self.start_turn(content)
        }
    }

    /// Sends the prompt to the CLI, starting the CLI first when none runs (the prompt then
    /// waits for [`Input::CliSpawned`]).
    fn start_turn(&mut self, prompt: Vec<ContentBlock>) -> Result<(), SessionError> {
        match self.cli {
            CliState::Up => self.send_prompt(prompt),
            // Not reached through the shell, which answers a spawn at once; kept in order.
            CliState::Starting { .. } => {
                self.queue.push_back(prompt);
                Ok(())
            }
            CliState::Down => {
                let Some(record) = &self.record else { return Ok(()) };
                let launch = CliLaunch {
                    cwd: record.cwd.clone(),
                    config: record.config.clone(),
                    claude_session_id: record.claude_session_id.clone(),
                };
                self.generation += 1;
                self.cli = CliState::Starting { prompt };
                self.effects.push(Effect::SpawnCli { generation: self.generation, launch });
                Ok(())
            }
        }
    }

    fn send_prompt(&mut self, prompt: Vec<ContentBlock>) -> Result<(), SessionError> {
        self.effects.push(Effect::ToCli(ToCli::User(prompt)));
        self.set_turn_open(true)?;
        self.emit(GatewayEvent::Status { state: RunnerState::Running })
    }

    /// The shell tried to start the CLI: on success the prompt that needed it goes out; on
    /// failure everyone hears why, and the session stays stopped until the next message.
    fn cli_spawned(&mut self, started: Result<(), String>, settings_error: Option<String>) -> Result<(), SessionError> {
        let CliState::Starting { prompt } = std::mem::replace(&mut self.cli, CliState::Down) else { return Ok(()) };
        if let Some(message) = settings_error {
            self.emit(GatewayEvent::Error { code: ErrorCode::CliError, message, fatal: false })?;
        }
        match started {
            Ok(()) => {
                self.effects.push(Effect::ToCli(ToCli::Initialize));
                self.cli = CliState::Up;
                self.translator = Translator::new();
                self.emit(GatewayEvent::Status { state: RunnerState::Starting })?;
                self.send_prompt(prompt)
            }
            Err(message) => {
                self.emit(GatewayEvent::Error { code: ErrorCode::CliError, message, fatal: false })?;
                self.emit(GatewayEvent::Status { state: RunnerState::Stopped })
            }
        }
    }

    fn translated(&mut self, out: Output) -> Result<(), SessionError> {
        match out {
            Output::Event(event) => {
                let tool_ran = matches!(event, GatewayEvent::ToolResult { .. });
                self.emit(event)?;
                if tool_ran {
                    self.read_kata();
                }
            }
            Output::Init { .. } => {
                if let Some(record) = self.record.as_mut().filter(|r| !r.started) {
                    record.started = true;
                    let record = record.clone();
                    self.outbox.set_record(&record)?;
                }
            }
            Output::Permission(request) => {
                let Some(gate) = self.gate.as_mut() else { return Ok(()) };
                let (answer, events) = gate.permission(request);
                for event in events {
                    self.emit(event)?;
                }
                if let Some(answer) = answer {
                    self.apply(answer)?;
                }
            }
            Output::Hook(hook) => {
                let verdict = match (&self.gate, hook.callback_id == HOOK_ID) {
                    (Some(gate), true) => Some(gate.pre_tool_use(&hook.tool_name, &hook.tool_input)),
                    _ => None,
                };
                let response = verdict.as_ref().map_or_else(|| serde_json::json!({}), Gate::hook_response);
                self.write_cli(ToCli::Respond { request_id: hook.request_id, response });
                let decision = match verdict {
                    Some(Verdict::Allow) => Some(shared_types::Decision::Approved),
                    Some(Verdict::Deny(_)) => Some(shared_types::Decision::Denied),
                    _ => None,
                };
                if let Some(decision) = decision {
                    let tool_call_id = hook.tool_use_id;
                    self.emit(GatewayEvent::ToolResolved { tool_call_id, decision, by: BY_POLICY.into() })?;
                }
            }
            Output::ControlResponse { request_id, error: Some(error) } => {
                let message = format!("Claude Code refused the control request {request_id}: {error}");
                self.emit(GatewayEvent::Error { code: ErrorCode::CliError, message, fatal: false })?;
            }
            Output::ControlResponse { .. } => {}
            Output::Cancel { request_id } => {
                if let Some(event) = self.gate.as_mut().and_then(|g| g.cancel(&request_id)) {
                    self.emit(event)?;
                }
            }
            // After an API error the CLI either takes the next turn (stdin still open, as seen with
            // 2.1.331) or exits 1; an exit is handled in `cli_exited`, which resumes on demand.
            Output::TurnEnd { .. } => {
                self.set_turn_open(false)?;
                self.read_kata();
                self.next_turn_or_idle()?;
            }
        }
        Ok(())
    }

    /// Asks for the worktree's kata state; a change comes back as [`Input::Kata`].
    fn read_kata(&mut self) {
        if let Some(cwd) = self.record.as_ref().map(|r| r.cwd.clone()) {
            self.effects.push(Effect::ReadKata { cwd });
        }
    }

    fn next_turn_or_idle(&mut self) -> Result<(), SessionError> {
        match self.queue.pop_front() {
            Some(prompt) => self.start_turn(prompt),
            None => self.emit(GatewayEvent::Status { state: RunnerState::Idle }),
        }
    }

    fn cli_exited(&mut self, code: Option<i32>, stderr: String) -> Result<(), SessionError> {
        self.cli = CliState::Down;
        let expired = self.gate.as_mut().map(Gate::expire_all).unwrap_or_default();
        for event in expired {
            self.emit(event)?;
        }
        let ended = self.record.as_ref().is_some_and(|r| r.ended);
        if self.turn && !ended {
            let code = code.map_or("a signal".to_string(), |c| format!("code {c}"));
            let message = format!("Claude Code exited ({code}) during a turn; send a message to resume. {stderr}");
            self.end_turn_in_error(message.trim().into())?;
        }
        self.set_turn_open(false)?;
        if ended {
            return Ok(());
        }
        self.emit(GatewayEvent::Status { state: RunnerState::Stopped })?;
        match self.queue.pop_front() {
            Some(prompt) => self.start_turn(prompt),
            None => Ok(()),
        }
    }

    fn terminate(&mut self) -> Result<(), SessionError> {
        let Some(record) = self.record.as_mut().filter(|r| !r.ended) else { return Ok(()) };
        record.ended = true;
        let record = record.clone();
        self.outbox.set_record(&record)?;
        self.queue.clear();
        self.stop_cli()?;
        let expired = self.gate.as_mut().map(Gate::expire_all).unwrap_or_default();
        for event in expired {
            self.emit(event)?;
        }
        self.set_turn_open(false)?;
        self.emit(GatewayEvent::Status { state: RunnerState::Stopped })?;
        self.emit(GatewayEvent::Complete { summary: "terminated".into() })
    }

    fn exit(&mut self) -> Result<(), SessionError> {
        self.stop_cli()?;
        self.effects.push(Effect::Exit);
        Ok(())
    }

    /// Stops the CLI; its exit, arriving later, is ignored (the generation moves on).
    fn stop_cli(&mut self) -> Result<(), SessionError> {
        if matches!(std::mem::replace(&mut self.cli, CliState::Down), CliState::Down) {
            return Ok(());
        }
        self.effects.push(Effect::StopCli);
        self.generation += 1;
        if !self.record.as_ref().is_some_and(|r| r.ended) {
            self.emit(GatewayEvent::Status { state: RunnerState::Stopped })?;
        }
        Ok(())
    }

    /// A line for the CLI, when one runs (a CLI that is gone drops what it is sent anyway).
    fn write_cli(&mut self, message: ToCli) {
        if !matches!(self.cli, CliState::Down) {
            self.effects.push(Effect::ToCli(message));
        }
    }

    fn gate_mut(&mut self, conn: u64) -> Option<&mut Gate> {
        if self.gate.is_none() {
            self.reply_error(conn, ErrorCode::NotFound, "the session was never created".into());
        }
        self.gate.as_mut()
    }

    /// A human's answer from the gate: send it to the CLI and tell everyone, or refuse.
    fn answered(&mut self, conn: u64, answer: Option<Result<Answer, GateError>>) -> Result<(), SessionError> {
        match answer {
            Some(Ok(answer)) => self.apply(answer),
            Some(Err(e)) => {
                self.reply_error(conn, ErrorCode::UnknownToolCall, e.to_string());
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn apply(&mut self, answer: Answer) -> Result<(), SessionError> {
        self.write_cli(ToCli::Respond { request_id: answer.request_id, response: answer.response });
        for grant in &answer.grants {
            self.outbox.add_grant(grant)?;
        }
        for event in answer.events {
            self.emit(event)?;
        }
        Ok(())
    }

    /// Numbers and stores an event, then sends it to every attached peer. Requests announced and
    /// resolved are tracked in the record, so a successor can expire what a killed runner left.
    fn emit(&mut self, event: GatewayEvent) -> Result<(), SessionError> {
        let changed = match (&event, self.record.as_mut()) {
            (GatewayEvent::ToolRequest { tool_call }, Some(r)) => {
                r.open_requests.push(tool_call.id.clone());
                true
            }
            (GatewayEvent::Question { tool_call_id, .. }, Some(r)) => {
                r.open_requests.push(tool_call_id.clone());
                true
            }
            (GatewayEvent::ToolResolved { tool_call_id, .. }, Some(r)) if r.open_requests.contains(tool_call_id) => {
                r.open_requests.retain(|id| id != tool_call_id);
                true
            }
            _ => false,
        };
        if changed {
            if let Some(record) = self.record.clone() {
                self.outbox.set_record(&record)?;
            }
        }
        let envelope = self.outbox.append(event)?;
        let seq = envelope.seq;
        let text = encode(&GatewayFrame::Event(envelope));
        for (&conn, c) in self.conns.iter().filter(|(_, c)| c.attached) {
            let message = Outgoing::Event { seq, text: text.clone(), batches: c.batches };
            self.effects.push(Effect::Send { conn, message });
        }
        Ok(())
    }

    fn reply(&mut self, conn: u64, frame: &GatewayFrame) {
        if self.conns.contains_key(&conn) {
            self.effects.push(Effect::Send { conn, message: Outgoing::Other(encode(frame)) });
        }
    }

    fn reply_error(&mut self, conn: u64, code: ErrorCode, message: String) {
        self.reply(conn, &GatewayFrame::Control(GatewayControl::Error { code, message }));
    }
}

fn gate_for(record: &SessionRecord, outbox: &Outbox) -> Result<Gate, SessionError> {
    Ok(Gate::new(
        record.config.policy.clone(),
        record.config.permission_mode,
        &record.cwd,
        outbox.grants()?,
    ))
}

#[cfg(test)]
mod tests;
