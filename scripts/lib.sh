# shellcheck shell=bash
# Shared helpers for Duraclaw's scripts. Source it: `. "$(dirname "$0")/lib.sh"`.
#
#   step NAME CMD...      run CMD with a progress line and its duration; on failure print what
#                         failed and the hint in $STEP_HINT (if set), then exit 1
#   load_env              source $DURACLAW_CACHE/env.sh (written by scripts/setup.sh)
#   free_port             print a free TCP port on 127.0.0.1
#   wait_http URL SECS    poll URL until it answers (any HTTP status) or fail after SECS
#   start_wrangler        start `wrangler dev` offline on a free port; sets WRANGLER_URL,
#                         WRANGLER_PID, WRANGLER_LOG, WRANGLER_PERSIST; killed by cleanup
#   spawn NAME CMD...     start a background server in its own process group, register it for
#                         cleanup; sets SPAWNED_PID and SPAWNED_LOG
#   start_stack RUN_DIR PROJECTS BIN FAKE
#                         the whole system wired together: (the fake model,) cc-gateway and
#                         wrangler dev; sets STACK_URL (used by scripts/run.sh and scripts/test.sh)
#   cleanup               kill every spawned process group (installed as an EXIT trap by
#                         `use_cleanup_trap`)

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
export DURACLAW_CACHE="${DURACLAW_CACHE:-$HOME/.cache/duraclaw}"
# Logs of one script run (servers' output, test logs): a fresh dir per run, since engineers share
# the checkout; test-artifacts/latest points at the newest.
if [ -z "${DURACLAW_ARTIFACTS:-}" ]; then
  DURACLAW_ARTIFACTS="$REPO_ROOT/test-artifacts/$(date +%Y%m%d-%H%M%S)-$$"
fi
export DURACLAW_ARTIFACTS

_ts() { date +%s.%N; }
_elapsed() { awk -v a="$1" -v b="$(_ts)" 'BEGIN { printf "%.1fs", b - a }'; }

log() { printf '%s\n' "$*" >&2; }
die() {
  log ""
  log "ERROR: $*"
  exit 1
}

# step "what it does" cmd args...
# CMD runs in this shell (it may set variables), as part of an `||` list: bash's errexit is off
# inside it, so a step function must check its commands itself (`cmd || return 1`).
step() {
  local name="$1"
  shift
  local t0
  t0="$(_ts)"
  log "==> ${name} ..."
  local rc=0
  "$@" || rc=$?
  if [ "$rc" -ne 0 ]; then
    log "!!! FAILED: ${name} (exit ${rc}, after $(_elapsed "$t0"))"
    if [ -n "${STEP_HINT:-}" ]; then log "    what to do: ${STEP_HINT}"; fi
    exit 1
  fi
  log "    ok: ${name} ($(_elapsed "$t0"))"
  STEP_HINT=""
}

load_env() {
  local f="$DURACLAW_CACHE/env.sh"
  [ -f "$f" ] || die "$f is missing: run scripts/setup.sh first"
  # shellcheck disable=SC1090
  . "$f"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_http URL TIMEOUT_SECS [PID]: succeeds when URL answers; fails on timeout or if PID dies.
wait_http() {
  local url="$1" timeout="$2" pid="${3:-}"
  local deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if curl -s -o /dev/null --max-time 2 "$url"; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      log "process $pid exited while waiting for $url"
      return 1
    fi
    sleep 0.2
  done
  log "timed out after ${timeout}s waiting for $url"
  return 1
}

_SPAWNED_PIDS=()

# spawn NAME CMD...: runs CMD in the background in a new session (so that the whole process tree
# can be killed), output to $DURACLAW_ARTIFACTS/NAME.log.
spawn() {
  local name="$1"
  shift
  mkdir -p "$DURACLAW_ARTIFACTS"
  SPAWNED_LOG="$DURACLAW_ARTIFACTS/$name.log"
  setsid "$@" >"$SPAWNED_LOG" 2>&1 </dev/null &
  SPAWNED_PID=$!
  _SPAWNED_PIDS+=("$SPAWNED_PID")
}

# stop PID: SIGTERM the process group, SIGKILL after 5 s.
stop() {
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in "${_SPAWNED_PIDS[@]:-}"; do
    [ -n "$pid" ] && stop "$pid"
  done
  _SPAWNED_PIDS=()
  # Session runners are detached from the gateway by design (they outlive it); a test run ends
  # the ones it caused (STACK_END_RUNNERS=1), scripts/run.sh leaves them to resume later.
  if [ "${STACK_END_RUNNERS:-}" = 1 ] && [ -n "${STACK_RUN_DIR:-}" ]; then
    local file
    for file in "$STACK_RUN_DIR"/gateway-run/sessions/*.pid; do
      [ -f "$file" ] && kill -KILL "$(cat "$file")" 2>/dev/null || true
    done
  fi
}

use_cleanup_trap() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# start_wrangler [extra wrangler args...]: `wrangler dev` of the built Worker (build/index.js)
# and dashboard (build/dashboard), offline, on 127.0.0.1 and a free port, with a fresh
# --persist-to dir (set WRANGLER_PERSIST beforehand to reuse one).
start_wrangler() {
  local port
  port="${WRANGLER_PORT:-$(free_port)}"
  WRANGLER_PERSIST="${WRANGLER_PERSIST:-$(mktemp -d "${TMPDIR:-/tmp}/duraclaw-wrangler.XXXXXX")}"
  [ -f "$REPO_ROOT/build/index.js" ] || die "build/index.js is missing: run scripts/build-wasm.sh"
  spawn "wrangler-$port" env -C "$REPO_ROOT" \
    WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false NO_UPDATE_NOTIFIER=1 \
    WRANGLER_LOG_PATH="$DURACLAW_ARTIFACTS/wrangler-logs" \
    wrangler dev --ip 127.0.0.1 --port "$port" --persist-to "$WRANGLER_PERSIST" \
    --show-interactive-dev-session=false "$@"
  WRANGLER_PID="$SPAWNED_PID"
  WRANGLER_LOG="$SPAWNED_LOG"
  WRANGLER_URL="http://127.0.0.1:$port"
  export WRANGLER_URL WRANGLER_PID WRANGLER_LOG WRANGLER_PERSIST
  if ! wait_http "$WRANGLER_URL/health" "${WRANGLER_START_TIMEOUT:-60}" "$WRANGLER_PID"; then
    log "wrangler dev did not come up; last lines of $WRANGLER_LOG:"
    tail -n 40 "$WRANGLER_LOG" >&2 || true
    return 1
  fi
}

# apply_d1_migrations PERSIST_DIR: applies crates/orchestrator-worker/migrations to the local D1
# database (`duraclaw`) that `wrangler dev --persist-to PERSIST_DIR` uses. Idempotent (wrangler
# records applied migrations in the database); run it before `wrangler dev`.
apply_d1_migrations() {
  local persist="$1"
  [ -n "$persist" ] || die "apply_d1_migrations needs the --persist-to dir"
  mkdir -p "$persist" "$DURACLAW_ARTIFACTS"
  local out="$DURACLAW_ARTIFACTS/d1-migrations.log"
  if ! (cd "$REPO_ROOT" && CI=1 WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false NO_UPDATE_NOTIFIER=1 \
    WRANGLER_LOG_PATH="$DURACLAW_ARTIFACTS/wrangler-logs" \
    wrangler d1 migrations apply duraclaw --local --persist-to "$persist" </dev/null >"$out" 2>&1); then
    tail -n 30 "$out" >&2
    return 1
  fi
}

# start_stack RUN_DIR PROJECTS BIN FAKE: the whole system on this machine, wired together:
#   - with FAKE=1 the scripted fake model (crates/fake-anthropic) and a Claude config of its own,
#     otherwise the user's Claude login or ANTHROPIC_API_KEY (refused with a clear message when
#     there is neither);
#   - cc-gateway on 127.0.0.1 (GATEWAY_PORT, default free) with a token generated once into
#     RUN_DIR (mode 600; never in argv or a URL) over PROJECTS (a demo repository is created
#     when it is empty); its state and runtime dirs in RUN_DIR;
#   - a one-time set-up code generated once into RUN_DIR/setup-code (mode 600): the first
#     sign-up (the admin) must show it;
#   - wrangler dev (WRANGLER_PORT, WRANGLER_PERSIST) with the D1 migrations applied and the
#     gateway's URL and secret and the SETUP_CODE in an env file (mode 600).
# BIN holds the cc-gateway and fake-anthropic binaries. Sets STACK_URL, STACK_RUN_DIR and
# STACK_SETUP_CODE.
start_stack() {
  local run_dir="$1" projects="$2" bin="$3" fake="$4"
  mkdir -p "$run_dir" "$projects"
  chmod 700 "$run_dir"
  STACK_RUN_DIR="$run_dir"
  local token="$run_dir/gateway-token"
  [ -s "$token" ] || (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token")
  # The one-time set-up code the first sign-up (the admin) must show; only the operator sees it.
  local setup_code="$run_dir/setup-code"
  [ -s "$setup_code" ] || (umask 077 && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$setup_code")
  if [ -z "$(ls -A "$projects")" ]; then
    log "    creating a demo git repository in $projects/demo"
    mkdir -p "$projects/demo"
    (cd "$projects/demo" && git init -q -b main && printf '# demo\n' >README.md && git add . \
      && git -c user.name=Duraclaw -c user.email=duraclaw@localhost commit -qm "initial") || return 1
  fi
  local gateway_env=(CC_GATEWAY_TOKEN_FILE="$token" CLAUDE_BIN="$CLAUDE_BIN"
    CC_GATEWAY_STATE_DIR="$run_dir/gateway-state" CC_GATEWAY_RUNTIME_DIR="$run_dir/gateway-run")
  if [ "$fake" = 1 ]; then
    local fake_port
    fake_port="$(free_port)"
    spawn fake-anthropic "$bin/fake-anthropic" --port "$fake_port"
    wait_http "http://127.0.0.1:$fake_port/_fake/requests" 30 "$SPAWNED_PID" || { log "the fake model did not start: see $SPAWNED_LOG"; return 1; }
    # A Claude config of its own, so the fake never touches the user's real login.
    mkdir -p "$run_dir/fake-claude-home/.claude"
    gateway_env+=(ANTHROPIC_BASE_URL="http://127.0.0.1:$fake_port" ANTHROPIC_API_KEY=fake
      HOME="$run_dir/fake-claude-home" CLAUDE_CONFIG_DIR="$run_dir/fake-claude-home/.claude"
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 CLAUDE_CODE_MAX_RETRIES=1)
    log "    the fake model on port $fake_port: script it with [[...]] directives (crates/fake-anthropic)"
    DURACLAW_FAKE_URL="http://127.0.0.1:$fake_port"
    export DURACLAW_FAKE_URL
  else
    local config_dir="${CLAUDE_CONFIG_DIR:-$HOME/.claude}"
    if [ -z "${ANTHROPIC_API_KEY:-}" ] && [ ! -s "$config_dir/.credentials.json" ]; then
      log "no Claude login ($config_dir/.credentials.json) and no ANTHROPIC_API_KEY: run \`$CLAUDE_BIN\` once and /login, export ANTHROPIC_API_KEY, or use scripts/run.sh --fake-model"
      return 1
    fi
  fi
  GATEWAY_PORT="${GATEWAY_PORT:-$(free_port)}"
  spawn cc-gateway env "${gateway_env[@]}" "$bin/cc-gateway" serve \
    --bind "127.0.0.1:$GATEWAY_PORT" --projects-root "$projects"
  wait_http "http://127.0.0.1:$GATEWAY_PORT/health" 30 "$SPAWNED_PID" || { tail -n 30 "$SPAWNED_LOG" >&2; return 1; }
  log "    cc-gateway on 127.0.0.1:$GATEWAY_PORT (projects: $projects)"
  local env_file="$run_dir/worker.env"
  (umask 077 && printf 'CC_GATEWAY_URL=http://127.0.0.1:%s\nCC_GATEWAY_SECRET=%s\nSETUP_CODE=%s\n' \
    "$GATEWAY_PORT" "$(cat "$token")" "$(cat "$setup_code")" >"$env_file")
  WRANGLER_PERSIST="${WRANGLER_PERSIST:-$run_dir/wrangler-state}"
  apply_d1_migrations "$WRANGLER_PERSIST" || return 1
  start_wrangler --env-file "$env_file" || return 1
  STACK_URL="$WRANGLER_URL"
  STACK_SETUP_CODE="$(cat "$setup_code")"
  export STACK_URL STACK_RUN_DIR STACK_SETUP_CODE GATEWAY_PORT
}
