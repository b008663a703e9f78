//! The session actor: one task that owns the session's state and is the only writer of its
//! outbox. Socket connections, the CLI's output and timers all arrive as [`Input`]s, so the
//! order of events is the order they were handled and a replay can never race a live event.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use shared_types::codec::encode;
use shared_types::gateway::{GatewayControl, GatewayFrame};
use shared_types::{ContentBlock, ErrorCode, GatewayCommand, GatewayEvent, RunnerState, SessionConfig};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::claude::{self, Cli, CliOutput, Launch, HOOK_ID};
use super::socket::Outgoing;
use crate::config::RunnerSettings;
use crate::gate::{Answer, Gate, Verdict, BY_POLICY};
use crate::outbox::{Outbox, OutboxError, SessionRecord};
use crate::translate::{Output, Translator};

/// After `session.terminate`, the runner stays this long so the end reaches attached peers.
const ENDED_GRACE: Duration = Duration::from_secs(5);

/// Everything the actor reacts to.
#[derive(Debug)]
pub enum Input {
    Open { conn: u64, tx: mpsc::UnboundedSender<Outgoing> },
    Frame { conn: u64, command: GatewayCommand },
    /// A frame that could not be read; answered with an error frame.
    BadFrame { conn: u64, code: ErrorCode, message: String },
    Close { conn: u64 },
    Cli { generation: u64, output: CliOutput },
    /// The worktree's newest kata state, read after a tool ran or a turn ended.
    Kata(Option<Box<shared_types::KataState>>),
    /// SIGTERM or SIGINT: stop the CLI and exit.
    Stop,
}

/// The largest kata state file the runner reads.
const KATA_STATE_CAP: u64 = 1024 * 1024;

/// Why the actor stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

struct Conn {
    tx: mpsc::UnboundedSender<Outgoing>,
    attached: bool,
    /// Its `session.attach` asked for `batches`: the writer may join ready events in one frame.
    batches: bool,
}

pub struct Session {
    id: String,
    settings: RunnerSettings,
    /// The session's durable directory (the outbox, the CLI settings the runner writes).
    session_dir: PathBuf,
    /// The worktree given on the command line, for a session not created yet.
    cwd_arg: Option<PathBuf>,
    outbox: Outbox,
    record: Option<SessionRecord>,
    gate: Option<Gate>,
    cli: Option<Cli>,
    translator: Translator,
    generation: u64,
    turn: bool,
    queue: VecDeque<Vec<ContentBlock>>,
    conns: HashMap<u64, Conn>,
    inputs: mpsc::UnboundedSender<Input>,
    last_activity: Instant,
    interrupts: u64,
    /// The kata state last announced, so only changes are.
    kata: Option<shared_types::KataState>,
}

impl Session {
    pub fn new(
        id: String,
        settings: RunnerSettings,
        session_dir: PathBuf,
        cwd_arg: Option<PathBuf>,
        outbox: Outbox,
        inputs: mpsc::UnboundedSender<Input>,
    ) -> Result<Self, SessionError> {
        let record = outbox.record()?;
        let gate = match &record {
            Some(r) => Some(gate_for(r, &outbox)?),
            None => None,
        };
        Ok(Session {
            id,
            settings,
            session_dir,
            cwd_arg,
            outbox,
            record,
            gate,
            cli: None,
            translator: Translator::new(),
            generation: 0,
            turn: false,
            queue: VecDeque::new(),
            conns: HashMap::new(),
            inputs,
            last_activity: Instant::now(),
            interrupts: 0,
            kata: None,
        })
    }

    /// Runs until idle past the configured time with nothing pending, or until stopped.
    pub async fn run(mut self, mut inputs: mpsc::UnboundedReceiver<Input>) -> Result<(), SessionError> {
        self.recover()?;
        loop {
            let deadline = self.exit_deadline();
            tokio::select! {
                input = inputs.recv() => match input {
                    Some(Input::Stop) | None => break,
                    Some(input) => self.handle(input)?,
                },
                _ = tokio::time::sleep_until(deadline) => {
                    if self.exit_deadline() <= Instant::now() {
                        tracing::info!(session_id = %self.id, "idle with nothing pending: exiting (the next message resumes)");
                        break;
                    }
                }
            }
        }
        self.stop_cli()?;
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

    /// When the runner may exit: never while a turn runs, a request is parked or prompts wait.
    fn exit_deadline(&self) -> Instant {
        let busy = self.turn || !self.queue.is_empty() || self.gate.as_ref().is_some_and(Gate::has_pending);
        let ended = self.record.as_ref().is_some_and(|r| r.ended);
        if ended {
            self.last_activity + ENDED_GRACE
        } else if busy {
            Instant::now() + Duration::from_secs(3600)
        } else {
            self.last_activity + Duration::from_secs(self.settings.idle_exit_secs)
        }
    }

    fn handle(&mut self, input: Input) -> Result<(), SessionError> {
        match input {
            Input::Open { conn, tx } => {
                self.conns.insert(conn, Conn { tx, attached: false, batches: false });
            }
            Input::Close { conn } => {
                self.conns.remove(&conn);
            }
            Input::BadFrame { conn, code, message } => self.reply_error(conn, code, message),
            Input::Frame { conn, command } => self.command(conn, command)?,
            Input::Cli { generation, output } if generation == self.generation => {
                self.last_activity = Instant::now();
                self.cli_output(output)?;
            }
            Input::Kata(Some(state)) if self.kata.as_ref() != Some(&*state) => {
                self.kata = Some((*state).clone());
                self.emit(GatewayEvent::Kata { state: *state })?;
            }
            Input::Cli { .. } | Input::Kata(_) | Input::Stop => {}
        }
        Ok(())
    }

    fn command(&mut self, conn: u64, command: GatewayCommand) -> Result<(), SessionError> {
        if !matches!(command, GatewayCommand::Ping | GatewayCommand::Ack { .. }) {
            self.last_activity = Instant::now();
        }
        match command {
            GatewayCommand::Ping => self.reply(conn, &GatewayFrame::Control(GatewayControl::Pong)),
            GatewayCommand::Ack { seq } => {
                self.outbox.ack(seq)?;
                if let Some(c) = self.conns.get(&conn).filter(|c| c.batches) {
                    let _ = c.tx.send(Outgoing::Acked(seq));
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
                (Some(cli), true) => {
                    self.interrupts += 1;
                    cli.interrupt(&format!("interrupt-{}", self.interrupts));
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
            for envelope in replay {
                let seq = envelope.seq;
                let _ = c.tx.send(Outgoing::Event { seq, text: encode(&GatewayFrame::Event(envelope)), batches });
            }
            c.attached = true;
        }
        Ok(())
    }

    fn create(&mut self, conn: u64, config: SessionConfig) -> Result<(), SessionError> {
        if self.record.is_some() {
            return Ok(()); // idempotent: the session exists
        }
        let Some(cwd) = self.cwd_arg.clone() else {
            self.reply_error(conn, ErrorCode::InvalidInput, "the runner was started without a worktree".into());
            return Ok(());
        };
        let record = SessionRecord {
            config,
            cwd,
            claude_session_id: uuid::Uuid::new_v4().to_string(),
            started: false,
            ended: false,
            turn_open: false,
            open_requests: vec![],
        };
        self.outbox.set_record(&record)?;
        self.gate = Some(gate_for(&record, &self.outbox)?);
        let claude_session_id = record.claude_session_id.clone();
        self.record = Some(record);
        self.emit(GatewayEvent::Created { session_id: self.id.clone(), claude_session_id })?;
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
        if content.is_empty() || client_id.is_empty() {
            self.reply_error(conn, ErrorCode::InvalidInput, "a message needs a client_id and content".into());
            return Ok(());
        }
        if !self.outbox.accept(&client_id)? {
            return Ok(()); // a resend of a prompt already accepted: its events are in the outbox
        }
        let queued = self.turn;
        self.emit(GatewayEvent::UserMessage { client_id, content: content.clone(), queued })?;
        if queued {
            self.queue.push_back(content);
            Ok(())
        } else {
            self.start_turn(content)
        }
    }

    fn start_turn(&mut self, content: Vec<ContentBlock>) -> Result<(), SessionError> {
        if self.cli.is_none() && !self.spawn_cli()? {
            return Ok(());
        }
        if let Some(cli) = &self.cli {
            cli.user(&content);
        }
        self.set_turn_open(true)?;
        self.emit(GatewayEvent::Status { state: RunnerState::Running })
    }

    /// Starts the CLI (resuming when the Claude session exists). False when it could not start.
    fn spawn_cli(&mut self) -> Result<bool, SessionError> {
        let Some(record) = self.record.clone() else { return Ok(false) };
        self.generation += 1;
        let generation = self.generation;
        let settings_file = match claude::kata_settings(&record.cwd) {
            None => None,
            Some(Ok(settings)) => self.write_cli_settings(&settings),
            Some(Err(message)) => {
                self.emit(GatewayEvent::Error { code: ErrorCode::CliError, message, fatal: false })?;
                None
            }
        };
        let launch = Launch {
            bin: &self.settings.claude_bin,
            cwd: &record.cwd,
            config: &record.config,
            claude_session_id: &record.claude_session_id,
            // Whether the CLI recorded the session, not whether the runner saw it start: a
            // runner killed during the first turn may have left either.
            resume: claude::session_recorded(&record.claude_session_id),
            settings_file: settings_file.as_deref(),
        };
        let inputs = self.inputs.clone();
        match Cli::spawn(launch, inputs, move |output| Input::Cli { generation, output }) {
            Ok(cli) => {
                cli.initialize();
                self.cli = Some(cli);
                self.translator = Translator::new();
                self.emit(GatewayEvent::Status { state: RunnerState::Starting })?;
                Ok(true)
            }
            Err(e) => {
                let message = format!(
                    "could not start Claude Code ({}): {e}; install it or set CLAUDE_BIN for the gateway",
                    self.settings.claude_bin.display()
                );
                self.emit(GatewayEvent::Error { code: ErrorCode::CliError, message, fatal: false })?;
                self.emit(GatewayEvent::Status { state: RunnerState::Stopped })?;
                Ok(false)
            }
        }
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

    fn cli_output(&mut self, output: CliOutput) -> Result<(), SessionError> {
        match output {
            CliOutput::Line(line) => {
                for out in self.translator.line(&line) {
                    self.translated(out)?;
                }
                Ok(())
            }
            CliOutput::Exited { code, stderr } => self.cli_exited(code, stderr),
        }
    }

    fn translated(&mut self, out: Output) -> Result<(), SessionError> {
        match out {
            Output::Event(event) => {
                let tool_ran = matches!(event, GatewayEvent::ToolResult { .. });
                self.emit(event)?;
                if tool_ran {
                    self.check_kata();
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
                if let Some(cli) = &self.cli {
                    cli.respond(&hook.request_id, response);
                }
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
                self.check_kata();
                self.next_turn_or_idle()?;
            }
        }
        Ok(())
    }

    /// Reads the worktree's kata state off the actor; a change comes back as [`Input::Kata`].
    fn check_kata(&self) {
        let Some(cwd) = self.record.as_ref().map(|r| r.cwd.clone()) else { return };
        let inputs = self.inputs.clone();
        tokio::spawn(async move {
            let state = crate::kata_status::newest_state(&cwd, KATA_STATE_CAP).await.ok().flatten();
            let _ = inputs.send(Input::Kata(state.map(Box::new)));
        });
    }

    fn next_turn_or_idle(&mut self) -> Result<(), SessionError> {
        match self.queue.pop_front() {
            Some(content) => self.start_turn(content),
            None => self.emit(GatewayEvent::Status { state: RunnerState::Idle }),
        }
    }

    fn cli_exited(&mut self, code: Option<i32>, stderr: String) -> Result<(), SessionError> {
        self.cli = None;
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
            Some(content) => self.start_turn(content),
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

    /// Stops the CLI; its exit, arriving later, is ignored (the generation moves on).
    fn stop_cli(&mut self) -> Result<(), SessionError> {
        if let Some(cli) = self.cli.take() {
            cli.terminate();
            self.generation += 1;
            if !self.record.as_ref().is_some_and(|r| r.ended) {
                self.emit(GatewayEvent::Status { state: RunnerState::Stopped })?;
            }
        }
        Ok(())
    }

    fn gate_mut(&mut self, conn: u64) -> Option<&mut Gate> {
        if self.gate.is_none() {
            self.reply_error(conn, ErrorCode::NotFound, "the session was never created".into());
        }
        self.gate.as_mut()
    }

    /// A human's answer from the gate: send it to the CLI and tell everyone, or refuse.
    fn answered(&mut self, conn: u64, answer: Option<Result<Answer, crate::gate::GateError>>) -> Result<(), SessionError> {
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
        if let Some(cli) = &self.cli {
            cli.respond(&answer.request_id, answer.response);
        }
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
        for conn in self.conns.values().filter(|c| c.attached) {
            let _ = conn.tx.send(Outgoing::Event { seq, text: text.clone(), batches: conn.batches });
        }
        Ok(())
    }

    fn reply(&self, conn: u64, frame: &GatewayFrame) {
        if let Some(c) = self.conns.get(&conn) {
            let _ = c.tx.send(Outgoing::Other(encode(frame)));
        }
    }

    fn reply_error(&self, conn: u64, code: ErrorCode, message: String) {
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
