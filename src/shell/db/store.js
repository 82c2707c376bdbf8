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
    // by a write; dropped when a write failed (read again by the next one).
    this.outboxes = new Map();
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
      this.outboxes.set(clientId, outbox);
      return partition(
        client,
        clientId,
        outbox.texts(),
        channelKeys,
        channelRows,
        channelKeys.map((key, i) => [key[1], docRows[i].result]),
      );
    });
  }

  /** Applies a flush (`ops`: JSON text, see `place`) for `clientId` in one readwrite
   * transaction, which has committed when the promise resolves; on any failure it is aborted,
   * so nothing of the flush is stored. Rejects with LOST when the partition this `Db` wrote
   * before is gone (checked once per new connection). */
  async write(clientId, lastMutationId, ops) {
    const list = JSON.parse(ops);
    return this.retry(async (conn) => {
      const tx = conn.db.transaction(STORES, "readwrite");
      const finished = ended(tx);
      const generation = this.written.get(clientId);
      if (generation !== undefined && generation !== conn.generation) {
        const row = await result(tx.objectStore("clients").get(clientId));
        if (row === undefined) {
          tx.abort();
          this.outboxes.delete(clientId);
          throw LOST;
        }
      }
      let outbox = this.outboxes.get(clientId);
      // Dropped either way; set again once this flush committed.
      this.outboxes.delete(clientId);
      try {
        if (outbox === undefined) {
          const store = tx.objectStore("outbox");
          const range = prefix([clientId]);
          const [keys, rows] = await Promise.all([
            result(store.getAllKeys(range)),
            result(store.getAll(range)),
          ]);
          outbox = Outbox.read(keys, rows);
        }
        outbox = place(tx, clientId, lastMutationId, list, outbox);
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
    });
  }

  /** Forgets that `clientId`'s partition was written (its next write does not check that the
   * partition is still there) and what its outbox holds (the next write reads it). */
  forget(clientId) {
    this.written.delete(clientId);
    this.outboxes.delete(clientId);
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
 * in id order; `docs`: `[channel, document rows]` per channel): `[lastMutationId, clientId, outbox texts
 * joined by "\n", channels as [name, epoch | null, offset, filterKey]..., documents as
 * channel "\n" text joined by "\n"]`. */
export function partition(client, clientId, outboxTexts, channelKeys, channelRows, docs) {
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
  for (const [channel, rows] of docs) {
    const name = String(channel);
    for (const value of rows) docLines.push(name, text(value));
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
 * by its id, as text or object) reads as a chunk of one. Immutable: `place` makes a new one. */
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
function place(tx, clientId, lastMutationId, ops, outbox) {
  const docs = tx.objectStore("docs");
  const channels = tx.objectStore("channels");
  const chunks = new Map(outbox.chunks);
  const chunkOf = new Map(outbox.chunkOf);
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
      case "r":
        docs.delete(prefix([clientId, op[1]]));
        break;
      case "d":
        docs.delete([clientId, op[1], op[2]]);
        break;
      case "D":
        docs.put(op[3], [clientId, op[1], op[2]]);
        break;
      case "c":
        channels.put(
          { cursor: op[2] === null ? null : { epoch: op[2], offset: op[3] }, filterKey: op[4] },
          [clientId, op[1]],
        );
        break;
    }
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
  return new Outbox(chunks, chunkOf);
}
