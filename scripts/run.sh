#!/usr/bin/env bash
# Runs Duraclaw on this machine and prints the URL to open:
#   cc-gateway serve    (127.0.0.1, bearer token generated once into $DURACLAW_CACHE/run/)
#   wrangler dev        (the Worker, the dashboard, the SessionDOs and D1, persisted in
#                        $DURACLAW_CACHE/run/wrangler-state; vars in a generated env file)
#   fake-anthropic      (only with --fake-model: the scripted model, no API key needed)
# Ctrl-C stops everything (the session runners are detached by design and resume later).
#
# Usage: scripts/run.sh [--fake-model] [--port PORT]
# Env knobs: DURACLAW_PROJECTS (projects root; default ~/duraclaw-projects, a demo git repo is
# created there when it is empty), DURACLAW_PORT or PORT (Worker, default 8787), DURACLAW_GATEWAY_PORT
# (default 9877), ANTHROPIC_API_KEY (without --fake-model, when there is no Claude login).
. "$(dirname "$0")/lib.sh"
use_cleanup_trap
load_env
cd "$REPO_ROOT"

FAKE_MODEL=0
PORT="${DURACLAW_PORT:-${PORT:-8787}}"
while [ $# -gt 0 ]; do
  case "$1" in
    --fake-model) FAKE_MODEL=1 ;;
    --port) PORT="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
GATEWAY_PORT="${DURACLAW_GATEWAY_PORT:-9877}"
PROJECTS="${DURACLAW_PROJECTS:-$HOME/duraclaw-projects}"
RUN_DIR="$DURACLAW_CACHE/run"
mkdir -p "$RUN_DIR" "$PROJECTS"
chmod 700 "$RUN_DIR"

# --- builds (incremental) ---
step "build wasm (scripts/build-wasm.sh, incremental)" "$REPO_ROOT/scripts/build-wasm.sh"
step "build cc-gateway and fake-anthropic (release)" cargo build -q --release -p cc-gateway -p fake-anthropic
BIN="$REPO_ROOT/target/release"

# --- the gateway's token: generated once, never in argv or a URL ---
TOKEN_FILE="$RUN_DIR/gateway-token"
if [ ! -s "$TOKEN_FILE" ]; then
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOKEN_FILE")
fi

# --- a project to start with ---
if [ -z "$(ls -A "$PROJECTS")" ]; then
  log "==> creating a demo git repository in $PROJECTS/demo"
  mkdir -p "$PROJECTS/demo"
  (cd "$PROJECTS/demo" && git init -q -b main && printf '# demo\n' >README.md && git add . \
    && git -c user.name=Duraclaw -c user.email=duraclaw@localhost commit -qm "initial")
fi

# --- the model: the fake, or the user's Claude login / API key ---
GATEWAY_ENV=(CC_GATEWAY_TOKEN_FILE="$TOKEN_FILE" CLAUDE_BIN="$CLAUDE_BIN"
  CC_GATEWAY_STATE_DIR="$RUN_DIR/gateway-state" CC_GATEWAY_RUNTIME_DIR="$RUN_DIR/gateway-run")
if [ "$FAKE_MODEL" = 1 ]; then
  FAKE_PORT="$(free_port)"
  spawn fake-anthropic "$BIN/fake-anthropic" --port "$FAKE_PORT"
  wait_http "http://127.0.0.1:$FAKE_PORT/_fake/requests" 30 "$SPAWNED_PID" || die "the fake model did not start: see $SPAWNED_LOG"
  # A separate Claude config so the fake never touches the user's real login.
  mkdir -p "$RUN_DIR/fake-claude-home/.claude"
  GATEWAY_ENV+=(ANTHROPIC_BASE_URL="http://127.0.0.1:$FAKE_PORT" ANTHROPIC_API_KEY=fake
    HOME="$RUN_DIR/fake-claude-home" CLAUDE_CONFIG_DIR="$RUN_DIR/fake-claude-home/.claude"
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1)
  log "    the fake model on port $FAKE_PORT: script it with [[...]] directives (crates/fake-anthropic)"
else
  CONFIG_DIR="${CLAUDE_CONFIG_DIR:-$HOME/.claude}"
  if [ -z "${ANTHROPIC_API_KEY:-}" ] && [ ! -s "$CONFIG_DIR/.credentials.json" ]; then
    die "no Claude login ($CONFIG_DIR/.credentials.json) and no ANTHROPIC_API_KEY: run \`$CLAUDE_BIN\` once and /login, export ANTHROPIC_API_KEY, or use scripts/run.sh --fake-model"
  fi
fi

STEP_HINT="see the gateway log in $DURACLAW_ARTIFACTS"
start_gateway() {
  spawn cc-gateway env "${GATEWAY_ENV[@]}" "$BIN/cc-gateway" serve \
    --bind "127.0.0.1:$GATEWAY_PORT" --projects-root "$PROJECTS"
  wait_http "http://127.0.0.1:$GATEWAY_PORT/health" 30 "$SPAWNED_PID" || { tail -n 30 "$SPAWNED_LOG" >&2; return 1; }
}
step "start cc-gateway on 127.0.0.1:$GATEWAY_PORT (projects: $PROJECTS)" start_gateway

# --- the Worker: vars in an env file (mode 600), state persisted across runs ---
ENV_FILE="$RUN_DIR/worker.env"
(umask 077 && printf 'CC_GATEWAY_URL=http://127.0.0.1:%s\nCC_GATEWAY_SECRET=%s\n' "$GATEWAY_PORT" "$(cat "$TOKEN_FILE")" >"$ENV_FILE")
export WRANGLER_PERSIST="$RUN_DIR/wrangler-state" WRANGLER_PORT="$PORT"
step "D1 migrations (local)" apply_d1_migrations "$WRANGLER_PERSIST"
step "start wrangler dev on 127.0.0.1:$PORT" start_wrangler --env-file "$ENV_FILE"

log ""
log "Duraclaw is running: open http://127.0.0.1:$PORT  (the first sign-up becomes the admin)"
log "logs: $DURACLAW_ARTIFACTS   Ctrl-C stops everything."
while kill -0 "$WRANGLER_PID" 2>/dev/null; do sleep 1; done
die "wrangler dev exited: see $WRANGLER_LOG"
