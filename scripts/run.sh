#!/usr/bin/env bash
# Local development: builds the wasm (incremental) and runs the Worker + dashboard in
# `wrangler dev` (offline, local state in .wrangler/state), until Ctrl-C.
# Env: PORT (default 8787), DURACLAW_STATE (default .wrangler/state).
# (The gateway will be started here too once it exists.)
. "$(dirname "$0")/lib.sh"
load_env
cd "$REPO_ROOT"
"$REPO_ROOT/scripts/build-wasm.sh"
use_cleanup_trap
WRANGLER_PORT="${PORT:-8787}"
WRANGLER_PERSIST="${DURACLAW_STATE:-$REPO_ROOT/.wrangler/state}"
mkdir -p "$WRANGLER_PERSIST"
STEP_HINT="is port $WRANGLER_PORT busy? try PORT=8788 scripts/run.sh"
step "start wrangler dev" start_wrangler
log ""
log "Duraclaw is running: open $WRANGLER_URL/"
log "  health: $WRANGLER_URL/health   logs: $WRANGLER_LOG   state: $WRANGLER_PERSIST"
log "  Ctrl-C to stop"
tail -n +1 -f "$WRANGLER_LOG" --pid "$WRANGLER_PID" || true
