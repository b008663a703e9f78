// The dashboard on the full local stack (scripts/test.sh: wrangler dev + the real gateway + the
// real CLI + the fake model): the journeys of dashboard-journeys.mjs against DURACLAW_BASE_URL,
// the 30 s cut at a TCP proxy and the PWA shell. The budgets (draw time at 4x CPU, a 10,000-event
// session) are measured by bench.mjs, which prints figures. These FAIL when the
// stack is missing (no skips): the first test says what is missing.
//
// The stack: DURACLAW_STACK_URL when set (a Worker wired to the gateway, the fake model and the
// CLI, with at least one project), else DURACLAW_BASE_URL (test.sh's shared wrangler dev).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, baseUrl } from "./support.mjs";
import { startProxy } from "./tcp-proxy.mjs";
import * as j from "./dashboard-journeys.mjs";

const base = (process.env.DURACLAW_STACK_URL || baseUrl()).replace(/\/$/, "");
let apiProblem = null;
let stackProblem = null;
before(async () => {
  const me = await fetch(`${base}/api/me`).catch(() => ({ status: 0 }));
  if (me.status !== 401 && me.status !== 200) apiProblem = stackProblem = `GET /api/me answered ${me.status} (expected 401 logged out): is the Worker API up?`;
  const projects = stackProblem ? { status: 0 } : await fetch(`${base}/api/projects`).catch(() => ({ status: 0 }));
  if (!stackProblem && projects.status === 404) stackProblem = "GET /api/projects answered 404: the Worker's API routes are missing";
  if (!stackProblem) {
    // a signed-in request must list at least one project (the gateway is wired and has a repo)
    const signup = await fetch(`${base}/api/auth/signup`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(j.SIGNUP()) });
    const login = await fetch(`${base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(j.ADMIN) });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
    const list = await fetch(`${base}/api/projects`, { headers: { cookie } });
    const body = await list.text();
    if (login.status !== 200) stackProblem = `login answered ${login.status} (signup ${signup.status}): ${body.slice(0, 200)}`;
    else if (list.status !== 200) stackProblem = `GET /api/projects answered ${list.status}: ${body.slice(0, 200)} (is a gateway wired to this Worker?)`;
    else if (JSON.parse(body).length === 0) stackProblem = "GET /api/projects is empty: the stack needs one git repository under the gateway's projects root";
  }
});
/** The Worker's API with a gateway, the CLI and a project behind it. */
const need = () => assert.equal(stackProblem, null, stackProblem ?? "");
/** The Worker's own API (auth, the sessions list). */
const needApi = () => assert.equal(apiProblem, null, apiProblem ?? "");

test("the stack answers the dashboard's API", () => need());

/** One browser per viewport, the first signed in as the admin (at `at`) unless `signIn` is false; `fn` gets them all; all are closed after. */
async function withBrowsers(viewports, fn, { at = base, signIn = true } = {}) {
  const browsers = [];
  try {
    for (const viewport of viewports) browsers.push(await launch({ viewport }));
    if (signIn) await j.ensureSignedIn(browsers[0].context, at);
    return await fn(...browsers);
  } finally {
    for (const d of browsers) await d.close();
  }
}
const { phone, laptop } = j.SIZES;

test("journey: set-up, every screen, a session whose Bash call is approved and returns", async () => {
  need();
  await withBrowsers([phone], async (d) => {
    await j.journey({ base, page: d.page, tag: "stack" });
    assert.deepEqual(d.errors.filter((e) => !/WebSocket|status of 40[13]/.test(e)), []);
  }, { signIn: false });
});

test("Home is live: a session needing the user appears first without a reload, then settles", async () => {
  need();
  await withBrowsers([phone], (d) => j.homeIsLive({ base, page: d.page, tag: "stack" }));
});

test("notifications: a session that starts needing the user notifies on another screen and leads to it", async () => {
  need();
  await withBrowsers([phone], (d) => j.notifiesWhenNeeded({ base, context: d.context, page: d.page }));
});

test("a denied call tells Claude why; a question is answered from its card", async () => {
  need();
  await withBrowsers([phone], (d) => j.denyAndAnswer({ base, page: d.page, tag: "stack" }));
});

test("kata: a state written during the session shows on its screen and links to the worktree panel", async () => {
  need();
  await withBrowsers([phone], (d) => j.kataOnSession({ base, page: d.page, tag: "stack" }));
});

test("users: the admin adds a user from the Users screen; they log in on another device", async () => {
  needApi();
  await withBrowsers([phone, phone], (a, b) => j.adminAddsUser({ base, admin: a.page, other: b.page, tag: "stack" }));
});

test("the end of a login: a user changes their password; the admin disables them and their open session screen signs out", async () => {
  need();
  await withBrowsers([phone, phone], (a, b) => j.passwordAndDisabling({ base, admin: a.page, other: b.page, tag: "stack" }));
});

test("two devices: B approves what A raised; a prompt from B shows on A", async () => {
  need();
  await withBrowsers([phone, laptop], async (a, b) => {
    await j.signInContext(b.context, base);
    await j.approveFromSecondDevice({ base, a: a.page, b: b.page });
    await j.promptFromOtherDevice({ a: a.page, b: b.page });
  });
});

test("reload mid-stream: nothing missing, nothing doubled", async () => {
  need();
  await withBrowsers([phone], (d) => j.reloadMidStream({ base, page: d.page, context: d.context }));
});

test("every connection cut at a TCP proxy for 30 s, then restored: caught up, nothing doubled", { timeout: 180_000 }, async () => {
  need();
  const proxy = await startProxy(base);
  try {
    await withBrowsers([phone], (d) => j.socketCut({ proxy, page: d.page, context: d.context, directBase: base, cutMs: 30_000 }), { at: proxy.url });
  } finally {
    await proxy.close();
  }
});

test("PWA: manifest and icons served, the service worker caches the shell and never /api", async () => {
  needApi();
  await withBrowsers([phone], async ({ page }) => {
    const manifest = await (await fetch(`${base}/manifest.webmanifest`)).json();
    assert.equal(manifest.display, "standalone");
    for (const icon of manifest.icons) assert.equal((await fetch(`${base}${icon.src}`)).status, 200, icon.src);
    await page.goto(`${base}/`);
    await page.getByTestId("session-list").or(page.getByTestId("no-sessions")).waitFor();
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.reload();
    await page.getByTestId("app-title").waitFor();
    const cached = await page.evaluate(async () => {
      const urls = [];
      for (const key of await caches.keys()) for (const req of await (await caches.open(key)).keys()) urls.push(new URL(req.url).pathname);
      return urls;
    });
    assert.ok(cached.includes("/"), `shell cached: ${cached}`);
    assert.ok(cached.some((u) => u.endsWith(".wasm")), `wasm cached: ${cached}`);
    assert.ok(!cached.some((u) => u.startsWith("/api/")), `nothing under /api cached: ${cached}`);
  });
});
