// The React half of the client benchmarks: the real `tether-sync` package (hooks + WASM) in a
// production React build, bundled by esbuild in bench/client/run.mjs. Two measurements:
//   - hook render: `update()` from `useRealtimeUpdates` -> the component's commit shows it;
//   - ingest: a burst of events (released at once by bench/client/stall-proxy.mjs) -> the commit
//     that shows the final state of every document, and the number of commits on the way;
//     beside a plain-JS baseline (JSON.parse + Map) over the same frames in the same page.
// Commits are counted with useLayoutEffect, which runs in every commit that rendered the
// component (Profiler callbacks are off in production builds).
import { useLayoutEffect } from "react";
import { createRoot } from "react-dom/client";
import { TetherProvider, useRealtimeUpdates, useWebSocket } from "tether-sync";

const now = () => performance.now();
const params = new URLSearchParams(location.search);

// When each WebSocket message was dispatched to the page (a listener of the bench's own,
// added before the client's), so the ingest can say how much of its time is the browser
// delivering the burst. It only reads the time: the client's handling is unchanged.
const arrivals = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", () => arrivals.push(now()));
  }
};

// --- hook render ---------------------------------------------------------------------------
const hook = { api: null, waiting: null, samples: [] };

function HookProbe() {
  const result = useRealtimeUpdates("hook");
  hook.api = result;
  useLayoutEffect(() => {
    const w = hook.waiting;
    if (!w) return;
    const row = result.data.find((r) => r.id === w.id);
    if (row && row.n === w.n) {
      hook.waiting = null;
      w.resolve(now() - w.t0);
    }
  });
  return <p>hook rows: {result.data.length}</p>;
}

// --- ingest --------------------------------------------------------------------------------
const ingest = { commits: 0, armed: null, rows: 0, loaded: false };

function IngestProbe() {
  const { data, isLoading } = useRealtimeUpdates("ingest");
  useLayoutEffect(() => {
    ingest.commits += 1;
    ingest.loaded = !isLoading;
    ingest.rows = data.length;
    const a = ingest.armed;
    if (!a) return;
    a.commits += 1;
    let final = 0;
    for (const row of data) if (row.round === a.rounds) final += 1;
    if (final === a.docs) {
      ingest.armed = null;
      a.resolve({ ms: now() - a.t0, commits: a.commits });
    }
  });
  return <p>ingest rows: {data.length}</p>;
}

function Status() {
  const { status } = useWebSocket();
  window.benchStatus = status;
  return <p>status: {status}</p>;
}

function App() {
  return (
    <TetherProvider url={params.get("ws")} dbName={params.get("db") ?? "bench-react"}>
      <Status />
      <HookProbe />
      <IngestProbe />
    </TetherProvider>
  );
}

const percentile = (xs, q) => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(q * v.length))];
};

window.reactBench = {
  ready: () =>
    window.benchStatus === "ready" && hook.api !== null && !hook.api.isLoading && ingest.loaded,

  /** `samples` sequential `update()` calls on one document; each waits for its commit. */
  async hookRender(samples) {
    const id = "h1";
    await hook.api.insert({ id, n: 0 }).catch(() => undefined);
    const times = [];
    for (let n = 1; n <= samples; n++) {
      const done = new Promise((resolve) => {
        hook.waiting = { id, n, t0: now(), resolve };
      });
      hook.api.update(id, { n });
      times.push(await done);
      // Let the ack arrive between samples, so each write starts from a quiet client.
      await new Promise((r) => setTimeout(r, 5));
    }
    return { p50: percentile(times, 0.5), p95: percentile(times, 0.95), max: Math.max(...times), samples: times };
  },

  /** Arms the ingest probe, asks Node to release the stalled burst, resolves at the final
   * snapshot's commit. */
  async ingest({ docs, rounds }) {
    const result = new Promise((resolve) => {
      ingest.armed = { docs, rounds, commits: 0, t0: 0, resolve };
    });
    const t0 = now();
    ingest.armed.t0 = t0;
    arrivals.length = 0;
    await window.releaseBurst();
    const got = await result;
    // Messages dispatched after t0 that carried the burst (the page's socket is quiet otherwise).
    const during = arrivals.filter((t) => t >= t0 && t <= t0 + got.ms);
    return {
      ...got,
      messages: during.length,
      firstMessageMs: during.length ? during[0] - t0 : null,
      lastMessageMs: during.length ? during[during.length - 1] - t0 : null,
    };
  },

  /** The plain-JS baseline over the same frame texts: JSON.parse each, drop duplicates and
   * stale offsets, keep the latest body per id in a Map, then build the snapshot array. */
  baseline(frames) {
    const t0 = now();
    const docs = new Map();
    let cursor = 0;
    for (const text of frames) {
      const m = JSON.parse(text);
      if (m.type !== "event" || m.channel !== "ingest") continue;
      if (m.offset <= cursor) continue;
      cursor = m.offset;
      if (m.op === "remove") docs.delete(m.id);
      else docs.set(m.id, { id: m.id, version: m.version, ...m.doc });
    }
    const snapshot = [...docs.values()];
    return { ms: now() - t0, rows: snapshot.length };
  },

  /** The same baseline over a WebSocket: a socket of its own (native, not the client's) to a
   * server that replays the burst's messages in the same frames; from asking for them until
   * `messages` have been handled the same way and the snapshot is built. What delivery costs
   * a page that does no more than that. */
  socketBaseline({ url, messages }) {
    return new Promise((resolve, reject) => {
      const ws = new NativeWebSocket(url, "tether-lines");
      const docs = new Map();
      let cursor = 0;
      let seen = 0;
      let t0 = 0;
      const timer = setTimeout(() => reject(new Error(`socket baseline: ${seen} of ${messages}`)), 30_000);
      ws.onopen = () => {
        t0 = now();
        ws.send("go");
      };
      ws.onmessage = (e) => {
        for (const text of e.data.split("\n")) {
          if (!text) continue;
          seen += 1;
          const m = JSON.parse(text);
          if (m.type !== "event" || m.channel !== "ingest") continue;
          if (m.offset <= cursor) continue;
          cursor = m.offset;
          if (m.op === "remove") docs.delete(m.id);
          else docs.set(m.id, { id: m.id, version: m.version, ...m.doc });
        }
        if (seen >= messages) {
          const snapshot = [...docs.values()];
          const ms = now() - t0;
          clearTimeout(timer);
          ws.close();
          resolve({ ms, rows: snapshot.length });
        }
      };
      ws.onerror = () => reject(new Error("socket baseline: the socket failed"));
    });
  },
};

createRoot(document.getElementById("root")).render(<App />);
