//! The failed-login limit: 5 failures per user name in a 15-minute window, then 429 until the
//! window ends. Counters live in D1 (`login_failures`), not in isolate memory, so that every
//! isolate sees them and a restart or redeploy keeps them.
//!
//! Keyed by the lower-cased name, existing or not (so the limit says nothing about which names
//! exist). The cost: anyone can lock a name out for 15 minutes by failing on purpose.

use serde::Deserialize;
use worker::D1Database;

use crate::api::error::ApiError;
use crate::d1::{int, text};

pub const MAX_FAILURES: u64 = 5;
pub const WINDOW_MS: u64 = 15 * 60 * 1000;

#[derive(Deserialize)]
struct Counter {
    failures: u64,
    window_start: u64,
}

fn key(name: &str) -> String {
    name.to_lowercase()
}

/// 429 when `name` used up its failures in the current window.
pub async fn check(db: &D1Database, name: &str, now: u64) -> Result<(), ApiError> {
    let counter: Option<Counter> = db
        .prepare("SELECT failures, window_start FROM login_failures WHERE name = ?1")
        .bind(&[text(&key(name))])?
        .first(None)
        .await?;
    match counter {
        Some(c) if c.failures >= MAX_FAILURES && now < c.window_start + WINDOW_MS => {
            let retry_after_secs = (c.window_start + WINDOW_MS - now).div_ceil(1000);
            Err(ApiError::RateLimited {
                message: format!(
                    "too many failed logins for {name:?}: try again in {} minute(s)",
                    retry_after_secs.div_ceil(60)
                ),
                retry_after_secs,
            })
        }
        _ => Ok(()),
    }
}

/// Counts a failure: the first one in a new window starts it.
pub async fn record_failure(db: &D1Database, name: &str, now: u64) -> Result<(), ApiError> {
    db.prepare(
        "INSERT INTO login_failures (name, failures, window_start) VALUES (?1, 1, ?2) \
         ON CONFLICT(name) DO UPDATE SET \
           failures = CASE WHEN window_start <= ?3 THEN 1 ELSE failures + 1 END, \
           window_start = CASE WHEN window_start <= ?3 THEN ?2 ELSE window_start END",
    )
    .bind(&[text(&key(name)), int(now), int(now.saturating_sub(WINDOW_MS))])?
    .run()
    .await?;
    Ok(())
}

/// A successful login clears the name's counter, and sweeps windows that ended.
pub async fn clear(db: &D1Database, name: &str, now: u64) -> Result<(), ApiError> {
    let this = db.prepare("DELETE FROM login_failures WHERE name = ?1").bind(&[text(&key(name))])?;
    let stale = db.prepare("DELETE FROM login_failures WHERE window_start <= ?1").bind(&[int(now.saturating_sub(WINDOW_MS))])?;
    db.batch(vec![this, stale]).await?;
    Ok(())
}
