#!/usr/bin/env bash
# Runs Duraclaw on this machine and prints the URL to open:
#   cc-gateway serve    (127.0.0.1, bearer token generated once into $DURACLAW_CACHE/run/)
#   wrangler dev        (the Worker, the dashboard, the SessionDOs and D1, persisted in
#                        $DURACLAW_CACHE/run/wrangler-state; vars in a generated env file)
#   the fake model      (only with --fake-model: the scripted model, no API key needed; a plain
#                        prompt plays its demo session: a Read, an Edit and a command to approve,
#                        a question, a summary)
# all started by the one launcher, target/release/stack (crates/e2e/src/bin/stack.rs).
# Ctrl-C stops everything. With a real model the session runners are detached by design: they
# keep their sessions until idle and the next run resumes them. The fake model's runners end with
# the run (they would otherwise talk to a fake model that is gone).
#
# Usage: scripts/run.sh [--fake-model] [--port PORT]
# Env knobs: DURACLAW_PROJECTS (projects root; default ~/duraclaw-projects, a demo git repo is
# created there when it is empty), DURACLAW_PORT or PORT (Worker, default 8787), DURACLAW_GATEWAY_PORT
# (default 9877), ANTHROPIC_API_KEY (without --fake-model, when there is no Claude login).
. "$(dirname "$0")/lib.sh"
use_cleanup_trap
cd "$REPO_ROOT"
step "setup (scripts/setup.sh: tools into $DURACLAW_CACHE)" "$REPO_ROOT/scripts/setup.sh"
load_env

FAKE_MODEL=0
PORT="${DURACLAW_PORT:-${PORT:-8787}}"
while [ $# -gt 0 ]; do
  case "$1" in
    --fake-model) FAKE_MODEL=1 ;;
    --port) PORT="$2"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
[ "$FAKE_MODEL" = 1 ] && export STACK_END_RUNNERS=1
GATEWAY_PORT="${DURACLAW_GATEWAY_PORT:-9877}"
PROJECTS="${DURACLAW_PROJECTS:-$HOME/duraclaw-projects}"
WRANGLER_PORT="$PORT"

step "build wasm (scripts/build-wasm.sh, incremental)" "$REPO_ROOT/scripts/build-wasm.sh"
step "build cc-gateway and the stack launcher (release)" cargo build -q --release -p cc-gateway -p e2e --bin cc-gateway --bin stack
STEP_HINT="logs in $DURACLAW_ARTIFACTS"
# The fake model plays its demo session for a plain prompt (its [[...]] directives still work).
MODEL="$([ "$FAKE_MODEL" = 1 ] && echo demo || echo real)"
step "start the system (model: $MODEL)" start_stack "$DURACLAW_CACHE/run" "$PROJECTS" "$REPO_ROOT/target/release" "$MODEL"

log ""
log "Duraclaw is running: open http://127.0.0.1:$PORT"
log "set-up code (the first sign-up, the admin, asks for it): $STACK_SETUP_CODE"
log "  (kept in $STACK_RUN_DIR/setup-code; useless once the admin exists)"
log "logs: $DURACLAW_ARTIFACTS   Ctrl-C stops everything$([ "$FAKE_MODEL" = 1 ] || echo " but the session runners (they resume with the next run)")."
while kill -0 "$STACK_PID" 2>/dev/null; do sleep 1; done
die "the stack stopped: see $DURACLAW_ARTIFACTS/stack.log and $WRANGLER_LOG"
