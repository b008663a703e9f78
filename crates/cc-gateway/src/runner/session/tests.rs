//! The session core's rules, input by input: the queue, interrupts, terminate, the idle exit,
//! resume and recovery. Time is a value (`Harness::now`), the outbox is real SQLite in a
//! temporary directory, and no process is started: the CLI's side is its stdout lines (shaped
//! as the captures in `tests/fixtures/transcripts/`) and its exit, fed in as inputs.

use std::time::{Duration, Instant};

use serde_json::json;
use shared_types::codec::decode_gateway_frame;
use shared_types::gateway::{Decision, GatewayControl, GatewayFrame, Scope};
use shared_types::{ContentBlock, ErrorCode, GatewayCommand, GatewayEvent, RunnerState, SessionConfig};

use super::{CliLaunch, Effect, Input, Outgoing, Session, ENDED_GRACE};
use crate::outbox::Outbox;
use crate::runner::claude::ToCli;
use crate::session_files::History;

const IDLE: Duration = Duration::from_secs(1800);
/// The peer every harness attaches (a single-frame reader, as an old Durable Object).
const PEER: u64 = 1;

/// One session over a real outbox, driven by hand; `now` moves only when a test moves it.
struct Harness {
    dir: tempfile::TempDir,
    session: Session,
    now: Instant,
}

impl Harness {
    /// A session created in a fresh worktree, with [`PEER`] attached.
    fn created() -> Harness {
        let mut h = Harness::fresh();
        let effects = h.command(GatewayCommand::Create { config: config() });
        assert!(matches!(&effects[..], [Effect::Claim { resume_in: None, .. }]), "the new Claude session is claimed first: {effects:?}");
        let effects = h.input(Input::Claimed { result: Ok(None) });
        assert_eq!(events(&effects)[1], status(RunnerState::Stopped));
        h
    }

    /// A runner started for a session not created yet, with [`PEER`] attached.
    fn fresh() -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("work")).expect("worktree");
        let now = Instant::now();
        let (session, first) = open(&dir, now);
        assert!(first.is_empty(), "a new session has nothing to recover");
        let mut h = Harness { dir, session, now };
        h.attach(PEER, 0);
        h
    }

    /// The same session as a successor runner sees it after this one died (no goodbye).
    fn successor(self) -> (Harness, Vec<Effect>) {
        let Harness { dir, session, now } = self;
        drop(session);
        let (session, first) = open(&dir, now);
        (Harness { dir, session, now }, first)
    }

    fn input(&mut self, input: Input) -> Vec<Effect> {
        self.session.handle(input, self.now).expect("the outbox works")
    }

    fn command(&mut self, command: GatewayCommand) -> Vec<Effect> {
        self.input(Input::Frame { conn: PEER, command })
    }

    fn attach(&mut self, conn: u64, after_seq: u64) -> Vec<Effect> {
        self.input(Input::Open { conn });
        self.input(Input::Frame { conn, command: GatewayCommand::Attach { after_seq, batches: false } })
    }

    fn message(&mut self, client_id: &str, text: &str) -> Vec<Effect> {
        let content = vec![ContentBlock::text(text)];
        self.command(GatewayCommand::Message { client_id: client_id.into(), content })
    }

    fn line(&mut self, generation: u64, line: serde_json::Value) -> Vec<Effect> {
        self.input(Input::CliLine { generation, line: line.to_string() })
    }

    fn spawned(&mut self, generation: u64) -> Vec<Effect> {
        self.input(Input::CliSpawned { generation, started: Ok(()), settings_error: None })
    }

    /// A first prompt, through the CLI's start: the session is then in a turn on generation 1.
    fn turn(&mut self, client_id: &str) {
        let effects = self.message(client_id, "hello");
        assert!(matches!(effects.last(), Some(Effect::SpawnCli { generation: 1, .. })), "{effects:?}");
        self.spawned(1);
    }

    fn tick_at(&mut self, after: Duration, start: Instant) -> Vec<Effect> {
        self.now = start + after;
        self.input(Input::Tick)
    }
}

fn open(dir: &tempfile::TempDir, now: Instant) -> (Session, Vec<Effect>) {
    let outbox = Outbox::open(&dir.path().join("outbox.sqlite")).expect("outbox");
    Session::open("s1".into(), IDLE, Some(dir.path().join("work")), outbox, now).expect("open")
}

fn config() -> SessionConfig {
    serde_json::from_value(json!({"project": "demo"})).expect("a config")
}

fn status(state: RunnerState) -> GatewayEvent {
    GatewayEvent::Status { state }
}

/// The events sent to [`PEER`], in order.
fn events(effects: &[Effect]) -> Vec<GatewayEvent> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { conn: PEER, message: Outgoing::Event { text, .. } } => match decode_gateway_frame(text) {
                Ok(GatewayFrame::Event(envelope)) => Some(envelope.event),
                other => panic!("not an event frame: {other:?}"),
            },
            _ => None,
        })
        .collect()
}

/// The seqs of the events sent to `conn`.
fn seqs(effects: &[Effect], conn: u64) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { conn: c, message: Outgoing::Event { seq, .. } } if *c == conn => Some(*seq),
            _ => None,
        })
        .collect()
}

/// The error codes of the control frames sent to `conn`.
fn errors(effects: &[Effect], conn: u64) -> Vec<ErrorCode> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { conn: c, message: Outgoing::Other(text) } if *c == conn => match decode_gateway_frame(text) {
                Ok(GatewayFrame::Control(GatewayControl::Error { code, .. })) => Some(code),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// What went to the CLI.
fn to_cli(effects: &[Effect]) -> Vec<ToCli> {
    effects.iter().filter_map(|e| if let Effect::ToCli(m) = e { Some(m.clone()) } else { None }).collect()
}

fn prompt(text: &str) -> ToCli {
    ToCli::User(vec![ContentBlock::text(text)])
}

/// Everything but what went to peers: the effects on the CLI, kata and the runner itself.
fn actions(effects: &[Effect]) -> Vec<&Effect> {
    effects.iter().filter(|e| !matches!(e, Effect::Send { .. })).collect()
}

fn result_line() -> serde_json::Value {
    json!({"type": "result", "subtype": "success", "is_error": false, "num_turns": 1, "duration_ms": 5, "total_cost_usd": 0.01})
}

fn api_error_line() -> serde_json::Value {
    json!({"type": "result", "subtype": "success", "is_error": true, "terminal_reason": "api_error", "result": "API Error: 529 overloaded"})
}

fn permission_line(request_id: &str, tool_use_id: &str) -> serde_json::Value {
    json!({"type": "control_request", "request_id": request_id, "request": {
        "subtype": "can_use_tool", "tool_name": "Bash", "tool_use_id": tool_use_id, "input": {"command": "rm -rf build"}}})
}

#[test]
fn a_first_prompt_starts_the_cli_and_goes_after_initialize() {
    let mut h = Harness::created();
    let effects = h.message("c1", "hello");
    assert_eq!(
        events(&effects),
        [GatewayEvent::UserMessage { client_id: "c1".into(), content: vec![ContentBlock::text("hello")], queued: false }]
    );
    let Some(Effect::SpawnCli { generation: 1, launch: CliLaunch { cwd, claude_session_id, .. } }) = effects.last() else {
        panic!("the CLI is started for the prompt: {effects:?}");
    };
    assert_eq!(cwd, &h.dir.path().join("work"));
    assert!(!claude_session_id.is_empty(), "chosen up front, so the CLI starts with --session-id");
    let effects = h.spawned(1);
    assert_eq!(to_cli(&effects), [ToCli::Initialize, prompt("hello")]);
    assert_eq!(events(&effects), [status(RunnerState::Starting), status(RunnerState::Running)]);
}

#[test]
fn a_prompt_during_a_turn_is_queued_and_runs_when_the_turn_ends() {
    let mut h = Harness::created();
    h.turn("c1");
    let effects = h.message("c2", "second");
    assert!(matches!(&events(&effects)[..], [GatewayEvent::UserMessage { queued: true, .. }]));
    assert!(actions(&effects).is_empty(), "nothing reaches the CLI mid-turn");
    h.message("c3", "third");

    let effects = h.line(1, result_line());
    assert!(matches!(&events(&effects)[..], [GatewayEvent::Result { is_error: false, .. }, GatewayEvent::Status { state: RunnerState::Running }]));
    assert_eq!(to_cli(&effects), [prompt("second")], "the queue runs in order, on the live CLI");
    assert!(effects.iter().any(|e| matches!(e, Effect::ReadKata { .. })), "a turn's end looks at kata's state");

    assert_eq!(to_cli(&h.line(1, result_line())), [prompt("third")]);
    let effects = h.line(1, result_line());
    assert!(to_cli(&effects).is_empty());
    assert_eq!(events(&effects).last(), Some(&status(RunnerState::Idle)));
}

#[test]
fn a_resent_prompt_runs_once() {
    let mut h = Harness::created();
    h.turn("c1");
    assert!(h.message("c1", "hello").is_empty(), "its events are in the outbox already");
    let effects = h.line(1, result_line());
    assert!(to_cli(&effects).is_empty(), "not queued either");
}

#[test]
fn interrupt_reaches_the_running_cli_and_is_refused_without_a_turn() {
    let mut h = Harness::created();
    assert_eq!(errors(&h.command(GatewayCommand::Interrupt), PEER), [ErrorCode::Conflict], "no CLI yet");
    h.turn("c1");
    let effects = h.command(GatewayCommand::Interrupt);
    assert_eq!(to_cli(&effects), [ToCli::Interrupt { request_id: "interrupt-1".into() }]);
    assert_eq!(to_cli(&h.command(GatewayCommand::Interrupt)), [ToCli::Interrupt { request_id: "interrupt-2".into() }]);
    h.message("c2", "after the interrupt");
    // The CLI ends an interrupted turn with an error result; the queued prompt runs next.
    let interrupted = json!({"type": "result", "subtype": "error_during_execution", "is_error": true});
    let effects = h.line(1, interrupted);
    assert!(matches!(events(&effects)[0], GatewayEvent::Result { is_error: true, .. }));
    assert_eq!(to_cli(&effects), [prompt("after the interrupt")]);
    h.line(1, result_line());
    assert_eq!(errors(&h.command(GatewayCommand::Interrupt), PEER), [ErrorCode::Conflict], "between turns");
}

#[test]
fn terminate_stops_the_cli_expires_requests_drops_the_queue_and_ends_for_good() {
    let mut h = Harness::created();
    h.turn("c1");
    h.message("c2", "queued");
    let asked = h.line(1, permission_line("r1", "toolu_1"));
    assert!(matches!(&events(&asked)[..], [GatewayEvent::ToolRequest { .. }]));

    let effects = h.command(GatewayCommand::Terminate);
    assert_eq!(actions(&effects), [&Effect::StopCli]);
    let resolved = GatewayEvent::ToolResolved { tool_call_id: "toolu_1".into(), decision: Decision::Expired, by: "policy".into() };
    assert_eq!(events(&effects), [resolved, status(RunnerState::Stopped), GatewayEvent::Complete { summary: "terminated".into() }]);

    assert!(h.command(GatewayCommand::Terminate).is_empty(), "once");
    assert!(h.input(Input::CliExited { generation: 1, code: Some(143), stderr: String::new() }).is_empty(), "the stopped CLI's exit is stale");
    assert!(h.line(1, result_line()).is_empty(), "so is its output");
    assert_eq!(errors(&h.message("c3", "more"), PEER), [ErrorCode::SessionEnded]);

    let ended = h.now;
    assert!(h.tick_at(ENDED_GRACE - Duration::from_millis(1), ended).is_empty(), "the end gets time to reach peers");
    assert_eq!(actions(&h.tick_at(ENDED_GRACE, ended)), [&Effect::Exit], "the queued prompt did not hold it");
}

#[test]
fn an_idle_session_exits_after_the_idle_time_and_not_before() {
    let mut h = Harness::created();
    let start = h.now;
    assert!(h.tick_at(IDLE - Duration::from_millis(1), start).is_empty());
    assert_eq!(actions(&h.tick_at(IDLE, start)), [&Effect::Exit]);
}

#[test]
fn an_idle_exit_stops_a_live_cli_first() {
    let mut h = Harness::created();
    h.turn("c1");
    h.line(1, result_line());
    let idle_since = h.now;
    let effects = h.tick_at(IDLE, idle_since);
    assert_eq!(actions(&effects), [&Effect::StopCli, &Effect::Exit]);
    assert_eq!(events(&effects), [status(RunnerState::Stopped)], "peers hear it stopped before the runner goes");
}

#[test]
fn pings_and_acks_do_not_keep_a_session_alive_but_prompts_and_cli_output_do() {
    let mut h = Harness::created();
    let start = h.now;
    h.now = start + IDLE / 2;
    h.command(GatewayCommand::Ping);
    h.command(GatewayCommand::Ack { seq: 1 });
    assert_eq!(h.session.exit_at(), Some(start + IDLE));
    assert_eq!(actions(&h.tick_at(IDLE, start)), [&Effect::Exit]);

    let mut h = Harness::created();
    let start = h.now;
    h.now = start + IDLE / 2;
    h.turn("c1");
    h.now = start + IDLE;
    h.line(1, result_line());
    assert!(h.tick_at(IDLE * 2 - Duration::from_millis(1), start).is_empty(), "the idle time counts from the CLI's last line");
    assert!(actions(&h.tick_at(IDLE * 2, start)).contains(&&Effect::Exit));
}

#[test]
fn nothing_exits_while_a_turn_runs_a_request_is_parked_or_a_prompt_waits() {
    let mut h = Harness::created();
    h.message("c1", "hello");
    assert_eq!(h.session.exit_at(), None, "the CLI is starting for a prompt");
    h.spawned(1);
    assert_eq!(h.session.exit_at(), None, "a turn runs");
    h.line(1, permission_line("r1", "toolu_1"));
    let start = h.now;
    assert!(h.tick_at(IDLE * 100, start).is_empty(), "a parked request waits for its human, however long");
    // The CLI dies with the request parked and a prompt queued: the prompt restarts it.
    h.message("c2", "queued");
    let effects = h.input(Input::CliExited { generation: 1, code: Some(1), stderr: String::new() });
    assert!(matches!(effects.last(), Some(Effect::SpawnCli { generation: 2, .. })));
    assert_eq!(h.session.exit_at(), None);
}

#[test]
fn a_cli_that_exits_mid_turn_ends_the_turn_in_error_and_the_next_prompt_resumes() {
    let mut h = Harness::created();
    h.turn("c1");
    h.message("c0", "x");
    let claude_session_id = h.session.record.as_ref().map(|r| r.claude_session_id.clone()).expect("created");
    h.line(1, permission_line("r1", "toolu_1"));
    let effects = h.input(Input::CliExited { generation: 1, code: Some(1), stderr: "boom".into() });
    let events = events(&effects);
    assert!(matches!(&events[0], GatewayEvent::ToolResolved { decision: Decision::Expired, .. }));
    assert!(matches!(&events[1], GatewayEvent::Error { code: ErrorCode::CliError, message, fatal: false } if message.contains("code 1") && message.contains("boom")));
    assert!(matches!(&events[2], GatewayEvent::Result { is_error: true, .. }), "every device closes the turn");
    assert_eq!(events[3], status(RunnerState::Stopped));
    // The queued prompt ("x") restarts the CLI at once, in the same Claude session.
    let Some(Effect::SpawnCli { generation: 2, launch }) = effects.last() else { panic!("{effects:?}") };
    assert_eq!(launch.claude_session_id, claude_session_id);
    assert!(h.line(1, result_line()).is_empty(), "the dead CLI's lines are stale");
    assert_eq!(to_cli(&h.spawned(2)), [ToCli::Initialize, prompt("x")]);
}

#[test]
fn after_an_api_error_the_next_prompt_goes_to_the_live_cli() {
    let mut h = Harness::created();
    h.turn("c1");
    let effects = h.line(1, api_error_line());
    let events = events(&effects);
    assert!(matches!(&events[0], GatewayEvent::Error { code: ErrorCode::ApiError, .. }));
    assert!(matches!(&events[1], GatewayEvent::Result { is_error: true, .. }));
    assert_eq!(events[2], status(RunnerState::Idle));
    let effects = h.message("c2", "retry");
    assert_eq!(actions(&effects), [&Effect::ToCli(prompt("retry"))], "no new CLI");
}

#[test]
fn a_cli_that_cannot_start_is_reported_and_leaves_no_turn_open() {
    let mut h = Harness::created();
    h.message("c1", "hello");
    let why = Some("kata is not on the PATH".to_string());
    let effects = h.input(Input::CliSpawned { generation: 1, started: Err("could not start Claude Code".into()), settings_error: why });
    let events = events(&effects);
    assert!(matches!(&events[0], GatewayEvent::Error { message, .. } if message.contains("kata")));
    assert!(matches!(&events[1], GatewayEvent::Error { message, .. } if message.contains("could not start")));
    assert_eq!(events[2], status(RunnerState::Stopped));
    assert!(actions(&effects).is_empty());
    assert!(h.session.exit_at().is_some(), "nothing runs");
    assert_eq!(errors(&h.command(GatewayCommand::Interrupt), PEER), [ErrorCode::Conflict]);
    assert!(matches!(h.message("c2", "again").last(), Some(Effect::SpawnCli { generation: 2, .. })), "the next prompt tries again");
}

#[test]
fn a_successor_expires_what_a_killed_runner_left_and_closes_its_turn() {
    let mut h = Harness::created();
    h.turn("c1");
    h.line(1, permission_line("r1", "toolu_1"));
    let last = seqs(&h.command(GatewayCommand::Attach { after_seq: 0, batches: false }), PEER).last().copied().expect("events");

    let (mut h, first) = h.successor();
    assert!(first.is_empty(), "no peer is attached yet: the events are stored");
    let replay = h.attach(2, last);
    let recovered: Vec<GatewayEvent> = replay
        .iter()
        .filter_map(|e| match e {
            Effect::Send { message: Outgoing::Event { text, .. }, .. } => match decode_gateway_frame(text) {
                Ok(GatewayFrame::Event(envelope)) => Some(envelope.event),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert!(matches!(&recovered[0], GatewayEvent::ToolResolved { tool_call_id, decision: Decision::Expired, .. } if tool_call_id == "toolu_1"));
    assert!(matches!(&recovered[1], GatewayEvent::Error { code: ErrorCode::CliError, .. }));
    assert!(matches!(&recovered[2], GatewayEvent::Result { is_error: true, .. }));
    assert_eq!(recovered[3], status(RunnerState::Stopped));
    assert_eq!(recovered.len(), 4);

    let (mut h, first) = h.successor();
    assert!(first.is_empty(), "recovered once: a third runner finds nothing open");
    assert_eq!(seqs(&h.attach(3, last + 4), 3), Vec::<u64>::new());
    assert!(matches!(h.message("c2", "go on").last(), Some(Effect::SpawnCli { generation: 1, .. })), "the next prompt resumes");
}

#[test]
fn a_peer_gets_what_it_missed_and_only_batch_readers_hear_acks() {
    let mut h = Harness::created();
    h.turn("c1");
    let all = seqs(&h.attach(2, 0), 2);
    assert_eq!(all, (1..=all.len() as u64).collect::<Vec<_>>(), "contiguous from 1");
    assert_eq!(seqs(&h.attach(3, 3), 3), all[3..], "exactly what the cursor misses");
    h.input(Input::Open { conn: 4 });
    h.input(Input::Frame { conn: 4, command: GatewayCommand::Attach { after_seq: 1000, batches: true } });
    let effects = h.line(1, result_line());
    assert_eq!(seqs(&effects, 4), [1001, 1002], "a peer ahead of a lost outbox: seqs continue after its cursor");
    assert_eq!(seqs(&effects, PEER), seqs(&effects, 2), "every attached peer gets every event");

    let acked = h.input(Input::Frame { conn: 4, command: GatewayCommand::Ack { seq: 1002 } });
    assert_eq!(acked, [Effect::Send { conn: 4, message: Outgoing::Acked(1002) }]);
    assert!(h.command(GatewayCommand::Ack { seq: 2 }).is_empty(), "a single-frame reader's writer has no window");
    h.input(Input::Close { conn: 2 });
    assert!(seqs(&h.message("c2", "x"), 2).is_empty(), "a closed connection gets nothing");
}

#[test]
fn bad_input_gets_an_error_and_changes_nothing() {
    let mut h = Harness::fresh();
    let bad = h.input(Input::BadFrame { conn: PEER, code: ErrorCode::BadFrame, message: "not JSON".into() });
    assert_eq!(errors(&bad, PEER), [ErrorCode::BadFrame]);
    assert_eq!(errors(&h.message("c1", "hi"), PEER), [ErrorCode::NotFound], "never created");
    let approve = GatewayCommand::ToolApprove { tool_call_id: "t".into(), scope: Scope::Once, grant: None, by: None };
    assert_eq!(errors(&h.command(approve.clone()), PEER), [ErrorCode::NotFound]);

    let mut h = Harness::created();
    assert_eq!(errors(&h.command(approve), PEER), [ErrorCode::UnknownToolCall], "nothing is pending");
    let empty = GatewayCommand::Message { client_id: "c1".into(), content: vec![] };
    assert_eq!(errors(&h.command(empty), PEER), [ErrorCode::InvalidInput]);
    assert!(events(&h.command(GatewayCommand::Create { config: config() })).is_empty(), "create is idempotent");
    assert!(h.line(0, json!("not an object")).is_empty());

    let mut h = Harness::fresh();
    h.session.cwd_arg = None;
    assert_eq!(errors(&h.command(GatewayCommand::Create { config: config() }), PEER), [ErrorCode::InvalidInput]);
}

#[test]
fn images_are_checked_again_and_reach_the_cli_as_image_blocks() {
    let image = |media_type: &str, data: &str| ContentBlock::Image {
        source: shared_types::ImageSource { kind: "base64".into(), media_type: media_type.into(), data: data.into() },
    };
    let mut h = Harness::created();
    let hostile = [
        vec![image("image/svg+xml", "PHN2Zy8+")],
        vec![image("image/png", "R0lGODlhAQABAAAAACw=")], // a GIF labelled PNG
        vec![image("image/png", "data:image/png;base64,iVBORw0KGgo=")],
        (0..5).map(|_| image("image/png", "iVBORw0KGgo=")).collect(),
    ];
    for content in hostile {
        let effects = h.command(GatewayCommand::Message { client_id: "c-bad".into(), content: content.clone() });
        assert_eq!(errors(&effects, PEER), [ErrorCode::InvalidInput], "{content:?}");
        assert!(events(&effects).is_empty() && actions(&effects).is_empty(), "nothing changes: {content:?}");
    }
    let content = vec![ContentBlock::text("what is this?"), image("image/png", "iVBORw0KGgo=")];
    h.command(GatewayCommand::Message { client_id: "c-img".into(), content: content.clone() });
    let sent = to_cli(&h.spawned(1));
    assert_eq!(sent, [ToCli::Initialize, ToCli::User(content)]);
    assert_eq!(
        sent[1].to_json()["message"]["content"][1],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}),
        "the Messages API's image block on the CLI's stdin"
    );
}

#[test]
fn the_first_answer_wins_and_reaches_the_cli() {
    let mut h = Harness::created();
    h.turn("c1");
    h.line(1, permission_line("r1", "toolu_1"));
    let approve = GatewayCommand::ToolApprove { tool_call_id: "toolu_1".into(), scope: Scope::Once, grant: None, by: Some("ann".into()) };
    let effects = h.command(approve.clone());
    assert!(matches!(&to_cli(&effects)[..], [ToCli::Respond { request_id, response }] if request_id == "r1" && response["behavior"] == "allow"));
    assert!(matches!(&events(&effects)[..], [GatewayEvent::ToolResolved { decision: Decision::Approved, by, .. }] if by == "ann"));
    let late = GatewayCommand::ToolDeny { tool_call_id: "toolu_1".into(), reason: "no".into(), by: Some("bob".into()) };
    assert_eq!(errors(&h.command(late), PEER), [ErrorCode::UnknownToolCall]);
    assert_eq!(h.session.exit_at(), None, "the turn still runs");
}

#[test]
fn kata_changes_are_announced_once() {
    let mut h = Harness::created();
    let state: shared_types::KataState =
        serde_json::from_value(json!({"session_id": "k1", "mode": "task", "phase": "p1", "updated_at_ms": 1})).expect("a kata state");
    let effects = h.input(Input::Kata(Some(Box::new(state.clone()))));
    assert_eq!(events(&effects), [GatewayEvent::Kata { state: state.clone() }]);
    assert!(h.input(Input::Kata(Some(Box::new(state)))).is_empty(), "unchanged");
    assert!(h.input(Input::Kata(None)).is_empty(), "none to read is no news");
}

#[test]
fn stop_stops_the_cli_and_exits_at_once() {
    let mut h = Harness::created();
    h.turn("c1");
    let effects = h.input(Input::Stop);
    assert_eq!(actions(&effects), [&Effect::StopCli, &Effect::Exit]);
    assert_eq!(events(&effects), [status(RunnerState::Stopped)]);
}

const CLAUDE_ID: &str = "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11";

fn resume_config(id: &str) -> SessionConfig {
    serde_json::from_value(json!({"project": "demo", "resume": id})).expect("a config")
}

/// A history as `session_files` reads it: one turn with a tool call.
fn history() -> History {
    let lines = [
        json!({"type": "user", "cwd": "/w", "message": {"role": "user", "content": "Why does the link test flake?"}}),
        json!({"type": "assistant", "message": {"id": "msg_1", "role": "assistant", "content": [{"type": "text", "text": "Let me look."}]}}),
        json!({"type": "assistant", "message": {"id": "msg_1", "role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "tests/link.rs"}}]}}),
        json!({"type": "user", "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "fn main() {}"}]}}),
        json!({"type": "assistant", "message": {"id": "msg_2", "role": "assistant", "content": [{"type": "text", "text": "A race in the ping."}]}}),
    ]
    .map(|l| l.to_string());
    crate::session_files::history_of_lines(lines.iter().map(|l| l.as_bytes()))
}

#[test]
fn a_resumed_session_shows_its_history_and_its_cli_resumes_that_claude_session() {
    let mut h = Harness::fresh();
    let effects = h.command(GatewayCommand::Create { config: resume_config(CLAUDE_ID) });
    let work = h.dir.path().join("work");
    assert_eq!(effects, [Effect::Claim { claude_session_id: CLAUDE_ID.into(), resume_in: Some(work) }], "claimed and read before anything is said");
    let effects = h.input(Input::Claimed { result: Ok(Some(history())) });
    let shown = events(&effects);
    assert!(matches!(&shown[0], GatewayEvent::Created { claude_session_id, .. } if claude_session_id == CLAUDE_ID));
    assert_eq!(shown[1..shown.len() - 1], history().events[..], "the history, as events, between created and the wait");
    assert_eq!(shown.last(), Some(&status(RunnerState::Stopped)));
    let transcript = shared_types::Transcript::from_events(&h.session.outbox.after(0).expect("the outbox"));
    assert_eq!(transcript.items.len(), 4, "the prompt, two replies and the tool card: {:?}", transcript.items);
    assert_eq!(transcript.claude_session_id.as_deref(), Some(CLAUDE_ID));

    let effects = h.message("c1", "and now?");
    let Some(Effect::SpawnCli { launch, .. }) = effects.last() else { panic!("the CLI starts: {effects:?}") };
    assert_eq!(launch.claude_session_id, CLAUDE_ID, "the CLI continues the resumed Claude session");
    assert!(events(&h.command(GatewayCommand::Create { config: resume_config(CLAUDE_ID) })).is_empty(), "create is idempotent");
}

#[test]
fn a_history_with_parts_left_out_says_so_first() {
    let mut h = Harness::fresh();
    h.command(GatewayCommand::Create { config: resume_config(CLAUDE_ID) });
    let history = History { truncated: true, oversize: 2, ..history() };
    let shown = events(&h.input(Input::Claimed { result: Ok(Some(history)) }));
    let GatewayEvent::Error { code: ErrorCode::FrameTooLarge, message, fatal: false } = &shown[1] else { panic!("{shown:?}") };
    assert!(message.contains("last 8 MB") && message.contains("2 entries"), "{message}");
}

#[test]
fn a_refused_resume_ends_the_session_saying_why() {
    let mut h = Harness::fresh();
    h.command(GatewayCommand::Create { config: resume_config(CLAUDE_ID) });
    let why = "the Claude Code session is already open in Duraclaw (session s0)".to_string();
    let shown = events(&h.input(Input::Claimed { result: Err((ErrorCode::Conflict, why.clone())) }));
    assert!(matches!(&shown[..], [
        GatewayEvent::Created { .. },
        GatewayEvent::Error { code: ErrorCode::Conflict, fatal: true, .. },
        GatewayEvent::Status { state: RunnerState::Stopped },
        GatewayEvent::Complete { summary },
    ] if *summary == why), "{shown:?}");
    assert_eq!(errors(&h.message("c1", "hi"), PEER), [ErrorCode::SessionEnded], "no CLI ever runs for it");
    assert!(h.session.record.as_ref().is_some_and(|r| r.ended));
}

#[test]
fn a_resume_of_what_is_not_a_claude_session_id_is_refused_and_creates_nothing() {
    for id in ["", "../../etc/passwd", "0B6D2F8E-4F43-4C2E-9D7E-5D1F6A0C9E11", "--fork-session", "0b6d2f8e4f434c2e9d7e5d1f6a0c9e11"] {
        let mut h = Harness::fresh();
        let effects = h.command(GatewayCommand::Create { config: resume_config(id) });
        assert_eq!(errors(&effects, PEER), [ErrorCode::InvalidInput], "{id:?}");
        assert!(actions(&effects).is_empty() && events(&effects).is_empty(), "{id:?}: {effects:?}");
        assert!(h.session.record.is_none());
        let effects = h.command(GatewayCommand::Create { config: config() });
        assert!(matches!(&effects[..], [Effect::Claim { resume_in: None, .. }]), "a good create still works");
    }
}
