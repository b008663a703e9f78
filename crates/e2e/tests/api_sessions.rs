//! The sessions API against `wrangler dev` (local D1 and Durable Objects): creating a session
//! writes the D1 row and creates its SessionDO; every `/api/sessions/:id` route, the WebSocket
//! upgrade included, is 401 without a cookie and 404 for another user's session; the upgrade
//! refuses a foreign `Origin` (403); bad input is a 400 with the error body and creates nothing.
//!
//! `#[ignore]`: needs the built Worker and wrangler; scripts/test.sh runs it in its E2E phase.

mod api_support;

use api_support::{json_str, upgrade_headers, Worker};

const EXTRA_ORIGIN: &str = "https://duraclaw.example.com";

fn create(w: &Worker, cookie: &str, body: &str) -> String {
    let r = w.post("/api/sessions", Some(cookie), body);
    assert_eq!(r.status, 201, "{}", r.body);
    let id = json_str(&r.body, "id").unwrap();
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "id {id}");
    id
}

fn ws(w: &Worker, id: &str, cookie: Option<&str>, origin: Option<&str>) -> api_support::Resp {
    let headers = upgrade_headers(origin);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    w.send("GET", &format!("/api/sessions/{id}/ws"), cookie, None, &headers)
}

#[test]
#[ignore = "end-to-end: needs build/index.js and wrangler (scripts/test.sh)"]
fn session_routes_check_the_cookie_the_owner_and_the_origin() {
    // no gateway: sessions are created and wait for their link (the DO redials in the background)
    let w = Worker::start(&[("ALLOWED_ORIGINS", &format!("https://other.example.com, {EXTRA_ORIGIN}"))]);
    let alice = w.signup("alice");
    let bob = w.create_user(&alice, "bob");

    // bad input: 400 with the error body, and nothing created
    let bad = [
        ("{not json", "bad_frame"),
        (r#"{"project":"demo"}"#, "bad_frame"),
        (r#"{"project":"demo","prompt":"hi","surprise":1}"#, "bad_frame"),
        (r#"{"project":"demo","prompt":"   "}"#, "invalid_input"),
        (r#"{"project":"../etc","prompt":"hi"}"#, "invalid_input"),
        (r#"{"project":"demo","worktree":"a/b","prompt":"hi"}"#, "invalid_input"),
        (r#"{"project":"demo","prompt":"hi","policy":{"allow":["Bash(git status"]}}"#, "invalid_input"),
        (r#"{"project":"demo","prompt":"hi","policy":{"deny":["not a rule"]}}"#, "invalid_input"),
        (r#"{"project":"demo","prompt":"hi","permission_mode":"yolo"}"#, "invalid_input"),
        (r#"{"project":"demo","prompt":"hi","model":"two words"}"#, "invalid_input"),
    ];
    for (body, code) in bad {
        let r = w.post("/api/sessions", Some(&alice), body);
        assert_eq!((r.status, r.error_code().as_str()), (400, code), "{body}: {}", r.body);
    }
    let long_prompt = format!(r#"{{"project":"demo","prompt":"{}"}}"#, "x".repeat(100_001));
    w.post("/api/sessions", Some(&alice), &long_prompt).expect_error(400, "invalid_input");
    assert_eq!(w.get("/api/sessions", Some(&alice)).body, r#"{"sessions":[]}"#);

    // alice's sessions
    let first = create(&w, &alice, r#"{"project":"demo","prompt":"list the files\nthen stop"}"#);
    let second = create(
        &w,
        &alice,
        r#"{"project":"demo","worktree":"feature-x","prompt":"fix it","title":"Fix","model":"claude-sonnet-4-5",
            "permission_mode":"acceptEdits","policy":{"allow":["Read","Bash(git status*)"],"deny":["Bash(rm *)"]}}"#,
    );
    let list = w.get("/api/sessions", Some(&alice));
    assert_eq!(list.status, 200, "{}", list.body);
    let (at_first, at_second) = (list.body.find(&first).unwrap(), list.body.find(&second).unwrap());
    assert!(at_second < at_first, "newest first: {}", list.body);
    assert!(list.body.contains(r#""title":"list the files""#) && list.body.contains(r#""status":"starting""#), "{}", list.body);
    assert!(!list.body.contains("owner_id"), "{}", list.body);
    assert_eq!(w.get("/api/sessions", Some(&bob)).body, r#"{"sessions":[]}"#);

    let r = w.get(&format!("/api/sessions/{second}"), Some(&alice));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#""session":{"#) && r.body.contains(r#""state":{"#), "{}", r.body);
    assert!(r.body.contains(r#""worktree":"feature-x""#) && r.body.contains(r#""title":"Fix""#), "{}", r.body);
    let r = w.get(&format!("/api/sessions/{second}/events?after=0&limit=10"), Some(&alice));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#""events":"#), "{}", r.body);
    w.get(&format!("/api/sessions/{second}/events?after=x"), Some(&alice)).expect_error(400, "invalid_input");
    w.get(&format!("/api/sessions/{second}/events?limit=0"), Some(&alice)).expect_error(400, "invalid_input");

    // every session route: 401 without a cookie, 404 for someone else's session or no session
    let missing = "0123456789abcdef0123456789abcdef";
    for path in ["", "/events"] {
        for id in [&first, &second] {
            w.get(&format!("/api/sessions/{id}{path}"), None).expect_error(401, "unauthorized");
            w.get(&format!("/api/sessions/{id}{path}"), Some(&bob)).expect_error(404, "not_found");
        }
        w.get(&format!("/api/sessions/{missing}{path}"), Some(&alice)).expect_error(404, "not_found");
        w.get(&format!("/api/sessions/NOT-AN-ID{path}"), Some(&alice)).expect_error(404, "not_found");
    }
    w.get("/api/sessions", None).expect_error(401, "unauthorized");
    w.post("/api/sessions", None, r#"{"project":"demo","prompt":"hi"}"#).expect_error(401, "unauthorized");

    // the WebSocket upgrade: cookie, Origin, owner, then the DO's 101
    let own = w.origin();
    ws(&w, &first, None, Some(&own)).expect_error(401, "unauthorized");
    ws(&w, &first, Some(&alice), Some("https://evil.example.com")).expect_error(403, "forbidden");
    ws(&w, &first, Some(&alice), Some("null")).expect_error(403, "forbidden");
    ws(&w, &first, Some(&bob), Some(&own)).expect_error(404, "not_found");
    ws(&w, missing, Some(&alice), Some(&own)).expect_error(404, "not_found");
    for origin in [Some(own.as_str()), Some(EXTRA_ORIGIN), None] {
        let r = ws(&w, &first, Some(&alice), origin);
        assert_eq!(r.status, 101, "origin {origin:?}: {r:?}");
    }
    let r = w.get(&format!("/api/sessions/{first}/ws"), Some(&alice));
    r.expect_error(400, "invalid_input");
}

fn patch(w: &Worker, id: &str, cookie: Option<&str>, body: &str) -> api_support::Resp {
    w.send("PATCH", &format!("/api/sessions/{id}"), cookie, Some(body), &[("content-type", "application/json")])
}

/// The title in `GET /api/sessions/:id` (the D1 row).
fn title_of(w: &Worker, id: &str, cookie: &str) -> String {
    let r = w.get(&format!("/api/sessions/{id}"), Some(cookie));
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["session"]["title"].as_str().unwrap().to_string()
}

#[test]
#[ignore = "end-to-end: needs build/index.js and wrangler (scripts/test.sh)"]
fn rename_keeps_the_owners_title_and_refuses_bad_ones() {
    let w = Worker::start(&[]);
    let alice = w.signup("alice");
    let bob = w.create_user(&alice, "bob");
    let id = create(&w, &alice, r#"{"project":"demo","prompt":"find the flaky test\nand fix it"}"#);
    assert_eq!(title_of(&w, &id, &alice), "find the flaky test");
    // the first prompt is on the list row, for search
    let list = w.get("/api/sessions", Some(&alice));
    assert!(list.body.contains(r#""prompt":"find the flaky test\nand fix it""#), "{}", list.body);

    // hostile titles: 400 with a clear message, nothing changed
    let over = "x".repeat(201);
    let hostile: &[(serde_json::Value, &str, &str)] = &[
        (serde_json::json!({"title": ""}), "invalid_input", "empty"),
        (serde_json::json!({"title": "   \u{a0} "}), "invalid_input", "empty"),
        (serde_json::json!({"title": over}), "invalid_input", "over 200"),
        (serde_json::json!({"title": "two\nlines"}), "invalid_input", "control"),
        (serde_json::json!({"title": "tab\there"}), "invalid_input", "control"),
        (serde_json::json!({"title": "\u{1b}[31mred"}), "invalid_input", "control"),
        (serde_json::json!({"title": "nul\u{0}byte"}), "invalid_input", "control"),
        (serde_json::json!({"title": "del\u{7f}"}), "invalid_input", "control"),
        (serde_json::json!({"title": "c1\u{85}next line"}), "invalid_input", "control"),
        (serde_json::json!({"title": 42}), "bad_frame", "invalid type"),
        (serde_json::json!({"title": null}), "bad_frame", "invalid type"),
        (serde_json::json!({}), "bad_frame", "missing field"),
        (serde_json::json!({"title": "ok", "owner_id": "x"}), "bad_frame", "unknown field"),
    ];
    for (body, code, says) in hostile {
        let r = patch(&w, &id, Some(&alice), &body.to_string());
        assert_eq!((r.status, r.error_code().as_str()), (400, *code), "{body}: {}", r.body);
        assert!(r.body.contains(says), "{body}: the error says {says:?}: {}", r.body);
        assert_eq!(title_of(&w, &id, &alice), "find the flaky test", "{body} changed nothing");
    }
    patch(&w, &id, Some(&alice), "{not json").expect_error(400, "bad_frame");

    // the owner renames: trimmed, unicode kept, the answer is the row
    let r = patch(&w, &id, Some(&alice), &serde_json::json!({"title": "  Flaky test — fixed ✓  "}).to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#""title":"Flaky test — fixed ✓""#) && r.body.contains(&id), "{}", r.body);
    assert_eq!(title_of(&w, &id, &alice), "Flaky test — fixed ✓");
    let exactly = "é".repeat(200);
    patch(&w, &id, Some(&alice), &serde_json::json!({"title": exactly}).to_string());
    assert_eq!(title_of(&w, &id, &alice), exactly, "200 characters (400 bytes) is the limit, not over it");

    // only the owner: another user and an unknown id are 404, no cookie 401; nothing changed
    let evil = serde_json::json!({"title": "pwned"}).to_string();
    patch(&w, &id, Some(&bob), &evil).expect_error(404, "not_found");
    patch(&w, "0123456789abcdef0123456789abcdef", Some(&alice), &evil).expect_error(404, "not_found");
    patch(&w, "not-a-session-id", Some(&alice), &evil).expect_error(404, "not_found");
    patch(&w, &id, None, &evil).expect_error(401, "unauthorized");
    assert_eq!(title_of(&w, &id, &alice), exactly);

    // an explicit title at creation follows the same rules
    w.post("/api/sessions", Some(&alice), r#"{"project":"demo","prompt":"hi","title":"a\u0007bell"}"#)
        .expect_error(400, "invalid_input");
}
