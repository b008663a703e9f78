// The keyless demo on the whole stack (wrangler dev + the real gateway + the real Claude Code CLI
// + the fake model in demo mode): a plain prompt, no directive typed, plays a realistic session
// in the demo repository: the Read shows in the transcript, the Edit asks with its diff and
// Allow makes the edit happen (the file on disk changes), the Bash asks and runs, the question
// card is answered, and the summary ends the turn with cost and tokens. At phone (390x844) and
// laptop (1280x800) sizes, screenshots of each step in <artifacts>/screenshots/demo-*.
//
// Demo mode is switched on at the fake model (POST $DURACLAW_FAKE_URL/_fake/demo) for this file
// only and off again after, so the other files keep their `You said: ...` echo.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { launch, baseUrl, artifactsDir } from "./support.mjs";
import * as j from "./dashboard-journeys.mjs";

const base = (process.env.DURACLAW_STACK_URL || baseUrl()).replace(/\/$/, "");
const fakeUrl = (process.env.DURACLAW_FAKE_URL || "").replace(/\/$/, "");
const PROMPT = "Could you tidy up this project a little?";

async function demoMode(on) {
  const r = await fetch(`${fakeUrl}/_fake/demo`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ on }) });
  const text = await r.text();
  assert.equal(r.status, 200, `POST /_fake/demo: ${text}`);
  assert.deepEqual(JSON.parse(text), { demo: on });
}

let problem = null;
before(async () => {
  if (!fakeUrl) problem = "DURACLAW_FAKE_URL is not set: run against start_stack's fake model (scripts/test.sh)";
  else await demoMode(true);
});
after(async () => {
  if (fakeUrl) await demoMode(false);
});

/** Screenshots the current viewport: <artifacts>/screenshots/demo-<screen>-<size>.png; the page never scrolls sideways. */
async function shoot(page, size, screen) {
  const dir = artifactsDir("screenshots");
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: `${dir}/demo-${screen}-${size}.png` });
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `demo ${screen} at ${size}: the page is ${scroll} px wide in a ${width} px viewport`);
}

/** The demo project (start_stack's `demo` repository), else the first one. */
async function demoProject(page) {
  const res = await page.request.get(`${base}/api/projects`);
  const text = await res.text();
  assert.equal(res.status(), 200, text);
  const projects = JSON.parse(text);
  const names = projects.map((p) => p.name);
  assert.ok(names.length > 0, "the stack has a project");
  return names.includes("demo") ? "demo" : names[0];
}

/** README.md in the project's checkout, through the gateway's file route. */
async function readme(page, project) {
  const res = await page.request.get(`${base}/api/projects/${encodeURIComponent(project)}/file?path=README.md`);
  const text = await res.text();
  assert.equal(res.status(), 200, text);
  return JSON.parse(text).content ?? "";
}

const tool = (page, name, state) => page.locator(`[data-kind="tool"][data-tool="${name}"][data-state="${state}"]`);

/**
 * The demo journey in one viewport. `allowRead`: start with a `Read` allow rule (the Read runs
 * without asking) instead of the default policy (it asks, like everything else).
 */
async function demoJourney({ page, size, allowRead }) {
  const project = await demoProject(page);
  const before = await readme(page, project);
  await page.goto(`${base}/projects`);
  await page.locator(`[data-testid="project"][data-name="${project}"]`).getByTestId("start-session").click();
  await page.getByTestId("new-session").waitFor();
  await page.getByTestId("prompt").fill(PROMPT);
  if (allowRead) {
    await page.locator("details.policy summary").click();
    await page.getByTestId("allow-rules").fill("Read");
  }
  await page.getByTestId("start").click();
  await page.waitForURL(/\/sessions\/[^/]+$/, { timeout: 30_000 });
  await page.getByTestId("session").waitFor();

  // 1. Read: with the default policy it asks first; either way it shows in the transcript, done
  if (!allowRead) {
    const card = page.locator('[data-testid="approval"][data-tool="Read"]');
    await card.waitFor({ timeout: 60_000 });
    assert.match(await card.textContent(), /README\.md/);
    await card.getByTestId("approve-once").click();
  }
  const read = tool(page, "Read", "done");
  await read.waitFor({ timeout: 60_000 });
  assert.match(await read.textContent(), /README\.md/);
  await page.locator('[data-kind="assistant"]', { hasText: "reading the README" }).waitFor();

  // 2. Edit: an approval card with the diff; Allow makes the edit happen on disk
  const edit = page.locator('[data-testid="approval"][data-tool="Edit"]');
  await edit.waitFor({ timeout: 60_000 });
  await j.waitStatus(page, "awaiting_approval");
  const added = await edit.locator("pre.diff span.add").allTextContents();
  assert.ok(added.some((l) => /^\+(## Getting started|- Reviewed again)/.test(l)), `the diff adds the section or a line: ${added.join(" | ")}`);
  assert.match(await edit.textContent(), /README\.md/);
  await shoot(page, size, "edit-approval");
  await edit.getByTestId("approve-once").click();
  await tool(page, "Edit", "done").waitFor({ timeout: 60_000 });
  const after = await readme(page, project);
  assert.notEqual(after, before, "the approved edit changed README.md");
  assert.match(after, /## Getting started/);

  // 3. Bash: asks, runs, and its output (the change just made) is in the transcript
  const bash = page.locator('[data-testid="approval"][data-tool="Bash"]');
  await bash.waitFor({ timeout: 60_000 });
  assert.match(await bash.textContent(), /git diff --stat/);
  await shoot(page, size, "bash-approval");
  await bash.getByTestId("approve-once").click();
  const ran = tool(page, "Bash", "done");
  await ran.waitFor({ timeout: 60_000 });
  assert.match(await ran.getByTestId("tool-result").textContent(), /README\.md \|.*\n.*1 file changed/s);

  // 4. the question card, answered
  const q = page.getByTestId("question-card");
  await q.waitFor({ timeout: 60_000 });
  await j.waitStatus(page, "awaiting_answer");
  assert.match(await q.textContent(), /What should I do next\?/);
  await q.getByTestId("option").filter({ hasText: "Add a check script" }).click();
  await shoot(page, size, "question");
  await q.getByTestId("answer-submit").click();
  const asked = page.locator('[data-kind="question"][data-state="answered"]');
  await asked.waitFor({ timeout: 60_000 });
  // the transcript shows the answer chosen (read from the CLI's text result)
  await asked.locator(".answer", { hasText: "Add a check script" }).waitFor({ timeout: 30_000 });

  // 5. the summary, the turn's end with its cost, the header's cost and tokens
  const summary = page.locator('[data-kind="assistant"]', { hasText: "Here's what I did" });
  await summary.waitFor({ timeout: 60_000 });
  await j.waitStatus(page, "idle");
  const text = await summary.textContent();
  for (const part of ["Read README.md", "Edited README.md: added a", "Ran git diff --stat: 1 file changed", "you chose “Add a check script”"]) {
    assert.ok(text.includes(part), `${part} missing from the summary: ${text}`);
  }
  const end = page.locator('[data-kind="result"]').last();
  const cost = (await end.textContent()).match(/turn done · \$(\d+\.\d+) · /);
  assert.ok(cost && Number(cost[1]) > 0, `the turn's cost: ${await end.textContent()}`);
  const usage = (await page.getByTestId("usage").textContent()).match(/^\$(\d+\.\d+) · ([\d.]+)(k?) in · ([\d.]+)(k?) out$/);
  assert.ok(usage, `the header's usage: ${await page.getByTestId("usage").textContent()}`);
  assert.ok(Number(usage[1]) > 0 && Number(usage[2]) > 0 && Number(usage[4]) > 0, `cost and tokens: ${usage[0]}`);
  await summary.scrollIntoViewIfNeeded();
  await shoot(page, size, "summary");
}

test("the demo: a plain prompt reads, asks to edit with a diff, runs a command, asks a question and sums up (phone)", async () => {
  assert.equal(problem, null, problem ?? "");
  const d = await launch({ viewport: j.SIZES.phone });
  try {
    await j.ensureSignedIn(d.context, base);
    await demoJourney({ page: d.page, size: "phone", allowRead: false });
    assert.deepEqual(d.errors.filter((e) => !/WebSocket|status of 40[13]/.test(e)), []);
  } finally {
    await d.close();
  }
});

test("the demo at laptop size, with Read allowed by the session's policy", async () => {
  assert.equal(problem, null, problem ?? "");
  const d = await launch({ viewport: j.SIZES.laptop });
  try {
    await j.ensureSignedIn(d.context, base);
    await demoJourney({ page: d.page, size: "laptop", allowRead: true });
    assert.deepEqual(d.errors.filter((e) => !/WebSocket|status of 40[13]/.test(e)), []);
  } finally {
    await d.close();
  }
});

test("with the demo off, a plain prompt is echoed as before (the other tests rely on it)", async () => {
  assert.equal(problem, null, problem ?? "");
  await demoMode(false);
  try {
    const d = await launch({ viewport: j.SIZES.phone });
    try {
      await j.ensureSignedIn(d.context, base);
      await j.startSession(d.page, base, PROMPT);
      await d.page.locator('[data-kind="assistant"]', { hasText: `You said: ${PROMPT}` }).waitFor({ timeout: 60_000 });
      await j.waitStatus(d.page, "idle");
      assert.equal(await d.page.locator('[data-kind="tool"]').count(), 0, "no tool call without the demo");
    } finally {
      await d.close();
    }
  } finally {
    await demoMode(true);
  }
});
