//! Auth over HTTP against `wrangler dev` with a real local D1: sign-up (first is admin, then
//! closed; `GET /api/auth/setup` says which), admin-created users, login/logout, the cookie's flags, validation errors, and the
//! cost of a login (PBKDF2 at 100,000 iterations).
//!
//! `#[ignore]`: needs the built Worker and wrangler; scripts/test.sh runs it in its E2E phase.

mod api_support;

use std::time::{Duration, Instant};

use api_support::{credentials, signup_body, Worker, PASSWORD, SETUP_CODE};

#[test]
#[ignore = "end-to-end: needs build/index.js and wrangler (scripts/test.sh)"]
fn sign_up_login_logout_and_admin_users() {
    let w = Worker::start(&[]);

    // validation before anything is written
    w.post("/api/auth/signup", None, "{not json").expect_error(400, "bad_frame");
    w.post("/api/auth/signup", None, &credentials("alice", "short")).expect_error(400, "invalid_input");
    w.post("/api/auth/signup", None, &credentials("", PASSWORD)).expect_error(400, "invalid_input");
    w.post("/api/auth/signup", None, &credentials(&"a".repeat(65), PASSWORD)).expect_error(400, "invalid_input");
    w.post("/api/auth/signup", None, &credentials("has space", PASSWORD)).expect_error(400, "invalid_input");
    w.get("/api/me", None).expect_error(401, "unauthorized");

    // set-up is open while there is no user (the dashboard then opens on set-up)
    let r = w.get("/api/auth/setup", None);
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"setup_open":true}"#));

    // the first sign-up needs the operator's set-up code: without it, or with a wrong one, 403
    // and nothing is created
    w.post("/api/auth/signup", None, &credentials("mallory", PASSWORD)).expect_error(403, "forbidden");
    let wrong = format!(r#"{{"name":"mallory","password":"{PASSWORD}","setup_code":"{}"}}"#, SETUP_CODE.to_uppercase());
    w.post("/api/auth/signup", None, &wrong).expect_error(403, "forbidden");
    let blank = format!(r#"{{"name":"mallory","password":"{PASSWORD}","setup_code":""}}"#);
    w.post("/api/auth/signup", None, &blank).expect_error(403, "forbidden");
    w.login("mallory", PASSWORD).expect_error(401, "unauthorized");

    // the first sign-up is the admin, signed in with a hardened cookie
    let r = w.post("/api/auth/signup", None, &signup_body("alice", PASSWORD));
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.contains(r#""name":"alice""#) && r.body.contains(r#""is_admin":true"#), "{}", r.body);
    check_cookie_flags(r.set_cookie().unwrap());
    let alice = r.session_cookie();
    let me = w.get("/api/me", Some(&alice));
    assert_eq!(me.status, 200, "{}", me.body);
    assert!(me.body.contains(r#""is_admin":true"#), "{}", me.body);

    // then sign-up is closed, set-up code or not
    w.post("/api/auth/signup", None, &signup_body("mallory", PASSWORD)).expect_error(403, "forbidden");
    let r = w.get("/api/auth/setup", None);
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"setup_open":false}"#), "set-up closed once the admin exists");

    // the admin creates users; a taken name (any case) is 409; a non-admin cannot create
    let r = w.post("/api/admin/users", Some(&alice), &credentials("bob", PASSWORD));
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.contains(r#""is_admin":false"#), "{}", r.body);
    w.post("/api/admin/users", Some(&alice), &credentials("BOB", PASSWORD)).expect_error(409, "conflict");
    w.post("/api/admin/users", Some(&alice), &credentials("carol", "short")).expect_error(400, "invalid_input");
    w.post("/api/admin/users", None, &credentials("carol", PASSWORD)).expect_error(401, "unauthorized");

    // login: wrong password, unknown user, then the right one
    w.login("bob", "wrong password here").expect_error(401, "unauthorized");
    w.login("nobody", PASSWORD).expect_error(401, "unauthorized");
    let r = w.login("bob", PASSWORD);
    assert_eq!(r.status, 200, "{}", r.body);
    check_cookie_flags(r.set_cookie().unwrap());
    let bob = r.session_cookie();
    assert!(w.get("/api/me", Some(&bob)).body.contains(r#""name":"bob""#));
    w.post("/api/admin/users", Some(&bob), &credentials("carol", PASSWORD)).expect_error(403, "forbidden");

    // a forged or malformed cookie is 401
    w.get("/api/me", Some(&format!("duraclaw_session={}", "ab".repeat(32)))).expect_error(401, "unauthorized");
    w.get("/api/me", Some("duraclaw_session=not-hex")).expect_error(401, "unauthorized");

    // logout clears the cookie and ends the login session server-side
    let r = w.post("/api/auth/logout", Some(&bob), "");
    assert_eq!(r.status, 200, "{}", r.body);
    let cleared = r.set_cookie().unwrap();
    assert!(cleared.starts_with("duraclaw_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    w.get("/api/me", Some(&bob)).expect_error(401, "unauthorized");
    assert_eq!(w.get("/api/me", Some(&alice)).status, 200, "another login session is untouched");

    // every other bad request is a JSON error too
    let huge = format!(r#"{{"name":"x","password":"{}"}}"#, "p".repeat(300 * 1024));
    w.post("/api/auth/login", None, &huge).expect_error(413, "frame_too_large");
    w.get("/api/nothing-here", None).expect_error(404, "not_found");
    w.send("DELETE", "/api/me", Some(&alice), None, &[]).expect_error(404, "not_found");
}

/// A deployment without a `SETUP_CODE` cannot be set up at all (nobody can prove they own it).
#[test]
#[ignore = "end-to-end: needs build/index.js and wrangler (scripts/test.sh)"]
fn sign_up_without_a_configured_set_up_code_is_locked() {
    let w = Worker::start(&[("SETUP_CODE", "")]);
    let r = w.post("/api/auth/signup", None, &signup_body("alice", PASSWORD));
    r.expect_error(403, "forbidden");
    assert!(r.body.contains("SETUP_CODE"), "the message says what to set: {}", r.body);
    w.login("alice", PASSWORD).expect_error(401, "unauthorized");
}

fn check_cookie_flags(set_cookie: &str) {
    let attrs: Vec<String> = set_cookie.split(';').map(|a| a.trim().to_ascii_lowercase()).collect();
    assert!(attrs[0].starts_with("duraclaw_session=") && attrs[0].len() == "duraclaw_session=".len() + 64, "{set_cookie}");
    for flag in ["httponly", "secure", "samesite=lax", "path=/"] {
        assert!(attrs.iter().any(|a| a == flag), "Set-Cookie lacks {flag}: {set_cookie}");
    }
}

/// How long a login takes (PBKDF2-HMAC-SHA256, 100,000 iterations, in workerd), next to a request
/// that only reads D1. Prints the figures; fails only if a login is absurdly slow.
#[test]
#[ignore = "end-to-end: needs build/index.js and wrangler (scripts/test.sh)"]
fn login_cost() {
    let w = Worker::start(&[]);
    let cookie = w.signup("alice");
    let time = |f: &dyn Fn()| {
        let runs = 10;
        let t = Instant::now();
        for _ in 0..runs {
            f();
        }
        t.elapsed() / runs
    };
    let _warm = w.login("alice", PASSWORD);
    let login = time(&|| assert_eq!(w.login("alice", PASSWORD).status, 200));
    let me = time(&|| assert_eq!(w.get("/api/me", Some(&cookie)).status, 200));
    let pbkdf2 = login.saturating_sub(me);
    println!("login {login:?} per request, /api/me {me:?}: PBKDF2 (100k) costs about {pbkdf2:?} per login");
    assert!(login < Duration::from_secs(2), "a login took {login:?}");
}
