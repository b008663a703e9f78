# shellcheck shell=bash
# Shared helpers for Duraclaw's scripts. Source it: `. "$(dirname "$0")/lib.sh"`.
#
#   step NAME CMD...      run CMD with a progress line and its duration; on failure print what
#                         failed and the hint in $STEP_HINT (if set), then exit 1
#   load_env              source $DURACLAW_CACHE/env.sh (written by scripts/setup.sh)
#   spawn NAME CMD...     start a background server in its own process group, register it for
#                         cleanup; sets SPAWNED_PID and SPAWNED_LOG
#   wait_spawned PID LOG  wait for a spawned script with progress, then show its log
#   start_stack RUN_DIR PROJECTS BIN FAKE
#                         the whole system wired together by the one launcher ($BIN/stack): (the
#                         fake model,) cc-gateway and wrangler dev; sets STACK_URL (run.sh,
#                         test.sh and bench.sh use it)
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

# wait_spawned PID LOG: waits for a spawned script, every 30 s its latest `==>` step line, then
# prints its log indented; returns its exit status.
wait_spawned() {
  local pid="$1" log_file="$2" rc=0 i=0
  while kill -0 "$pid" 2>/dev/null; do
    [ $((i % 30)) -eq 0 ] && log "    waiting for it (${i}s): $(grep '^==>' "$log_file" | tail -n 1)"
    sleep 1
    i=$((i + 1))
  done
  wait "$pid" || rc=$?
  sed 's/^/    | /' "$log_file" >&2
  return "$rc"
}

# stop PID: SIGTERM the process group, SIGKILL after 30 s (the stack launcher stops what it
# started first, each part within 10 s).
stop() {
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 300); do
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
}

use_cleanup_trap() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# start_stack RUN_DIR PROJECTS BIN FAKE: the whole system on this machine, wired together, by
# the one launcher ($BIN/stack, crates/e2e/src/bin/stack.rs, the same code the Rust tests and the
# session bench start it with):
#   - with FAKE=1 the scripted fake model (crates/fake-anthropic) and a Claude config of its own
#     (FAKE=demo: the fake plays its demo session for a plain prompt); otherwise the user's
#     Claude login or ANTHROPIC_API_KEY (refused with a clear message when there is neither);
#   - cc-gateway on 127.0.0.1 (GATEWAY_PORT, default free) with a token generated once into
#     RUN_DIR (mode 600; never in argv or a URL) over PROJECTS (a demo repository is created
#     when it is empty); its state and runtime dirs in RUN_DIR;
#   - a one-time set-up code generated once into RUN_DIR/setup-code (mode 600): the first
#     sign-up (the admin) must show it;
#   - wrangler dev (WRANGLER_PORT, WRANGLER_PERSIST) with the D1 migrations applied and the
#     gateway's URL and secret and the SETUP_CODE in an env file (mode 600).
# Logs go to $DURACLAW_ARTIFACTS. The session runners end with the stack when STACK_END_RUNNERS=1.
# Sets STACK_PID, STACK_URL, WRANGLER_URL, WRANGLER_LOG, WRANGLER_PERSIST, GATEWAY_PORT,
# STACK_RUN_DIR, STACK_SETUP_CODE and (fake model) DURACLAW_FAKE_URL and STACK_CLAUDE_CONFIG_DIR (the
# CLI's config dir in the fake model's sandbox, where its session files go).
start_stack() {
  local run_dir="$1" projects="$2" bin="$3" fake="$4"
  [ -x "$bin/stack" ] || { log "$bin/stack is missing: cargo build -p e2e --bin stack (with the profile of $bin)"; return 1; }
  mkdir -p "$run_dir" "$DURACLAW_ARTIFACTS"
  chmod 700 "$run_dir"
  local env_out="$run_dir/stack.env"
  rm -f "$env_out"
  local args=(--run-dir "$run_dir" --projects "$projects" --logs "$DURACLAW_ARTIFACTS" --env-out "$env_out")
  case "$fake" in
    1) ;;
    demo) args+=(--demo) ;;
    *) args+=(--real-model) ;;
  esac
  [ -n "${GATEWAY_PORT:-}" ] && args+=(--gateway-port "$GATEWAY_PORT")
  [ -n "${WRANGLER_PORT:-}" ] && args+=(--worker-port "$WRANGLER_PORT")
  [ -n "${WRANGLER_PERSIST:-}" ] && args+=(--persist "$WRANGLER_PERSIST")
  [ "${STACK_END_RUNNERS:-}" = 1 ] || args+=(--keep-runners)
  spawn stack "$bin/stack" "${args[@]}"
  STACK_PID="$SPAWNED_PID"
  # The launcher prints its progress to its log; show it as it comes.
  tail -n +1 -f --pid "$STACK_PID" "$SPAWNED_LOG" 2>/dev/null | grep --line-buffered '^    stack: ' >&2 &
  local tailer=$! deadline=$((SECONDS + ${STACK_START_TIMEOUT:-240}))
  while [ ! -s "$env_out" ]; do
    if ! kill -0 "$STACK_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      kill "$tailer" 2>/dev/null || true
      log "the stack did not come up; the tail of $SPAWNED_LOG:"
      tail -n 40 "$SPAWNED_LOG" >&2 || true
      return 1
    fi
    sleep 0.2
  done
  kill "$tailer" 2>/dev/null || true
  # shellcheck disable=SC1090
  . "$env_out"
  export STACK_PID STACK_URL WRANGLER_URL WRANGLER_LOG WRANGLER_PERSIST GATEWAY_PORT STACK_RUN_DIR STACK_SETUP_CODE
  [ -z "${DURACLAW_FAKE_URL:-}" ] || export DURACLAW_FAKE_URL
  [ -z "${STACK_CLAUDE_CONFIG_DIR:-}" ] || export STACK_CLAUDE_CONFIG_DIR
}
