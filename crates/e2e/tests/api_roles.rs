//! Roles and the end of a login, against `wrangler dev` (local D1 and Durable Objects): only an
//! admin may start a session in `bypassPermissions`; logout closes that login's open session
//! sockets (and no other's); a password change ends every other login and its sockets; a
//! disabled user's logins and sockets end and no new login starts.
//!
//! `#[ignore]`: needs the built Worker and wrangler; scripts/test.sh runs it in its E2E phase.

mod api_support;

use std::time::Duration;

use api_support::{json_str, Worker, PASSWORD};

/// The close code a socket gets when its login ended.
const LOGIN_ENDED: u16 = 4001;
/// How long a socket may take to close once its login ended (the Worker waits for the DOs, so
/// in practice it is closed before the answer).
const PROMPTLY: Duration = Duration::from_secs(5);
/// How long a socket that must stay open is watched.
const A_WHILE: Duration = Duration::from_millis(1500);

fn create(w: &Worker, cookie: &str, body: &str) -> String {
    let r = w.post("/api/sessions", Some(cookie), body);
    assert_eq!(r.status, 201, "{}", r.body);
    json_str(&r.body, "id").unwrap()
}

fn login(w: &Worker, name: &str, password: &str) -> String {
    let r = w.login(name, password);
    assert_eq!(r.status, 200, "login {name}: {}", r.body);
    r.session_cookie()
}

#[test]
#[ignore = "end-to-end: needs build/index.js and wrangler (scripts/test.sh)"]
fn only_an_admin_starts_a_session_in_bypass_permissions() {
    let w = Worker::start(&[]);
    let alice = w.signup("alice");
    let bob = w.create_user(&alice, "bob");
    let bypass = r#"{"project":"demo","prompt":"hi","permission_mode":"bypassPermissions"}"#;
    let r = w.post("/api/sessions", Some(&bob), bypass);
    r.expect_error(403, "forbidden");
    assert!(r.body.contains("bypassPermissions"), "the message names the mode: {}", r.body);
    assert_eq!(w.get("/api/sessions", Some(&bob)).body, r#"{"sessions":[]}"#, "nothing was created");
    create(&w, &bob, r#"{"project":"demo","prompt":"hi","permission_mode":"acceptEdits"}"#);
    create(&w, &alice, bypass);
}

#[test]
#[ignore = "end-to-end: needs build/index.js and wrangler (scripts/test.sh)"]
fn logout_closes_that_logins_sockets_and_no_others() {
    let w = Worker::start(&[]);
    let phone = w.signup("alice");
    let laptop = login(&w, "alice", PASSWORD);
    let first = create(&w, &phone, r#"{"project":"demo","prompt":"one"}"#);
    let second = create(&w, &phone, r#"{"project":"demo","prompt":"two"}"#);
    let mut phone_sockets = [w.open_socket(&first, &phone), w.open_socket(&second, &phone)];
    let mut laptop_socket = w.open_socket(&first, &laptop);
    assert_eq!(phone_sockets[0].closed_within(A_WHILE), None, "an open socket stays open");

    let r = w.post("/api/auth/logout", Some(&phone), "");
    assert_eq!(r.status, 200, "{}", r.body);
    for (i, socket) in phone_sockets.iter_mut().enumerate() {
        assert_eq!(socket.closed_within(PROMPTLY), Some(LOGIN_ENDED), "the logged-out login's socket {i} closes");
    }
    assert_eq!(laptop_socket.closed_within(A_WHILE), None, "another login's socket stays open");
    w.get("/api/me", Some(&phone)).expect_error(401, "unauthorized");
    assert_eq!(w.get("/api/me", Some(&laptop)).status, 200);
}

#[test]
#[ignore = "end-to-end: needs build/index.js and wrangler (scripts/test.sh)"]
fn a_disabled_users_logins_and_sockets_end() {
    let w = Worker::start(&[]);
    let alice = w.signup("alice");
    let bob = w.create_user(&alice, "bob");
    let carol = w.create_user(&alice, "carol");
    let id = create(&w, &bob, r#"{"project":"demo","prompt":"hi"}"#);
    let mut socket = w.open_socket(&id, &bob);
    let carols = create(&w, &carol, r#"{"project":"demo","prompt":"hi"}"#);
    let mut carols_socket = w.open_socket(&carols, &carol);

    // only an admin, never on themselves, only a user that exists, only a JSON boolean
    w.send("PATCH", "/api/admin/users/alice", Some(&bob), Some(r#"{"disabled":true}"#), &[("content-type", "application/json")])
        .expect_error(403, "forbidden");
    let patch = |cookie: &str, name: &str, body: &str| {
        w.send("PATCH", &format!("/api/admin/users/{name}"), Some(cookie), Some(body), &[("content-type", "application/json")])
    };
    patch(&alice, "alice", r#"{"disabled":true}"#).expect_error(400, "invalid_input");
    patch(&alice, "nobody", r#"{"disabled":true}"#).expect_error(404, "not_found");
    patch(&alice, "bob", r#"{"disabled":"yes"}"#).expect_error(400, "bad_frame");
    assert_eq!(socket.closed_within(A_WHILE), None, "refused requests change nothing");
    assert_eq!(w.get("/api/me", Some(&bob)).status, 200);

    let r = patch(&alice, "BOB", r#"{"disabled":true}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(socket.closed_within(PROMPTLY), Some(LOGIN_ENDED), "the disabled user's open socket closes");
    w.get("/api/me", Some(&bob)).expect_error(401, "unauthorized");
    let r = w.login("bob", PASSWORD);
    r.expect_error(403, "forbidden");
    assert!(r.body.contains("disabled"), "{}", r.body);
    w.login("bob", "not the password").expect_error(401, "unauthorized");
    assert_eq!(carols_socket.closed_within(A_WHILE), None, "another user's socket stays open");

    // enabled again: bob logs in, his session is still his
    assert_eq!(patch(&alice, "bob", r#"{"disabled":false}"#).status, 200);
    let bob = login(&w, "bob", PASSWORD);
    assert_eq!(w.get(&format!("/api/sessions/{id}"), Some(&bob)).status, 200);
}

#[test]
#[ignore = "end-to-end: needs build/index.js and wrangler (scripts/test.sh)"]
fn a_password_change_ends_every_other_login_and_its_sockets() {
    let w = Worker::start(&[]);
    let alice = w.signup("alice");
    let here = w.create_user(&alice, "bob");
    let there = login(&w, "bob", PASSWORD);
    let id = create(&w, &here, r#"{"project":"demo","prompt":"hi"}"#);
    let mut here_socket = w.open_socket(&id, &here);
    let mut there_socket = w.open_socket(&id, &there);
    let new_password = "a brand new passphrase";
    let change = |cookie: &str, current: &str, new: &str| {
        let body = format!(r#"{{"current_password":"{current}","new_password":"{new}"}}"#);
        w.post("/api/auth/password", Some(cookie), &body)
    };

    change(&here, "not the password", new_password).expect_error(403, "forbidden");
    change(&here, PASSWORD, "short").expect_error(400, "invalid_input");
    w.post("/api/auth/password", Some(&here), r#"{"new_password":"x"}"#).expect_error(400, "bad_frame");
    w.post("/api/auth/password", None, &format!(r#"{{"current_password":"{PASSWORD}","new_password":"{new_password}"}}"#))
        .expect_error(401, "unauthorized");
    assert_eq!(there_socket.closed_within(A_WHILE), None, "refused changes end nothing");
    assert_eq!(w.login("bob", PASSWORD).status, 200, "and the password is unchanged");

    let r = change(&here, PASSWORD, new_password);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(there_socket.closed_within(PROMPTLY), Some(LOGIN_ENDED), "the other login's socket closes");
    w.get("/api/me", Some(&there)).expect_error(401, "unauthorized");
    assert_eq!(here_socket.closed_within(A_WHILE), None, "this login's socket stays open");
    assert_eq!(w.get("/api/me", Some(&here)).status, 200, "this login stays");
    w.login("bob", PASSWORD).expect_error(401, "unauthorized");
    login(&w, "bob", new_password);
}
