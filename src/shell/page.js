// What the Tether client asks of the page besides the socket and the database: which client id
// this tab is (sessionStorage, Web Locks, Web Crypto; rules in src/shell/identity.rs), the
// page's signals (src/shell/signals.rs), persistent storage, and the errors handed to the app.
//
// Written in JavaScript, not through web-sys: each of these is a handful of browser calls,
// which cost an import shim and a future state each in the WASM module and little in a script.

/** Whether the browser has the Web Locks API. */
export function hasWebLocks() {
  return typeof navigator !== "undefined" && navigator.locks != null;
}

function lockName(db, clientId) {
  return "tether:" + db + ":" + clientId;
}

/** Takes the lock of `clientId`'s partition without waiting: resolves with the function that
 * releases it, or null when another tab holds it. Where the browser has no Web Locks, every
 * lock is granted. */
export function tryLock(db, clientId) {
  if (!hasWebLocks()) return Promise.resolve(() => {});
  return new Promise((granted) => {
    // The callback keeps the lock until the promise it returns resolves (by `release`).
    try {
      navigator.locks.request(lockName(db, clientId), { ifAvailable: true }, (lock) => {
        if (lock === null) {
          granted(null);
          return undefined;
        }
        return new Promise((release) => granted(release));
      });
    } catch {
      // Web Locks refused the call (an opaque origin): as without Web Locks.
      granted(() => {});
    }
  });
}

/** A random client id: `c-` and 128 random bits in hex, from the Web Crypto API (available in
 * insecure contexts too). The id is the exactly-once key of every write of this tab, so two
 * tabs must never draw the same one; `Math.random` is used only without Web Crypto at all. */
function newClientId() {
  let bytes = new Uint8Array(16);
  if (globalThis.crypto && typeof globalThis.crypto.getRandomValues === "function") {
    globalThis.crypto.getRandomValues(bytes);
  } else {
    bytes = bytes.map(() => Math.random() * 256);
  }
  let id = "c-";
  for (const byte of bytes) id += byte.toString(16).padStart(2, "0");
  return id;
}

function sessionStore() {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null;
  }
}

function sessionKey(db) {
  return "tether:" + db + ":clientId";
}

/** The client id saved for this tab (null: none). The first use of `sessionStorage` in a page
 * can take milliseconds: `boot` reads it while the database opens. */
export function savedClientId(db) {
  const storage = sessionStore();
  try {
    return storage ? storage.getItem(sessionKey(db)) : null;
  } catch {
    return null;
  }
}

/** This tab's client id and the release of its lock, `[id, release]`: the id `saved` for this
 * tab if its lock is free (and `fresh` is false), else a new id (saved for the tab's reloads). */
export async function claim(db, fresh, saved) {
  if (!fresh && saved !== null) {
    const release = await tryLock(db, saved);
    if (release) return [saved, release];
  }
  for (;;) {
    const id = newClientId();
    const release = await tryLock(db, id);
    if (release) {
      try {
        const storage = sessionStore();
        if (storage) storage.setItem(sessionKey(db), id);
      } catch {
        // Not saved: a reload takes a new id, and adopts this one's outbox.
      }
      return [id, release];
    }
  }
}

/** Listens for `online` / `offline`, `visibilitychange` and `pagehide` / `pageshow`, and
 * reports each to `report` as a number: 0 online, 1 offline, 2 visible, 3 hidden, 4 the page
 * is left, 5 it is shown again. Returns the function that stops listening. */
export function listen(report) {
  if (typeof window === "undefined") return () => {};
  const listeners = [
    [window, "online", () => report(0)],
    [window, "offline", () => report(1)],
    [window, "pagehide", () => report(4)],
    [window, "pageshow", () => report(5)],
  ];
  if (typeof document !== "undefined") {
    listeners.push([
      document,
      "visibilitychange",
      () => report(document.visibilityState === "visible" ? 2 : 3),
    ]);
  }
  for (const [target, name, listener] of listeners) target.addEventListener(name, listener);
  return () => {
    for (const [target, name, listener] of listeners) target.removeEventListener(name, listener);
  };
}

/** Asks the browser to keep this origin's storage under pressure (`navigator.storage
 * .persist()`): resolves with its answer, or null where it cannot be asked. */
export async function persist() {
  const storage = typeof navigator === "undefined" ? null : navigator.storage;
  if (!storage || typeof storage.persist !== "function") return null;
  let answer;
  try {
    answer = storage.persist();
  } catch {
    return null;
  }
  if (!(answer instanceof Promise)) return null;
  try {
    return (await answer) === true;
  } catch {
    return false;
  }
}

/** An `Error` from its JSON text: `message`, and every other field (`code`, ...) set on it. */
export function error(text) {
  const fields = JSON.parse(text);
  const e = new Error(fields.message);
  delete fields.message;
  return Object.assign(e, fields);
}
