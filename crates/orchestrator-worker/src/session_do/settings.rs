//! What the SessionDO reads from its environment (wrangler vars and secrets), once per instance.
//!
//! | name | what |
//! |---|---|
//! | `CC_GATEWAY_URL` | the gateway's base URL (`http(s)://` or `ws(s)://`, e.g. `http://127.0.0.1:9877`); the link goes to `/sessions/{id}/ws` under it |
//! | `CC_GATEWAY_SECRET` | the gateway's bearer token, sent as `Authorization: Bearer` (never in the URL) |
//! | `CF_ACCESS_CLIENT_ID`, `CF_ACCESS_CLIENT_SECRET` | optional Cloudflare Access service token for the tunnel, sent as `CF-Access-Client-Id` / `CF-Access-Client-Secret` |
//! | `DURACLAW_HEARTBEAT_SECS` | optional: ping the gateway this often (default 15) |
//! | `DURACLAW_SILENCE_SECS` | optional: a link silent this long is closed and redialled (default 45) |
//! | `DURACLAW_DIAL_BACKOFF_MAX_SECS` | optional: the longest wait between redials (default 60) |
//!
//! The timing knobs exist so that tests can prove a half-open link is detected in seconds; a
//! value that does not parse is ignored with a log line (the default stays).

use session_core::CoreConfig;
use worker::Env;

/// The gateway link's address and credentials, and the core's timers.
pub struct Settings {
    pub gateway_url: Option<String>,
    pub gateway_secret: Option<String>,
    pub access: Option<(String, String)>,
    pub core: CoreConfig,
}

impl Settings {
    pub fn from_env(env: &Env) -> Settings {
        let mut core = CoreConfig::default();
        if let Some(secs) = seconds(env, "DURACLAW_HEARTBEAT_SECS") {
            core.heartbeat_ms = secs * 1000;
        }
        if let Some(secs) = seconds(env, "DURACLAW_SILENCE_SECS") {
            core.silence_ms = secs * 1000;
        }
        if let Some(secs) = seconds(env, "DURACLAW_DIAL_BACKOFF_MAX_SECS") {
            core.dial_backoff_max_ms = secs * 1000;
        }
        let access = text(env, "CF_ACCESS_CLIENT_ID").zip(text(env, "CF_ACCESS_CLIENT_SECRET"));
        Settings {
            gateway_url: text(env, "CC_GATEWAY_URL"),
            gateway_secret: text(env, "CC_GATEWAY_SECRET"),
            access,
            core,
        }
    }

    /// The link's URL for a session: `{base}/sessions/{id}/ws` with an `http(s)` scheme (an
    /// outbound WebSocket on Workers is a fetch with `Upgrade: websocket`).
    pub fn link_url(&self, session_id: &str) -> Option<String> {
        let base = self.gateway_url.as_deref()?.trim_end_matches('/');
        let base = if let Some(rest) = base.strip_prefix("ws://") {
            format!("http://{rest}")
        } else if let Some(rest) = base.strip_prefix("wss://") {
            format!("https://{rest}")
        } else {
            base.to_string()
        };
        Some(format!("{base}/sessions/{session_id}/ws"))
    }
}

/// A var or secret as text (`None` when unset or empty).
fn text(env: &Env, name: &str) -> Option<String> {
    let value = env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok()?;
    let value = value.trim().to_string();
    (!value.is_empty()).then_some(value)
}

/// A positive whole number of seconds.
fn seconds(env: &Env, name: &str) -> Option<u64> {
    let raw = text(env, name)?;
    match raw.parse::<u64>() {
        Ok(secs) if secs > 0 => Some(secs),
        _ => {
            worker::console_warn!("{name}={raw:?} is not a positive number of seconds: ignored");
            None
        }
    }
}
