// Images (issue 14, item 2) on the whole stack (wrangler dev + the real gateway + the real Claude
// Code CLI + the fake model): an image picked with "Image" and one pasted into the composer (on
// the phone, a large one taken with "Photo", which the browser resizes to 1568 px and re-encodes)
// show as thumbnails, go out as image blocks with the text, and reach the model: the fake answers
// "I see N image(s): <types>." and its request log holds the very base64 the transcript shows.
// A second device and a reload show the thumbnails. Refused with a clear message and nothing
// sent: a .txt, a file over the pick limit, a fifth image. A forged image block sent straight
// over the session's WebSocket (an SVG, a GIF labelled PNG, a data: URL, five images) gets an
// error frame naming its request, and nothing reaches the model or the transcript.
// At phone (390x844, touch) and laptop (1280x800) sizes; screenshots in
// <artifacts>/screenshots/images-*.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { deflateSync } from "node:zlib";
import { launch, baseUrl, artifactsDir } from "./support.mjs";
import * as j from "./dashboard-journeys.mjs";

const base = (process.env.DURACLAW_STACK_URL || baseUrl()).replace(/\/$/, "");
const fakeUrl = (process.env.DURACLAW_FAKE_URL || "").replace(/\/$/, "");

async function shoot(page, size, screen) {
  const dir = artifactsDir("screenshots");
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: `${dir}/images-${screen}-${size}.png` });
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `${screen} at ${size}: the page is ${scroll} px wide in a ${width} px viewport`);
}

// A real PNG (RGB, no filter), drawn by `pixel(x, y) -> [r, g, b]`.
const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(width, height, pixel) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), row + 1 + x * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const RED = png(320, 200, (x, y) => [200, (x * 2) & 255, (y * 3) & 255]);
const BLUE = png(240, 240, (x, y) => [(x ^ y) & 255, 60, 220]);
// 3000x2000: over 1568 px, so the browser redraws and re-encodes it.
const LARGE = png(3000, 2000, (x, y) => [(x >> 4) & 255, (y >> 3) & 255, ((x + y) >> 5) & 255]);

async function modelRequests() {
  const r = await fetch(`${fakeUrl}/_fake/requests`);
  assert.equal(r.status, 200);
  return (await r.json()).filter((q) => q.method === "POST" && q.path.startsWith("/v1/messages"));
}

/** The image blocks of the last user message of each model request. */
function imagesSent(requests) {
  return requests.map((q) => {
    const users = (q.body.messages || []).filter((m) => m.role === "user");
    const last = users[users.length - 1];
    return Array.isArray(last?.content) ? last.content.filter((b) => b.type === "image") : [];
  });
}

/** Pastes `files` ([name, type, Buffer]) into the composer as the clipboard would. */
async function paste(page, files) {
  await page.getByTestId("composer-input").evaluate((el, files) => {
    const dt = new DataTransfer();
    for (const [name, type, b64] of files) {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], name, { type }));
    }
    el.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
  }, files.map(([n, t, b]) => [n, t, b.toString("base64")]));
}

async function thumbSources(page, scope = page) {
  return scope.locator('[data-kind="user"] [data-testid="thumb"]').evaluateAll((els) => els.map((e) => e.getAttribute("src")));
}

async function images(d, size) {
  const { page } = d;
  const tag = `${size}${Date.now().toString(36)}`;
  const id = await j.startSession(page, base, `Images ${tag}`);
  await page.locator('[data-kind="assistant"]', { hasText: `You said: Images ${tag}` }).waitFor({ timeout: 60_000 });
  await j.waitStatus(page, "idle");

  // "Photo" is offered on touch devices only, and opens the camera
  const photo = page.getByTestId("attach-photo");
  assert.equal(await photo.isVisible(), size === "phone", `Photo shown on ${size}`);
  assert.equal(await page.getByTestId("attach-photo-input").getAttribute("capture"), "environment");

  // refusals: a text file, a file over the pick limit; nothing is attached
  await page.getByTestId("attach-image-input").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
  await page.getByTestId("composer-error").filter({ hasText: "notes.txt is not an image" }).waitFor();
  await shoot(page, size, "refused-type");
  const huge = Buffer.alloc(21 * 1024 * 1024, 7);
  RED.copy(huge);
  await page.getByTestId("attach-image-input").setInputFiles({ name: "huge.png", mimeType: "image/png", buffer: huge });
  await page.getByTestId("composer-error").filter({ hasText: "huge.png is 21.0 MB: pick an image under 20 MB" }).waitFor();
  await shoot(page, size, "refused-size");
  assert.equal(await page.getByTestId("attached").count(), 0);

  // pick one, paste one; on the phone a large photo too (resized in the browser)
  await page.getByTestId("attach-image-input").setInputFiles({ name: "red.png", mimeType: "image/png", buffer: RED });
  await page.getByTestId("attached").first().waitFor();
  await paste(page, [["blue.png", "image/png", BLUE]]);
  await page.getByTestId("attached").nth(1).waitFor();
  let expected = ["image/png", "image/png"];
  if (size === "phone") {
    await page.getByTestId("attach-photo-input").setInputFiles({ name: "IMG_0001.png", mimeType: "image/png", buffer: LARGE });
    await page.getByTestId("attached").nth(2).waitFor({ timeout: 30_000 });
    expected.push("image/jpeg");
  }
  await page.getByTestId("attach-reading").waitFor({ state: "detached" });
  assert.equal(await page.getByTestId("composer-error").count(), 0, "no error after the refusals were replaced");
  // a fifth image is refused in the composer
  const more = size === "phone" ? 2 : 3;
  await page.getByTestId("attach-image-input").setInputFiles(
    Array.from({ length: more }, (_, i) => ({ name: `more${i}.png`, mimeType: "image/png", buffer: RED })),
  );
  await page.getByTestId("composer-error").filter({ hasText: "at most 4 images per message" }).waitFor();
  await page.getByTestId("attach-reading").waitFor({ state: "detached" });
  assert.equal(await page.getByTestId("attached").count(), 4);
  // remove the extra one again
  await page.getByTestId("attached-remove").last().click();
  assert.equal(await page.getByTestId("attached").count(), 3);
  if (size !== "phone") expected.push("image/png");
  await page.getByTestId("composer-input").fill(`What are these ${tag}?`);
  await shoot(page, size, "composer");

  const before = (await modelRequests()).length;
  await page.getByTestId("composer-send").click();
  const reply = `I see 3 image(s): ${expected.join(", ")}. You said: What are these ${tag}?`;
  await page.locator('[data-kind="assistant"]', { hasText: reply }).waitFor({ timeout: 60_000 });
  await j.waitStatus(page, "idle");
  assert.equal(await page.getByTestId("attached").count(), 0, "the composer is cleared once sent");
  await shoot(page, size, "reply");

  // what the model received is what the transcript shows, byte for byte
  const shown = await thumbSources(page);
  assert.equal(shown.length, 3);
  const sent = imagesSent((await modelRequests()).slice(before)).filter((b) => b.length > 0);
  assert.ok(sent.length >= 1, "a model request carried the images");
  assert.deepEqual(sent[0].map((b) => `data:${b.source.media_type};base64,${b.source.data}`), shown);
  // the large photo was resized in the browser: at most 1568 px on its long side
  const sides = await page.locator('[data-kind="user"] [data-testid="thumb"]').evaluateAll((els) =>
    Promise.all(els.map(async (e) => { await e.decode(); return Math.max(e.naturalWidth, e.naturalHeight); })));
  assert.deepEqual(sides.slice(0, 2), [320, 240]);
  if (size === "phone") assert.equal(sides[2], 1568, "3000 px scaled to 1568");

  // a second device and a reload show the thumbnails
  const other = await launch({ viewport: j.SIZES[size === "phone" ? "laptop" : "phone"] });
  try {
    await j.ensureSignedIn(other.context, base);
    await other.page.goto(`${base}/sessions/${encodeURIComponent(id)}`);
    await other.page.locator('[data-kind="assistant"]', { hasText: reply }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await thumbSources(other.page), shown);
    await shoot(other.page, size, "second-device");
  } finally {
    await other.close();
  }
  await page.reload();
  await page.locator('[data-kind="assistant"]', { hasText: reply }).waitFor({ timeout: 30_000 });
  assert.deepEqual(await thumbSources(page), shown);

  // hostile frames straight over the session's socket: an error frame each, nothing sent on
  const userItems = await page.locator('[data-kind="user"]').count();
  const requests = (await modelRequests()).length;
  const red = RED.toString("base64");
  const gif = "R0lGODlhAQABAAAAACw=";
  const forged = [
    ["svg", [{ type: "image", source: { type: "base64", media_type: "image/svg+xml", data: "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+" } }], "PNG, JPEG, GIF or WebP"],
    ["gif-as-png", [{ type: "image", source: { type: "base64", media_type: "image/png", data: gif } }], "not what its media type says"],
    ["data-url", [{ type: "image", source: { type: "base64", media_type: "image/png", data: `data:image/png;base64,${red}` } }], "not base64"],
    ["url", [{ type: "image", source: { type: "url", media_type: "image/png", data: "https://example.com/x.png" } }], "only base64"],
    ["five", Array.from({ length: 5 }, () => ({ type: "image", source: { type: "base64", media_type: "image/png", data: red } })), "at most 4 images"],
  ];
  const answers = await page.evaluate(async ({ id, forged }) => {
    const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/api/sessions/${encodeURIComponent(id)}/ws`);
    const errors = {};
    let snapshot, pong;
    ws.onmessage = (m) => {
      const f = JSON.parse(m.data);
      if (f.type === "snapshot") snapshot();
      if (f.type === "error" && f.request_id) errors[f.request_id] = f;
      if (f.type === "pong") pong();
    };
    await new Promise((r) => { ws.onopen = r; });
    ws.send(JSON.stringify({ type: "sync", after_seq: 1_000_000 }));
    await new Promise((r) => { snapshot = r; });
    for (const [name, content] of forged) {
      ws.send(JSON.stringify({ type: "message", client_id: `forged-${name}`, content, request_id: `forged-${name}` }));
    }
    // the Durable Object answers a socket's frames in order: once the pong is here, every
    // message before it has been answered (or accepted, with no answer)
    ws.send(JSON.stringify({ type: "ping" }));
    await new Promise((r) => { pong = r; });
    ws.close();
    return errors;
  }, { id, forged });
  for (const [name, , says] of forged) {
    const e = answers[`forged-${name}`];
    assert.equal(e?.code, "invalid_input", `${name}: ${JSON.stringify(e)}`);
    assert.ok(e.message.includes(says), `${name}: ${e.message}`);
  }
  await page.reload();
  await page.locator('[data-kind="assistant"]', { hasText: reply }).waitFor({ timeout: 30_000 });
  await j.waitStatus(page, "idle");
  assert.equal(await page.locator('[data-kind="user"]').count(), userItems, "no forged message in the transcript");
  assert.equal((await modelRequests()).length, requests, "no forged message reached the model");
}

for (const size of ["phone", "laptop"]) {
  test(`images reach the model, shown on every device; bad ones refused (${size})`, async () => {
    assert.ok(fakeUrl, "DURACLAW_FAKE_URL is not set: run against start_stack's fake model (scripts/test.sh)");
    const touch = size === "phone" ? { hasTouch: true, isMobile: true } : {};
    const d = await launch({ viewport: j.SIZES[size], ...touch });
    try {
      await j.ensureSignedIn(d.context, base);
      await images(d, size);
      assert.deepEqual(d.errors.filter((e) => !/WebSocket|status of 40[0134]/.test(e)), []);
    } finally {
      await d.close();
    }
  });
}
