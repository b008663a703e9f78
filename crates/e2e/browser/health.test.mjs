// The Worker answers /health, serves the dashboard, and the dashboard's DOM comes from the wasm.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, baseUrl } from "./support.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("GET /health answers JSON from the Worker", async () => {
  const res = await fetch(`${baseUrl()}/health`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const body = await res.json();
  assert.equal(body.ok, true);
  assert.equal(typeof body.version, "string");
});

test("the static index.html has no app content (so whatever the browser shows came from the wasm)", async () => {
  const res = await fetch(`${baseUrl()}/`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /dashboard\.js/);
  assert.doesNotMatch(html, /wasm-marker|app-title/);
  const wasm = await fetch(`${baseUrl()}/dashboard_bg.wasm`);
  assert.equal(wasm.status, 200);
  assert.match(wasm.headers.get("content-type") ?? "", /application\/wasm/);
});

test("the dashboard renders its DOM from the wasm (the login or set-up screen when logged out)", async () => {
  const { page, errors } = browser;
  await page.goto(`${baseUrl()}/`);
  const title = page.getByTestId("app-title");
  await title.waitFor();
  assert.equal(await title.textContent(), "Duraclaw");
  await page.locator('[data-testid="login"], [data-testid="setup"], [data-testid="session-list"], [data-testid="no-sessions"]').first().waitFor();
  assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
});

test("a deep link falls back to the SPA (index.html) and renders", async () => {
  const { page } = browser;
  const res = await page.goto(`${baseUrl()}/sessions/some-session-id`);
  assert.equal(res.status(), 200);
  await page.getByTestId("app-title").waitFor();
});
