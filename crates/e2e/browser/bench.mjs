// The dashboard's budgets, measured on a running stack and printed (a benchmark, not a test:
// nothing here passes or fails on time). Run by scripts/bench.sh, or by hand against
// `scripts/run.sh --fake-model`: DURACLAW_STACK_URL=http://127.0.0.1:8787 node crates/e2e/browser/bench.mjs
//   - the session list drawn after navigation, CPU throttled 4x (best and all of 3 runs);
//   - a session of 10,000+ events (streamed by the fake model) opened in a fresh page.
import { launch } from "./support.mjs";
import * as j from "./dashboard-journeys.mjs";

const base = (process.env.DURACLAW_STACK_URL || process.env.DURACLAW_BASE_URL || "http://127.0.0.1:8787").replace(/\/$/, "");
const EVENTS = Number(process.env.DURACLAW_BENCH_EVENTS || 10_000);

async function listDraw(d) {
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await j.listDrawMs({ base, context: d.context, rate: 4 }));
  console.log(`session list drawn at 4x CPU: best ${Math.min(...runs).toFixed(0)} ms (runs: ${runs.map((n) => n.toFixed(0)).join(", ")} ms; budget 400 ms)`);
}

async function bigSession(d) {
  // turns of 4,000 streamed deltas each (the fake model's [[slow]]) until there are EVENTS events
  const words = Array.from({ length: 4000 }, (_, i) => `w${i}`).join(" ");
  const prompt = (n) => `Turn ${n} [[slow ms=1 chunks=4000]] [[text "${words}"]]`;
  const id = await j.startSession(d.page, base, prompt(1));
  const cursor = async () => Number(await d.page.getByTestId("session").getAttribute("data-cursor"));
  for (let turn = 1; turn < 10; turn++) {
    await d.page.locator('[data-kind="result"]').nth(turn - 1).waitFor({ timeout: 300_000 });
    await j.waitStatus(d.page, "idle", 300_000);
    if ((await cursor()) >= EVENTS) break;
    await d.page.getByTestId("composer-input").fill(prompt(turn + 1));
    await d.page.getByTestId("composer-send").click();
  }
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await j.sessionOpenMs({ base, context: d.context, id }));
  const best = Math.min(...runs.map((r) => r.ms));
  console.log(`a ${runs[0].cursor}-event session opened: best ${best.toFixed(0)} ms (runs: ${runs.map((r) => r.ms.toFixed(0)).join(", ")} ms; budget 1000 ms)`);
}

const d = await launch({ viewport: j.SIZES.phone });
try {
  await j.ensureSignedIn(d.context, base);
  await listDraw(d);
  await bigSession(d);
} finally {
  await d.close();
}
