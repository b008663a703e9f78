//! The projects API relayed to a real `cc-gateway serve` (a real git repository under its
//! projects root): listings, files, diffs, kata status and worktree creation pass through with
//! the gateway's status and error body; a missing cookie is 401; a stopped gateway is 502
//! `gateway_unavailable`; a wrong gateway secret is 502 too (never a 401 that would log the
//! user out).
//!
//! `#[ignore]`: needs the built Worker, wrangler and `cargo build -p cc-gateway`
//! (scripts/test.sh runs it in its E2E phase).

mod api_support;

use api_support::{Gateway, Worker, GATEWAY_TOKEN};

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
