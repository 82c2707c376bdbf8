// The client-benchmark page: the real tether-sync client (its dist/loader.js and the release
// WASM, copied beside this file as ./tether/), driven by bench/client/run.mjs through
// playwright-core. Times are `performance.timeOrigin + performance.now()`, comparable between
// pages of one browser.
import { createClient } from "./tether/loader.js";

const now = () => performance.timeOrigin + performance.now();

let client = null;
const arrivals = new Map(); // seq -> time the page's store had it
const waiters = new Map(); // seq -> resolve
const acks = new Map(); // seq -> time this page's mutate() settled (ack)
const optimistic = new Map(); // seq -> time a change batch first showed it (pending or not)
let pendingCount = 0;
let connected = false;

function onBatch(batch) {
  const t = now();
  for (const view of batch.views) {
    for (const row of view.upserts) {
      const seq = row.doc?.seq;
      if (typeof seq !== "number") continue;
      // First time this page's view shows the write (pending, or already confirmed when the
      // server's event came before the batch was flushed).
      if (!optimistic.has(seq)) optimistic.set(seq, t);
      if (row.pending || arrivals.has(seq)) continue;
      arrivals.set(seq, t);
      const resolve = waiters.get(seq);
      if (resolve) {
        waiters.delete(seq);
        resolve(t);
      }
    }
  }
}

function waitFor(predicate, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      if (predicate()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 2);
    };
    tick();
  });
}

function openDb(name) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Records in `store` of database `name` (a read-only transaction of its own). */
/** Mutations in the client's outbox: its records are chunks `{ ids, text }` (one per flush,
 * see src/shell/db.rs), an earlier build's rows one mutation each. */
async function countOutbox(db) {
  return new Promise((resolve, reject) => {
    const req = db.transaction("outbox", "readonly").objectStore("outbox").getAll();
    req.onsuccess = () =>
      resolve(req.result.reduce((n, row) => n + (row && Array.isArray(row.ids) ? row.ids.length : 1), 0));
    req.onerror = () => reject(req.error);
  });
}

/** The linear memory a module starts with (its memory section's minimum, 64 KiB pages): the
 * stack and static data, before anything is allocated. */
async function initialMemoryBytes(url) {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  let at = 8;
  const leb = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++];
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 5) {
      leb(); // count
      at += 1; // limits flags
      return leb() * 65536;
    }
    at = end;
  }
  return 0;
}

/** Documents in the client's cache: its records are a channel's chunks `{ seq, ids, text,
 * removed }` applied in key order (src/shell/db/store.js, ChannelCache), an earlier build's
 * rows one document each. */
async function countCached(db) {
  const [keys, rows] = await new Promise((resolve, reject) => {
    const tx = db.transaction("docs", "readonly");
    const k = tx.objectStore("docs").getAllKeys();
    const v = tx.objectStore("docs").getAll();
    tx.oncomplete = () => resolve([k.result, v.result]);
    tx.onerror = () => reject(tx.error);
  });
  const live = new Set();
  rows.forEach((row, i) => {
    const scope = `${keys[i][0]}\n${keys[i][1]}\n`;
    if (row && Array.isArray(row.ids)) {
      for (const id of row.removed || []) live.delete(scope + id);
      for (const id of row.ids) live.add(scope + id);
    } else {
      live.add(scope + keys[i][2]);
    }
  });
  return live.size;
}

function txDone(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("aborted"));
  });
}

window.bench = {
  /** Creates and connects a client; optionally subscribes to `channel`. */
  async setup({ url, dbName, channel, subscribe }) {
    client = await createClient({
      url,
      dbName,
      backoff: { initialMs: 20, maxMs: 100 },
    });
    client.onChange(onBatch);
    client.onStatus((s) => {
      pendingCount = s.pendingCount;
      connected = s.state === "ready";
    });
    client.connect();
    if (subscribe) client.subscribe(channel);
    await waitFor(() => client.status().state === "ready", 15_000, "the connection");
    return client.status().storage;
  },

  /** Sends a put of `{seq}` without waiting for anything; returns the time it was called. */
  mutate(channel, seq) {
    const t0 = now();
    client
      .mutate(channel, { op: "put", id: `doc-${seq % 8}`, doc: { seq }, baseVersion: null })
      .then(() => acks.set(seq, now()), () => acks.set(seq, NaN));
    return t0;
  },

  /** When a change batch of this page first showed `{seq}` (waits, bounded). */
  async optimisticTime(seq, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (!optimistic.has(seq)) {
      if (Date.now() > deadline) throw new Error(`seq ${seq} never shown`);
      await new Promise((r) => setTimeout(r, 1));
    }
    return optimistic.get(seq);
  },

  /** When this page's mutation `{seq}` was acknowledged (waits for it, bounded). */
  async ackTime(seq, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (!acks.has(seq)) {
      if (Date.now() > deadline) throw new Error(`no ack for seq ${seq}`);
      await new Promise((r) => setTimeout(r, 1));
    }
    return acks.get(seq);
  },

  /** When this page's store had `{seq}` (waits for it). */
  arrival(seq, timeoutMs = 10_000) {
    if (arrivals.has(seq)) return arrivals.get(seq);
    return new Promise((resolve, reject) => {
      waiters.set(seq, resolve);
      setTimeout(() => {
        if (waiters.delete(seq)) reject(new Error(`seq ${seq} not applied within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  },

  /** Waits until the connection is down (the server was stopped). */
  async waitOffline() {
    await waitFor(() => client.status().state !== "ready", 15_000, "the connection to drop");
  },

  /**
   * Queues `n` mutations while offline; returns how long until `mutate()` returned for all,
   * and until all `n` were in the client's IndexedDB outbox (counted by a reader of its own).
   */
  async enqueue({ channel, dbName, n, firstSeq }) {
    const db = await openDb(dbName);
    const before = await countOutbox(db);
    const t0 = now();
    window.__acks = [];
    for (let i = 0; i < n; i++) {
      window.__acks.push(
        client.mutate(channel, {
          op: "put",
          id: `out-${i % 64}`,
          doc: { seq: firstSeq + i, title: "queued while offline" },
          baseVersion: null,
        }),
      );
    }
    const called = now() - t0;
    // Poll every 5 ms (each count is a read transaction that queues behind the client's
    // writes; polling faster would slow down what it measures). Resolution: 5 ms.
    let count = before;
    while (count < before + n) {
      if (now() - t0 > 60_000) throw new Error(`only ${count - before} of ${n} in the outbox`);
      await new Promise((r) => setTimeout(r, 5));
      count = await countOutbox(db);
    }
    const durable = now() - t0;
    db.close();
    return { called, durable };
  },

  /** After the server is back: reconnect at once; time until every queued mutation is acked. */
  async drain() {
    const t0 = now();
    client.reconnect();
    const results = await Promise.allSettled(window.__acks);
    const t1 = now();
    return {
      ms: t1 - t0,
      acked: results.filter((r) => r.status === "fulfilled").length,
      failed: results.filter((r) => r.status === "rejected").length,
    };
  },

  /** Plain IndexedDB in this page: `n` puts, one transaction each (sequential), and one batch. */
  async idbBaseline(n) {
    const name = `plain-idb-${Date.now()}`;
    const db = await new Promise((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore("outbox", { keyPath: "k" });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const body = (i) => ({ k: i, mutation: { op: "put", id: `out-${i % 64}`, doc: { seq: i, title: "queued while offline" } } });
    let t0 = now();
    for (let i = 0; i < n; i++) {
      const tx = db.transaction("outbox", "readwrite");
      tx.objectStore("outbox").put(body(i));
      await txDone(tx);
    }
    const perTx = now() - t0;
    t0 = now();
    const tx = db.transaction("outbox", "readwrite");
    for (let i = 0; i < n; i++) tx.objectStore("outbox").put(body(n + i));
    await txDone(tx);
    const batched = now() - t0;
    db.close();
    indexedDB.deleteDatabase(name);
    return { perTx, batched };
  },

  /** Writes `n` documents to `channel` and waits until all are acked and cached in IndexedDB. */
  async fill({ channel, dbName, n }) {
    const writes = [];
    for (let i = 0; i < n; i++) {
      writes.push(
        client.mutate(channel, {
          op: "put",
          id: `card-${i}`,
          doc: { title: `Card ${i}`, status: i % 3 === 0 ? "todo" : "doing", rank: i },
          baseVersion: null,
        }),
      );
    }
    await Promise.all(writes);
    const db = await openDb(dbName);
    const deadline = Date.now() + 30_000;
    while ((await countCached(db)) < n) {
      if (Date.now() > deadline) throw new Error("the documents never reached the cache");
      await new Promise((r) => setTimeout(r, 20));
    }
    db.close();
  },

  /**
   * Cold start in a freshly loaded page: instantiate the module, open IndexedDB and restore
   * the cached view of `channel` (offline: no connection is opened) until it has `n` rows.
   */
  async coldStart({ url, dbName, channel, n }) {
    const t0 = now();
    // As an app starts: createClient loads the module (fetch, compile, instantiate) while the
    // client's start opens IndexedDB and reads the cache (src/shell/db/start.js, bootEarly).
    client = await createClient({ url, dbName });
    const t1 = now();
    const tModule = t0;
    const wasm = await import("./tether/wasm/tether.js");
    const instance = await wasm.default(); // the instance createClient made
    const wasmMemoryAtStart = await initialMemoryBytes("./tether/wasm/tether_bg.wasm");
    const done = new Promise((resolve, reject) => {
      let rows = new Map();
      client.onChange((batch) => {
        for (const view of batch.views) {
          if (view.channel !== channel) continue;
          if (view.replace) rows = new Map();
          for (const row of view.upserts) rows.set(row.id, row.doc);
          for (const id of view.removes) rows.delete(id);
          if (rows.size >= n) resolve({ t: now(), rows: rows.size, continuity: view.continuity ?? null, docs: rows });
        }
      });
      setTimeout(() => reject(new Error(`cached view of ${channel} not restored within 10 s (rows: ${rows.size})`)), 10_000);
    });
    client.subscribe(channel);
    const restored = await done;
    // The linear memory only grows, so this is its high-water mark; beside it the JSON size of
    // the documents the view holds ({id, doc} each, as the server sends them).
    let jsonBytes = 0;
    for (const [id, doc] of restored.docs) jsonBytes += JSON.stringify({ id, doc }).length;
    return { module: tModule - t0, create: t1 - tModule, instantiate: t1 - t0, restore: restored.t - t1, total: restored.t - t0, rows: restored.rows, continuity: restored.continuity, wasmMemoryBytes: instance.memory.buffer.byteLength, wasmMemoryAtStart, jsonBytes };
  },

  /**
   * Opens a second client on `dbName` (its own page-level client, so the first stays as it
   * is) subscribed to `channel`; with `connect` it connects and waits until the view is
   * current. Resolves `{ ms, rows, continuity }`: from connect() until the view has `rows`
   * documents and shows `{seq: lastSeq}` (or, for a snapshot, has `rows` documents).
   */
  async view({ url, dbName, channel, rows: want, lastSeq, close }) {
    const c = await createClient({ url, dbName, backoff: { initialMs: 20, maxMs: 100 } });
    let rows = new Map();
    let continuity = null;
    let done = null;
    const finished = new Promise((resolve) => (done = resolve));
    const check = () => {
      const last = lastSeq === undefined || [...rows.values()].some((seq) => seq === lastSeq);
      if (rows.size >= want && last && continuity !== "cached") done(now());
    };
    c.onChange((batch) => {
      for (const view of batch.views) {
        if (view.channel !== channel) continue;
        if (view.replace) rows = new Map();
        for (const row of view.upserts) rows.set(row.id, row.doc?.seq);
        for (const id of view.removes) rows.delete(id);
        if (view.continuity) continuity = view.continuity;
      }
      check();
    });
    c.subscribe(channel);
    // A restored client shows its cached copy first: start the clock at connect().
    await new Promise((r) => setTimeout(r, 50));
    const t0 = now();
    c.connect();
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`view of ${channel} not current within 120 s (rows: ${rows.size}, continuity: ${continuity})`)), 120_000),
    );
    const t1 = await Promise.race([finished, timeout]);
    const result = { ms: t1 - t0, rows: rows.size, continuity };
    if (close !== false) c.close();
    else window.__viewClient = c;
    return result;
  },

  /** Closes the client `setup` created (its cursor and cache stay in IndexedDB). */
  async closeClient() {
    // The cache is written after a quiet interval: give it time, then close.
    await new Promise((r) => setTimeout(r, 600));
    client.close();
    client = null;
  },

  pending: () => pendingCount,
  connected: () => connected,
};
window.benchReady = true;
