// The dashboard's journeys, run against the real stack by dashboard-stack.test.mjs (wrangler dev +
// gateway + CLI + fake model) and measured by bench.mjs. Prompts script the model with the fake
// Anthropic API's directives.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { artifactsDir, setupCode } from "./support.mjs";

export const ADMIN = { name: process.env.DURACLAW_E2E_USER || "admin", password: process.env.DURACLAW_E2E_PASSWORD || "e2e-password-1234" };
/** The first sign-up's body: the admin and the operator's set-up code. */
export const SIGNUP = () => ({ ...ADMIN, setup_code: setupCode() });
export const SIZES = { phone: { width: 390, height: 844 }, laptop: { width: 1280, height: 800 } };

/** Screenshots the page at both sizes into <artifacts>/screenshots/<tag>-<screen>-<size>.png. */
export async function screenshots(page, tag, screen) {
  const dir = artifactsDir("screenshots");
  await mkdir(dir, { recursive: true });
  const before = page.viewportSize();
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(100);
    await page.screenshot({ path: `${dir}/${tag}-${screen}-${size}.png`, fullPage: false });
    // nothing wider than the screen: a phone must never scroll sideways
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(scroll <= width, `${screen} at ${size}: the page is ${scroll} px wide in a ${width} px viewport`);
  }
  if (before) await page.setViewportSize(before);
}

/** Signs in through the UI: the set-up screen when the server is new, else login. */
export async function signInThroughUi(page, base, { shoot } = {}) {
  await page.goto(`${base}/setup`);
  await page.getByTestId("setup").waitFor();
  if (shoot) await shoot("setup");
  await page.getByTestId("setup-code").fill(setupCode());
  await page.getByTestId("setup-name").fill(ADMIN.name);
  await page.getByTestId("setup-password").fill(ADMIN.password);
  await page.getByTestId("setup-confirm").fill(ADMIN.password);
  await page.getByTestId("setup-submit").click();
  const outcome = await Promise.race([
    page.getByTestId("logout").waitFor({ timeout: 20_000 }).then(() => "in"),
    page.getByTestId("setup-taken").waitFor({ timeout: 20_000 }).then(() => "taken"),
  ]);
  if (outcome === "taken") {
    await page.goto(`${base}/login`);
    await page.getByTestId("login").waitFor();
    if (shoot) await shoot("login");
    await page.getByTestId("login-name").fill(ADMIN.name);
    await page.getByTestId("login-password").fill(ADMIN.password);
    await page.getByTestId("login-submit").click();
    await page.getByTestId("logout").waitFor();
  }
  return outcome;
}

/** Signs a browser context in through the API (for the second device); the admin must exist. */
export async function signInContext(context, base) {
  const res = await context.request.post(`${base}/api/auth/login`, { data: ADMIN });
  assert.equal(res.status(), 200, `login failed: ${await res.text()}`);
}

/** Makes sure the admin exists and `context` is signed in. */
export async function ensureSignedIn(context, base) {
  await context.request.post(`${base}/api/auth/signup`, { data: SIGNUP() });
  await signInContext(context, base);
}

/** Starts a session from the Projects screen; returns its id. */
export async function startSession(page, base, prompt, { project } = {}) {
  await page.goto(`${base}/projects`);
  const card = project ? page.locator(`[data-testid="project"][data-name="${project}"]`) : page.getByTestId("project").first();
  await card.getByTestId("start-session").click();
  await page.getByTestId("new-session").waitFor();
  await page.getByTestId("prompt").fill(prompt);
  await page.getByTestId("start").click();
  await page.waitForURL(/\/sessions\/[^/]+$/, { timeout: 30_000 });
  await page.getByTestId("session").waitFor();
  return decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
}

/** Waits for the session screen to show `status` (the DO's, from the frames). */
export async function waitStatus(page, status, timeout = 60_000) {
  await page.locator(`[data-testid="session"][data-status="${status}"]`).waitFor({ timeout });
}

/** The transcript as [kind, seq, text] rows: what "nothing missing, nothing doubled" compares. */
export async function transcriptRows(page) {
  return page.$$eval('[data-testid="transcript"] [data-testid="item"]', (els) =>
    els.map((e) => [e.dataset.kind, Number(e.dataset.seq), e.textContent.trim()]));
}

export function assertNoDuplicateSeqs(rows) {
  // a message and the tool card it opens share the message's seq: (kind, seq) is the identity
  const keys = rows.map((r) => `${r[0]}@${r[1]}`);
  assert.equal(new Set(keys).size, keys.length, `an item is drawn twice: ${keys}`);
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i][1] >= rows[i - 1][1], `items out of order: ${keys}`);
}

/** The transcript a fresh page (no kept state, full replay) shows for the same session. */
export async function freshRows(context, base, id) {
  const page = await context.newPage();
  try {
    await page.goto(`${base}/sessions/${encodeURIComponent(id)}`);
    await page.locator('[data-testid="session"][data-caught-up="true"]').waitFor({ timeout: 30_000 });
    await page.waitForTimeout(300);
    return await transcriptRows(page);
  } finally {
    await page.close();
  }
}

export const BASH_PROMPT = 'Run it please [[tool:bash cmd="echo duraclaw-e2e-ok"]]';
export const SLOW_TEXT = Array.from({ length: 40 }, (_, i) => `word${i + 1}`).join(" ");
export const slowPrompt = (ms, chunks) => `Stream it [[slow ms=${ms} chunks=${chunks}]] [[text "${SLOW_TEXT}"]]`;

/** The whole journey: set-up, every screen, a session with a tool call approved, its result. */
export async function journey({ base, page, tag }) {
  const shoot = (screen) => screenshots(page, tag, screen);
  await signInThroughUi(page, base, { shoot });
  await page.goto(`${base}/`);
  await page.locator('[data-testid="session-list"], [data-testid="no-sessions"]').first().waitFor();
  await shoot("home");
  await page.goto(`${base}/projects`);
  await page.getByTestId("project").first().waitFor();
  await shoot("projects");

  // a bad rule is refused before anything is sent
  await page.getByTestId("project").first().getByTestId("start-session").click();
  await page.getByTestId("new-session").waitFor();
  await page.locator("details.policy summary").click();
  await page.getByTestId("allow-rules").fill("Bash(git status*)\nBash(unclosed");
  await page.getByTestId("rule-error").first().waitFor();
  assert.equal(await page.getByTestId("start").isDisabled(), true);
  await shoot("new-session");
  await page.getByTestId("allow-rules").fill("Read");
  assert.equal(await page.getByTestId("rule-error").count(), 0);
  await page.getByTestId("prompt").fill(BASH_PROMPT);
  await page.getByTestId("start").click();
  await page.waitForURL(/\/sessions\/[^/]+$/, { timeout: 30_000 });
  const id = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());

  const card = page.locator('[data-testid="approval"][data-tool="Bash"]');
  await card.waitFor({ timeout: 60_000 });
  assert.match(await card.textContent(), /echo duraclaw-e2e-ok/);
  // "Approve for this session" says exactly what it will allow from then on.
  assert.match(await card.getByTestId("approve-session").first().textContent(), /^Allow for this session: Bash: exactly `echo duraclaw-e2e-ok[^`]*`$/);
  await waitStatus(page, "awaiting_approval");
  await shoot("session-approval");
  await card.getByTestId("approve-once").click();
  const tool = page.locator('[data-kind="tool"][data-tool="Bash"][data-state="done"]');
  await tool.waitFor({ timeout: 60_000 });
  assert.match(await tool.getByTestId("tool-result").textContent(), /duraclaw-e2e-ok/);
  await page.locator('[data-kind="assistant"]', { hasText: "tool result (error=false)" }).waitFor({ timeout: 60_000 });
  await waitStatus(page, "idle");
  assert.equal(await card.count(), 0, "the approval card is gone once resolved");
  await shoot("session");

  await page.goto(`${base}/`);
  await page.locator(`[data-testid="session-row"][data-id="${id}"]`).waitFor({ timeout: 30_000 });
  await shoot("home-with-session");
  await page.goto(`${base}/projects/${encodeURIComponent(await firstProject(page, base))}`);
  await page.getByTestId("worktree-panel").waitFor();
  await page.locator('[data-testid="kata"], [data-testid="kata-none"]').first().waitFor();
  await shoot("worktree-kata");
  await page.getByTestId("tab-files").click();
  await page.getByTestId("files").waitFor();
  await shoot("worktree-files");
  await page.getByTestId("tab-diff").click();
  await page.locator('[data-testid="diff-file"], [data-testid="diff-clean"]').first().waitFor();
  await shoot("worktree-diff");
  return id;
}

async function firstProject(page, base) {
  const res = await page.request.get(`${base}/api/projects`);
  assert.equal(res.status(), 200);
  return (await res.json())[0].name;
}

/** A request raised on device A is approved on device B; both see it resolved. */
export async function approveFromSecondDevice({ base, a, b }) {
  const id = await startSession(a, base, BASH_PROMPT);
  await a.locator('[data-testid="approval"][data-tool="Bash"]').waitFor({ timeout: 60_000 });
  await b.goto(`${base}/sessions/${encodeURIComponent(id)}`);
  const cardB = b.locator('[data-testid="approval"][data-tool="Bash"]');
  await cardB.waitFor({ timeout: 30_000 });
  await cardB.getByTestId("approve-once").click();
  for (const page of [a, b]) {
    await page.locator('[data-kind="tool"][data-tool="Bash"][data-state="done"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="approval"]').waitFor({ state: "detached", timeout: 30_000 });
    await waitStatus(page, "idle");
  }
  return id;
}

/** A prompt typed on one device shows on the other, with the reply. */
export async function promptFromOtherDevice({ a, b }) {
  const text = `hello from device B ${Date.now()}`;
  await b.getByTestId("composer-input").fill(text);
  await b.getByTestId("composer-send").click();
  await a.locator('[data-kind="user"]', { hasText: text }).waitFor({ timeout: 30_000 });
  await a.locator('[data-kind="assistant"]', { hasText: `You said: ${text}` }).waitFor({ timeout: 60_000 });
  for (const page of [a, b]) assertNoDuplicateSeqs(await transcriptRows(page));
}

/** Reload while a reply streams: the end state has the reply once, whole, like a fresh load. */
export async function reloadMidStream({ base, page, context }) {
  const id = await startSession(page, base, slowPrompt(150, 40));
  await page.locator('[data-kind="assistant"].streaming').waitFor({ timeout: 60_000 });
  await page.reload();
  await page.getByTestId("session").waitFor();
  await waitStatus(page, "idle");
  await page.locator('[data-kind="result"]').last().waitFor();
  await page.waitForTimeout(300);
  const rows = await transcriptRows(page);
  assertNoDuplicateSeqs(rows);
  const replies = rows.filter((r) => r[0] === "assistant" && r[2].includes("word1 "));
  assert.equal(replies.length, 1, "the streamed reply shows once");
  assert.equal(replies[0][2], SLOW_TEXT);
  assert.deepEqual(rows, await freshRows(context, base, id));
}

/** Cut every connection (at a TCP proxy) while a reply streams; restore; the page catches up. */
export async function socketCut({ proxy, page, context, directBase, cutMs }) {
  const base = proxy.url;
  const id = await startSession(page, base, slowPrompt(Math.max(50, Math.round(cutMs / 80)), 40));
  await page.locator('[data-kind="assistant"].streaming').waitFor({ timeout: 60_000 });
  proxy.cut();
  await page.locator('[data-testid="session"][data-link="offline"]').waitFor({ timeout: 60_000 });
  await page.waitForTimeout(cutMs);
  proxy.restore();
  await page.locator('[data-testid="session"][data-link="live"]').waitFor({ timeout: 60_000 });
  await waitStatus(page, "idle");
  await page.locator('[data-testid="session"][data-caught-up="true"]').waitFor();
  await page.waitForTimeout(300);
  const rows = await transcriptRows(page);
  assertNoDuplicateSeqs(rows);
  const replies = rows.filter((r) => r[0] === "assistant" && r[2].includes("word1 "));
  assert.equal(replies.length, 1);
  assert.equal(replies[0][2], SLOW_TEXT);
  assert.deepEqual(rows, await freshRows(context, directBase, id));
}

/** Milliseconds from navigation to the session list drawn, with the CPU slowed `rate` times. */
export async function listDrawMs({ base, context, rate = 4 }) {
  const page = await context.newPage();
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send("Emulation.setCPUThrottlingRate", { rate });
    await page.goto(`${base}/`);
    await page.locator('[data-testid="session-list"], [data-testid="no-sessions"]').first().waitFor({ timeout: 30_000 });
    return await page.evaluate(() => performance.getEntriesByName("duraclaw:session-list-drawn")[0]?.startTime);
  } finally {
    await page.close();
  }
}

/** Milliseconds from navigation to a session caught up and drawn (the last page of items). */
export async function sessionOpenMs({ base, context, id, rate = 1 }) {
  const page = await context.newPage();
  try {
    if (rate !== 1) await (await context.newCDPSession(page)).send("Emulation.setCPUThrottlingRate", { rate });
    await page.goto(`${base}/sessions/${encodeURIComponent(id)}`);
    await page.locator('[data-testid="session"][data-caught-up="true"]').waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => performance.getEntriesByName("duraclaw:session-caught-up").length > 0);
    const ms = await page.evaluate(() => performance.getEntriesByName("duraclaw:session-caught-up")[0].startTime);
    const cursor = Number(await page.getByTestId("session").getAttribute("data-cursor"));
    const drawn = await page.locator('[data-testid="item"]').count();
    return { ms, cursor, drawn, page: null };
  } finally {
    await page.close();
  }
}

/** A denied tool call tells Claude why; a question card's answers reach Claude. */
export async function denyAndAnswer({ base, page, tag = "journey" }) {
  await startSession(page, base, 'Try this [[tool:bash cmd="echo should-not-run"]]');
  const card = page.locator('[data-testid="approval"][data-tool="Bash"]');
  await card.waitFor({ timeout: 60_000 });
  await card.getByTestId("deny").click();
  await card.getByTestId("deny-reason").fill("not on this branch");
  await card.getByTestId("deny-confirm").click();
  await page.locator('[data-kind="tool"][data-tool="Bash"][data-state="denied"]').waitFor({ timeout: 60_000 });
  await page.locator('[data-kind="assistant"]', { hasText: "not on this branch" }).waitFor({ timeout: 60_000 });
  await waitStatus(page, "idle");

  await page.getByTestId("composer-input").fill('Ask me [[tool:ask question="Which colour?" options="red,blue" multi=false header="Colour"]]');
  await page.getByTestId("composer-send").click();
  const q = page.getByTestId("question-card");
  await q.waitFor({ timeout: 60_000 });
  await waitStatus(page, "awaiting_answer");
  assert.equal(await q.getByTestId("answer-submit").isDisabled(), true, "no answer yet");
  await q.getByTestId("option").filter({ hasText: "red" }).click();
  await screenshots(page, tag, "session-question");
  await q.getByTestId("answer-submit").click();
  await page.locator('[data-kind="question"][data-state="answered"]').waitFor({ timeout: 60_000 });
  // the answer reached Claude: the fake model echoes the tool result it was given
  await page.locator('[data-kind="assistant"]', { hasText: "tool result (error=false)" }).filter({ hasText: "red" }).waitFor({ timeout: 60_000 });
  await waitStatus(page, "idle");
}

/** A directive's quoted argument: `"` and `\` escaped. */
const quoted = (s) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

/**
 * kata on the session screen: Claude writes the worktree's kata state (an approved Write), the
 * runner announces it (`session.kata`), the header shows mode, phase and progress, a reload still
 * shows it (the DO kept it), and the strip opens the worktree panel with the same state.
 */
export async function kataOnSession({ base, page, tag = "journey" }) {
  const sid = `e2e-${Date.now()}`;
  const state = {
    session_id: sid, mode: "task", phase: "build", updated_at_ms: Date.now(), started_at_ms: Date.now(),
    phases: [
      { id: "plan", title: "Plan it", status: "done", tasks: [], gates_passed: 0, gates_total: 0 },
      { id: "build", title: "Build it", status: "active", tasks: [{ id: "t1", title: "code", done: true, depends_on: [] }, { id: "t2", title: "test", done: false, depends_on: ["t1"] }], gates_passed: 1, gates_total: 2 },
    ],
  };
  const id = await startSession(page, base, `Record it [[tool:write path=${quoted(`.kata/sessions/${sid}/state.json`)} content=${quoted(JSON.stringify(state))}]]`);
  assert.equal(await page.getByTestId("session-kata").count(), 0, "no kata strip before a state is announced");
  const card = page.locator('[data-testid="approval"][data-tool="Write"]');
  await card.waitFor({ timeout: 60_000 });
  // .kata/ is protected: it always asks, and a session grant is not offered.
  await card.getByTestId("once-only").waitFor();
  assert.equal(await card.getByTestId("approve-session").count(), 0);
  await card.getByTestId("approve-once").click();
  const strip = page.locator('[data-testid="session-kata"][data-phase="build"]');
  await strip.waitFor({ timeout: 60_000 });
  assert.match(await strip.textContent(), /kata · task.*Build it.*tasks 1\/2 · gates 1\/2 passed/);
  await waitStatus(page, "idle");
  await screenshots(page, tag, "session-kata");
  await page.reload();
  await page.locator('[data-testid="session"][data-caught-up="true"]').waitFor({ timeout: 30_000 });
  await strip.waitFor({ timeout: 30_000 });
  await strip.click();
  await page.getByTestId("worktree-panel").waitFor();
  await page.getByTestId("kata").waitFor({ timeout: 30_000 });
  assert.match(await page.getByTestId("kata-phase").textContent(), /Build it/);
  return id;
}

/**
 * The admin adds a user from the Users screen (a name taken is refused with the Worker's
 * message); the new user logs in through the login screen on another device, sees no Users
 * link, and is told the screen is the admin's.
 */
export async function adminAddsUser({ base, admin, other, tag = "journey" }) {
  const name = `bea${Date.now()}`;
  await admin.goto(`${base}/`);
  await admin.getByTestId("nav-users").click();
  await admin.getByTestId("users").waitFor();
  const add = async (who, password) => {
    await admin.getByTestId("user-name").fill(who);
    await admin.getByTestId("user-password").fill(password);
    await admin.getByTestId("user-submit").click();
  };
  await add(name, "bea-password-1");
  await admin.getByTestId("user-added").filter({ hasText: `Added ${name}` }).waitFor({ timeout: 20_000 });
  assert.equal(await admin.getByTestId("user-name").inputValue(), "", "the form is cleared for the next one");
  await add(name, "bea-password-2");
  await admin.locator('[data-testid="users"] [data-testid="error"]').waitFor({ timeout: 20_000 });
  assert.equal(await admin.getByTestId("user-added").count(), 1, "a taken name adds no one");
  await screenshots(admin, tag, "users");

  await other.goto(`${base}/login`);
  await other.getByTestId("login-name").fill(name);
  await other.getByTestId("login-password").fill("bea-password-1");
  await other.getByTestId("login-submit").click();
  await other.getByTestId("logout").filter({ hasText: name }).waitFor({ timeout: 20_000 });
  assert.equal(await other.getByTestId("nav-users").count(), 0, "no Users link for a non-admin");
  await other.goto(`${base}/users`);
  await other.getByTestId("users-admin-only").waitFor();
}

/**
 * The end of a login, on screen: a user changes their own password from the Users screen (their
 * other login, here an API client, ends); then the admin disables them while their session is
 * open, and their screen turns to the login form without a reload (its socket closes with 4001,
 * and the app asks who it is);
 * they cannot log in until enabled again.
 */
export async function passwordAndDisabling({ base, admin, other, tag = "journey" }) {
  const name = `cid${Date.now()}`;
  const [first, second] = ["cid-password-1", "cid-password-2"];
  const made = await admin.request.post(`${base}/api/admin/users`, { data: { name, password: first } });
  assert.equal(made.status(), 201, await made.text());
  // another login of theirs: a plain API client with its own cookie
  const json = { "content-type": "application/json" };
  const res = await fetch(`${base}/api/auth/login`, { method: "POST", headers: json, body: JSON.stringify({ name, password: first }) });
  assert.equal(res.status, 200, await res.text());
  const elsewhere = (res.headers.get("set-cookie") ?? "").split(";")[0];
  const meElsewhere = async () => (await fetch(`${base}/api/me`, { headers: { cookie: elsewhere } })).status;
  await other.goto(`${base}/login`);
  await other.getByTestId("login-name").fill(name);
  await other.getByTestId("login-password").fill(first);
  await other.getByTestId("login-submit").click();
  await other.getByTestId("logout").filter({ hasText: name }).waitFor({ timeout: 20_000 });

  await other.getByTestId("nav-account").click();
  await other.getByTestId("own-password").waitFor();
  await other.getByTestId("password-current").fill("not my password");
  await other.getByTestId("password-new").fill(second);
  await other.getByTestId("password-submit").click();
  await other.getByTestId("password-error").waitFor({ timeout: 20_000 });
  await other.getByTestId("password-current").fill(first);
  await other.getByTestId("password-new").fill(second);
  await other.getByTestId("password-submit").click();
  await other.getByTestId("password-changed").waitFor({ timeout: 20_000 });
  await screenshots(other, tag, "own-password");
  assert.equal(await meElsewhere(), 401, "the other login ended");
  assert.equal((await other.request.get(`${base}/api/me`)).status(), 200, "this login stays");

  const project = await firstProject(other, base);
  const created = await other.request.post(`${base}/api/sessions`, { data: { project, prompt: "[[text \"hello\"]]" } });
  assert.equal(created.status(), 201, await created.text());
  const { id } = await created.json();
  await other.goto(`${base}/sessions/${id}`);
  await other.locator('[data-testid="item"][data-kind="result"]').first().waitFor({ timeout: 60_000 });

  await admin.goto(`${base}/users`);
  await admin.getByTestId("disable-name").fill(name);
  await admin.getByTestId("disable-submit").click();
  await admin.getByTestId("disable-done").waitFor({ timeout: 20_000 });
  await screenshots(admin, tag, "disable-user");
  await other.getByTestId("login").waitFor({ timeout: 20_000 });
  assert.equal(new URL(other.url()).pathname, `/sessions/${id}`, "the open session screen turns to the login form where it is, without a reload");
  assert.equal((await other.request.post(`${base}/api/auth/login`, { data: { name, password: second } })).status(), 403, "a disabled user cannot log in");

  await admin.getByTestId("disable-flag").uncheck();
  await admin.getByTestId("disable-submit").click();
  await admin.getByTestId("disable-done").filter({ hasText: "may log in again" }).waitFor({ timeout: 20_000 });
  assert.equal((await other.request.post(`${base}/api/auth/login`, { data: { name, password: second } })).status(), 200);
}

/**
 * Home is live: a session started elsewhere (here, the API) appears without a reload, first in
 * the list while it needs the user; once approved on its page, Home shows it idle.
 */
export async function homeIsLive({ base, page, tag = "journey" }) {
  await page.goto(`${base}/`);
  await page.locator('[data-testid="session-list"], [data-testid="no-sessions"]').first().waitFor();
  const project = await firstProject(page, base);
  const res = await page.request.post(`${base}/api/sessions`, { data: { project, prompt: 'Check this [[tool:bash cmd="echo home-is-live"]]' } });
  assert.equal(res.status(), 201, await res.text());
  const { id } = await res.json();
  const row = (status) => page.locator(`[data-testid="session-row"][data-id="${id}"][data-status="${status}"]`);
  await row("awaiting_approval").waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId("session-row").first().getAttribute("data-id"), id, "a session needing the user comes first");
  await screenshots(page, tag, "home-attention");
  await row("awaiting_approval").locator("a").click();
  const card = page.locator('[data-testid="approval"][data-tool="Bash"]');
  await card.waitFor({ timeout: 30_000 });
  await card.getByTestId("approve-once").click();
  await waitStatus(page, "idle");
  await page.locator('nav a[href="/"]').click();
  await row("idle").waitFor({ timeout: 30_000 });
}

/**
 * Notifications: with permission granted and the user on another screen, a session that starts
 * needing them raises one notification through the service worker, tagged with the session and
 * pointing at it; following it, the approval is there to answer.
 */
export async function notifiesWhenNeeded({ base, context, page }) {
  await context.grantPermissions(["notifications"], { origin: base });
  await page.goto(`${base}/projects`);
  await page.getByTestId("project").first().waitFor();
  await page.evaluate(() => navigator.serviceWorker.ready);
  // the app-wide sessions poll has seen the list once (what already waits never notifies)
  await page.waitForResponse((r) => new URL(r.url()).pathname === "/api/sessions" && r.request().method() === "GET", { timeout: 20_000 });
  const project = await firstProject(page, base);
  const res = await page.request.post(`${base}/api/sessions`, { data: { project, title: "notify me", prompt: 'Check [[tool:bash cmd="echo notified"]]' } });
  assert.equal(res.status(), 201, await res.text());
  const { id } = await res.json();
  const shown = async () => page.evaluate(async (tag) => {
    const r = await navigator.serviceWorker.ready;
    return (await r.getNotifications({ tag })).map((n) => ({ title: n.title, body: n.body, url: n.data?.url }));
  }, id);
  let list = [];
  for (let i = 0; i < 60 && list.length === 0; i++) {
    list = await shown();
    if (list.length === 0) await page.waitForTimeout(500);
  }
  assert.equal(list.length, 1, "one notification for the session");
  assert.equal(list[0].title, "Claude needs you: notify me");
  assert.match(list[0].body, /needs approval/);
  await page.goto(`${base}${list[0].url}`);
  const card = page.locator('[data-testid="approval"][data-tool="Bash"]');
  await card.waitFor({ timeout: 30_000 });
  await card.getByTestId("approve-once").click();
  await waitStatus(page, "idle");
}
