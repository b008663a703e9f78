#!/usr/bin/env bash
# The project's test command (.ci/run calls exactly this):
#   1. scripts/setup.sh            tools into the cache (fast when present)
#   2. native tests                cargo nextest (or cargo test) on the default members, and the
#                                  native unit tests of the dashboard and the Worker
#   3. scripts/build-wasm.sh       the Worker and the dashboard; it runs alongside step 2 (its own
#                                  target dir and toolchain: the two fill each other's idle and
#                                  single-threaded stretches, such as the wasm LTO link), its
#                                  output shown when step 2 is done
#   4. end-to-end                  `wrangler dev` (offline, a free port, a temp --persist-to) and
#                                  every step in E2E_STEPS against it; beside them, in the
#                                  background, E2E_BACKGROUND_STEPS (tests that start their own)
# Every server started here is killed on exit (lib.sh's cleanup trap); every wait has a timeout.
#
# Adding an end-to-end step: write a function `e2e_<name>` below and append it to E2E_STEPS (or,
# if it starts its own servers and uses nothing of the shared system, E2E_BACKGROUND_STEPS).
# It runs with these set (and exported for child processes):
#   WRANGLER_URL / DURACLAW_BASE_URL   the Worker + dashboard, e.g. http://127.0.0.1:41234
#   WRANGLER_PERSIST                   its --persist-to dir (DO SQLite, D1)
#   DURACLAW_BUILD_DIR                 build/ (index.js, dashboard/)
#   CLAUDE_BIN, CHROMIUM, DURACLAW_NPM, PATH with node 22 and wrangler
#   DURACLAW_FAKE_URL, DURACLAW_CLAUDE_CONFIG_DIR   the fake model, and the CLI's config dir in the stack
# A browser test is just a new crates/e2e/browser/*.test.mjs file (node:test; see support.mjs).
#
# Env knobs: DURACLAW_TEST_SKIP_SETUP=1, DURACLAW_TEST_ONLY_E2E=1 (skip native tests),
# DURACLAW_ARTIFACTS (logs; default test-artifacts/<time>-<pid>/, test-artifacts/latest).
. "$(dirname "$0")/lib.sh"
use_cleanup_trap
cd "$REPO_ROOT"
T_TEST="$(_ts)"

if [ "${DURACLAW_TEST_SKIP_SETUP:-}" != 1 ]; then
  STEP_HINT="see the setup output above"
  step "setup" "$REPO_ROOT/scripts/setup.sh"
fi
load_env
mkdir -p "$DURACLAW_ARTIFACTS"
ln -sfn "$DURACLAW_ARTIFACTS" "$REPO_ROOT/test-artifacts/latest" 2>/dev/null || true
# keep the 10 newest runs
ls -1dt "$REPO_ROOT"/test-artifacts/2*-* 2>/dev/null | tail -n +11 | xargs -r rm -rf

# ---------------------------------------------------------------------------------------------
# native tests (default members, shared target/)
# ---------------------------------------------------------------------------------------------
native_tests() {
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --no-tests=warn || return 1
    cargo test --doc || return 1
  else
    cargo test || return 1
  fi
  # The wasm crates are not default members, but their pure parts are tested natively: the
  # dashboard's markdown renderer and export, and the Worker's `rules` (cookies, origins), against
  # hostile input; neither compiles leptos or `worker` natively.
  cargo test -p dashboard || return 1
  cargo test -p orchestrator-worker --lib || return 1
}
if [ "${DURACLAW_TEST_ONLY_E2E:-}" != 1 ]; then
  spawn build-wasm "$REPO_ROOT/scripts/build-wasm.sh"
  WASM_PID="$SPAWNED_PID"
  WASM_LOG="$SPAWNED_LOG"
  log "==> build wasm (scripts/build-wasm.sh) started alongside the native tests (log ${WASM_LOG#"$REPO_ROOT"/})"
  STEP_HINT="a failing native test: the output above names it"
  step "native tests (cargo $(cargo nextest --version >/dev/null 2>&1 && echo nextest || echo test))" native_tests
fi

# ---------------------------------------------------------------------------------------------
# wasm
# ---------------------------------------------------------------------------------------------
# The wasm build started alongside the native tests, or (DURACLAW_TEST_ONLY_E2E=1) now.
wait_wasm() {
  if [ -z "${WASM_PID:-}" ]; then
    "$REPO_ROOT/scripts/build-wasm.sh"
    return
  fi
  wait_spawned "$WASM_PID" "$WASM_LOG"
}
STEP_HINT="see the build-wasm output above (${WASM_LOG:-})"
step "build wasm (scripts/build-wasm.sh)" wait_wasm
export DURACLAW_BUILD_DIR="$REPO_ROOT/build"

# ---------------------------------------------------------------------------------------------
# end-to-end steps
# ---------------------------------------------------------------------------------------------
e2e_health() {
  local body
  body="$(curl -sS --max-time 10 -f "$WRANGLER_URL/health")" || return 1
  log "    /health: $body"
  node -e 'const b = JSON.parse(process.argv[1]); if (b.ok !== true) { console.error("ok is not true"); process.exit(1) }' "$body"
}

e2e_browser() {
  local f failed=0 t
  for f in "$REPO_ROOT"/crates/e2e/browser/*.test.mjs; do
    [ -e "$f" ] || continue
    t="$(_ts)"
    if node --test --test-timeout=900000 "$f" >"$DURACLAW_ARTIFACTS/browser-$(basename "$f" .test.mjs).log" 2>&1; then
      log "    pass ${f#"$REPO_ROOT"/} ($(_elapsed "$t"))"
    else
      log "    FAIL ${f#"$REPO_ROOT"/} ($(_elapsed "$t")):"
      sed 's/^/      /' "$DURACLAW_ARTIFACTS/browser-$(basename "$f" .test.mjs).log" | tail -n 60 >&2
      failed=1
    fi
  done
  return "$failed"
}

# Rust end-to-end tests that need the built wasm and a running Worker: mark them #[ignore] (so the
# native step skips them) and run them here against DURACLAW_BASE_URL, e.g.
#   e2e_rust() { cargo test -p e2e -- --ignored; }
# and add e2e_rust to E2E_BACKGROUND_STEPS below.

# The deploy bundle, built offline the way `wrangler deploy` would upload it.
e2e_deploy_bundle() {
  local out
  out="$(mktemp -d "${TMPDIR:-/tmp}/duraclaw-deploy.XXXXXX")"
  wrangler deploy --dry-run --outdir "$out" >"$DURACLAW_ARTIFACTS/deploy-dry-run.log" 2>&1 || {
    tail -n 40 "$DURACLAW_ARTIFACTS/deploy-dry-run.log" >&2
    return 1
  }
  [ -s "$out/index.js" ] || { log "    no index.js in the dry-run bundle"; return 1; }
  log "    bundle: $(ls "$out" | tr '\n' ' ')"
  rm -rf "$out"
}

# The HTTP API (auth, rate limit, sessions, projects via a real cc-gateway): crates/e2e/tests/api_*.rs
# start their own wrangler dev (own D1 state, restarts) and gateway.
e2e_api() {
  cargo build -q -p cc-gateway || return 1
  local tests=() f
  for f in "$REPO_ROOT"/crates/e2e/tests/api_*.rs; do tests+=(--test "$(basename "$f" .rs)"); done
  cargo test -p e2e "${tests[@]}" -- --ignored --nocapture --test-threads 2 >"$DURACLAW_ARTIFACTS/e2e-api.log" 2>&1 || {
    tail -n 80 "$DURACLAW_ARTIFACTS/e2e-api.log" >&2
    return 1
  }
  grep -E "^test result|PBKDF2" "$DURACLAW_ARTIFACTS/e2e-api.log" | sed 's/^/    /' >&2
}

# The SessionDO end to end (crates/e2e/tests/session.rs): each test starts its own wrangler dev
# (own --persist-to), the real gateway, the fake model and the real CLI, and restarts or kills
# them mid-turn (wrangler restart, gateway SIGKILL, half-open proxy, 3 MB frames, bad frames).
e2e_session() {
  cargo build -q -p cc-gateway || return 1
  cargo test -p e2e --test session -- --ignored --test-threads=1 >"$DURACLAW_ARTIFACTS/e2e-session.log" 2>&1 || {
    tail -n 80 "$DURACLAW_ARTIFACTS/e2e-session.log" >&2
    return 1
  }
  grep -E "^test " "$DURACLAW_ARTIFACTS/e2e-session.log" | sed 's/^/    /' >&2
}

E2E_STEPS=(
  e2e_health
  e2e_deploy_bundle
  e2e_browser
)
# Steps that start their own wrangler dev and gateway per test, and so need nothing of the shared
# system: they run one after another in the background while E2E_STEPS run (most of both is
# waiting on processes, not compiling), their output shown when E2E_STEPS are done.
E2E_BACKGROUND_STEPS=(
  e2e_api
  e2e_session
)

# The whole system for the steps that use a shared one (health, browser): the fake model, the
# gateway (debug build) over a fresh projects root, wrangler dev; its runners end with the run.
STACK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/duraclaw-stack.XXXXXX")"
STACK_END_RUNNERS=1
STEP_HINT="logs in $DURACLAW_ARTIFACTS"
step "build cc-gateway and the stack launcher" cargo build -q -p cc-gateway -p e2e --bin cc-gateway --bin stack
step "start the system (fake model, gateway, wrangler dev)" start_stack "$STACK_DIR/run" "$STACK_DIR/projects" "$REPO_ROOT/target/debug" 1
export DURACLAW_BASE_URL="$WRANGLER_URL" DURACLAW_STACK_URL="$STACK_URL" DURACLAW_SETUP_CODE="$STACK_SETUP_CODE"
# the CLI's config in the stack (vps-sessions.test.mjs runs the CLI there as a terminal would)
export DURACLAW_CLAUDE_CONFIG_DIR="${STACK_CLAUDE_CONFIG_DIR:-}"
log "    $WRANGLER_URL (launcher pid $STACK_PID, wrangler log ${WRANGLER_LOG#"$REPO_ROOT"/})"

# The steps run by a child bash (spawn's own process group): it gets them, and what `step` uses,
# as exported functions, and the step names as its arguments.
export -f step log _ts _elapsed "${E2E_BACKGROUND_STEPS[@]}"
spawn e2e-background bash -c 'for s; do STEP_HINT="logs in $DURACLAW_ARTIFACTS"; step "e2e: ${s#e2e_}" "$s"; done' \
  _ "${E2E_BACKGROUND_STEPS[@]}"
BG_PID="$SPAWNED_PID"
BG_LOG="$SPAWNED_LOG"
log "==> e2e: ${E2E_BACKGROUND_STEPS[*]#e2e_} started in the background (log ${BG_LOG#"$REPO_ROOT"/})"

for s in "${E2E_STEPS[@]}"; do
  STEP_HINT="logs in $DURACLAW_ARTIFACTS (wrangler: ${WRANGLER_LOG#"$REPO_ROOT"/})"
  step "e2e: ${s#e2e_}" "$s"
done

STEP_HINT="the failing step's output is above (logs in $DURACLAW_ARTIFACTS)"
step "e2e: ${E2E_BACKGROUND_STEPS[*]#e2e_} (background)" wait_spawned "$BG_PID" "$BG_LOG"

cleanup
log ""
log "ALL TESTS PASSED in $(_elapsed "$T_TEST")"
