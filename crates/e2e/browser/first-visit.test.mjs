// First visit: a deployment with no users opens on set-up (not on "Log in" with set-up behind a
// link), and once the admin exists the phone header ("Log out NAME" included) fits a 390 px
// screen. The shared stack of scripts/test.sh cannot show a first visit (its first sign-up
// happens in whichever test runs first), so this file starts a `wrangler dev` of its own on a
// fresh D1 (the built Worker and dashboard, the D1 migrations applied by wrangler, a set-up code
// of its own): a real fresh deployment, whatever the order the files run in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { mkdtemp, mkdir, rm, open, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { launch, artifactsDir } from "./support.mjs";

const ROOT = new URL("../../..", import.meta.url).pathname;
const SETUP_CODE = "first-visit-setup-code-5d1c0a7e";
// A long name (the header must still fit) within the Worker's 64 characters.
const ADMIN = { name: "administrator.of.this.duraclaw", password: "first-visit-password-1" };
const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1280, height: 800 };

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A `wrangler dev` of the built Worker on a fresh state dir: a deployment with no users. */
async function freshWorker() {
  const persist = await mkdtemp(join(tmpdir(), "duraclaw-first-visit-"));
  const quiet = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_UPDATE_NOTIFIER: "1", CI: "1" };
  await promisify(execFile)("wrangler", ["d1", "migrations", "apply", "duraclaw", "--local", "--persist-to", persist], {
    cwd: ROOT,
    env: { ...process.env, ...quiet, WRANGLER_LOG_PATH: join(persist, "wrangler-logs") },
  });
  const port = await freePort();
  const logPath = join(persist, "wrangler.log");
  const log = await open(logPath, "w");
  const child = spawn(
    "wrangler",
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()),
      "--persist-to", persist, "--show-interactive-dev-session=false", "--var", `SETUP_CODE:${SETUP_CODE}`],
    {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", log.fd, log.fd],
      env: { ...process.env, ...quiet, WRANGLER_LOG_PATH: join(persist, "wrangler-logs") },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    try { process.kill(-child.pid, "SIGTERM"); } catch {}
    await new Promise((r) => setTimeout(r, 500));
    try { process.kill(-child.pid, "SIGKILL"); } catch {}
    await log.close().catch(() => {});
    await rm(persist, { recursive: true, force: true }).catch(() => {});
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    const up = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      const text = await readFile(logPath, "utf8").catch(() => "");
      await close();
      throw new Error(`wrangler dev did not come up (exit ${child.exitCode}): ${text.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, close };
}

let worker;
before(async () => {
  worker = await freshWorker();
});
after(async () => {
  await worker?.close();
});

const setupState = async () => {
  const r = await fetch(`${worker.url}/api/auth/setup`);
  assert.equal(r.status, 200);
  return r.json();
};

/** Screenshots the current viewport into <artifacts>/screenshots/first-visit-<screen>-<size>.png. */
async function shoot(page, screen, size) {
  const dir = artifactsDir("screenshots");
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: `${dir}/first-visit-${screen}-${size}.png` });
}

/** Every element of the header lies inside the viewport, and the page never scrolls sideways. */
async function assertHeaderFits(page, size) {
  const report = await page.evaluate(() => {
    const width = window.innerWidth;
    const out = [];
    for (const el of document.querySelectorAll("header.top, header.top *")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < -0.5 || r.right > width + 0.5) out.push(`${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ""} "${el.textContent.trim().slice(0, 40)}" spans ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    const parts = [...document.querySelectorAll('[data-testid="logout"] span')].map((s) => ({
      text: s.textContent, width: s.getBoundingClientRect().width, clipped: s.scrollWidth > s.clientWidth + 1,
    }));
    return { width, scroll: document.documentElement.scrollWidth, outside: out, parts };
  });
  assert.deepEqual(report.outside, [], `${size}: header parts outside the ${report.width} px viewport`);
  assert.ok(report.scroll <= report.width, `${size}: the page is ${report.scroll} px wide in a ${report.width} px viewport`);
  // "Log out" shows whole; the name shows, cut with an ellipsis when it is long
  const [what, who] = report.parts;
  assert.deepEqual([what.text, what.clipped], ["Log out", false], `${size}: ${JSON.stringify(report.parts)}`);
  assert.ok(who.text === ADMIN.name && who.width >= 24, `${size}: the name is squeezed to ${who.width} px`);
  return report.parts;
}

test("a deployment with no users opens on set-up; the admin's header fits a 390 px phone", async () => {
  assert.deepEqual(await setupState(), { setup_open: true }, "a fresh D1 has no user");
  const phone = await launch({ viewport: PHONE });
  const other = await launch({ viewport: PHONE });
  try {
    const { page, errors } = phone;
    // the root and /login both lead to set-up while no one can log in
    for (const path of ["/", "/login"]) {
      await page.goto(`${worker.url}${path}`);
      await page.getByTestId("setup").waitFor({ timeout: 20_000 });
      assert.equal(new URL(page.url()).pathname, "/setup", `${path} opens on set-up`);
      assert.equal(await page.getByTestId("login").count(), 0, "no login form");
    }
    await shoot(page, "setup", "phone");

    await page.getByTestId("setup-code").fill(SETUP_CODE);
    await page.getByTestId("setup-name").fill(ADMIN.name);
    await page.getByTestId("setup-password").fill(ADMIN.password);
    await page.getByTestId("setup-confirm").fill(ADMIN.password);
    await page.getByTestId("setup-submit").click();
    const logout = page.getByTestId("logout");
    await logout.waitFor({ timeout: 30_000 });
    assert.equal(await logout.textContent(), `Log out ${ADMIN.name}`);
    await page.getByTestId("nav-users").waitFor();
    assert.deepEqual(await setupState(), { setup_open: false }, "set-up closes with the first user");

    assert.equal(await logout.getAttribute("title"), `Log out ${ADMIN.name}`, "the whole name on hover");
    await assertHeaderFits(page, "phone");
    await shoot(page, "header", "phone");
    await page.setViewportSize(LAPTOP);
    const [, who] = await assertHeaderFits(page, "laptop");
    assert.equal(who.clipped, false, "a laptop shows the whole name");
    await shoot(page, "header", "laptop");
    assert.deepEqual(errors.filter((e) => !/status of 401/.test(e)), []);

    // once set up, a signed-out visitor gets the login form and stays there
    const answered = other.page.waitForResponse((r) => new URL(r.url()).pathname === "/api/auth/setup");
    await other.page.goto(`${worker.url}/`);
    await other.page.getByTestId("login").waitFor({ timeout: 20_000 });
    assert.deepEqual(await (await answered).json(), { setup_open: false });
    await other.page.waitForTimeout(300);
    assert.equal(new URL(other.page.url()).pathname, "/", "no redirect once set up");
    assert.equal(await other.page.getByTestId("setup").count(), 0);
    await shoot(other.page, "login", "phone");
  } finally {
    await phone.close();
    await other.close();
  }
});
