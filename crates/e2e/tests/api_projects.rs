//! The projects API relayed to a real `cc-gateway serve` (a real git repository under its
//! projects root): listings, files, diffs, kata status and worktree creation pass through with
//! the gateway's status and error body; a missing cookie is 401; a stopped gateway is 502
//! `gateway_unavailable`; a wrong gateway secret is 502 too (never a 401 that would log the
//! user out). Claude Code sessions started on the gateway's machine are listed, and a session
//! that resumes one is checked with the gateway first: its 400, 404 and 409 pass through and
//! nothing is created.
//!
//! `#[ignore]`: needs the built Worker, wrangler and `cargo build -p cc-gateway`
//! (scripts/test.sh runs it in its E2E phase).

mod api_support;

use api_support::{json_str, Gateway, Worker, GATEWAY_TOKEN, STEP};

#[test]
#[ignore = "end-to-end: needs build/index.js, wrangler and target/debug/cc-gateway (scripts/test.sh)"]
fn projects_are_relayed_to_the_gateway() {
    let mut gateway = Gateway::start();
    let gateway_url = gateway.url();
    let w = Worker::start(&[("CC_GATEWAY_URL", &gateway_url), ("CC_GATEWAY_SECRET", GATEWAY_TOKEN)]);
    let alice = w.signup("alice");

    w.get("/api/projects", None).expect_error(401, "unauthorized");

    let r = w.get("/api/projects", Some(&alice));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.starts_with('[') && r.body.contains(r#""name":"demo""#), "{}", r.body);

    let r = w.get("/api/projects/demo/files", Some(&alice));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("README.md"), "{}", r.body);
    let r = w.get("/api/projects/demo/file?path=README.md", Some(&alice));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("# demo"), "{}", r.body);
    assert_eq!(w.get("/api/projects/demo/diff", Some(&alice)).status, 200);
    assert_eq!(w.get("/api/projects/demo/kata-status", Some(&alice)).status, 200);

    // a worktree made through the API, then browsed
    let r = w.post("/api/projects/demo/worktrees", Some(&alice), r#"{"branch":"feature-x"}"#);
    assert_eq!(r.status, 201, "{}", r.body);
    let r = w.get("/api/projects/demo/files?worktree=feature-x", Some(&alice));
    assert_eq!(r.status, 200, "{}", r.body);
    w.post("/api/projects/demo/worktrees", Some(&alice), r#"{"branch":"feature-x"}"#).expect_error(409, "conflict");

    // the gateway's own refusals pass through, status and body
    w.get("/api/projects/nope/files", Some(&alice)).expect_error(404, "not_found");
    w.get("/api/projects/demo/file?path=../../etc/passwd", Some(&alice)).expect_error(400, "invalid_input");
    w.get("/api/projects/demo/file?path=%2e%2e%2fsecret", Some(&alice)).expect_error(400, "invalid_input");
    w.get("/api/projects/..%2f..%2fetc/files", Some(&alice)).expect_error(400, "invalid_input");
    w.post("/api/projects/demo/worktrees", Some(&alice), "{bad").expect_error(400, "invalid_input");

    // the gateway gone: 502 that says what to check
    gateway.stop();
    let r = w.get("/api/projects", Some(&alice));
    r.expect_error(502, "gateway_unavailable");
    assert!(r.body.contains("CC_GATEWAY_URL"), "{}", r.body);
    drop(w);

    // a wrong secret is the operator's problem, not the user's session: 502, not 401
    let gateway = Gateway::start();
    let w = Worker::start(&[("CC_GATEWAY_URL", &gateway.url()), ("CC_GATEWAY_SECRET", "wrong-secret")]);
    let alice = w.signup("alice");
    let r = w.get("/api/projects", Some(&alice));
    r.expect_error(502, "gateway_unavailable");
    assert!(r.body.contains("CC_GATEWAY_SECRET"), "{}", r.body);
}

/// A Claude Code session as the CLI records it (the lines that matter: a prompt, a reply).
fn plant_claude_session(gateway: &Gateway, id: &str, prompt: &str) {
    let dir = gateway.claude_session_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let cwd = gateway.root.join("projects/demo").canonicalize().unwrap();
    let lines = [
        serde_json::json!({"type": "user", "cwd": cwd, "sessionId": id, "message": {"role": "user", "content": prompt}}),
        serde_json::json!({"type": "assistant", "cwd": cwd, "sessionId": id,
            "message": {"id": "msg_1", "role": "assistant", "content": [{"type": "text", "text": "Rayleigh scattering."}]}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join(format!("{id}.jsonl")), text).unwrap();
}

#[test]
#[ignore = "end-to-end: needs build/index.js, wrangler and target/debug/cc-gateway (scripts/test.sh)"]
fn claude_sessions_are_listed_and_a_resume_is_checked_with_the_gateway() {
    let gateway = Gateway::start();
    let w = Worker::start(&[("CC_GATEWAY_URL", &gateway.url()), ("CC_GATEWAY_SECRET", GATEWAY_TOKEN)]);
    let alice = w.signup("alice");
    let id = "0b6d2f8e-4f43-4c2e-9d7e-5d1f6a0c9e11";
    plant_claude_session(&gateway, id, "Why is the sky blue?");

    w.get("/api/projects/demo/claude-sessions", None).expect_error(401, "unauthorized");
    let r = w.get("/api/projects/demo/claude-sessions", Some(&alice));
    assert_eq!(r.status, 200, "{}", r.body);
    let list: shared_types::api::ClaudeSessionList = serde_json::from_str(&r.body).unwrap();
    assert_eq!(list.sessions.len(), 1, "{}", r.body);
    assert_eq!((list.sessions[0].id.as_str(), list.sessions[0].first_prompt.as_deref()), (id, Some("Why is the sky blue?")));
    w.get("/api/projects/nope/claude-sessions", Some(&alice)).expect_error(404, "not_found");

    // refused by the gateway, passed on, nothing created
    let bad = [
        (r#"{"project":"demo","prompt":"","resume":"not-a-uuid"}"#.to_string(), 400, "invalid_input"),
        (r#"{"project":"demo","prompt":"","resume":"../../etc/passwd"}"#.to_string(), 400, "invalid_input"),
        (r#"{"project":"demo","prompt":"","resume":"7c1e0a52-93d4-4b8e-a0f1-2d6c5b4a3e90"}"#.to_string(), 404, "not_found"),
        (format!(r#"{{"project":"demo","worktree":"nope","prompt":"","resume":"{id}"}}"#), 404, "not_found"),
        (format!(r#"{{"project":"nope","prompt":"","resume":"{id}"}}"#), 404, "not_found"),
        (format!(r#"{{"project":"demo","prompt":"   ","resume":"{id}"}}"#), 400, "invalid_input"),
        (r#"{"project":"demo","prompt":"","resume":5}"#.to_string(), 400, "bad_frame"),
        (r#"{"project":"demo","prompt":""}"#.to_string(), 400, "invalid_input"),
    ];
    for (body, status, code) in &bad {
        let r = w.post("/api/sessions", Some(&alice), body);
        assert_eq!((r.status, r.error_code().as_str()), (*status, *code), "{body}: {}", r.body);
    }
    assert_eq!(w.get("/api/sessions", Some(&alice)).body, r#"{"sessions":[]}"#);

    // resumed with no prompt: named and searchable by its first prompt
    let r = w.post("/api/sessions", Some(&alice), &format!(r#"{{"project":"demo","prompt":"","resume":"{id}"}}"#));
    assert_eq!(r.status, 201, "{}", r.body);
    let session = json_str(&r.body, "id").unwrap();
    let detail = |w: &Worker| {
        let r = w.get(&format!("/api/sessions/{session}"), Some(&alice));
        assert_eq!(r.status, 200, "{}", r.body);
        serde_json::from_str::<shared_types::api::SessionDetail>(&r.body).unwrap()
    };
    let row = detail(&w).session;
    assert_eq!((row.title.as_str(), row.prompt.as_deref()), ("Why is the sky blue?", Some("Why is the sky blue?")));

    // once its runner has it (the history told, waiting for a prompt), a second resume is 409
    let deadline = std::time::Instant::now() + STEP;
    while detail(&w).state.last_seq < 4 {
        assert!(std::time::Instant::now() < deadline, "the resumed session's history never reached the DO: {:?}", detail(&w));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(detail(&w).state.status, shared_types::SessionStatus::Idle);
    let r = w.post("/api/sessions", Some(&alice), &format!(r#"{{"project":"demo","prompt":"","resume":"{id}"}}"#));
    r.expect_error(409, "conflict");
    assert!(r.body.contains(&session), "names the session that has it: {}", r.body);
    let list = w.get("/api/sessions", Some(&alice)).body;
    assert_eq!(list.matches(r#""id":""#).count(), 1, "nothing else created: {list}");
}
