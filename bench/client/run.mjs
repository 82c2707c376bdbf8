// Client benchmarks (part 2 of `make bench`) in headless Chromium, against the real
// tether-server, with a persistent on-disk profile (IndexedDB on disk, as for a user):
//   - end-to-end: mutate in page A -> applied in page B's store, through the server;
//   - durable outbox: 1,000 mutations queued while the server is down (time until they are all
//     in the client's IndexedDB outbox), then the drain after it is back (time until all acked),
//     beside plain IndexedDB in the same page (one transaction per put, and one batch).
//   - optimistic apply: mutate -> the page's own change batch shows the pending write.
//   - cold start: reload a page that cached 1,000 documents; instantiate + IndexedDB + restore.
//   - catch-up: a client that missed 10,000 events reconnects (its cursor restored from
//     IndexedDB): time until its view is current again, and its continuity (`recovered`);
//   - large snapshots: a new client subscribes to channels of 10,000 and 100,000 documents
//     (~500 bytes each, paged by the server): time until the view holds all of them, and the
//     server's RSS growth meanwhile (sampled from /proc);
//   - hook render (React): update() from useRealtimeUpdates -> the commit that shows it;
//   - ingest (React): a burst of events released at once by a stalling proxy (with duplicates,
//     repeated updates of the same documents) -> the final snapshot's commit, the commits on the
//     way, beside JSON.parse + Map over the same frames in the same page.
//
// usage: node run.mjs --out FILE [--samples 1000] [--outbox 1000] [--hook-samples 200]
//                     [--ingest-docs 1000] [--ingest-rounds 10] [--catchup 10000]
//                     [--snapshots 10000,100000]
// env:   TETHER_SERVER_BIN (tether-server), TETHER_NPM_STAGE (target/npm/tether-sync),
//        TETHER_CHROMIUM (default /usr/bin/chromium)
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { startReplayServer, startStallProxy } from "./stall-proxy.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "peers", "package.json"));
const playwright = await import(require.resolve("playwright-core"));
const chromium = playwright.chromium ?? playwright.default.chromium;
const esbuildModule = await import(require.resolve("esbuild"));
const esbuild = esbuildModule.build ? esbuildModule : esbuildModule.default;
const WebSocket = (await import(require.resolve("ws"))).default;

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const out = arg("--out");
const hookSamples = Number(arg("--hook-samples", "200"));
const ingestDocs = Number(arg("--ingest-docs", "1000"));
const ingestRounds = Number(arg("--ingest-rounds", "10"));
// Every DUPLICATE_EVERY-th event of the burst is delivered twice.
const DUPLICATE_EVERY = 10;
let burstFrames = []; // the burst's messages as delivered
let burstWsFrames = 0; // the WebSocket frames that carried them
const samples = Number(arg("--samples", "1000"));
const catchupN = Number(arg("--catchup", "10000"));
const snapshotSizes = String(arg("--snapshots", "10000,100000")).split(",").map(Number).filter((n) => n > 0);
const outboxN = Number(arg("--outbox", "1000"));
const coldSizes = String(arg("--cold", "1000,10000")).split(",").map(Number).filter((n) => n > 0);
const serverBin = process.env.TETHER_SERVER_BIN;
const stage = process.env.TETHER_NPM_STAGE;
if (!out || !serverBin || !stage) {
  console.error("usage: TETHER_SERVER_BIN=… TETHER_NPM_STAGE=… node run.mjs --out FILE");
  process.exit(2);
}

const log = (msg) => console.error(`[client] ${msg}`);
const percentile = (xs, q) => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(q * v.length))];
};

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// --- the page's files: this directory's page/ plus the package's dist/ as ./tether/ ----------
const work = mkdtempSync(join(tmpdir(), "tether-client-bench-"));
const site = join(work, "site");
mkdirSync(site);
cpSync(join(here, "page"), site, { recursive: true });
cpSync(join(stage, "dist"), join(site, "tether"), { recursive: true });
// The measuring page is bundled by esbuild too, as an app ships (one module graph in a few
// chunks, not a fetch per module: unbundled, the package's modules load one import level at a
// time before the client can start).
await esbuild.build({
  entryPoints: [join(site, "bench.js")],
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  outdir: join(site, "app"),
  logLevel: "warning",
});
cpSync(join(stage, "dist", "wasm", "tether_bg.wasm"), join(site, "app", "tether_bg.wasm"));
writeFileSync(
  join(site, "index.html"),
  readFileSync(join(site, "index.html"), "utf8").replace('src="./bench.js"', 'src="./app/bench.js"'),
);
// The React page: react/main.jsx with the package and a production React, bundled like an app
// (the WASM glue becomes a chunk that loads tether_bg.wasm from beside itself).
await esbuild.build({
  entryPoints: [join(here, "react", "main.jsx")],
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  jsx: "automatic",
  outdir: join(site, "react"),
  alias: { "tether-sync": join(stage, "dist", "index.js") },
  nodePaths: [join(here, "..", "peers", "node_modules")],
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
cpSync(join(stage, "dist", "wasm", "tether_bg.wasm"), join(site, "react", "tether_bg.wasm"));

/** Publishes `docs` x `rounds` puts to channel "ingest" over one raw protocol connection (all
 * pipelined); resolves with the number acknowledged. */
async function publishBurst({ port, docs, rounds }) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const total = docs * rounds;
  return await new Promise((resolve, reject) => {
    let acked = 0;
    const timer = setTimeout(() => reject(new Error(`publisher: ${acked} of ${total} acked in time`)), 120_000);
    ws.on("error", reject);
    ws.on("open", () => ws.send(JSON.stringify({ type: "hello", protocol: 1, client_id: `bench-publisher-${Date.now()}` })));
    ws.on("message", (data) => {
      const m = JSON.parse(String(data));
      if (m.type === "welcome") {
        let id = 0;
        for (let round = 1; round <= rounds; round++) {
          for (let d = 0; d < docs; d++) {
            id += 1;
            ws.send(JSON.stringify({ type: "mutate", mutation_id: id, channel: "ingest", op: "put", id: `d${d}`, doc: { round, seq: id } }));
          }
        }
      } else if (m.type === "ack") {
        acked += 1;
        if (acked === total) {
          clearTimeout(timer);
          ws.close();
          resolve(total);
        }
      } else if (m.type === "reject" || m.type === "error") {
        clearTimeout(timer);
        reject(new Error(`publisher: ${String(data)}`));
      }
    });
  });
}

/** Writes documents `k0..k{n-1}` of `channel` (body `{seq, pad}`, `seq` = 1..n) over one raw
 * protocol connection, pipelined in windows of 2,000; resolves when all are acknowledged. */
async function publishDocs({ port, channel, n, padBytes = 0 }) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const pad = "x".repeat(padBytes);
  return await new Promise((resolve, reject) => {
    let acked = 0;
    let sent = 0;
    const timer = setTimeout(() => reject(new Error(`publisher: ${acked} of ${n} acked in time`)), 300_000);
    const sendMore = () => {
      while (sent < n && sent - acked < 2_000) {
        sent += 1;
        ws.send(JSON.stringify({ type: "mutate", mutation_id: sent, channel, op: "put", id: `k${sent - 1}`, doc: { seq: sent, pad } }));
      }
    };
    ws.on("error", reject);
    ws.on("open", () => ws.send(JSON.stringify({ type: "hello", protocol: 1, client_id: `bench-docs-${channel}-${Date.now()}` })));
    ws.on("message", (data) => {
      const m = JSON.parse(String(data));
      if (m.type === "welcome") sendMore();
      else if (m.type === "ack") {
        acked += 1;
        if (acked === n) {
          clearTimeout(timer);
          ws.close();
          resolve(n);
        } else sendMore();
      } else if (m.type === "reject" || m.type === "error") {
        clearTimeout(timer);
        reject(new Error(`publisher: ${String(data)}`));
      }
    });
  });
}

/** Samples the RSS of process `pid` every 10 ms until `stop()`: `{ beforeKb, peakKb }`. */
function sampleRss(pid) {
  const read = () => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  };
  const beforeKb = read();
  let peakKb = beforeKb;
  const timer = setInterval(() => {
    peakKb = Math.max(peakKb, read());
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      peakKb = Math.max(peakKb, read());
      return { beforeKb, peakKb };
    },
  };
}

// --- the server (restartable on the same port and database) -------------------------------------
const port = await freePort();
const db = join(work, "bench.sqlite3");
let server = null;
async function startServer() {
  // The per-connection rate limit is off: at its default (100/s, burst 200) a drain of 1,000
  // queued mutations measures the server's policy (>= 8 s), not the client.
  const args = ["--bind", `127.0.0.1:${port}`, "--db", db, "--dev", "--static", site, "--log", "warn", "--rate-per-sec", "0"];
  server = spawn(serverBin, args, {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("tether-server did not start");
}
async function stopServer() {
  const child = server;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
  server = null;
}

let context = null;

/** Runs `fn`; with TETHER_BENCH_PROFILE_DIR set, saves a DevTools CPU profile of the page
 * meanwhile as DIR/NAME.cpuprofile (open it in DevTools' Performance panel). */
async function profiled(page, name, fn) {
  const dir = process.env.TETHER_BENCH_PROFILE_DIR;
  if (!dir) return await fn();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
  await cdp.send("Profiler.start");
  const result = await fn();
  const { profile } = await cdp.send("Profiler.stop");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
  log(`CPU profile: ${join(dir, `${name}.cpuprofile`)}`);
  await cdp.detach();
  return result;
}
const rows = [];
const raw = {};
try {
  await startServer();
  context = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: process.env.TETHER_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const open = async () => {
    const page = await context.newPage();
    page.on("pageerror", (e) => log(`page error: ${e.message}`));
    await page.goto(`http://127.0.0.1:${port}/index.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 15_000 });
    return page;
  };
  const a = await open();
  const b = await open();
  const url = `ws://127.0.0.1:${port}/ws`;
  const storageA = await a.evaluate((o) => window.bench.setup(o), { url, dbName: "bench-a", channel: "e2e", subscribe: true });
  const storageB = await b.evaluate((o) => window.bench.setup(o), { url, dbName: "bench-b", channel: "e2e", subscribe: true });
  log(`pages ready (storage: ${storageA}, ${storageB})`);
  if (storageA !== "indexeddb" || storageB !== "indexeddb") {
    throw new Error(`expected IndexedDB storage, got ${storageA} / ${storageB}`);
  }

  // End-to-end: A mutates, B's store has it. Sequential samples; a short warm-up first.
  const latencies = [];
  const ackLatencies = [];
  const optLatencies = [];
  const warmup = Math.min(20, samples);
  for (let i = 0; i < warmup + samples; i++) {
    const t0 = await a.evaluate((s) => window.bench.mutate("e2e", s), i);
    const t1 = await b.evaluate((s) => window.bench.arrival(s), i);
    const tAck = await a.evaluate((s) => window.bench.ackTime(s), i);
    const tOpt = await a.evaluate((s) => window.bench.optimisticTime(s), i);
    if (i >= warmup) {
      latencies.push(t1 - t0);
      ackLatencies.push(tAck - t0);
      optLatencies.push(tOpt - t0);
    }
  }
  raw.optimistic_ms = optLatencies;
  raw.e2e_ms = latencies;
  raw.ack_ms = ackLatencies;
  const e2e50 = percentile(latencies, 0.5), e2e99 = percentile(latencies, 0.99);
  log(`end-to-end p50 ${e2e50.toFixed(2)} ms, p99 ${e2e99.toFixed(2)} ms (${samples} samples)`);
  rows.push({ name: `end-to-end A.mutate -> B store, p50 (${samples} samples)`, value: e2e50.toFixed(2), unit: "ms", note: "target p50 <= 5 ms (aim 3); includes A's IndexedDB write before sending and the server's SQLite commit (synchronous=FULL)" });
  rows.push({ name: "end-to-end A.mutate -> B store, p99", value: e2e99.toFixed(2), unit: "ms", note: "target <= 10 ms" });
  rows.push({ name: "optimistic: A.mutate -> A's change batch shows it, p50", value: percentile(optLatencies, 0.5).toFixed(2), unit: "ms", note: `p95 ${percentile(optLatencies, 0.95).toFixed(2)} ms; target 1 / 3 ms; the batch the hooks' store consumes (no React render)` });
  rows.push({ name: "A.mutate -> its promise settles (ack), p50", value: percentile(ackLatencies, 0.5).toFixed(2), unit: "ms", note: `p99 ${percentile(ackLatencies, 0.99).toFixed(2)} ms` });

  // Durable outbox: server down, queue N, count them in IndexedDB; server up, drain.
  await stopServer();
  await a.evaluate(() => window.bench.waitOffline());
  const enq = await profiled(a, "outbox", () => a.evaluate((o) => window.bench.enqueue(o), { channel: "e2e", dbName: "bench-a", n: outboxN, firstSeq: 1_000_000 }));
  await startServer();
  const drain = await a.evaluate(() => window.bench.drain());
  const base = await a.evaluate((n) => window.bench.idbBaseline(n), outboxN);
  raw.outbox = { n: outboxN, enqueue: enq, drain, idb_baseline: base };
  log(`outbox: ${outboxN} queued in ${enq.durable.toFixed(1)} ms (durable), drained in ${drain.ms.toFixed(1)} ms`);
  const perSec = (n, ms) => Math.round((1000 * n) / ms);
  rows.push({ name: `outbox: ${outboxN} mutate() calls returned`, value: enq.called.toFixed(1), unit: "ms", note: `${perSec(outboxN, enq.called)}/s` });
  rows.push({ name: `outbox: ${outboxN} durable in IndexedDB (offline)`, value: perSec(outboxN, enq.durable), unit: "enqueues/s", note: `${enq.durable.toFixed(1)} ms; target >= 80 % of plain batched IndexedDB below` });
  rows.push({ name: `outbox: drain of ${outboxN} after reconnect`, value: drain.ms.toFixed(1), unit: "ms", note: `${drain.acked} acked, ${drain.failed} failed; target <= 500 ms; server rate limit off` });
  rows.push({ name: `plain IndexedDB, same page: 1 tx per put`, value: perSec(outboxN, base.perTx), unit: "puts/s", note: `${base.perTx.toFixed(1)} ms for ${outboxN}` });
  rows.push({ name: `plain IndexedDB, same page: 1 batched tx`, value: perSec(outboxN, base.batched), unit: "puts/s", note: `${base.batched.toFixed(1)} ms for ${outboxN}` });

  // Cold start: a page caches `n` documents, is reloaded, and restores them offline; after the
  // restore the page reads the WASM linear memory beside the JSON size of the documents.
  raw.cold_start = {};
  for (const coldN of coldSizes) {
    const c = await open();
    const db = `bench-cold-${coldN}`;
    await c.evaluate((o) => window.bench.setup(o), { url, dbName: db, channel: `cold${coldN}`, subscribe: true });
    await c.evaluate((o) => window.bench.fill(o), { channel: `cold${coldN}`, dbName: db, n: coldN });
    // The reloaded page never connects (coldStart does not call connect()): the restore comes
    // from IndexedDB alone.
    await c.reload();
    await c.waitForFunction(() => window.benchReady === true, null, { timeout: 15_000 });
    const cold = await profiled(c, `cold-start-${coldN}`, () => c.evaluate((o) => window.bench.coldStart(o), { url, dbName: db, channel: `cold${coldN}`, n: coldN }));
    raw.cold_start[coldN] = cold;
    log(`cold start: ${cold.total.toFixed(1)} ms for ${cold.rows} cached documents (${cold.continuity}); wasm memory ${cold.wasmMemoryBytes} B, documents ${cold.jsonBytes} B of JSON`);
    const target = coldN === 1000 ? "target <= 25 ms" : "reported";
    rows.push({ name: `cold start: instantiate + open + restore ${coldN} cached docs`, value: cold.total.toFixed(1), unit: "ms", note: `createClient ${cold.create.toFixed(1)} ms (module fetch + compile + instantiate, beside it IndexedDB open + read), view ${cold.restore.toFixed(1)} ms (${cold.continuity}); ${target}` });
    rows.push({ name: `WASM linear memory after restoring ${coldN} cached docs`, value: (cold.wasmMemoryBytes / 1048576).toFixed(2), unit: "MiB", note: `grew by ${((cold.wasmMemoryBytes - cold.wasmMemoryAtStart) / 1048576).toFixed(2)} MiB from ${(cold.wasmMemoryAtStart / 1048576).toFixed(2)} MiB at instantiation (stack + static data); total = ${(cold.wasmMemoryBytes / cold.jsonBytes).toFixed(2)}x, growth = ${((cold.wasmMemoryBytes - cold.wasmMemoryAtStart) / cold.jsonBytes).toFixed(2)}x the documents' JSON (${(cold.jsonBytes / 1048576).toFixed(2)} MiB); aim <= 2x` });
    await c.close();
  }

  // Catch-up: a client subscribed to an empty channel closes (its cursor stays in IndexedDB),
  // `catchupN` events are committed, a client on the same database reconnects and resumes.
  const k = await open();
  await k.evaluate((o) => window.bench.setup(o), { url, dbName: "bench-catchup", channel: "catchup", subscribe: true });
  await k.evaluate(() => window.bench.closeClient());
  await publishDocs({ port, channel: "catchup", n: catchupN });
  const catchup = await k.evaluate((o) => window.bench.view(o), { url, dbName: "bench-catchup", channel: "catchup", rows: catchupN, lastSeq: catchupN });
  raw.catchup = { missed: catchupN, ...catchup };
  log(`catch-up: ${catchupN} missed events -> current in ${catchup.ms.toFixed(1)} ms (${catchup.continuity})`);
  rows.push({ name: `catch-up: a client that missed ${catchupN} events -> view current again`, value: catchup.ms.toFixed(1), unit: "ms", note: `continuity ${catchup.continuity} on the first reconnect; paced replay; goal <= 500 ms` });

  // Large snapshots: a new client subscribes to a channel of n documents (~500 bytes each).
  raw.snapshots = [];
  for (const n of snapshotSizes) {
    const channel = `snap${n}`;
    await publishDocs({ port, channel, n, padBytes: 480 });
    const rss = sampleRss(server.pid);
    const snap = await k.evaluate((o) => window.bench.view(o), { url, dbName: `bench-snap-${n}`, channel, rows: n });
    const mem = rss.stop();
    const growthMb = (mem.peakKb - mem.beforeKb) / 1024;
    raw.snapshots.push({ n, ...snap, server_rss_before_kb: mem.beforeKb, server_rss_peak_kb: mem.peakKb });
    log(`snapshot: ${n} documents current in ${snap.ms.toFixed(1)} ms (${snap.continuity}); server RSS +${growthMb.toFixed(1)} MB`);
    rows.push({ name: `snapshot: subscribe to ${n} documents (~500 B each) -> view complete`, value: snap.ms.toFixed(1), unit: "ms", note: `server RSS ${(mem.beforeKb / 1024).toFixed(1)} -> peak ${(mem.peakKb / 1024).toFixed(1)} MB (+${growthMb.toFixed(1)} MB) while it streamed (paged by the server); goal for 100,000: <= 3 s, growth <= 2 pages` });
  }
  await k.close();

  // React: the hook render of an optimistic write, and the ingest burst, in a production React
  // page whose client connects through the stall proxy.
  const proxy = await startStallProxy(port);
  try {
    const r = await context.newPage();
    r.on("pageerror", (e) => log(`react page error: ${e.message}`));
    await r.exposeFunction("releaseBurst", () => {
      const released = proxy.release({ duplicateEvery: DUPLICATE_EVERY });
      burstFrames = released.messages;
      burstWsFrames = released.frames;
      return burstFrames.length;
    });
    await r.goto(`http://127.0.0.1:${port}/react.html?ws=${encodeURIComponent(`ws://127.0.0.1:${proxy.port}/ws`)}&db=bench-react`);
    await r.waitForFunction(() => window.reactBench?.ready() === true, null, { timeout: 20_000 });

    const hook = await r.evaluate((n) => window.reactBench.hookRender(n), hookSamples);
    raw.hook_render_ms = hook.samples;
    log(`hook render p50 ${hook.p50.toFixed(2)} ms, p95 ${hook.p95.toFixed(2)} ms (${hookSamples} samples)`);
    rows.push({ name: `optimistic, React: update() -> commit shows it, p50 (${hookSamples})`, value: hook.p50.toFixed(2), unit: "ms", note: `p95 ${hook.p95.toFixed(2)} ms; target 1 / 3 ms; Replicache publishes 3 / 7 ms` });

    // Ingest: stall the React page's connection, publish the burst, release it at once.
    proxy.hold();
    const published = await publishBurst({ port, docs: ingestDocs, rounds: ingestRounds });
    const deadline = Date.now() + 60_000;
    while (proxy.heldEvents() < published && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    if (proxy.heldEvents() < published) throw new Error(`only ${proxy.heldEvents()} of ${published} events reached the proxy`);
    const got = await profiled(r, "ingest", () => r.evaluate((o) => window.reactBench.ingest(o), { docs: ingestDocs, rounds: ingestRounds }));
    const events = burstFrames.filter((t) => t?.includes('"type":"event"')).length;
    const base = [];
    for (let i = 0; i < 5; i++) base.push(await r.evaluate((f) => window.reactBench.baseline(f), burstFrames));
    const baseMs = percentile(base.map((b) => b.ms), 0.5);
    if (base[0].rows !== ingestDocs) throw new Error(`baseline built ${base[0].rows} rows, expected ${ingestDocs}`);
    // The same baseline, but its frames delivered over a WebSocket of its own (the same frames,
    // from a loopback server that replays them): what delivery adds for a page doing no more.
    const replay = await startReplayServer(burstFrames);
    const sockBase = [];
    try {
      for (let i = 0; i < 5; i++) {
        sockBase.push(await r.evaluate((o) => window.reactBench.socketBaseline(o), { url: `ws://127.0.0.1:${replay.port}/`, messages: burstFrames.length }));
      }
    } finally {
      replay.close();
    }
    const sockMs = percentile(sockBase.map((b) => b.ms), 0.5);
    if (sockBase[0].rows !== ingestDocs) throw new Error(`socket baseline built ${sockBase[0].rows} rows, expected ${ingestDocs}`);
    raw.ingest = { published, delivered_messages: burstFrames.length, event_messages: events, websocket_frames: burstWsFrames, tether: got, baseline_ms: base.map((b) => b.ms), socket_baseline_ms: sockBase.map((b) => b.ms), socket_baseline_frames: replay.frames };
    log(`ingest: ${events} events in ${burstWsFrames} frames -> final snapshot in ${got.ms.toFixed(1)} ms, ${got.commits} commit(s); baseline ${baseMs.toFixed(1)} ms`);
    rows.push({ name: `ingest: ${events} events (${ingestDocs} docs x ${ingestRounds} updates, every ${DUPLICATE_EVERY}th twice) -> final React snapshot`, value: got.ms.toFixed(1), unit: "ms", note: `${got.commits} React commit(s) on the way; ${burstWsFrames} WebSocket frames (tether-lines); target <= 1.5x plain JS below and <= 2 commits (aim 1.0x, 1 commit)` });
    rows.push({ name: "ingest: plain JS, same page: JSON.parse + Map", value: baseMs.toFixed(1), unit: "ms", note: `median of 5; Tether / plain JS = ${(got.ms / baseMs).toFixed(1)}x` });
    rows.push({ name: "ingest: plain JS over a WebSocket, same page: the same frames, JSON.parse + Map", value: sockMs.toFixed(1), unit: "ms", note: `median of 5; ${replay.frames} frames from a loopback server replaying them; Tether / this = ${(got.ms / sockMs).toFixed(1)}x` });
    if (got.lastMessageMs !== null) {
      rows.push({ name: "ingest: of which until the browser dispatched the burst's last WebSocket message", value: got.lastMessageMs.toFixed(1), unit: "ms", note: `${got.messages} messages, the first at ${got.firstMessageMs.toFixed(1)} ms; the plain-JS baseline pays no delivery (its frame texts are in memory)` });
    }
    await r.close();
  } finally {
    proxy.close();
  }
} catch (e) {
  log(`failed: ${e.stack ?? e}`);
  rows.push({ name: "client benchmarks", value: null, unit: "", note: `FAILED: ${e.message ?? e}` });
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  await stopServer().catch(() => {});
  rmSync(work, { recursive: true, force: true });
}
const packageBuilt = statSync(join(stage, "dist", "wasm", "tether_bg.wasm")).mtime.toISOString();
writeFileSync(out, JSON.stringify({ samples, outbox: outboxN, package: stage, package_built: packageBuilt, rows, raw }, null, 2) + "\n");
