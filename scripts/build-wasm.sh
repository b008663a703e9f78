#!/usr/bin/env bash
# Builds the wasm parts:
#   crates/orchestrator-worker -> build/index.js + build/index_bg.wasm (wasm-bundle's glue and
#                                 entry module, bundled by esbuild)
#   crates/dashboard           -> build/dashboard/ (index.html, dashboard.js, dashboard_bg.wasm,
#                                 .gz/.br copies), served by the Worker as static assets
# Both use one wasm target dir (target/wasm), separate from the native builds' target/ so the two
# toolchains (Debian rustc 1.96 + build-std here, rustup's for native) never invalidate each
# other and never wait on each other's cargo lock.
# Incremental: cargo's no-op check, then each post-processing step is skipped when its input wasm
# is unchanged (stamps in build/).
#
# Env knobs: DURACLAW_WASM_TARGET_DIR, DURACLAW_WASM_PROFILE=release|dev (dev: no LTO, faster
# rebuilds, bigger output), DURACLAW_WASM_OPT=0 (skip wasm-opt), DURACLAW_WASM_PANIC_MESSAGES=1
# (keep panic messages: a bigger build, for chasing a panic).
. "$(dirname "$0")/lib.sh"
load_env
cd "$REPO_ROOT"

T_ALL="$(_ts)"
WASM_TARGET_DIR="${DURACLAW_WASM_TARGET_DIR:-$REPO_ROOT/target/wasm}"
PROFILE="${DURACLAW_WASM_PROFILE:-release}"
case "$PROFILE" in
  release) PROFILE_ARG=--release; PROFILE_DIR=release ;;
  dev) PROFILE_ARG=""; PROFILE_DIR=debug ;;
  *) die "DURACLAW_WASM_PROFILE must be release or dev" ;;
esac
OUT="$REPO_ROOT/build"
mkdir -p "$OUT"
# One build at a time per checkout (engineers share it): wait for a concurrent build-wasm.sh.
exec 9>"$OUT/.build-wasm.lock"
if ! flock -n 9; then
  log "==> waiting for another scripts/build-wasm.sh in this checkout (up to 15 min) ..."
  flock -w 900 9 || die "another build-wasm.sh held build/.build-wasm.lock for 15 min"
fi
SCRIPT_HASH="$(sha256sum "$0" | cut -c1-12)"

# Runs "$@" with the wasm toolchain's environment. Everything here is scoped to this command:
# RUSTC_BOOTSTRAP, build-std and the profile overrides never reach native cargo builds.
wasm_env() {
  local -a e=(
    CARGO_TARGET_DIR="$WASM_TARGET_DIR"
    # workers-rs builds with this set (its own build tool sets it); set it for every wasm build so
    # the shared dependency artifacts are compiled the same way (wasm-bindgen's macro reads it
    # untracked) and the dashboard and worker builds never disagree.
    WASM_BINDGEN_USE_JS_SYS=1
    # size-oriented release profile for wasm only (the root Cargo.toml's profiles stay native-friendly)
    CARGO_PROFILE_RELEASE_OPT_LEVEL=z
    CARGO_PROFILE_RELEASE_LTO=true
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
    CARGO_PROFILE_RELEASE_DEBUG=false
    CARGO_PROFILE_RELEASE_PANIC=abort
    CARGO_TERM_PROGRESS_WHEN=never
  )
  if [ "$DURACLAW_WASM_MODE" = debian ]; then
    e+=(
      PATH="$DURACLAW_WASM_BIN_DIR:$PATH"
      CARGO="$DURACLAW_WASM_BIN_DIR/cargo"
      RUSTC="$DURACLAW_WASM_BIN_DIR/rustc"
      RUSTC_BOOTSTRAP=1
      CARGO_UNSTABLE_BUILD_STD=std,panic_abort
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$DURACLAW_WASM_LINKER"
    )
  fi
  # Host-oriented flags (e.g. -C target-cpu=native) must not reach the wasm build: pass wasm flags
  # in DURACLAW_WASM_RUSTFLAGS. A caller running under rustup's cargo (e.g. a Rust test calling
  # this script) must not pin the toolchain.
  local flags="${DURACLAW_WASM_RUSTFLAGS:-}"
  # With std built from source, a panic is a bare trap: no message formatting, no file/line
  # strings (the Worker shrinks by about 35 KB gzipped). Nothing reachable from the network may
  # panic; a bug that does still aborts the request, only without its message in the log.
  # Both wasm crates get the same flags so that their shared dependencies are built once.
  if [ "$DURACLAW_WASM_MODE" = debian ] && [ "${DURACLAW_WASM_PANIC_MESSAGES:-0}" != 1 ]; then
    flags="-Zunstable-options -Cpanic=immediate-abort $flags"
  fi
  e+=(RUSTFLAGS="$flags")
  env -u RUSTUP_TOOLCHAIN -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS "${e[@]}" "$@"
}

human() { awk -v n="$1" 'BEGIN { if (n >= 1024*1024) printf "%.2f MB", n/1048576; else printf "%.1f KB", n/1024 }'; }
gz_size() { gzip -9 -n -c "$1" | wc -c; }
br_size() { node -e 'const z=require("zlib"),fs=require("fs");const b=z.brotliCompressSync(fs.readFileSync(process.argv[1]),{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}});console.log(b.length)' "$1"; }
size_line() {
  local f="$1" raw gz br
  raw=$(stat -c %s "$f")
  if [ -f "$f.gz" ]; then gz=$(stat -c %s "$f.gz"); else gz=$(gz_size "$f"); fi
  if [ -f "$f.br" ]; then br=$(stat -c %s "$f.br"); else br=$(br_size "$f"); fi
  printf '    %-36s raw %10s   gzip %10s   brotli %10s\n' "${f#"$REPO_ROOT"/}" "$(human "$raw")" "$(human "$gz")" "$(human "$br")" >&2
}

# ---------------------------------------------------------------------------------------------
# the Worker and the dashboard: one cargo build
# ---------------------------------------------------------------------------------------------
# One invocation rather than one per crate: their common dependencies compile once (with one
# feature set), and the two single-threaded LTO links at the end run side by side.
WORKER_WASM="$WASM_TARGET_DIR/wasm32-unknown-unknown/$PROFILE_DIR/orchestrator_worker.wasm"
DASH_SRC="$REPO_ROOT/crates/dashboard"
DASH_RAW="$WASM_TARGET_DIR/wasm32-unknown-unknown/$PROFILE_DIR/dashboard.wasm"
DASH_OUT="$OUT/dashboard"

cargo_wasm() {
  wasm_env cargo build -p orchestrator-worker -p dashboard ${PROFILE_ARG:+"$PROFILE_ARG"} --target wasm32-unknown-unknown
}
STEP_HINT="a compile error in crates/orchestrator-worker or crates/dashboard, or the toolchain: re-run scripts/setup.sh"
step "cargo build orchestrator-worker and dashboard (wasm32, $PROFILE)" cargo_wasm

# up_to_date OUTPUT STAMP_FILE STAMP: OUTPUT exists and was made from what STAMP sums up.
up_to_date() {
  [ -f "$1" ] && [ "$(cat "$2" 2>/dev/null)" = "$3" ] && log "    up to date"
}
# staging_dir PREFIX: a fresh PREFIX.XXXXXX dir, the ones a failed run left behind removed.
staging_dir() {
  rm -rf "$1".*
  mktemp -d "$1.XXXXXX"
}

# wasm-bundle (crates/wasm-bundle): wasm-bindgen's library at the Cargo.lock version, built by
# the native toolchain into target/ like any workspace crate (the native tests build it too).
WASM_BUNDLE_BIN="$REPO_ROOT/target/debug/wasm-bundle"
cargo_wasm_bundle() {
  env -u CARGO_TARGET_DIR CARGO_TERM_PROGRESS_WHEN=never cargo build -p wasm-bundle --bin wasm-bundle
}
STEP_HINT="a compile error in crates/wasm-bundle"
step "cargo build wasm-bundle (native)" cargo_wasm_bundle

worker_bundle() {
  local stamp
  stamp="$(cat "$WORKER_WASM" "$WASM_BUNDLE_BIN" | sha256sum | cut -c1-16) $SCRIPT_HASH ${DURACLAW_WASM_OPT:-1}"
  up_to_date "$OUT/index.js" "$OUT/.worker-stamp" "$stamp" && return 0
  local tmp t
  tmp="$(staging_dir "$OUT/.worker")" || return 1
  t="$(_ts)"
  "$WASM_BUNDLE_BIN" worker "$WORKER_WASM" "$tmp" || return 1
  log "    wasm-bindgen glue and entry module ($(_elapsed "$t"))"
  # One module for workerd: our entry, the glue and its snippets; the wasm stays a separate
  # module. `import source` (the source-phase import wasm-bindgen writes) becomes a plain import,
  # which wrangler's bundler understands.
  "$ESBUILD_BIN" --log-level=warning --format=esm --bundle --minify "$tmp/entry.js" --outfile="$tmp/bundle.js" \
    --external:./index_bg.wasm '--external:cloudflare:*' || return 1
  sed -i 's/^import source /import /' "$tmp/bundle.js" || return 1
  if [ "${DURACLAW_WASM_OPT:-1}" != 0 ] && [ "$PROFILE" = release ]; then
    # -O then -Oz (one run): about 60 KB gzipped less than wasm-bindgen's output, and 0.7 KB less
    # than -Oz alone; exports and imports are kept, so the glue holds. The glue's abort handler
    # uses exception handling.
    t="$(_ts)"
    "$WASM_OPT_BIN" -O -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
      --enable-exception-handling "$tmp/index_bg.wasm" -o "$tmp/index_bg.opt.wasm" || return 1
    mv "$tmp/index_bg.opt.wasm" "$tmp/index_bg.wasm"
    log "    wasm-opt -O -Oz ($(_elapsed "$t"))"
  fi
  mv "$tmp/bundle.js" "$OUT/index.js" && mv "$tmp/index_bg.wasm" "$OUT/index_bg.wasm" || return 1
  rm -rf "$tmp"
  echo "$stamp" >"$OUT/.worker-stamp"
}
STEP_HINT="see the message above"
step "Worker bundle -> build/index.js, build/index_bg.wasm" worker_bundle


dashboard_assets() {
  local stamp static_hash
  static_hash="$(cd "$DASH_SRC" && find index.html public -type f 2>/dev/null | sort | xargs -r sha256sum | sha256sum | cut -c1-16)"
  stamp="$(cat "$DASH_RAW" "$WASM_BUNDLE_BIN" | sha256sum | cut -c1-16) $static_hash ${DURACLAW_WASM_OPT:-1} $SCRIPT_HASH"
  up_to_date "$DASH_OUT/index.html" "$OUT/.dashboard-stamp" "$stamp" && return 0
  local tmp t
  tmp="$(staging_dir "$OUT/.dashboard")" || return 1
  t="$(_ts)"
  "$WASM_BUNDLE_BIN" web "$DASH_RAW" "$tmp" dashboard || return 1
  log "    wasm-bindgen ($(_elapsed "$t"))"
  if [ "${DURACLAW_WASM_OPT:-1}" != 0 ] && [ "$PROFILE" = release ]; then
    t="$(_ts)"
    "$WASM_OPT_BIN" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      "$tmp/dashboard_bg.wasm" -o "$tmp/dashboard_bg.opt.wasm" || return 1
    mv "$tmp/dashboard_bg.opt.wasm" "$tmp/dashboard_bg.wasm"
    log "    wasm-opt -Oz ($(_elapsed "$t"))"
  fi
  # static files; index.html gets a cache-busting version for the js and wasm
  if [ -d "$DASH_SRC/public" ]; then cp -r "$DASH_SRC/public/." "$tmp/" || return 1; fi
  local v
  v="$(cat "$tmp/dashboard.js" "$tmp/dashboard_bg.wasm" | sha256sum | cut -c1-10)"
  sed "s/__BUILD__/$v/g" "$DASH_SRC/index.html" >"$tmp/index.html" || return 1
  # pre-compressed copies for servers that serve them (the gateway, a CDN); Workers static assets
  # compress on their own, so .assetsignore keeps these out of the upload
  t="$(_ts)"
  local f
  for f in "$tmp"/*.wasm "$tmp"/*.js "$tmp"/index.html; do
    gzip -9 -n -k -f "$f" || return 1
  done
  node -e '
    const z = require("zlib"), fs = require("fs");
    for (const f of process.argv.slice(1))
      fs.writeFileSync(f + ".br", z.brotliCompressSync(fs.readFileSync(f),
        { params: { [z.constants.BROTLI_PARAM_QUALITY]: 11, [z.constants.BROTLI_PARAM_SIZE_HINT]: fs.statSync(f).size } }));
  ' "$tmp"/*.wasm "$tmp"/*.js "$tmp"/index.html || return 1
  printf '*.gz\n*.br\n' >"$tmp/.assetsignore"
  log "    compressed ($(_elapsed "$t"))"
  rm -rf "$DASH_OUT"
  mv "$tmp" "$DASH_OUT" || return 1
  echo "$stamp" >"$OUT/.dashboard-stamp"
}
STEP_HINT="see the message above"
step "dashboard assets -> build/dashboard/" dashboard_assets

log "==> sizes"
size_line "$DASH_OUT/dashboard_bg.wasm"
size_line "$DASH_OUT/dashboard.js"
for f in "$OUT"/*.wasm "$OUT"/index.js; do [ -f "$f" ] && size_line "$f"; done
log "build-wasm done in $(_elapsed "$T_ALL")"
