#!/usr/bin/env bash
# Deploys to Cloudflare: builds the wasm, applies D1 migrations (once D1 is configured in
# wrangler.toml), then `wrangler deploy`. Needs `wrangler login` or CLOUDFLARE_API_TOKEN.
# DRY_RUN=1: `wrangler deploy --dry-run --outdir dist` (offline; checks the bundle).
. "$(dirname "$0")/lib.sh"
load_env
cd "$REPO_ROOT"
"$REPO_ROOT/scripts/build-wasm.sh"
if [ "${DRY_RUN:-}" = 1 ]; then
  step "wrangler deploy --dry-run" wrangler deploy --dry-run --outdir dist
  exit 0
fi
if grep -q '^\[\[d1_databases\]\]' wrangler.toml; then
  step "D1 migrations (remote)" wrangler d1 migrations apply DB --remote
fi
step "wrangler deploy" wrangler deploy
