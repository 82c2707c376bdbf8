// The IndexedDB side of the Tether client's database (schema and rules: src/shell/db.rs).
//
// Written in JavaScript, not through web-sys: every step here is a browser call, which costs
// an import shim and a future state in the WASM module and nothing in a script. The WASM
// module keeps the decisions (what to write, what a row means); this file moves the rows.
//
// A client's start and the look for closed tabs' outboxes are in start.js.
//
// Every function returns a promise. A failure rejects with text ("Name: message" of the
// DOMException) or with LOST, when the partition written before is gone.

import { failWrite } from "../socket.js";

export const STORES = ["clients", "outbox", "docs", "channels"];
const LOST = 0;

/** "Name: message" of what IndexedDB threw or reported. */
function why(e) {
  if (e === LOST || typeof e === "string") return e;
  const name = (e && e.name) || "";
  const message = (e && e.message) || "";
  if (name && message) return name + ": " + message;
  return name || message || "IndexedDB failed";
}

/** Every array key that starts with `prefix` (arrays sort above strings and numbers). */
export function prefix(parts) {
  return IDBKeyRange.bound(parts, [...parts, []]);
}

/** A transaction's end: resolves with null once it committed, with the error once it aborted
 * (resolves either way, so a transaction given up is never an unhandled rejection). */
export function ended(tx) {
  return new Promise((resolve) => {
    tx.oncomplete = () => resolve(null);
    tx.onabort = () => resolve(tx.error ? why(tx.error) : "AbortError: the transaction was aborted");
  });
}

export async function committed(finished) {
  const error = await finished;
  if (error !== null) throw error;
}

/** A request's result. */
export function result(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(why(request.error));
  });
}

/** Opens `name` at `version` (current when undefined), creating missing object stores. */
function openAt(name, version) {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === "undefined") throw "IndexedDB is not available";
    const request = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    request.onupgradeneeded = () => {
      const db = request.result;
      for (const store of STORES) {
        if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(why(request.error));
    // Another connection does not close for the upgrade: fail now, retry later (and close the
    // connection should it open after all).
    request.onblocked = () => {
      request.onsuccess = () => request.result.close();
      reject("blocked by another connection");
    };
  }).catch((e) => {
    throw why(e);
  });
}

/** Opens database `name` with the object stores: at its current version when it has them all
 * (so a database a newer build upgraded still opens), else one version up, creating them. */
async function openRaw(name) {
  const db = await openAt(name);
  if (STORES.every((store) => db.objectStoreNames.contains(store))) return db;
  const next = db.version + 1;
  db.close();
  return openAt(name, next);
}

/** A connection: closed at once when another one wants to upgrade (`versionchange`), marked
 * closed when the browser closes it (`close`). */
function connect(db, generation) {
  const conn = { db, generation, closed: false };
  db.onversionchange = () => {
    db.close();
    conn.closed = true;
  };
  db.onclose = () => {
    conn.closed = true;
  };
  return conn;
}

function release(conn) {
  conn.db.onversionchange = null;
  conn.db.onclose = null;
  conn.db.close();
}

/** Opens (creating or upgrading) the database; resolves with a `Db`. */
export async function openDb(name) {
  return new Db(name, await openRaw(name));
}

/** The database, reopened when its connection closed or a transaction on it failed. */
export class Db {
  constructor(name, db) {
    this.name = name;
    this.conn = connect(db, 0);
    this.opened = 1;
    // Per client id: the connection its last write committed on. The first write of a
    // partition on a newer connection checks that the partition is still there.
    this.written = new Map();
    // Per client id: its outbox as stored (an `Outbox`), known once it was loaded or read
    // by a write; dropped while a write is under way and kept again once it committed (a failed
    // write leaves it to the next one to read).
    this.outboxes = new Map();
    // Per client id: its cached documents as stored (a `Map` of channel to `ChannelCache`),
    // known and dropped like its outbox.
    this.caches = new Map();
  }

  /** The current connection, opening a new one when it closed. */
  async connection() {
    const current = this.conn;
    if (current && !current.closed) return current;
    if (current) release(current);
    this.conn = null;
    const generation = this.opened;
    const conn = connect(await openRaw(this.name), generation);
    this.opened = generation + 1;
    this.conn = conn;
    return conn;
  }

  /** Runs `op` on the connection; if it fails, drops that connection (the browser may have
   * closed it) and runs `op` once more on a new one. Safe for writes: a failed transaction was
   * aborted, so nothing of it is stored. */
  async retry(op) {
    const first = await this.connection();
    try {
      return await op(first);
    } catch (e) {
      if (e === LOST) throw e;
      if (this.conn === first) {
        this.conn = null;
        release(first);
      }
    }
    try {
      return await op(await this.connection());
    } catch (e) {
      throw why(e);
    }
  }

  /** Client ids that have a partition. */
  clientIds() {
    return this.retry(async (conn) => {
      const tx = conn.db.transaction(["clients"], "readonly");
      const finished = ended(tx);
      const keys = tx.objectStore("clients").getAllKeys();
      await committed(finished);
      return keys.result.filter((k) => typeof k === "string");
    });
  }

  /** The most recently written partition other than `except`'s (null: none). */
  freshest(except) {
    return this.retry(async (conn) => {
      const tx = conn.db.transaction(["clients"], "readonly");
      const finished = ended(tx);
      const rows = tx.objectStore("clients").getAll();
      await committed(finished);
      let best = null;
      let at = -Infinity;
      for (const row of rows.result) {
        const id = row && row.clientId;
        const when = row && typeof row.updatedAt === "number" ? row.updatedAt : 0;
        if (typeof id === "string" && id !== except && when > at) {
          best = id;
          at = when;
        }
      }
      return best;
    });
  }

  /** What is stored for `clientId`: null without a partition, else `[lastMutationId,
   * clientId, outbox texts joined by "\n", channels as [name, epoch | null, offset,
   * filterKey]..., documents as channel "\n" text joined by "\n"]`. The documents are read
   * channel by channel once the channel rows are in (reading a channel's values alone costs
   * about half of reading them with their keys). */
  load(clientId) {
    return this.retry(async (conn) => {
      const tx = conn.db.transaction(STORES, "readonly");
      const finished = ended(tx);
      const range = prefix([clientId]);
      const row = tx.objectStore("clients").get(clientId);
      const outboxStore = tx.objectStore("outbox");
      const outboxKeys = outboxStore.getAllKeys(range);
      const outboxRows = outboxStore.getAll(range);
      const channels = tx.objectStore("channels");
      const [channelKeys, channelRows] = await Promise.all([
        result(channels.getAllKeys(range)),
        result(channels.getAll(range)),
      ]);
      const docs = tx.objectStore("docs");
      const docRows = channelKeys.map((key) => docs.getAll(prefix([clientId, key[1]])));
      await committed(finished);
      const client = row.result;
      if (client === undefined || client === null) return null;
      const outbox = Outbox.read(outboxKeys.result, outboxRows.result);
      const caches = new Map(
        channelKeys.map((key, i) => [key[1], ChannelCache.read(docRows[i].result)]),
      );
      this.outboxes.set(clientId, outbox);
      this.caches.set(clientId, caches);
      return partition(client, clientId, outbox.texts(), channelKeys, channelRows, caches);
    });
  }

  /** Applies a flush (`ops`: JSON text, see `place`) for `clientId` in one readwrite
   * transaction, which has committed when the promise resolves; on any failure it is aborted,
   * so nothing of the flush is stored. Rejects with LOST when the partition this `Db` wrote
   * before is gone (checked once per new connection). */
  async write(clientId, lastMutationId, ops) {
    const list = JSON.parse(ops);
    // The devtools' `failWrites` switch: a flush that queues writes fails as an aborted
    // transaction would.
    if (list.some((op) => op[0] === "o") && failWrite()) {
      throw "AbortError: failed by the devtools (failWrites)";
    }
    return this.retry(async (conn) => {
      const tx = conn.db.transaction(STORES, "readwrite");
      const finished = ended(tx);
      const generation = this.written.get(clientId);
      if (generation !== undefined && generation !== conn.generation) {
        const row = await result(tx.objectStore("clients").get(clientId));
        if (row === undefined) {
          tx.abort();
          this.outboxes.delete(clientId);
          this.caches.delete(clientId);
          throw LOST;
        }
      }
      let outbox = this.outboxes.get(clientId);
      let caches = this.caches.get(clientId);
      // Dropped either way (place changes the caches in place); set again once this flush
      // committed.
      this.outboxes.delete(clientId);
      this.caches.delete(clientId);
      try {
        const range = prefix([clientId]);
        if (outbox === undefined) {
          const store = tx.objectStore("outbox");
          const [keys, rows] = await Promise.all([
            result(store.getAllKeys(range)),
            result(store.getAll(range)),
          ]);
          outbox = Outbox.read(keys, rows);
        }
        if (caches === undefined) {
          const store = tx.objectStore("docs");
          const [keys, rows] = await Promise.all([
            result(store.getAllKeys(range)),
            result(store.getAll(range)),
          ]);
          caches = ChannelCache.readAll(keys, rows);
        }
        outbox = place(tx, clientId, lastMutationId, list, outbox, caches);
      } catch (e) {
        try {
          tx.abort();
        } catch {
          // Already aborted by the failed request.
        }
        throw why(e);
      }
      await committed(finished);
      this.written.set(clientId, conn.generation);
      this.outboxes.set(clientId, outbox);
      this.caches.set(clientId, caches);
    });
  }

  /** Forgets that `clientId`'s partition was written (its next write does not check that the
   * partition is still there) and what its outbox holds (the next write reads it). */
  forget(clientId) {
    this.written.delete(clientId);
    this.outboxes.delete(clientId);
    this.caches.delete(clientId);
  }

  /** Closes the connection (the client let go of the database; a later use reopens it). */
  close() {
    if (this.conn) release(this.conn);
    this.conn = null;
  }

  /** Deletes everything stored for `clientId`. */
  deleteClient(clientId) {
    this.forget(clientId);
    return this.retry(async (conn) => {
      const tx = conn.db.transaction(STORES, "readwrite");
      const finished = ended(tx);
      try {
        const range = prefix([clientId]);
        for (const store of ["outbox", "docs", "channels"]) tx.objectStore(store).delete(range);
        tx.objectStore("clients").delete(clientId);
      } catch (e) {
        tx.abort();
        throw why(e);
      }
      await committed(finished);
    });
  }
}

/** What `load` resolves with, from the rows read (`outboxTexts`: the pending mutations' texts
 * in id order; `caches`: a `Map` of channel to its `ChannelCache`): `[lastMutationId,
 * clientId, outbox texts joined by "\n", channels as [name, epoch | null, offset,
 * filterKey]..., documents as channel "\n" text joined by "\n"]`. */
export function partition(client, clientId, outboxTexts, channelKeys, channelRows, caches) {
  const flat = [];
  channelRows.forEach((value, i) => {
    const cursor = value && value.cursor;
    let epoch = null;
    let offset = 0;
    if (cursor !== null && typeof cursor === "object") {
      if (typeof cursor.epoch !== "string" || !(cursor.offset >= 0)) {
        throw "a stored cursor does not decode";
      }
      epoch = cursor.epoch;
      offset = cursor.offset;
    }
    const filterKey = value && typeof value.filterKey === "string" ? value.filterKey : "";
    flat.push(String(channelKeys[i][1]), epoch, offset, filterKey);
  });
  const docLines = [];
  for (const [channel, cache] of caches) {
    const name = String(channel);
    for (const t of cache.texts.values()) docLines.push(name, t);
  }
  return [
    typeof client.lastMutationId === "number" ? client.lastMutationId : 0,
    typeof client.clientId === "string" ? client.clientId : clientId,
    outboxTexts.join("\n"),
    flat,
    docLines.join("\n"),
  ];
}

/** A stored row's text: JSON text, or (stored by an earlier build) an object. A line break can
 * only be whitespace in JSON text; it becomes a space so that texts join by "\n". */
function text(value) {
  const t = typeof value === "string" ? value : JSON.stringify(value) ?? "";
  return t.includes("\n") ? t.replace(/[\r\n]/g, " ") : t;
}

/** A client's outbox as stored: chunks, each one record keyed `[clientId, first id]` holding
 * `{ ids, text }` (the mutations' ids in ascending order and their texts joined by "\n"); a
 * flush stores its new mutations as one chunk, so queuing a thousand writes in one task puts
 * one record, not a thousand. A row stored by an earlier build (one mutation per record, keyed
 * by its id, as text or object) reads as a chunk of one.
 * `place` changes it in place (see `Db.write`). */
export class Outbox {
  constructor(chunks, chunkOf) {
    // first id -> { ids, texts }
    this.chunks = chunks;
    // mutation id -> first id of its chunk
    this.chunkOf = chunkOf;
  }

  /** The outbox from the rows `getAllKeys` / `getAll` read (throws text when one does not
   * decode). */
  static read(keys, rows) {
    const chunks = new Map();
    const chunkOf = new Map();
    rows.forEach((row, i) => {
      const first = keys[i][1];
      let chunk;
      if (row !== null && typeof row === "object" && Array.isArray(row.ids)) {
        const texts = typeof row.text === "string" && row.text !== "" ? row.text.split("\n") : [];
        if (texts.length !== row.ids.length || row.ids[0] !== first) {
          throw "a stored outbox chunk does not decode";
        }
        chunk = { ids: row.ids, texts };
      } else {
        chunk = { ids: [first], texts: [text(row)] };
      }
      chunks.set(first, chunk);
      for (const id of chunk.ids) chunkOf.set(id, first);
    });
    return new Outbox(chunks, chunkOf);
  }

  /** The pending mutations' texts in id order. */
  texts() {
    const all = [];
    for (const first of [...this.chunks.keys()].sort((a, b) => a - b)) {
      for (const t of this.chunks.get(first).texts) all.push(t);
    }
    return all;
  }
}

/** One channel's cached documents as stored: chunks, each one record keyed `[clientId,
 * channel, seq]` (a number, ascending) holding `{ seq, ids, text, removed }` — documents (ids,
 * and their texts joined by "\n") and the ids removed since the chunks before it. A flush
 * stores a channel's changes as one chunk; reading the channel applies the chunks in order.
 * When stale copies and removals outweigh what is live, or the chunks grow too many, the
 * channel is stored again as one chunk. A row stored by an earlier build (one document, keyed
 * by its id, as text or object) reads first, older than every chunk; a change of its document
 * deletes it. Kept in memory by `Db` (`texts`: the live documents' texts by id). */
export class ChannelCache {
  constructor() {
    this.next = 0;
    this.chunks = 0;
    this.dead = 0;
    this.texts = new Map();
    // id -> where its stored copy is: a chunk's seq, or null for an earlier build's row.
    this.where = new Map();
  }

  /** The cache from a channel's rows in key order (throws text when one does not decode). */
  static read(rows) {
    const cache = new ChannelCache();
    const chunks = [];
    for (const row of rows) {
      if (row !== null && typeof row === "object" && Array.isArray(row.ids)) {
        chunks.push(row);
        continue;
      }
      const t = text(row);
      let id;
      try {
        id = JSON.parse(t).id;
      } catch {
        id = undefined;
      }
      if (typeof id !== "string") throw "a stored document does not decode";
      cache.texts.set(id, t);
      cache.where.set(id, null);
    }
    for (const chunk of chunks) {
      const texts = typeof chunk.text === "string" && chunk.text !== "" ? chunk.text.split("\n") : [];
      if (texts.length !== chunk.ids.length || typeof chunk.seq !== "number") {
        throw "a stored document chunk does not decode";
      }
      cache.chunks += 1;
      cache.next = Math.max(cache.next, chunk.seq + 1);
      for (const id of chunk.removed || []) {
        cache.dead += 1;
        if (cache.texts.delete(id)) cache.dead += 1;
        cache.where.delete(id);
      }
      chunk.ids.forEach((id, i) => {
        if (cache.texts.has(id)) cache.dead += 1;
        cache.texts.set(id, texts[i]);
        cache.where.set(id, chunk.seq);
      });
    }
    return cache;
  }

  /** Every channel's cache from a partition's rows (`getAllKeys` and `getAll` of `docs`). */
  static readAll(keys, rows) {
    const byChannel = new Map();
    keys.forEach((key, i) => {
      if (!byChannel.has(key[1])) byChannel.set(key[1], []);
      byChannel.get(key[1]).push(rows[i]);
    });
    const caches = new Map();
    for (const [channel, list] of byChannel) caches.set(channel, ChannelCache.read(list));
    return caches;
  }
}

/** Stores one flush's changes of `channel` (`change`: `{ removed: Set, upserts: Map }`, made
 * by `place`) and updates `cache` to match. */
function storeChannel(docs, clientId, channel, cache, change) {
  // Removals of copies in chunks are stored (they mask those copies); an earlier build's row
  // is deleted.
  const removed = [];
  for (const id of change.removed) {
    const at = cache.where.get(id);
    if (at === undefined) continue;
    cache.where.delete(id);
    cache.texts.delete(id);
    if (at === null) {
      docs.delete([clientId, channel, id]);
    } else {
      removed.push(id);
      cache.dead += 1; // the stale copy (the removal is counted below)
    }
  }
  for (const [id, t] of change.upserts) {
    const at = cache.where.get(id);
    if (at === null) docs.delete([clientId, channel, id]);
    else if (at !== undefined) cache.dead += 1;
    cache.texts.set(id, t);
  }
  if (change.upserts.size === 0 && removed.length === 0) return;
  // Too many chunks (each is a record to read at start) or more garbage than documents: the
  // channel is stored again as one chunk.
  const live = cache.texts.size;
  const limit = Math.max(16, Math.ceil(Math.sqrt(live)));
  if (cache.chunks + 1 > limit || cache.dead > live) {
    docs.delete(prefix([clientId, channel]));
    const ids = [...cache.texts.keys()];
    const seq = cache.next++;
    docs.put({ seq, ids, text: [...cache.texts.values()].join("\n"), removed: [] }, [clientId, channel, seq]);
    cache.chunks = 1;
    cache.dead = 0;
    cache.where = new Map(ids.map((id) => [id, seq]));
    return;
  }
  const seq = cache.next++;
  const ids = [...change.upserts.keys()];
  docs.put(
    { seq, ids, text: [...change.upserts.values()].join("\n"), removed },
    [clientId, channel, seq],
  );
  cache.chunks += 1;
  cache.dead += removed.length;
  for (const id of ids) cache.where.set(id, seq);
}

/** Places every request of a flush (IndexedDB runs them in order; a failed one aborts the
 * transaction) and returns the outbox as it is once the flush committed. `ops`, made by
 * src/shell/db/rows.rs:
 *   ["o", mutationId, text]               outbox put
 *   ["x", firstId, lastId]                outbox delete of ids first..=last
 *   ["r", channel]                        delete the channel's documents
 *   ["d", channel, docId]                 document delete
 *   ["D", channel, docId, text]           document put
 *   ["c", channel, epoch|null, offset, filterKey]   the channel row
 * then the client row, written with every flush: it records when the partition was written.
 * The outbox's puts and deletes are gathered: the flush's new mutations become one chunk,
 * and a chunk that lost some of its mutations is stored again without them. */
function place(tx, clientId, lastMutationId, ops, outbox, caches) {
  const docs = tx.objectStore("docs");
  // Per channel: the flush's document changes, stored as one chunk at the end.
  const changes = new Map();
  const changeOf = (channel) => {
    let change = changes.get(channel);
    if (change === undefined) {
      change = { removed: new Set(), upserts: new Map() };
      changes.set(channel, change);
    }
    if (!caches.has(channel)) caches.set(channel, new ChannelCache());
    return change;
  };
  const channels = tx.objectStore("channels");
  // Changed in place, as the caches are: `write` dropped the outbox and keeps it again only
  // once the flush committed.
  const { chunks, chunkOf } = outbox;
  // Chunks that lost mutations (first id as stored -> remaining ids), and the new mutations.
  const shrunk = new Map();
  const added = new Map();
  const drop = (id) => {
    if (added.delete(id)) return;
    const first = chunkOf.get(id);
    if (first === undefined) return;
    chunkOf.delete(id);
    let left = shrunk.get(first);
    if (left === undefined) {
      left = new Set(chunks.get(first).ids);
      shrunk.set(first, left);
    }
    left.delete(id);
  };
  for (const op of ops) {
    switch (op[0]) {
      case "o":
        drop(op[1]);
        added.set(op[1], text(op[2]));
        break;
      case "x":
        for (let id = op[1]; id <= op[2]; id++) drop(id);
        break;
      case "r": {
        // What was stored goes now; this flush's changes so far are dropped with it.
        const change = changeOf(op[1]);
        change.removed.clear();
        change.upserts.clear();
        docs.delete(prefix([clientId, op[1]]));
        const fresh = new ChannelCache();
        fresh.next = caches.get(op[1]).next;
        caches.set(op[1], fresh);
        break;
      }
      case "d": {
        const change = changeOf(op[1]);
        change.upserts.delete(op[2]);
        change.removed.add(op[2]);
        break;
      }
      case "D": {
        const change = changeOf(op[1]);
        change.removed.delete(op[2]);
        change.upserts.set(op[2], text(op[3]));
        break;
      }
      case "c":
        channels.put(
          { cursor: op[2] === null ? null : { epoch: op[2], offset: op[3] }, filterKey: op[4] },
          [clientId, op[1]],
        );
        break;
    }
  }
  for (const [channel, change] of changes) {
    storeChannel(docs, clientId, channel, caches.get(channel), change);
  }
  const store = tx.objectStore("outbox");
  // Deletes first: a chunk stored again, or the new one, may take a key a deleted chunk had.
  const puts = [];
  for (const [first, left] of shrunk) {
    const old = chunks.get(first);
    chunks.delete(first);
    const ids = old.ids.filter((id) => left.has(id));
    const texts = old.texts.filter((_, i) => left.has(old.ids[i]));
    if (ids.length === 0 || ids[0] !== first) store.delete([clientId, first]);
    if (ids.length > 0) puts.push({ ids, texts });
  }
  if (added.size > 0) {
    const ids = [...added.keys()].sort((a, b) => a - b);
    puts.push({ ids, texts: ids.map((id) => added.get(id)) });
  }
  for (const chunk of puts) {
    const first = chunk.ids[0];
    store.put({ ids: chunk.ids, text: chunk.texts.join("\n") }, [clientId, first]);
    chunks.set(first, chunk);
    for (const id of chunk.ids) chunkOf.set(id, first);
  }
  tx.objectStore("clients").put({ clientId, lastMutationId, updatedAt: Date.now() }, clientId);
  return outbox;
}
