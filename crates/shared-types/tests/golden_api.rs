//! Golden files for the HTTP API: one committed JSON file per body of `shared_types::api`
//! (`tests/golden/api/<body>.json`), the same way `golden.rs` pins every frame kind. A test
//! fails when the serialised form of any body changes, when a body has no golden file, when a
//! file names no body, or when `src/api.rs` declares a type that no golden file covers.
//!
//! To accept an intended change (an added field), run
//! `DURACLAW_BLESS=1 cargo test -p shared-types --test golden_api` and review the diff.

#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::Serialize;
use shared_types::api::*;
use shared_types::browser::PendingRequest;
use shared_types::{ContentBlock, ErrorCode, EventEnvelope, SessionStatus};
use support::*;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/api")
}

/// One body: its golden file's name, the rust types it covers, its serialised form, and a
/// check that the golden text decodes back to the sample.
struct Golden {
    name: &'static str,
    covers: &'static [&'static str],
    json: String,
    decodes: Box<dyn Fn(&str) -> Result<(), String>>,
    /// Whether the body refuses unknown fields (the Worker's strict request bodies).
    strict: bool,
}

fn golden<T>(name: &'static str, covers: &'static [&'static str], sample: T) -> Golden
where
    T: Serialize + DeserializeOwned + PartialEq + Debug + 'static,
{
    let json = serde_json::to_string_pretty(&sample).unwrap() + "\n";
    let decodes = Box::new(move |text: &str| {
        let back: T = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if back == sample {
            Ok(())
        } else {
            Err(format!("decoded as {back:?}, not the sample {sample:?}"))
        }
    });
    Golden { name, covers, json, decodes, strict: false }
}

fn strict(mut g: Golden) -> Golden {
    g.strict = true;
    g
}

fn user() -> User {
    User { id: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(), name: "ada".into(), is_admin: true }
}

fn summary() -> SessionSummary {
    SessionSummary {
        id: "5e55105e55105e55105e55105e55105e".into(),
        title: "Fix the flaky test".into(),
        project: "demo".into(),
        worktree: Some("feature-x".into()),
        status: StatusName::AwaitingApproval,
        cost_usd: 0.0425,
        last_seq: 42,
        created_at: 1_764_000_000_000,
        updated_at: 1_764_000_123_456,
        prompt: Some("Fix the flaky test in tests/link.rs".into()),
    }
}

fn checkout(name: &str, path: &str) -> Checkout {
    Checkout {
        name: name.into(),
        path: path.into(),
        branch: Some(name.into()),
        dirty: true,
        upstream: Some(format!("origin/{name}")),
        ahead: Some(2),
        behind: Some(0),
        error: None,
        worktrees: None,
    }
}

fn detached_without_status() -> Checkout {
    Checkout {
        name: "gone".into(),
        path: "/srv/projects/.worktrees/demo/gone".into(),
        error: Some("cannot run git in /srv/projects/.worktrees/demo/gone: No such file or directory".into()),
        ..Checkout::default()
    }
}

/// A Claude Code session id as the CLI names its files.
const CLAUDE_ID: &str = "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11";

fn claude_session() -> ClaudeSession {
    ClaudeSession {
        id: CLAUDE_ID.into(),
        worktree: Some("feature-x".into()),
        first_prompt: Some("Why does the link test flake on CI?".into()),
        modified_at: 1_764_000_100_000,
        size: 48_213,
        claimed: false,
    }
}

fn events(seqs: std::ops::RangeInclusive<u64>) -> Vec<EventEnvelope> {
    let kinds = ["session.created", "session.user_message", "session.tool.request"];
    seqs.zip(kinds.iter().cycle()).map(|(seq, k)| EventEnvelope { seq, event: sample_event(k) }).collect()
}

/// Every body, with a sample that sets every field (and, where a field may be absent, a second
/// sample that leaves it out).
fn every_body() -> Vec<Golden> {
    vec![
        golden("health", &["Health"], Health::up("orchestrator-worker", "0.1.0")),
        golden("credentials", &["Credentials"], Credentials { name: "ada".into(), password: "correct horse battery".into() }),
        golden(
            "sign_up",
            &["SignUp"],
            SignUp { name: "ada".into(), password: "correct horse battery".into(), setup_code: Some("7f3a-91c2".into()) },
        ),
        golden("sign_up.no_code", &[], SignUp { name: "ada".into(), password: "correct horse battery".into(), setup_code: None }),
        golden("setup_state", &["SetupState"], SetupState { setup_open: true }),
        golden("new_user", &["NewUser"], NewUser { name: "bob".into(), password: "another long one".into(), is_admin: false }),
        strict(golden(
            "password_change",
            &["PasswordChange"],
            PasswordChange { current_password: "correct horse battery".into(), new_password: "a newer horse battery".into() },
        )),
        strict(golden("user_change", &["UserChange"], UserChange { disabled: true })),
        golden("user_answer", &["UserAnswer", "User"], UserAnswer { user: user() }),
        golden("user_changed", &["UserChanged"], UserChanged { user: user(), disabled: true }),
        golden("done", &["Done"], Done::OK),
        golden("session_list", &["SessionList", "SessionSummary"], SessionList { sessions: vec![summary()] }),
        strict(golden("session_rename", &["SessionRename"], SessionRename { title: "Flaky link test".into() })),
        golden("status_name", &["StatusName"], StatusName::ALL.to_vec()),
        strict(golden(
            "new_session",
            &["NewSession", "PolicyRules"],
            NewSession {
                project: "demo".into(),
                worktree: Some("feature-x".into()),
                prompt: "Fix the flaky test in tests/link.rs".into(),
                model: Some("claude-sonnet-4-5".into()),
                permission_mode: Some("acceptEdits".into()),
                policy: Some(PolicyRules {
                    allow: vec!["Read".into(), "Bash(git status*)".into()],
                    deny: vec!["Bash(rm *)".into()],
                }),
                title: Some("Flaky test".into()),
                resume: None,
            },
        )),
        strict(golden(
            "new_session.minimal",
            &[],
            NewSession {
                project: "demo".into(),
                worktree: None,
                prompt: "hi".into(),
                model: None,
                permission_mode: None,
                policy: None,
                title: None,
                resume: None,
            },
        )),
        strict(golden(
            "new_session.resume",
            &[],
            NewSession {
                project: "demo".into(),
                worktree: Some("feature-x".into()),
                prompt: String::new(),
                model: None,
                permission_mode: None,
                policy: None,
                title: None,
                resume: Some(CLAUDE_ID.into()),
            },
        )),
        golden("created", &["Created"], Created { id: "5e55105e55105e55105e55105e55105e".into() }),
        golden(
            "session_detail",
            &["SessionDetail", "SessionState"],
            SessionDetail {
                session: summary(),
                state: SessionState {
                    meta: meta(),
                    status: SessionStatus::Disconnected { since: 1_764_000_000_500 },
                    last_seq: 42,
                    pending: vec![
                        PendingRequest::Tool { tool_call: tool_call() },
                        PendingRequest::Question { tool_call_id: "toolu_02".into(), questions: questions() },
                    ],
                },
            },
        ),
        golden("events_page", &["EventsPage"], EventsPage { events: events(41..=43), last_seq: 57 }),
        golden(
            "create_session",
            &["CreateSession"],
            CreateSession {
                meta: meta(),
                config: config(),
                client_id: "c-8d1f".into(),
                prompt: vec![ContentBlock::text("Fix the flaky test")],
            },
        ),
        golden(
            "end_sockets",
            &["EndSockets"],
            EndSockets { user_id: user().id, only: Some("9a8b".into()), except: None, reason: "logged out".into() },
        ),
        golden("sockets_closed", &["SocketsClosed"], SocketsClosed { closed: 2 }),
        golden(
            "project_list",
            &["ProjectList", "Checkout"],
            vec![
                Checkout {
                    worktrees: Some(vec![checkout("feature-x", "/srv/projects/.worktrees/demo/feature-x"), detached_without_status()]),
                    ..checkout("main", "/srv/projects/demo")
                },
                Checkout { worktrees: Some(Vec::new()), ..checkout("empty", "/srv/projects/empty") },
            ],
        ),
        golden("new_worktree", &["NewWorktree"], NewWorktree { branch: "feature/x".into(), base: Some("main".into()) }),
        golden("new_worktree.no_base", &[], NewWorktree { branch: "feature/x".into(), base: None }),
        golden("worktree_created", &[], checkout("feature-x", "/srv/projects/.worktrees/demo/feature-x")),
        golden(
            "dir_listing",
            &["DirListing", "DirEntry", "EntryKind"],
            EntryKind::ALL
                .iter()
                .map(|&kind| DirEntry {
                    name: format!("{kind:?}").to_lowercase(),
                    kind,
                    size: (kind == EntryKind::File).then_some(1234),
                })
                .collect::<Vec<_>>(),
        ),
        golden(
            "file_content",
            &["FileContent"],
            FileContent { path: "src/lib.rs".into(), size: 12, binary: false, content: Some("fn main() {}".into()) },
        ),
        golden("file_content.binary", &[], FileContent { path: "logo.png".into(), size: 4096, binary: true, content: None }),
        golden(
            "diff_files",
            &["DiffFiles", "FileDiff", "DiffStatus"],
            DiffStatus::ALL
                .iter()
                .map(|&status| FileDiff {
                    path: format!("{status:?}.txt").to_lowercase(),
                    status,
                    additions: (status != DiffStatus::Untracked).then_some(3),
                    deletions: (status != DiffStatus::Untracked).then_some(1),
                    patch: if status == DiffStatus::Untracked { String::new() } else { "@@ -1 +1,3 @@\n-a\n+b\n+c\n+d\n".into() },
                })
                .collect::<Vec<_>>(),
        ),
        golden("kata_status", &["KataStatus"], KataStatus { kata_state: Some(kata_state()) }),
        golden("kata_status.none", &[], KataStatus { kata_state: None }),
        golden(
            "claude_session_list",
            &["ClaudeSessionList", "ClaudeSession"],
            ClaudeSessionList {
                sessions: vec![
                    claude_session(),
                    ClaudeSession {
                        id: "7c1e0a52-93d4-4b8e-a0f1-2d6c5b4a3e90".into(),
                        worktree: None,
                        first_prompt: None,
                        modified_at: 1_763_990_000_000,
                        size: 512,
                        claimed: true,
                    },
                ],
                total: 2,
            },
        ),
        golden(
            "claude_session_detail",
            &["ClaudeSessionDetail"],
            ClaudeSessionDetail {
                session: claude_session(),
                cwd: "/srv/projects/.worktrees/demo/feature-x".into(),
                prompts: 3,
                history_truncated: false,
            },
        ),
        golden(
            "error_body",
            &["ErrorBody", "ErrorDetail"],
            ErrorBody::new(ErrorCode::InvalidInput, "invalid worktree name \"../x\": use 1-100 of letters, digits, '.', '_', '-'"),
        ),
    ]
}

/// A new variant of these fails to compile here, so its golden sample (`ALL`) is updated too.
#[allow(dead_code)]
fn every_variant_is_in_all(s: StatusName, k: EntryKind, d: DiffStatus) {
    use DiffStatus as D;
    use EntryKind as K;
    use StatusName as S;
    match s {
        S::Starting | S::Running | S::AwaitingApproval | S::AwaitingAnswer | S::Idle | S::Disconnected | S::Ended | S::Error => {}
    }
    match k {
        K::File | K::Dir | K::Symlink | K::Other => {}
    }
    match d {
        D::Added | D::Modified | D::Deleted | D::Renamed | D::Copied | D::TypeChanged | D::Untracked => {}
    }
}

#[test]
fn every_api_body_matches_its_committed_golden_file() {
    let bless = std::env::var_os("DURACLAW_BLESS").is_some();
    let mut failures = Vec::new();
    for body in every_body() {
        let path = golden_dir().join(format!("{}.json", body.name));
        match std::fs::read_to_string(&path) {
            Ok(committed) if committed == body.json => {}
            _ if bless => {
                std::fs::create_dir_all(golden_dir()).unwrap();
                std::fs::write(&path, &body.json).unwrap();
            }
            Ok(committed) => failures.push(format!("api/{}.json changed:\n--- committed\n{committed}+++ now\n{}", body.name, body.json)),
            Err(_) => failures.push(format!("api/{}.json is missing", body.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the change is intended: DURACLAW_BLESS=1 cargo test -p shared-types --test golden_api",
        failures.join("\n")
    );
}

#[test]
fn every_api_golden_file_names_a_body() {
    let expected: BTreeSet<String> = every_body().iter().map(|b| format!("{}.json", b.name)).collect();
    let found: BTreeSet<String> = std::fs::read_dir(golden_dir())
        .expect("tests/golden/api exists")
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let stale: Vec<_> = found.difference(&expected).collect();
    assert!(stale.is_empty(), "golden files with no body: {stale:?}");
}

#[test]
fn every_api_golden_file_decodes_to_its_sample() {
    for body in every_body() {
        let committed = std::fs::read_to_string(golden_dir().join(format!("{}.json", body.name))).unwrap_or_default();
        if let Err(e) = (body.decodes)(&committed) {
            panic!("api/{}.json: {e}", body.name);
        }
    }
}

/// Answers grow by added fields, so readers must ignore what they do not know; the strict
/// request bodies must refuse it instead (a typo in a setting is a 400, not silently ignored).
#[test]
fn added_fields_are_tolerated_by_answers_and_refused_by_strict_requests() {
    for body in every_body() {
        let mut value: serde_json::Value = serde_json::from_str(&body.json).unwrap();
        let target = match &mut value {
            serde_json::Value::Array(items) => items.first_mut(),
            other => Some(other),
        };
        let Some(serde_json::Value::Object(object)) = target else { continue };
        object.insert("from_the_future".into(), serde_json::json!({"x": 1}));
        let result = (body.decodes)(&value.to_string());
        match (body.strict, result) {
            (false, Err(e)) => panic!("api/{}.json with an added field was refused: {e}", body.name),
            (true, Ok(())) => panic!("api/{}.json with an unknown field was accepted", body.name),
            (true, Err(e)) => assert!(e.contains("unknown field"), "api/{}.json: {e}", body.name),
            (false, Ok(())) => {}
        }
    }
}

/// Every public type that `src/api.rs` declares is covered by a golden file, so a new body
/// cannot be added without one.
#[test]
fn every_type_in_the_api_module_has_a_golden_file() {
    let source = include_str!("../src/api.rs");
    let declared: BTreeSet<&str> = source
        .lines()
        .filter_map(|line| {
            let rest = ["pub struct ", "pub enum ", "pub type "].iter().find_map(|p| line.strip_prefix(p))?;
            rest.split(|c: char| !c.is_alphanumeric() && c != '_').next()
        })
        .chain(source.lines().filter_map(|l| l.strip_prefix("pub use crate::error::{")).flat_map(|l| {
            l.trim_end_matches("};").split(", ").collect::<Vec<_>>()
        }))
        .collect();
    let covered: BTreeSet<&str> = every_body().iter().flat_map(|b| b.covers.iter().copied()).collect();
    let missing: Vec<_> = declared.difference(&covered).collect();
    assert!(missing.is_empty(), "api types with no golden file: {missing:?} (add a sample to every_body)");
    let unknown: Vec<_> = covered.difference(&declared).collect();
    assert!(unknown.is_empty(), "golden files claim types that src/api.rs does not declare: {unknown:?}");
}

/// The bare name of each status is exactly what the socket's status and the D1 index use.
#[test]
fn status_names_agree_with_session_status() {
    let statuses = [
        SessionStatus::Starting,
        SessionStatus::Running,
        SessionStatus::AwaitingApproval,
        SessionStatus::AwaitingAnswer,
        SessionStatus::Idle,
        SessionStatus::Disconnected { since: 5 },
        SessionStatus::Ended,
        SessionStatus::Error,
    ];
    for status in statuses {
        let name = StatusName::from(status);
        assert_eq!(name.as_str(), status.name());
        assert_eq!(serde_json::to_value(name).unwrap(), serde_json::json!(status.name()));
        assert_eq!(name.needs_user(), status.needs_user());
    }
    let unknown = serde_json::from_str::<StatusName>("\"sleeping\"");
    assert!(unknown.is_err(), "an unknown status name must be refused, not guessed");
}

/// A policy as the dashboard sends it parses back to the same rules in the Worker.
#[test]
fn policy_rules_round_trip_through_their_text() {
    let policy = config().policy;
    let rules = PolicyRules::from(&policy);
    assert_eq!(rules.allow, ["Bash(git status*)", "Read"]);
    let parsed: Vec<shared_types::PermissionRule> = rules.allow.iter().map(|r| r.parse().unwrap()).collect();
    assert_eq!(parsed, policy.allow);
}

/// The names the dashboard puts in attributes and labels are the wire names.
#[test]
fn entry_kind_and_diff_status_names_are_their_wire_names() {
    for kind in EntryKind::ALL {
        assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(kind.as_str()));
    }
    for status in DiffStatus::ALL {
        assert_eq!(serde_json::to_value(status).unwrap(), serde_json::json!(status.as_str()));
    }
}

/// The Worker reads `PATCH /api/sessions/:id` through `SessionRename::from_value`: it takes and
/// refuses what the derived decoder does, with the same kind of message; the one difference is
/// serde's struct-as-array form (`["ok"]`), which the derived decoder takes and `from_value`
/// refuses (no browser sends it).
#[test]
fn session_rename_from_value_agrees_with_the_derived_decoder() {
    let bodies = [
        r#"{"title":"ok"}"#,
        r#"{"title":""}"#,
        r#"{"title":"a\nb"}"#,
        r#"{"title":42}"#,
        r#"{"title":null}"#,
        r#"{"title":["x"]}"#,
        r#"{}"#,
        r#"{"title":"ok","owner_id":"x"}"#,
        r#"{"owner_id":"x"}"#,
        r#"["ok"]"#,
        r#""ok""#,
        r#"null"#,
    ];
    for body in bodies {
        let derived = serde_json::from_str::<SessionRename>(body).map_err(|e| e.to_string());
        let by_value = SessionRename::from_value(serde_json::from_str(body).unwrap());
        match (&derived, &by_value) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{body}"),
            (Err(a), Err(b)) => {
                let kind = |m: &str| ["unknown field", "missing field", "invalid type"].into_iter().find(|k| m.contains(k));
                assert_eq!(kind(a), kind(b), "{body}: derived {a:?}, from_value {b:?}");
                assert!(kind(b).is_some(), "{body}: {b}");
            }
            (Ok(_), Err(b)) if body.starts_with('[') => assert!(b.contains("invalid type"), "{body}: {b}"),
            _ => panic!("{body}: derived {derived:?}, from_value {by_value:?}"),
        }
    }
}

/// A body without `resume` (what every client sent before it existed) still reads, as a new
/// session; with it, the id comes through.
#[test]
fn new_session_bodies_without_resume_still_parse() {
    let old = r#"{"project":"demo","worktree":"feature-x","prompt":"hi","model":"m","permission_mode":"plan","policy":{"allow":["Read"]},"title":"t"}"#;
    let body: NewSession = serde_json::from_str(old).unwrap();
    assert_eq!(body.resume, None);
    assert_eq!(NewSession::from_value(serde_json::from_str(old).unwrap()), Ok(body));
    let resumed = std::fs::read_to_string(golden_dir().join("new_session.resume.json")).unwrap();
    assert_eq!(serde_json::from_str::<NewSession>(&resumed).unwrap().resume.as_deref(), Some(CLAUDE_ID));
}

/// The Worker reads `POST /api/sessions` through `NewSession::from_value`: it takes and refuses
/// what the derived decoder does, with the same kind of message (serde's struct-as-array form
/// aside, as for the rename body; and a duplicated key, which `Value` keeps the last of).
#[test]
fn new_session_from_value_agrees_with_the_derived_decoder() {
    let bodies = [
        r#"{"project":"demo","prompt":"hi"}"#,
        r#"{"project":"demo","prompt":""}"#,
        r#"{"project":"demo","prompt":"","resume":"0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11"}"#,
        r#"{"project":"demo","prompt":"hi","resume":null,"worktree":null,"title":null,"model":null,"permission_mode":null,"policy":null}"#,
        r#"{"project":"demo","worktree":"w","prompt":"hi","model":"m","permission_mode":"plan","policy":{"allow":["Read"],"deny":[]},"title":"t","resume":"r"}"#,
        r#"{"project":"demo","prompt":"hi","policy":{}}"#,
        r#"{"project":"demo","prompt":"hi","policy":{"deny":["Bash(rm *)"]}}"#,
        r#"{"project":"demo","prompt":"hi","policy":{"allow":"Read"}}"#,
        r#"{"project":"demo","prompt":"hi","policy":{"allow":[1]}}"#,
        r#"{"project":"demo","prompt":"hi","policy":{"allow":null}}"#,
        r#"{"project":"demo","prompt":"hi","policy":{"allow":[],"ask":[]}}"#,
        r#"{"project":"demo","prompt":"hi","resume":42}"#,
        r#"{"project":"demo","prompt":"hi","resume":{"id":"x"}}"#,
        r#"{"project":"demo","prompt":"hi","owner_id":"x"}"#,
        r#"{"project":"demo"}"#,
        r#"{"prompt":"hi"}"#,
        r#"{"project":null,"prompt":"hi"}"#,
        r#"{"project":"demo","prompt":7}"#,
        r#"{}"#,
        r#"[]"#,
        r#""demo""#,
        r#"null"#,
    ];
    for body in bodies {
        let derived = serde_json::from_str::<NewSession>(body).map_err(|e| e.to_string());
        let by_value = NewSession::from_value(serde_json::from_str(body).unwrap());
        match (&derived, &by_value) {
            (_, Err(b)) if body.starts_with('[') => assert!(b.contains("invalid type"), "{body}: {b}"),
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{body}"),
            (Err(a), Err(b)) => {
                let kind = |m: &str| ["unknown field", "missing field", "invalid type"].into_iter().find(|k| m.contains(k));
                assert_eq!(kind(a), kind(b), "{body}: derived {a:?}, from_value {b:?}");
                assert!(kind(b).is_some(), "{body}: {b}");
            }
            _ => panic!("{body}: derived {derived:?}, from_value {by_value:?}"),
        }
    }
}

/// Only the CLI's own file names pass as a Claude session id: nothing that could leave a
/// directory, no other UUID spelling, no option.
#[test]
fn claude_session_ids_are_lowercase_hyphenated_uuids_only() {
    assert!(is_claude_session_id(CLAUDE_ID));
    let hostile = [
        "",
        "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e1",
        "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e111",
        "0B6D2F8E-4F43-4C2E-9D7E-5D1F6A0C9E11",
        "0b6d2f8e4f434c2e9d7e5d1f6a0c9e11",
        "{0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11}",
        "urn:uuid:0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11",
        "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e1g",
        "../../../../../../etc/passwd.jsonl00",
        "0b6d2f8e/4f43-4c2e-9d7e-5d1f6a0c9e11",
        "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e1\0",
        "--resume-4f43-4c2e-9d7e-5d1f6a0c9e11",
        "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9é1",
        "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e1\n",
    ];
    for id in hostile {
        assert!(!is_claude_session_id(id), "{id:?} passed");
    }
}
