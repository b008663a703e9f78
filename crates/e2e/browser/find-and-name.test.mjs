// Find and name (issue 14, item 4) on the whole stack (wrangler dev + the real gateway + the real
// Claude Code CLI + the fake model's echo): rename a session from its screen and see the title
// kept after a reload and after a later turn completes (the Durable Object's index writes never
// touch it); a refused title shows the API's error and changes nothing; search the session list
// by title and by first prompt, filter it by project and status, and the search and filters
// survive a reload (query string); export downloads Markdown holding the prompt and the reply.
// At phone (390x844) and laptop (1280x800) sizes; screenshots in
// <artifacts>/screenshots/find-and-name-*.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { launch, baseUrl, artifactsDir } from "./support.mjs";
import * as j from "./dashboard-journeys.mjs";

const base = (process.env.DURACLAW_STACK_URL || baseUrl()).replace(/\/$/, "");

async function shoot(page, size, screen) {
  const dir = artifactsDir("screenshots");
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: `${dir}/find-and-name-${screen}-${size}.png` });
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `${screen} at ${size}: the page is ${scroll} px wide in a ${width} px viewport`);
}

/** The session's row as the API has it (the D1 index). */
async function apiRow(page, id) {
  const res = await page.request.get(`${base}/api/sessions/${id}`);
  const text = await res.text();
  assert.equal(res.status(), 200, text);
  return JSON.parse(text).session;
}

async function titleIs(page, title) {
  await page.getByTestId("session-title").filter({ hasText: title }).waitFor({ timeout: 20_000 });
  assert.equal((await page.getByTestId("session-title").textContent()).trim(), title);
}

/** The ids of the rows the list shows now. */
async function shownIds(page) {
  return page.getByTestId("session-row").evaluateAll((rows) => rows.map((r) => r.dataset.id));
}

async function findAndName(page, size) {
  const tag = `${size}${Date.now().toString(36)}`;
  const prompt = `Please look at the parser ${tag}-prompt`;
  const id = await j.startSession(page, base, prompt);
  await page.locator('[data-kind="assistant"]', { hasText: `You said: ${prompt}` }).waitFor({ timeout: 60_000 });
  await j.waitStatus(page, "idle");

  // rename from the session screen
  const title = `Parser work ${tag} ✓`;
  await page.getByTestId("rename").click();
  await page.getByTestId("rename-input").fill(`  ${title}  `);
  await shoot(page, size, "rename");
  await page.getByTestId("rename-save").click();
  await titleIs(page, title);
  assert.equal((await apiRow(page, id)).title, title);

  // a refused title: the API's message shown, nothing changed
  await page.getByTestId("rename").click();
  await page.getByTestId("rename-input").fill("   ");
  await page.getByTestId("rename-save").click();
  await page.getByTestId("rename-error").filter({ hasText: "empty" }).waitFor();
  await shoot(page, size, "rename-refused");
  await page.getByTestId("rename-cancel").click();
  await titleIs(page, title);
  assert.equal((await apiRow(page, id)).title, title);

  // kept after a reload, and after a later turn completes (the DO writes the row again)
  await page.reload();
  await page.getByTestId("session").waitFor();
  await titleIs(page, title);
  const second = `Second turn ${tag}`;
  await page.getByTestId("composer-input").fill(second);
  await page.getByTestId("composer-send").click();
  await page.locator('[data-kind="assistant"]', { hasText: `You said: ${second}` }).waitFor({ timeout: 60_000 });
  await j.waitStatus(page, "idle");
  await titleIs(page, title);
  // the row has been rewritten by the DO since (its status and seq moved), the title stayed
  for (let i = 0; i < 40; i++) {
    const row = await apiRow(page, id);
    if (row.status === "idle" && row.last_seq > 0) break;
    await page.waitForTimeout(250);
  }
  const row = await apiRow(page, id);
  assert.equal(row.status, "idle");
  assert.equal(row.title, title);
  assert.equal(row.prompt, prompt);
  await page.reload();
  await page.getByTestId("session").waitFor();
  await titleIs(page, title);

  // export: a downloaded .md with the title, both prompts, the replies and the cost
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export").click()]);
  assert.match(download.suggestedFilename(), /^parser-work-.*\.md$/);
  const md = await readFile(await download.path(), "utf8");
  assert.ok(md.startsWith(`# ${title}\n`), md.slice(0, 200));
  for (const part of [`## User\n\n${prompt}`, `You said: ${prompt}`, `## User\n\n${second}`, `You said: ${second}`, "Total cost: $"]) {
    assert.ok(md.includes(part), `the export holds ${JSON.stringify(part)}:\n${md}`);
  }
  await shoot(page, size, "session");

  // a second session, found by its prompt only (its title is its own)
  const otherPrompt = `Unrelated zebra-${tag} task`;
  const res = await page.request.post(`${base}/api/sessions`, {
    data: { project: row.project, prompt: otherPrompt, title: `Other ${tag}` },
  });
  assert.equal(res.status(), 201, await res.text());
  const other = (await res.json()).id;

  // the list: search by title, by prompt, filters, all in the query string
  await page.goto(`${base}/`);
  await page.getByTestId("session-list").waitFor();
  await page.getByTestId("find-q").fill(`parser WORK ${tag}`);
  await page.waitForURL((u) => u.searchParams.get("q") === `parser WORK ${tag}`);
  assert.deepEqual(await shownIds(page), [id], "found by title, case ignored");
  await page.getByTestId("find-q").fill(`zebra-${tag}`);
  await page.waitForURL((u) => u.searchParams.get("q") === `zebra-${tag}`);
  assert.deepEqual(await shownIds(page), [other], "found by first prompt");
  await page.getByTestId("find-q").fill(`${tag}-prompt`);
  await page.waitForURL((u) => u.searchParams.get("q") === `${tag}-prompt`);
  assert.deepEqual(await shownIds(page), [id], "the renamed session is still found by its prompt");

  // status and project filters, kept across a reload
  await page.getByTestId("find-q").fill(tag);
  await page.getByTestId("find-status").selectOption("idle");
  await page.getByTestId("find-project").selectOption(row.project);
  await page.waitForURL((u) => u.searchParams.get("status") === "idle" && u.searchParams.get("project") === row.project);
  let ids = await shownIds(page);
  assert.ok(ids.includes(id), `the idle session is shown: ${ids}`);
  await page.reload();
  await page.getByTestId("session-list").waitFor();
  assert.equal(await page.getByTestId("find-q").inputValue(), tag);
  assert.equal(await page.getByTestId("find-status").inputValue(), "idle");
  assert.equal(await page.getByTestId("find-project").inputValue(), row.project);
  ids = await shownIds(page);
  assert.ok(ids.includes(id) && ids.every((x) => x === id || x === other), `after the reload: ${ids}`);
  await shoot(page, size, "search");
  await page.getByTestId("find-status").selectOption("error");
  await page.getByTestId("no-matches").waitFor();
  // a project no session is in (from a shared link): nothing matches
  await page.goto(`${base}/?project=no-such-project`);
  await page.getByTestId("no-matches").waitFor();
  await page.getByTestId("find-clear").click();
  await page.getByTestId("session-list").waitFor();
  await page.waitForURL((u) => u.search === "");
  ids = await shownIds(page);
  assert.ok(ids.includes(id) && ids.includes(other), "cleared: every session again");
}

for (const size of ["phone", "laptop"]) {
  test(`rename, search, filter and export (${size})`, async () => {
    const d = await launch({ viewport: j.SIZES[size] });
    try {
      await j.ensureSignedIn(d.context, base);
      await findAndName(d.page, size);
      assert.deepEqual(d.errors.filter((e) => !/WebSocket|status of 40[0134]/.test(e)), []);
    } finally {
      await d.close();
    }
  });
}
