//! The failed-login limit: 5 attempts per user name and 20 per client IP (Cloudflare's
//! `CF-Connecting-IP`) in a 15-minute window, then 429 until the window ends. Counters live in
//! D1 (`login_failures`), not in isolate memory, so that every isolate sees them and a restart or
//! redeploy keeps them.
//!
//! An attempt is counted *before* the password is hashed, by one statement that increments and
//! returns the count (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`): D1 runs it atomically,
//! so 25 parallel guesses see the counts 1..25 and only the first 5 get to the PBKDF2 work. A
//! successful login then clears its name's counter and takes its own attempt back from its IP's,
//! so that what stays counted is failures.
//!
//! Names are keyed lower-cased, existing or not (so the limit says nothing about which names
//! exist). The cost: anyone can lock a name out for 15 minutes by failing on purpose; the per-IP
//! limit bounds how many names one client can try. Without `CF-Connecting-IP` (a request that
//! did not come through Cloudflare's edge, e.g. local `wrangler dev`) only the name is counted.

use serde::Deserialize;
use worker::{D1Database, Request};

use crate::api::error::ApiError;
use crate::d1::{int, text};

pub const MAX_FAILURES: u64 = 5;
pub const MAX_FAILURES_PER_IP: u64 = 20;
pub const WINDOW_MS: u64 = 15 * 60 * 1000;

#[derive(Deserialize)]
struct Counter {
    failures: u64,
    window_start: u64,
}

/// What one login attempt is counted against.
pub struct Keys {
    name: String,
    /// `None` when the request names no client IP.
    ip: Option<String>,
}

impl Keys {
    pub fn new(req: &Request, name: &str) -> Keys {
        let ip = req.headers().get("cf-connecting-ip").ok().flatten().map(|ip| ip.trim().to_string()).filter(|ip| !ip.is_empty());
        Keys { name: format!("name:{}", name.to_lowercase()), ip: ip.map(|ip| format!("ip:{ip}")) }
    }
}

/// Counts an attempt for the name and the IP, atomically, and answers 429 when either is over
/// its limit in the current window. Call it before any password work.
pub async fn attempt(db: &D1Database, keys: &Keys, name: &str, now: u64) -> Result<(), ApiError> {
    let name_count = count(db, &keys.name, now).await?;
    if let Some(refused) = over(&name_count, MAX_FAILURES, now, &format!("too many failed logins for {name:?}")) {
        return Err(refused);
    }
    if let Some(ip) = &keys.ip {
        let ip_count = count(db, ip, now).await?;
        if let Some(refused) = over(&ip_count, MAX_FAILURES_PER_IP, now, "too many failed logins from your address") {
            return Err(refused);
        }
    }
    Ok(())
}

/// A successful login: the name's counter is cleared, the IP's attempt taken back, and windows
/// that ended are swept.
pub async fn succeeded(db: &D1Database, keys: &Keys, now: u64) -> Result<(), ApiError> {
    let mut statements = vec![db.prepare("DELETE FROM login_failures WHERE name = ?1").bind(&[text(&keys.name)])?];
    if let Some(ip) = &keys.ip {
        statements.push(
            db.prepare("UPDATE login_failures SET failures = MAX(failures - 1, 0) WHERE name = ?1").bind(&[text(ip)])?,
        );
    }
    statements.push(
        db.prepare("DELETE FROM login_failures WHERE window_start <= ?1").bind(&[int(now.saturating_sub(WINDOW_MS))])?,
    );
    db.batch(statements).await?;
    Ok(())
}

/// Increments `key`'s counter (the first attempt in a new window starts it) and returns it.
async fn count(db: &D1Database, key: &str, now: u64) -> Result<Counter, ApiError> {
    let counter: Option<Counter> = db
        .prepare(
            "INSERT INTO login_failures (name, failures, window_start) VALUES (?1, 1, ?2) \
             ON CONFLICT(name) DO UPDATE SET \
               failures = CASE WHEN window_start <= ?3 THEN 1 ELSE failures + 1 END, \
               window_start = CASE WHEN window_start <= ?3 THEN ?2 ELSE window_start END \
             RETURNING failures, window_start",
        )
        .bind(&[text(key), int(now), int(now.saturating_sub(WINDOW_MS))])?
        .first(None)
        .await?;
    counter.ok_or_else(|| ApiError::Internal("the failed-login counter returned no row".into()))
}

/// The 429 for a counter past `max` in its window.
fn over(c: &Counter, max: u64, now: u64, what: &str) -> Option<ApiError> {
    if c.failures <= max || now >= c.window_start + WINDOW_MS {
        return None;
    }
    let retry_after_secs = (c.window_start + WINDOW_MS - now).div_ceil(1000);
    Some(ApiError::RateLimited {
        message: format!("{what}: try again in {} minute(s)", retry_after_secs.div_ceil(60)),
        retry_after_secs,
    })
}
