// Shared helpers for the browser tests (node:test + playwright-core driving Debian's chromium).
// Run by scripts/test.sh with DURACLAW_BASE_URL (a running `wrangler dev`), DURACLAW_NPM (the npm
// tools dir from scripts/setup.sh) and CHROMIUM set. Standalone:
//   . ~/.cache/duraclaw/env.sh && DURACLAW_BASE_URL=http://127.0.0.1:8787 node --test crates/e2e/browser/
import { createRequire } from "node:module";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through scripts/test.sh, or source ~/.cache/duraclaw/env.sh`);
  return v;
}

// playwright-core lives in the cache outside the clone: ESM imports don't search NODE_PATH, so
// resolve it from there.
const require = createRequire(join(need("DURACLAW_NPM"), "package.json"));
export const { chromium } = require("playwright-core");

export const baseUrl = () => need("DURACLAW_BASE_URL").replace(/\/$/, "");
/** The stack's one-time set-up code (start_stack's STACK_SETUP_CODE), which the first sign-up shows. */
export const setupCode = () => process.env.DURACLAW_SETUP_CODE || process.env.STACK_SETUP_CODE || "";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches chromium with a fresh user-data-dir. Returns { context, page, errors, close }:
 * `errors` collects uncaught page errors and console errors, so tests can assert none happened.
 * Other options (`hasTouch`, `isMobile`...) go to the browser context as they are.
 */
export async function launch({ viewport = { width: 390, height: 800 }, ...options } = {}) {
  const userDataDir = await mkdtemp(join(tmpdir(), "duraclaw-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: need("CHROMIUM"),
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    ...options,
    timeout: 30_000,
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console.error: ${m.text()}`);
  });
  const close = async () => {
    await context.close().catch(() => {});
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  };
  return { context, page, errors, close };
}

/**
 * Where a test run's artifacts (screenshots) go: DURACLAW_ARTIFACTS (scripts/test.sh sets it),
 * else test-artifacts/latest under the repository root.
 */
export function artifactsDir(...sub) {
  const root = process.env.DURACLAW_ARTIFACTS || join(new URL("../../..", import.meta.url).pathname, "test-artifacts", "latest");
  return join(root, ...sub);
}
