#!/usr/bin/env bash
# Duraclaw's benchmarks: prints figures, asserts nothing on time.
#   1. the gateway: CLI line -> WebSocket frame (events/s, latency), RSS of daemon and idle runner
#      (cargo bench -p cc-gateway --bench gateway)
#   2. end to end through the SessionDO: gateway event -> browser client latency at 100 and
#      1,000 events/s, the most events/s one session sustains to 10 clients, Worker bundle gzip
#      (cargo run -p e2e --release --bin bench)
#   3. the dashboard on the whole system (fake model): session list drawn at 4x CPU, a 10,000-event
#      session opened (crates/e2e/browser/bench.mjs), and its transfer size (brotli)
# Usage: scripts/bench.sh [gateway|session|dashboard]...   (default: all three)
. "$(dirname "$0")/lib.sh"
use_cleanup_trap
cd "$REPO_ROOT"
step "setup" "$REPO_ROOT/scripts/setup.sh"
load_env
WHICH=("$@")
[ ${#WHICH[@]} -gt 0 ] || WHICH=(gateway session dashboard)

brotli_kb() { node -e 'const z=require("zlib"),f=require("fs");let t=0;for(const p of process.argv.slice(1))t+=z.brotliCompressSync(f.readFileSync(p)).length;console.log((t/1024).toFixed(1))' "$@"; }

for what in "${WHICH[@]}"; do
  case "$what" in
    gateway)
      step "bench: gateway" cargo bench -q -p cc-gateway --bench gateway ;;
    session)
      step "build wasm" "$REPO_ROOT/scripts/build-wasm.sh"
      step "build cc-gateway (release)" cargo build -q --release -p cc-gateway
      step "bench: session end to end" cargo run -q -p e2e --release --bin bench ;;
    dashboard)
      step "build wasm" "$REPO_ROOT/scripts/build-wasm.sh"
      step "build cc-gateway and the stack launcher (release)" cargo build -q --release -p cc-gateway -p e2e --bin cc-gateway --bin stack
      STACK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/duraclaw-bench.XXXXXX")"
      STACK_END_RUNNERS=1
      step "start the system (fake model)" start_stack "$STACK_DIR/run" "$STACK_DIR/projects" "$REPO_ROOT/target/release" 1
      step "bench: dashboard" env DURACLAW_STACK_URL="$STACK_URL" node "$REPO_ROOT/crates/e2e/browser/bench.mjs"
      log "dashboard transfer (wasm + js, brotli): $(brotli_kb build/dashboard/dashboard_bg.wasm build/dashboard/dashboard.js) KB (budget 150 KB)"
      cleanup ;;
    *) die "unknown bench $what (gateway, session, dashboard)" ;;
  esac
done
