//! The Worker's HTTP client for cc-gateway's project routes (the dashboard browses projects,
//! worktrees, files and diffs through it).
//!
//! Configuration (wrangler vars / secrets):
//! - `CC_GATEWAY_URL`: the gateway's base URL; `ws(s)://` (what the SessionDO dials) is read as
//!   `http(s)://` here.
//! - `CC_GATEWAY_SECRET`: the gateway's bearer token, sent as `Authorization: Bearer`.
//! - `CF_ACCESS_CLIENT_ID` / `CF_ACCESS_CLIENT_SECRET` (optional): a Cloudflare Access service
//!   token for the tunnel in front of a remote gateway.
//!
//! The gateway's answers pass through (status and error body) as bytes: their bodies are
//! `shared_types::api`'s, written by the gateway and read by the dashboard, and decoding them here
//! only to encode them again would grow the Worker for nothing. A gateway that cannot be reached,
//! refuses our secret or answers with something that is not its JSON is a 502
//! `gateway_unavailable` that says what to check.

use shared_types::ErrorBody;
use wasm_bindgen::JsValue;
use worker::{Env, Fetch, Headers, Method, Response, Url};

use crate::api::error::ApiError;
use crate::outbound::{self, Redirect};

/// How long one gateway request may take.
const TIMEOUT_MS: u32 = 20_000;

const CHECK: &str = "check that cc-gateway is running (`systemctl status cc-gateway`), that \
    CC_GATEWAY_URL points at it, and, for a remote gateway, the Cloudflare Tunnel (`cloudflared`)";

/// A configured gateway.
pub struct Gateway {
    base: Url,
    secret: String,
    access: Option<(String, String)>,
}

fn setting(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string()).filter(|v| !v.trim().is_empty())
}

impl Gateway {
    pub fn from_env(env: &Env) -> Result<Gateway, ApiError> {
        let missing = |name: &str| {
            ApiError::GatewayUnavailable(format!(
                "{name} is not set: put it in .dev.vars for `wrangler dev`, or `wrangler secret put {name}` (see docs/worker.md)"
            ))
        };
        let raw = setting(env, "CC_GATEWAY_URL").ok_or_else(|| missing("CC_GATEWAY_URL"))?;
        let secret = setting(env, "CC_GATEWAY_SECRET").ok_or_else(|| missing("CC_GATEWAY_SECRET"))?;
        let base = http_base(&raw)?;
        let access = setting(env, "CF_ACCESS_CLIENT_ID").zip(setting(env, "CF_ACCESS_CLIENT_SECRET"));
        Ok(Gateway { base, secret, access })
    }

    /// `<base>/<segments...>?<query>`, each segment percent-encoded.
    pub fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// Sends a request to the gateway and relays its answer (see the module doc).
    pub async fn relay(&self, method: Method, url: Url, json_body: Option<Vec<u8>>) -> Result<Response, ApiError> {
        let headers = Headers::new();
        headers.set("authorization", &format!("Bearer {}", self.secret))?;
        headers.set("accept", "application/json")?;
        if let Some((id, secret)) = &self.access {
            headers.set("cf-access-client-id", id)?;
            headers.set("cf-access-client-secret", secret)?;
        }
        let body = json_body.map(|body| JsValue::from(js_sys::Uint8Array::from(body.as_slice())));
        if body.is_some() {
            headers.set("content-type", "application/json")?;
        }
        let request = outbound::request(url.as_str(), method, &headers, body.as_ref(), Redirect::Manual)?;
        let signal = web_sys::AbortSignal::timeout_with_u32(TIMEOUT_MS).into();
        let shown = self.shown_url(&url);
        let response = Fetch::Request(request).send_with_signal(&signal).await.map_err(|e| {
            ApiError::GatewayUnavailable(format!("cannot reach the gateway at {shown}: {e}; {CHECK}"))
        })?;
        relay_response(response, &shown).await
    }

    /// The URL without its query, for messages.
    fn shown_url(&self, url: &Url) -> String {
        let mut shown = url.clone();
        shown.set_query(None);
        shown.to_string()
    }
}

/// Parses `CC_GATEWAY_URL` and turns `ws(s)` into `http(s)`.
fn http_base(raw: &str) -> Result<Url, ApiError> {
    let bad = |why: String| ApiError::GatewayUnavailable(format!("CC_GATEWAY_URL {raw:?} is not usable: {why}"));
    let mut url = Url::parse(raw.trim()).map_err(|e| bad(e.to_string()))?;
    let scheme = match url.scheme() {
        "ws" | "http" => "http",
        "wss" | "https" => "https",
        other => return Err(bad(format!("scheme {other:?}; use http(s):// or ws(s)://"))),
    };
    url.set_scheme(scheme).map_err(|_| bad("cannot switch its scheme".into()))?;
    url.set_query(None);
    Ok(url)
}

async fn relay_response(mut response: Response, shown: &str) -> Result<Response, ApiError> {
    let status = response.status_code();
    let content_type = response.headers().get("content-type").ok().flatten().unwrap_or_default();
    let bytes = response.bytes().await.map_err(|e| {
        ApiError::GatewayUnavailable(format!("the gateway at {shown} broke off its answer: {e}; {CHECK}"))
    })?;
    if status == 401 {
        return Err(ApiError::GatewayUnavailable(format!(
            "the gateway at {shown} refused our token: CC_GATEWAY_SECRET must equal the gateway's CC_GATEWAY_TOKEN"
        )));
    }
    if (200..300).contains(&status) && (status == 204 || content_type.starts_with("application/json")) {
        let relayed = Response::builder().with_status(status).fixed(bytes);
        relayed.headers().set("content-type", "application/json")?;
        relayed.headers().set("cache-control", "no-store")?;
        return Ok(relayed);
    }
    match std::str::from_utf8(&bytes).map(serde_json::from_str::<ErrorBody>) {
        Ok(Ok(body)) if status >= 400 => Err(ApiError::Relayed { status, body }),
        _ => Err(ApiError::GatewayUnavailable(format!(
            "the gateway at {shown} answered {status} ({}) instead of its JSON: a tunnel or Cloudflare Access page? \
             Check CF_ACCESS_CLIENT_ID/CF_ACCESS_CLIENT_SECRET and {CHECK}",
            if content_type.is_empty() { "no content type" } else { content_type.as_str() }
        ))),
    }
}
