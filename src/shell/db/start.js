// A client's start (open the database, claim this tab's id, read or seed its partition) and
// the look for closed tabs' outboxes: the steps of src/shell/db.rs's `start` and
// src/shell/adopt.rs that are browser calls from end to end, one call each for the WASM module.

import { claim, hasWebLocks, savedClientId, tryLock } from "../page.js";
import { ChannelCache, STORES, committed, ended, openDb, partition, prefix, result } from "./store.js";

/** A client's start: opens database `name` (when `wantDb`), claims this tab's client id (a
 * new one when the database does not open: the stored partition cannot be read, so the new
 * id's mutation ids never collide with stored ones, and the old partition is adopted once the
 * database opens) and reads its partition, seeding a new tab's. Resolves with `[Db | null,
 * clientId, release of its lock, what load reads | null]`. */
export function boot(name, wantDb) {
  const key = earlyKey(name, wantDb);
  const started = early.get(key);
  if (started !== undefined) {
    early.delete(key);
    return started;
  }
  return bootNow(name, wantDb);
}

// Boots started ahead of the WASM module (by the package's loader, while the module loads),
// by database name and whether the database is wanted; `boot` takes them.
const early = new Map();

function earlyKey(name, wantDb) {
  return (wantDb ? "1" : "0") + name;
}

/** Starts `boot(name, wantDb)` now, for the client about to be created once the WASM module
 * has loaded: the database opens and the partition is read while the module compiles. */
export function bootEarly(name, wantDb) {
  const key = earlyKey(name, wantDb);
  if (!early.has(key)) early.set(key, bootNow(name, wantDb));
}

/** Undoes a `bootEarly` that no client took (creating it failed): releases the client id's
 * lock and closes the database. */
export async function bootCancel(name, wantDb) {
  const key = earlyKey(name, wantDb);
  const started = early.get(key);
  if (started === undefined) return;
  early.delete(key);
  let booted;
  try {
    booted = await started;
  } catch {
    return;
  }
  const [db, , release] = booted;
  if (typeof release === "function") release();
  if (db !== null) db.close();
}

async function bootNow(name, wantDb) {
  const opening = wantDb ? openDb(name).catch(() => null) : Promise.resolve(null);
  // Read while the database opens (the first use of sessionStorage in a page may be slow).
  const saved = savedClientId(name);
  const db = await opening;
  const [clientId, release] = await claim(name, wantDb && db === null, saved);
  let raw = null;
  if (db !== null) {
    try {
      raw = await db.load(clientId);
    } catch {
      raw = null;
    }
    if (raw === null) {
      try {
        raw = await seed(db, clientId);
      } catch {
        raw = null;
      }
    }
  }
  return [db, clientId, release, raw];
}

/** A new tab's partition (it has none yet), copied from the cached channels of the most
 * recently written other one (its outbox stays there), so the tab shows what the device holds
 * at once: resolves with what `load` would read, or null when there is nothing to copy. */
async function seed(db, clientId) {
  const from = await db.freshest(clientId);
  if (from === null) return null;
  return db.retry(async (conn) => {
    const tx = conn.db.transaction(STORES, "readwrite");
    const finished = ended(tx);
    const range = prefix([from]);
    const channels = tx.objectStore("channels");
    const docs = tx.objectStore("docs");
    const [channelKeys, channelRows, docKeys, docRows] = await Promise.all([
      result(channels.getAllKeys(range)),
      result(channels.getAll(range)),
      result(docs.getAllKeys(range)),
      result(docs.getAll(range)),
    ]);
    if (channelKeys.length === 0 && docKeys.length === 0) {
      tx.abort();
      return null;
    }
    const copied = new Set([...channelKeys, ...docKeys].map((key) => key[1]));
    for (const channel of copied) docs.delete(prefix([clientId, channel]));
    channelKeys.forEach((key, i) => channels.put(channelRows[i], [clientId, key[1]]));
    docKeys.forEach((key, i) => docs.put(docRows[i], [clientId, key[1], key[2]]));
    const client = { clientId, lastMutationId: 0, updatedAt: Date.now() };
    tx.objectStore("clients").put(client, clientId);
    await committed(finished);
    db.written.set(clientId, conn.generation);
    const caches = ChannelCache.readAll(docKeys, docRows);
    db.caches.set(clientId, caches);
    return partition(client, clientId, [], channelKeys, channelRows, caches);
  });
}

/** Partitions other than `me`'s that no open tab holds and that have writes to send, each
 * locked for this tab: `[clientId, release, what load reads]`. Partitions without writes are
 * deleted on the way. Only with Web Locks: without, a closed tab cannot be told from an open
 * one, whose partition must not be deleted. */
export async function orphans(db, dbName, me) {
  const found = [];
  if (!hasWebLocks()) return found;
  for (const id of await db.clientIds()) {
    if (id === me) continue;
    const release = await tryLock(dbName, id);
    if (!release) continue;
    let raw = null;
    try {
      raw = await db.load(id);
    } catch {
      raw = null;
    }
    if (raw !== null && raw[2] === "") {
      try {
        await db.deleteClient(id);
      } catch {
        // Tried again at the next look.
      }
      raw = null;
    }
    if (raw === null) {
      release();
      continue;
    }
    found.push([id, release, raw]);
  }
  return found;
}
