//! The failed-login limit against `wrangler dev` and its local D1: 5 failures per name, then 429
//! (even with the right password) with `Retry-After`; the counters are in D1, so restarting
//! wrangler keeps them; other names are not affected.
//!
//! `#[ignore]`: needs the built Worker and wrangler; scripts/test.sh runs it in its E2E phase.

mod api_support;

use api_support::{Worker, PASSWORD};

#[test]
#[ignore = "end-to-end: needs build/index.js and wrangler (scripts/test.sh)"]
fn failed_logins_are_limited_and_the_limit_survives_a_restart() {
    let mut w = Worker::start(&[]);
    let admin = w.signup("admin");
    w.create_user(&admin, "bob");

    for i in 1..=5 {
        let r = w.login("bob", "not the password");
        assert_eq!((r.status, r.error_code().as_str()), (401, "unauthorized"), "failure {i}: {}", r.body);
    }
    let r = w.login("bob", "not the password");
    r.expect_error(429, "rate_limited");
    let retry_after: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "Retry-After {retry_after}");
    w.login("BOB", PASSWORD).expect_error(429, "rate_limited");

    // another name is unaffected, unknown names are counted the same way
    assert_eq!(w.login("admin", PASSWORD).status, 200);
    for _ in 0..5 {
        w.login("nobody", "not the password").expect_error(401, "unauthorized");
    }
    w.login("nobody", "not the password").expect_error(429, "rate_limited");

    // the counters live in D1, not in the isolate
    w.restart();
    w.login("bob", PASSWORD).expect_error(429, "rate_limited");
    w.login("nobody", PASSWORD).expect_error(429, "rate_limited");
    assert_eq!(w.login("admin", PASSWORD).status, 200);
}
