//! Duraclaw's Cloudflare Worker.
//!
//! Static dashboard assets are served by the platform (`[assets]` in wrangler.toml); requests for
//! `/api/*` and `/health` run this Worker first (`run_worker_first`).

use serde::Serialize;
use worker::*;

/// The body of `GET /health`.
#[derive(Debug, Serialize)]
pub struct Health {
    pub ok: bool,
    pub service: &'static str,
    pub version: &'static str,
}

pub fn health() -> Health {
    Health { ok: true, service: "orchestrator-worker", version: env!("CARGO_PKG_VERSION") }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    Router::new()
        .get("/health", |_, _| Response::from_json(&health()))
        .get("/api/health", |_, _| Response::from_json(&health()))
        .run(req, env)
        .await
        .or_else(|e| Response::error(format!("internal error: {e}"), 500))
}
