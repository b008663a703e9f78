//! Every state-changing route (POST, PUT, PATCH, DELETE) refuses a foreign `Origin` (403) and a
//! body that is not declared `application/json` (415) before its handler runs, against
//! `wrangler dev`: a table of every such route in the router, each request made with a valid
//! admin cookie and a body the route would take, and proof that nothing changed.
//!
//! `#[ignore]`: needs the built Worker and wrangler; scripts/test.sh runs it in its E2E phase.

mod api_support;

use api_support::{repo_root, Worker, PASSWORD};

const ALLOWED: &str = "https://app.duraclaw.example";

/// (method, path, a body the route takes). `{id}` is a session of the admin's.
const ROUTES: &[(&str, &str, &str)] = &[
    ("POST", "/api/auth/signup", r#"{"name":"mallory","password":"correct horse battery staple","setup_code":"x"}"#),
    ("POST", "/api/auth/login", r#"{"name":"alice","password":"correct horse battery staple"}"#),
    ("POST", "/api/auth/logout", "{}"),
    ("POST", "/api/auth/password", r#"{"current_password":"correct horse battery staple","new_password":"something else entirely"}"#),
    ("POST", "/api/admin/users", r#"{"name":"mallory","password":"correct horse battery staple"}"#),
    ("PATCH", "/api/admin/users/bob", r#"{"disabled":true}"#),
    ("POST", "/api/projects/demo/worktrees", r#"{"name":"evil"}"#),
    ("POST", "/api/sessions", r#"{"project":"demo","prompt":"hi","permission_mode":"bypassPermissions"}"#),
    ("PATCH", "/api/sessions/5e55105e55105e55105e55105e55105e", r#"{"title":"renamed"}"#),
];

/// The router's state-changing routes, read from its source: a route added there without a row
/// above fails this test.
fn router_routes() -> Vec<(String, String)> {
    let src = std::fs::read_to_string(repo_root().join("crates/orchestrator-worker/src/lib.rs")).unwrap();
    let mut out = Vec::new();
    for line in src.lines().map(str::trim) {
        for method in ["Post", "Put", "Patch", "Delete"] {
            let Some(rest) = line.strip_prefix(&format!("(Method::{method}, [")) else { continue };
            let segments: Vec<String> = rest.split(']').next().unwrap().split(',').map(|s| s.trim().trim_matches('"').to_string()).collect();
            out.push((method.to_uppercase(), segments.join("/")));
        }
    }
    out
}

/// `/api/admin/users/bob` as the router writes it: literal segments kept, the rest a name (or a
/// session's `id`).
fn shape(path: &str) -> String {
    let part = |s| match s {
        "demo" | "bob" => "name",
        s if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) => "id",
        s => s,
    };
    path.trim_start_matches('/').split('/').map(part).collect::<Vec<_>>().join("/")
}

#[test]
#[ignore = "end-to-end: needs build/index.js and wrangler (scripts/test.sh)"]
fn every_state_changing_route_refuses_a_foreign_origin_and_a_non_json_body() {
    let listed: Vec<(String, String)> = ROUTES.iter().map(|(m, p, _)| (m.to_string(), shape(p))).collect();
    let mut in_router = router_routes();
    in_router.sort();
    let mut table = listed.clone();
    table.sort();
    assert_eq!(table, in_router, "the table must list exactly the router's state-changing routes");

    let w = Worker::start(&[("ALLOWED_ORIGINS", ALLOWED)]);
    let alice = w.signup("alice");
    w.create_user(&alice, "bob");
    let own = w.origin();
    let with = |method: &str, path: &str, body: &str, headers: &[(&str, &str)]| w.send(method, path, Some(&alice), Some(body), headers);

    for (method, path, body) in ROUTES {
        for origin in ["https://evil.example.com", "null", "http://127.0.0.1:1"] {
            let r = with(method, path, body, &[("origin", origin), ("content-type", "application/json")]);
            assert_eq!((r.status, r.error_code().as_str()), (403, "forbidden"), "{method} {path} from {origin}: {}", r.body);
            assert!(r.body.contains("origin"), "refused for its Origin, not by the handler: {method} {path}: {}", r.body);
        }
        for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data; boundary=x"), None] {
            let mut headers = vec![("origin", own.as_str())];
            if let Some(ct) = content_type {
                headers.push(("content-type", ct));
            }
            let r = with(method, path, body, &headers);
            assert_eq!(
                (r.status, r.error_code().as_str()),
                (415, "unsupported_media_type"),
                "{method} {path} as {content_type:?}: {}",
                r.body
            );
        }
    }

    // nothing changed: the login lives, no user, session or password change went through
    assert_eq!(w.get("/api/me", Some(&alice)).status, 200);
    assert_eq!(w.get("/api/sessions", Some(&alice)).body, r#"{"sessions":[]}"#);
    w.login("mallory", PASSWORD).expect_error(401, "unauthorized");
    assert_eq!(w.login("bob", PASSWORD).status, 200, "bob is not disabled");
    assert_eq!(w.login("alice", PASSWORD).status, 200, "alice's password is unchanged");

    // the same requests pass the guard from the Worker's own origin, an allowed one, or no
    // Origin at all (not a browser page), and JSON with parameters
    for (origin, content_type) in [(Some(own.as_str()), "application/json"), (Some(ALLOWED), "application/json; charset=utf-8"), (None, "Application/JSON")] {
        let mut headers = vec![("content-type", content_type)];
        if let Some(o) = origin {
            headers.push(("origin", o));
        }
        let r = with("POST", "/api/sessions", r#"{"project":"demo","prompt":"hi"}"#, &headers);
        assert_eq!(r.status, 201, "{origin:?} {content_type}: {}", r.body);
    }
    // a body-less POST needs no Content-Type
    let r = w.send("POST", "/api/auth/logout", Some(&alice), None, &[("origin", &own)]);
    assert_eq!(r.status, 200, "{}", r.body);
}
