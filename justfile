# Duraclaw's tasks. The scripts are the source of truth; `just` is a shortcut.

# install the toolchain and tools into ~/.cache/duraclaw (idempotent)
setup:
    scripts/setup.sh

# everything CI runs: setup, native tests, wasm build, end-to-end tests
test:
    scripts/test.sh

# build the Worker (build/index.js) and the dashboard (build/dashboard/)
build-wasm:
    scripts/build-wasm.sh

# run the Worker + dashboard locally (wrangler dev) and print the URL
run:
    scripts/run.sh

# deploy to Cloudflare: D1 migrations (remote), then wrangler deploy (DRY_RUN=1: offline bundle check)
deploy:
    scripts/deploy.sh
