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
   * filterKey]..., documents as channel "\n" text joined by "\n"]`. Every request is placed at
   * once and read when the transaction completed. */
  load(clientId) {
    return this.retry(async (conn) => {
      const tx = conn.db.transaction(STORES, "readonly");
      const finished = ended(tx);
      const range = prefix([clientId]);
      const row = tx.objectStore("clients").get(clientId);
      const outbox = tx.objectStore("outbox").getAll(range);
      const channels = tx.objectStore("channels");
      const channelKeys = channels.getAllKeys(range);
      const channelRows = channels.getAll(range);
      const docs = tx.objectStore("docs");
      const docKeys = docs.getAllKeys(range);
      const docRows = docs.getAll(range);
      await committed(finished);
      const client = row.result;
      if (client === undefined || client === null) return null;
      return partition(
        client,
        clientId,
        outbox.result,
        channelKeys.result,
        channelRows.result,
        docKeys.result,
        docRows.result,
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
          throw LOST;
        }
      }
      try {
        place(tx, clientId, lastMutationId, list);
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
    });
  }

  /** Forgets that `clientId`'s partition was written (its next write does not check that the
   * partition is still there). */
  forget(clientId) {
    this.written.delete(clientId);
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

/** What `load` resolves with, from the rows read: `[lastMutationId, clientId, outbox texts
 * joined by "\n", channels as [name, epoch | null, offset, filterKey]..., documents as
 * channel "\n" text joined by "\n"]`. */
export function partition(client, clientId, outbox, channelKeys, channelRows, docKeys, docRows) {
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
  docRows.forEach((value, i) => docLines.push(String(docKeys[i][1]), text(value)));
  return [
    typeof client.lastMutationId === "number" ? client.lastMutationId : 0,
    typeof client.clientId === "string" ? client.clientId : clientId,
    outbox.map(text).join("\n"),
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

/** Places every request of a flush (IndexedDB runs them in order; a failed one aborts the
 * transaction). `ops`, made by src/shell/db/rows.rs:
 *   ["o", mutationId, text]               outbox put
 *   ["x", firstId, lastId]                outbox delete of ids first..=last
 *   ["r", channel]                        delete the channel's documents
 *   ["d", channel, docId]                 document delete
 *   ["D", channel, docId, text]           document put
 *   ["c", channel, epoch|null, offset, filterKey]   the channel row
 * then the client row, written with every flush: it records when the partition was written. */
function place(tx, clientId, lastMutationId, ops) {
  const outbox = tx.objectStore("outbox");
  const docs = tx.objectStore("docs");
  const channels = tx.objectStore("channels");
  for (const op of ops) {
    switch (op[0]) {
      case "o":
        outbox.put(op[2], [clientId, op[1]]);
        break;
      case "x":
        outbox.delete(
          op[1] === op[2]
            ? [clientId, op[1]]
            : IDBKeyRange.bound([clientId, op[1]], [clientId, op[2]]),
        );
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
  tx.objectStore("clients").put({ clientId, lastMutationId, updatedAt: Date.now() }, clientId);
}
