// A stand-in for the Worker, for the dashboard's own browser tests: serves build/dashboard (with
// the SPA fallback) and answers the HTTP API and the session socket as the contract describes
// (shared-types' ServerFrame/GatewayEvent JSON), with the model scripted by the same directives
// as the project's fake Anthropic API ([[tool:bash cmd="..."]], [[slow ms= chunks=]], [[text "..."]]).
// Answers have the real Worker's shapes ({user}, {sessions}, the gateway's project JSON relayed).
// It lets the dashboard be tested, screenshotted and measured with no gateway, CLI or workerd;
// dashboard-stack.test.mjs runs the same journeys against the real stack.
import http from "node:http";
import { readFile, stat } from "node:fs/promises";
import { join, extname } from "node:path";
import { requireTool } from "./support.mjs";

const { WebSocketServer } = requireTool("ws");

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".wasm": "application/wasm",
  ".svg": "image/svg+xml", ".png": "image/png", ".webmanifest": "application/manifest+json", ".json": "application/json" };

const PROJECTS = [
  { name: "demo", path: "/srv/projects/demo", branch: "main", dirty: true, upstream: "origin/main", ahead: 2, behind: 0,
    worktrees: [{ name: "feature-x", path: "/srv/projects/demo/.worktrees/feature-x", branch: "feature-x", dirty: false, upstream: null, ahead: null, behind: null }] },
  { name: "tools", path: "/srv/projects/tools", branch: "main", dirty: false, upstream: "origin/main", ahead: 0, behind: 3, worktrees: [] },
];
const FILES = [{ name: "src", kind: "dir", size: null }, { name: "README.md", kind: "file", size: 120 }, { name: "Cargo.toml", kind: "file", size: 310 }];
const DIFF = [{ path: "src/main.rs", status: "modified", additions: 2, deletions: 1,
  patch: "diff --git a/src/main.rs b/src/main.rs\n--- a/src/main.rs\n+++ b/src/main.rs\n@@ -1,3 +1,4 @@\n fn main() {\n-    println!(\"hi\");\n+    println!(\"hello\");\n+    run();\n }\n" }];
const KATA = { session_id: "k1", mode: "implementation", issue: 5, phase: "p2", updated_at_ms: Date.now(), started_at_ms: Date.now() - 3.6e6,
  phases: [
    { id: "p1", title: "Plan", status: "done", tasks: [{ id: "t1", title: "spec", done: true }], gates_passed: 1, gates_total: 1 },
    { id: "p2", title: "Build the dashboard", status: "active", tasks: [{ id: "t2", title: "hook", done: true }, { id: "t3", title: "screens", done: false }], gates_passed: 1, gates_total: 3 },
    { id: "p3", title: "Verify", status: "pending", tasks: [], gates_passed: 0, gates_total: 2 },
  ] };

/** A session as the DO holds it: the event log, status, pending requests, and its sockets. */
class MockSession {
  constructor(id, { project, worktree, title, prompt }) {
    Object.assign(this, { id, project, worktree: worktree ?? null, title: title || (prompt ?? "").slice(0, 60) || "Untitled" });
    this.created_at = Date.now();
    this.updated_at = this.created_at;
    this.events = [];
    this.status = { state: "starting" };
    this.pending = [];
    this.sockets = new Set();
    this.clients = new Set();
    this.cost = 0;
  }
  meta() {
    return { id: this.id, title: this.title, project: this.project, worktree: this.worktree ?? undefined, permission_mode: "default", created_at: this.created_at };
  }
  row() {
    return { id: this.id, title: this.title, project: this.project, worktree: this.worktree, status: this.status.state, cost_usd: this.cost,
      last_seq: this.events.length, created_at: this.created_at, updated_at: this.updated_at };
  }
  push(event, status) {
    if (status) this.status = status;
    const seq = this.events.length + 1;
    const frame = JSON.stringify({ type: "event", seq, status: this.status, event });
    this.events.push(frame);
    this.updated_at = Date.now();
    for (const ws of this.sockets) ws.send(frame);
  }
  snapshot() {
    return JSON.stringify({ type: "snapshot", meta: this.meta(), status: this.status, last_seq: this.events.length, pending: this.pending });
  }
}

/** A client missing more events than this gets a folded transcript (once `setFolded` gave one). */
const FAR_BEHIND = 500;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Plays one turn for `prompt`, as the fake model + real CLI would. */
async function turn(s, prompt) {
  const run = { state: "running" };
  s.push({ type: "session.status", state: "running" }, run);
  const tool = /\[\[tool:bash cmd="([^"]*)"\]\]/.exec(prompt);
  const ask = /\[\[tool:ask question="([^"]*)" options="([^"]*)" multi=(true|false)(?: header="([^"]*)")?\]\]/.exec(prompt);
  if (ask) {
    const id = `toolu_${s.events.length}`;
    const questions = [{ question: ask[1], header: ask[4] ?? "", options: ask[2].split(",").map((label) => ({ label, description: "" })), multi_select: ask[3] === "true" }];
    s.push({ type: "session.message", message: { id: `msg_${s.events.length}`, content: [{ type: "text", text: "Calling AskUserQuestion." }, { type: "tool_use", id, name: "AskUserQuestion", input: { questions } }] } });
    s.pending = [{ kind: "question", tool_call_id: id, questions }];
    s.push({ type: "session.question", tool_call_id: id, questions }, { state: "awaiting_answer" });
    return;
  }
  const slow = /\[\[slow ms=(\d+) chunks=(\d+)\]\]/.exec(prompt);
  const said = /\[\[text "([^"]*)"\]\]/.exec(prompt);
  const mid = `msg_${s.events.length}`;
  if (tool) {
    const id = `toolu_${s.events.length}`;
    const input = { command: tool[1], description: "run it" };
    s.push({ type: "session.message", message: { id: mid, content: [{ type: "text", text: "Calling Bash." }, { type: "tool_use", id, name: "Bash", input }] } });
    const call = { id, name: "Bash", input, reason: "Bash needs approval" };
    s.pending = [{ kind: "tool", tool_call: call }];
    s.push({ type: "session.tool.request", tool_call: call }, { state: "awaiting_approval" });
    return; // the rest follows the decision
  }
  const text = said ? said[1] : `You said: ${prompt}`;
  const chunks = slow ? Number(slow[2]) : 3;
  const words = text.split(" ");
  const per = Math.ceil(words.length / chunks);
  for (let i = 0; i < words.length; i += per) {
    const piece = words.slice(i, i + per).join(" ") + (i + per < words.length ? " " : "");
    s.push({ type: "session.message.delta", message_id: mid, content: { type: "text", index: 0, text: piece } });
    if (slow) await sleep(Number(slow[1]));
  }
  s.push({ type: "session.message", message: { id: mid, content: [{ type: "text", text }] } });
  endTurn(s);
}

function endTurn(s) {
  s.cost += 0.0123;
  s.push({ type: "session.result", cost_usd: 0.0123, usage: { input_tokens: 1200, output_tokens: 80 }, duration_ms: 900, turns: 1, is_error: false });
  s.push({ type: "session.status", state: "idle" }, { state: "idle" });
}

function decide(s, id, approved, reason) {
  const req = s.pending.find((p) => p.tool_call?.id === id);
  if (!req) return false;
  s.pending = [];
  s.push({ type: "session.tool.resolved", tool_call_id: id, decision: approved ? "approved" : "denied", by: "admin" }, { state: "running" });
  const out = approved ? req.tool_call.input.command.replace(/^echo /, "") + "\n" : reason;
  s.push({ type: "session.tool.result", tool_call_id: id, result: out, is_error: !approved });
  s.push({ type: "session.message", message: { id: `msg_${s.events.length}`, content: [{ type: "text", text: `tool result (error=${!approved}): ${out.trim()}` }] } });
  endTurn(s);
  return true;
}

/** A session of `n` events: turns of a prompt, a streamed reply, a tool call and its result. */
export function bigSession(id, n) {
  const s = new MockSession(id, { project: "demo", title: `${n} events` });
  let t = 0;
  while (s.events.length < n) {
    t++;
    const mid = `m${t}`;
    const steps = [
      { type: "session.user_message", client_id: `c${t}`, content: [{ type: "text", text: `Prompt number ${t}: please look at file_${t}.rs` }], queued: false },
      { type: "session.message.delta", message_id: mid, content: { type: "text", index: 0, text: `Reading **file_${t}.rs** ` } },
      { type: "session.message.delta", message_id: mid, content: { type: "text", index: 0, text: "and running `cargo test`.\n\n```\nok\n```" } },
      { type: "session.message", message: { id: mid, content: [{ type: "text", text: `Reading **file_${t}.rs** and running \`cargo test\`.\n\n\`\`\`\nok\n\`\`\`` },
        { type: "tool_use", id: `tu${t}`, name: "Bash", input: { command: `cargo test -p crate_${t}` } }] } },
      { type: "session.tool.result", tool_call_id: `tu${t}`, result: `running 3 tests\ntest a ... ok\ntest b ... ok\ntest c ... ok\n`, is_error: false },
      { type: "session.message", message: { id: `${mid}b`, content: [{ type: "text", text: `All tests pass for crate ${t}.` }] } },
      { type: "session.result", cost_usd: 0.001, usage: { input_tokens: 100, output_tokens: 20 }, duration_ms: 500, turns: 1, is_error: false },
    ];
    for (const e of steps) if (s.events.length < n) s.push(e, { state: "idle" });
  }
  return s;
}

/** Starts the fake Worker on a free port. `dir` is build/dashboard. */
export async function startMockWorker({ dir }) {
  const users = new Map();
  const tokens = new Map();
  const sessions = new Map();
  const state = { users, sessions, refuseSockets: false };
  const who = (req) => tokens.get(/duraclaw_session=([^;]+)/.exec(req.headers.cookie ?? "")?.[1]);
  const send = (res, status, body, headers = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(body === undefined ? "" : JSON.stringify(body));
  };
  const fail = (res, status, code, message) => send(res, status, { error: { code, message } });
  const body = (req) => new Promise((resolve) => { let b = ""; req.on("data", (c) => (b += c)); req.on("end", () => { try { resolve(JSON.parse(b || "{}")); } catch { resolve({}); } }); });
  const login = (res, name) => {
    const token = Math.random().toString(36).slice(2);
    tokens.set(token, name);
    send(res, 200, { user: { id: "1", name, is_admin: true } }, { "set-cookie": `duraclaw_session=${token}; Path=/; HttpOnly; SameSite=Lax` });
  };

  async function api(req, res, url) {
    const p = url.pathname;
    if (p === "/api/auth/signup" && req.method === "POST") {
      const b = await body(req);
      if (users.size > 0) return fail(res, 403, "forbidden", "signup is closed: an admin exists");
      users.set(b.name, b.password);
      return login(res, b.name);
    }
    if (p === "/api/auth/login" && req.method === "POST") {
      const b = await body(req);
      if (!users.has(b.name) || users.get(b.name) !== b.password) return fail(res, 401, "unauthorized", "wrong name or password");
      return login(res, b.name);
    }
    const user = who(req);
    if (!user) return fail(res, 401, "unauthorized", "log in first");
    if (p === "/api/auth/logout") return send(res, 200, {}, { "set-cookie": "duraclaw_session=; Path=/; Max-Age=0" });
    if (p === "/api/me") return send(res, 200, { user: { id: "1", name: user, is_admin: true } });
    if (p === "/api/projects") return send(res, 200, PROJECTS);
    let m;
    if ((m = /^\/api\/projects\/([^/]+)\/worktrees$/.exec(p)) && req.method === "POST") {
      const b = await body(req);
      PROJECTS.find((x) => x.name === decodeURIComponent(m[1]))?.worktrees.push({ name: b.branch, path: "", branch: b.branch, dirty: false });
      return send(res, 201, { name: b.branch });
    }
    if ((m = /^\/api\/projects\/[^/]+\/(files|file|diff|kata-status)$/.exec(p))) {
      const q = url.searchParams.get("path") ?? "";
      if (m[1] === "files") return send(res, 200, q ? [{ name: "main.rs", kind: "file", size: 42 }] : FILES);
      if (m[1] === "file") return send(res, 200, { path: q, size: 42, binary: false, content: `// ${q}\nfn main() {}\n` });
      if (m[1] === "diff") return send(res, 200, DIFF);
      return send(res, 200, { kata_state: KATA });
    }
    if (p === "/api/sessions" && req.method === "GET") {
      return send(res, 200, { sessions: [...sessions.values()].sort((a, b) => b.updated_at - a.updated_at).map((s) => s.row()) });
    }
    if (p === "/api/sessions" && req.method === "POST") {
      const b = await body(req);
      if (!b.prompt) return fail(res, 400, "invalid_input", "a prompt is needed");
      const id = `s${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
      const s = new MockSession(id, b);
      sessions.set(id, s);
      s.push({ type: "session.created", session_id: id, claude_session_id: `claude-${id}` });
      s.push({ type: "session.user_message", client_id: "initial", content: [{ type: "text", text: b.prompt }], queued: false });
      setTimeout(() => turn(s, b.prompt), 100);
      return send(res, 201, { id });
    }
    return fail(res, 404, "not_found", `no route ${p}`);
  }

  async function asset(req, res, url) {
    let file = join(dir, decodeURIComponent(url.pathname));
    const isFile = await stat(file).then((s) => s.isFile()).catch(() => false);
    if (!isFile) file = join(dir, "index.html");
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(await readFile(file));
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    (url.pathname.startsWith("/api/") ? api(req, res, url) : asset(req, res, url)).catch((e) => fail(res, 500, "internal", String(e)));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    const m = /^\/api\/sessions\/([^/]+)\/ws$/.exec(new URL(req.url, "http://x").pathname);
    const s = m && sessions.get(decodeURIComponent(m[1]));
    if (!s || !who(req) || state.refuseSockets) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("message", (data) => {
        let f;
        try { f = JSON.parse(String(data)); } catch { return ws.send(JSON.stringify({ type: "error", code: "bad_frame", message: "not JSON" })); }
        switch (f.type) {
          case "sync":
            if (s.folded && f.after_seq + FAR_BEHIND < s.folded.last_seq) {
              // far behind: the fold up to K in the snapshot, then the events after K (as the DO does)
              ws.send(JSON.stringify({ ...JSON.parse(s.snapshot()), last_seq: s.folded.last_seq, transcript: s.folded.transcript }));
              for (const e of s.events.slice(s.folded.last_seq)) ws.send(e);
            } else {
              ws.send(s.snapshot());
              for (const e of s.events.slice(f.after_seq)) ws.send(e);
            }
            s.sockets.add(ws);
            break;
          case "message": {
            if (s.clients.has(f.client_id)) break; // idempotent by client_id
            s.clients.add(f.client_id);
            const text = f.content.map((c) => c.text ?? "").join("\n");
            s.push({ type: "session.user_message", client_id: f.client_id, content: f.content, queued: s.status.state !== "idle" });
            turn(s, text);
            break;
          }
          case "question.answer": {
            if (!s.pending.some((p) => p.tool_call_id === f.tool_call_id)) break;
            s.pending = [];
            s.push({ type: "session.tool.resolved", tool_call_id: f.tool_call_id, decision: "approved", by: "admin" }, { state: "running" });
            s.push({ type: "session.tool.result", tool_call_id: f.tool_call_id, result: { answers: f.answers }, is_error: false });
            const said = Object.entries(f.answers).map(([q, a]) => `"${q}"="${a}"`).join(", ");
            s.push({ type: "session.message", message: { id: `msg_${s.events.length}`, content: [{ type: "text", text: `tool result (error=false): User has answered your questions: ${said}` }] } });
            endTurn(s);
            break;
          }
          case "tool.approve":
          case "tool.deny":
            if (!decide(s, f.tool_call_id, f.type === "tool.approve", f.reason))
              ws.send(JSON.stringify({ type: "error", code: "unknown_tool_call", message: "not pending", request_id: f.request_id }));
            break;
          case "ping":
            ws.send(JSON.stringify({ type: "pong" }));
            break;
        }
      });
      ws.on("close", () => s.sockets.delete(ws));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    addSession(s) { sessions.set(s.id, s); },
    /** Gives session `id` its fold (a snapshot frame with a transcript, e.g. one the dashboard kept). */
    setFolded(id, snapshotJson) { const f = JSON.parse(snapshotJson); sessions.get(id).folded = { last_seq: f.last_seq, transcript: f.transcript }; },
    close: () => new Promise((resolve) => { for (const c of wss.clients) c.terminate(); server.closeAllConnections?.(); server.close(resolve); }),
  };
}
