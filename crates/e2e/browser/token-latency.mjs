// The time from a token leaving the CLI to its text drawn in Chromium (a benchmark, printed; run
// by crates/e2e/src/bin/bench.rs, whose synthetic CLI prints each delta's text as the wall-clock
// nanoseconds it was printed at: 19 digits per token).
//
// Env: DURACLAW_STACK_URL, DURACLAW_BENCH_COOKIE (name=value), DURACLAW_BENCH_SESSION,
// DURACLAW_BENCH_TOKENS (how many tokens the turn streams). Prints "ready" once the session is
// open and observed, then one line of figures once every token was drawn.
import { launch } from "./support.mjs";

const base = process.env.DURACLAW_STACK_URL.replace(/\/$/, "");
const [name, ...rest] = process.env.DURACLAW_BENCH_COOKIE.split("=");
const id = process.env.DURACLAW_BENCH_SESSION;
const tokens = Number(process.env.DURACLAW_BENCH_TOKENS || 1000);

const d = await launch({ viewport: { width: 1280, height: 900 } });
try {
  await d.context.addCookies([{ name, value: rest.join("="), url: base }]);
  await d.page.goto(`${base}/sessions/${encodeURIComponent(id)}`);
  await d.page.locator('[data-testid="session"][data-caught-up="true"]').waitFor({ timeout: 60_000 });
  const before = await d.page.locator('[data-kind="assistant"]').count();
  // Every change to the transcript: on the next animation frame (the text is drawn), the newest
  // 19-digit stamp in the newest assistant item is the token just drawn; each stamp counts once.
  await d.page.evaluate(({ before }) => {
    window.__lat = [];
    const seen = new Set();
    const root = document.querySelector('[data-testid="session"]');
    const look = () => {
      const items = document.querySelectorAll('[data-kind="assistant"]');
      if (items.length <= before) return;
      const text = items[items.length - 1].textContent.replace(/\D/g, "");
      const drawnAt = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
      for (let end = text.length; end >= 19; end -= 19) {
        const stamp = text.slice(end - 19, end);
        if (seen.has(stamp)) break;
        seen.add(stamp);
        window.__lat.push(Number(drawnAt - BigInt(stamp)) / 1e6);
      }
    };
    new MutationObserver(() => requestAnimationFrame(look)).observe(root, { childList: true, subtree: true, characterData: true });
  }, { before });
  console.log("ready");
  await d.page.waitForFunction((n) => window.__lat.length >= n, tokens, { timeout: 120_000, polling: 200 });
  const lat = (await d.page.evaluate(() => window.__lat)).sort((a, b) => a - b);
  const p = (q) => lat[Math.round((lat.length - 1) * q)].toFixed(1);
  console.log(`token -> text drawn in Chromium: ${lat.length} tokens, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${lat[lat.length - 1].toFixed(1)} ms`);
} finally {
  await d.close();
}
