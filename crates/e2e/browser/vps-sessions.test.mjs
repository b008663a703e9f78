// Sessions started elsewhere (issue 14, item 3) on the whole stack (wrangler dev + the real
// gateway + the real Claude Code CLI + the fake model): a Claude Code session run in the demo
// project as a person would in a terminal on the VPS (the real CLI, `claude -p`, with the stack's
// own Claude config) is listed on the project card with its first prompt and age; Resume opens a
// Duraclaw session showing that history; a follow-up continues it (the fake model receives the
// earlier turn with it, and the CLI appends to the same session file); the card no longer offers
// it. At phone (390x844) and laptop (1280x800) sizes; screenshots in
// <artifacts>/screenshots/vps-sessions-*.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { launch, baseUrl, artifactsDir } from "./support.mjs";
import * as j from "./dashboard-journeys.mjs";

const base = (process.env.DURACLAW_STACK_URL || baseUrl()).replace(/\/$/, "");
const fakeUrl = (process.env.DURACLAW_FAKE_URL || "").replace(/\/$/, "");
const configDir = process.env.DURACLAW_CLAUDE_CONFIG_DIR || "";
const claudeBin = process.env.CLAUDE_BIN || "";

async function shoot(page, size, screen) {
  const dir = artifactsDir("screenshots");
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: `${dir}/vps-sessions-${screen}-${size}.png` });
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `${screen} at ${size}: the page is ${scroll} px wide in a ${width} px viewport`);
}

/** The demo project's checkout path, as the gateway reports it. */
async function demoPath(page) {
  const res = await page.request.get(`${base}/api/projects`);
  assert.equal(res.status(), 200, await res.text());
  const demo = (await res.json()).find((p) => p.name === "demo");
  assert.ok(demo, "the stack has a demo project");
  return demo.path;
}

/** Runs the real CLI in `cwd` as a terminal would (the stack's Claude config, the fake model); returns its session id. */
async function terminalSession(cwd, prompt) {
  const env = {
    PATH: process.env.PATH,
    HOME: dirname(configDir),
    CLAUDE_CONFIG_DIR: configDir,
    ANTHROPIC_BASE_URL: fakeUrl,
    ANTHROPIC_API_KEY: "test",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    CLAUDE_CODE_MAX_RETRIES: "1",
  };
  const { stdout } = await promisify(execFile)(claudeBin, ["-p", "--output-format", "json", prompt], { cwd, env, timeout: 120_000 });
  const result = JSON.parse(stdout);
  assert.equal(result.is_error, false, stdout);
  return result.session_id;
}

/** The bodies of the model requests made since `after` requests. */
async function modelRequestsSince(after) {
  const res = await fetch(`${fakeUrl}/_fake/requests`);
  assert.equal(res.status, 200);
  return (await res.json()).slice(after).filter((r) => r.path.startsWith("/v1/messages") && !r.path.includes("count_tokens"));
}

async function modelRequestCount() {
  return (await (await fetch(`${fakeUrl}/_fake/requests`)).json()).length;
}

async function vpsSessions(page, size) {
  const tag = `${size}${Date.now().toString(36)}`;
  const prompt = `Why is the sky blue? ${tag}`;
  const cwd = await demoPath(page);
  const claudeId = await terminalSession(cwd, `${prompt} [[text "Rayleigh scattering ${tag}."]]`);

  // listed on the project card: first prompt and age
  await page.goto(`${base}/projects`);
  const card = page.locator('[data-testid="project"][data-name="demo"]');
  const row = card.locator(`[data-testid="vps-session"][data-id="${claudeId}"]`);
  await row.waitFor({ timeout: 20_000 });
  assert.match(await row.textContent(), new RegExp(`Why is the sky blue\\? ${tag}`));
  assert.match(await row.textContent(), /just now|min ago/);
  await row.scrollIntoViewIfNeeded();
  await shoot(page, size, "list");

  // Resume: a Duraclaw session that shows the history
  await row.getByTestId("vps-resume").click();
  await page.waitForURL(/\/sessions\/[0-9a-f]{32}$/, { timeout: 30_000 });
  const sessionId = new URL(page.url()).pathname.split("/").pop();
  await page.getByTestId("session").waitFor();
  await page.locator('[data-kind="user"]', { hasText: prompt }).waitFor({ timeout: 30_000 });
  await page.locator('[data-kind="assistant"]', { hasText: `Rayleigh scattering ${tag}.` }).waitFor();
  await j.waitStatus(page, "idle");
  assert.match(await page.getByTestId("session-title").textContent(), new RegExp(`Why is the sky blue\\? ${tag}`));
  await shoot(page, size, "resumed");

  // a follow-up continues it: the model receives the earlier turn with it
  const before = await modelRequestCount();
  const followUp = `And at sunset? ${tag}`;
  await page.getByTestId("composer-input").fill(`${followUp} [[text "A longer path through the air ${tag}."]]`);
  await page.getByTestId("composer-send").click();
  await page.locator('[data-kind="assistant"]', { hasText: `A longer path through the air ${tag}.` }).waitFor({ timeout: 60_000 });
  await j.waitStatus(page, "idle");
  const asked = JSON.stringify((await modelRequestsSince(before)).map((r) => r.body));
  for (const part of [prompt, `Rayleigh scattering ${tag}.`, followUp]) {
    assert.ok(asked.includes(part), `the model received ${JSON.stringify(part)} with the follow-up`);
  }
  const file = join(configDir, "projects", cwd.replace(/[^A-Za-z0-9]/g, "-"), `${claudeId}.jsonl`);
  assert.ok((await readFile(file, "utf8")).includes(followUp), "the CLI continued the same session file");
  await shoot(page, size, "continued");

  // the same history on a fresh page (folded from the DO's events, nothing kept)
  const rows = await j.freshRows(page.context(), base, sessionId);
  assert.ok(rows.some(([kind, , text]) => kind === "user" && text.includes(prompt)), JSON.stringify(rows));
  j.assertNoDuplicateSeqs(rows);

  // the card no longer offers it
  await page.goto(`${base}/projects`);
  await card.getByTestId("vps-sessions").waitFor();
  await card.locator('[data-testid="vps-sessions"] :is([data-testid="vps-session"], [data-testid="vps-sessions-none"])').first().waitFor();
  assert.equal(await row.count(), 0, "a resumed session is Duraclaw's now");
}

for (const size of ["phone", "laptop"]) {
  test(`a session started on the VPS is listed, resumed and continued (${size})`, async () => {
    assert.ok(fakeUrl && configDir && claudeBin, "DURACLAW_FAKE_URL, DURACLAW_CLAUDE_CONFIG_DIR and CLAUDE_BIN come from scripts/test.sh");
    const d = await launch({ viewport: j.SIZES[size] });
    try {
      await j.ensureSignedIn(d.context, base);
      await vpsSessions(d.page, size);
      assert.deepEqual(d.errors.filter((e) => !/WebSocket|status of 40[0134]/.test(e)), []);
    } finally {
      await d.close();
    }
  });
}
