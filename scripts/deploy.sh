#!/usr/bin/env bash
# Deploys to Cloudflare (`just deploy`): builds the wasm, applies the D1 migrations to the remote
# database, then `wrangler deploy`. Needs `wrangler login` or CLOUDFLARE_API_TOKEN, a D1 database
# (`wrangler d1 create duraclaw`, its id in wrangler.toml) and the secrets (docs/worker.md).
# DRY_RUN=1: `wrangler deploy --dry-run --outdir dist` only (offline; checks the bundle).
. "$(dirname "$0")/lib.sh"
load_env
cd "$REPO_ROOT"
"$REPO_ROOT/scripts/build-wasm.sh"
if [ "${DRY_RUN:-}" = 1 ]; then
  step "wrangler deploy --dry-run" wrangler deploy --dry-run --outdir dist
  exit 0
fi
if grep -q '^database_id = "00000000-0000-0000-0000-000000000000"' wrangler.toml; then
  die "wrangler.toml still has the placeholder D1 database_id: run \`wrangler d1 create duraclaw\` and put the id it prints in [[d1_databases]]"
fi
STEP_HINT="check \`wrangler whoami\` and the database_id in wrangler.toml"
step "D1 migrations (remote)" wrangler d1 migrations apply duraclaw --remote
STEP_HINT="see wrangler's output above; secrets: docs/worker.md"
step "wrangler deploy" wrangler deploy
log ""
log "deployed. Secrets still unset? \`wrangler secret put CC_GATEWAY_URL\` (and CC_GATEWAY_SECRET; see docs/worker.md)"
