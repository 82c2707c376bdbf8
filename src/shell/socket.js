// The client's WebSocket (src/shell/socket.rs). Every socket of the page reports through
// `fault hooks` when the devtools installed them (`tether-sync/devtools`, which holds the
// switches: offline, latency, dropped / duplicated / reordered frames, failed writes); without
// them, which is the default, what the browser reports goes straight to the engine.

const sockets = new Set();
const watchers = new Set();
/** The devtools' hooks, or null: `{ offline(), receive(socket, value), failWrite(), active() }`. */
let hooks = null;

/** Installs the devtools' fault hooks (null removes them). */
export function installFaults(next) {
  hooks = next;
  faultsChanged();
}

/** Tells the watchers that the switches changed. */
export function faultsChanged() {
  const on = activeFaults();
  for (const watcher of [...watchers]) watcher(on);
}

/** The switches that are on, by name (for the client's status). */
export function activeFaults() {
  return hooks === null ? [] : hooks.active();
}

/** Calls `watcher(activeFaults())` after every change of the switches; returns the undo. */
export function watchFaults(watcher) {
  watchers.add(watcher);
  return () => watchers.delete(watcher);
}

/** True when the next IndexedDB write is to fail (db/store.js asks before every write). */
export function failWrite() {
  return hooks !== null && hooks.failWrite();
}

/** The page's sockets that have not ended. */
export function openSockets() {
  return [...sockets];
}

/** One socket: `report(value)` hears null (open), a string (a frame) or a number (closed, the
 * code), in order. */
export class Socket {
  constructor(url, protocol, report) {
    this.report = report;
    this.ws = null;
    this.ended = false;
    sockets.add(this);
    if (hooks !== null && hooks.offline()) {
      // Later, as a browser reports a failed connection (never inside the caller's call).
      setTimeout(() => this.deliver(1006), 0);
      return;
    }
    const ws = new WebSocket(url, protocol);
    this.ws = ws;
    const receive = (value) => (hooks === null ? this.deliver(value) : hooks.receive(this, value));
    ws.onopen = () => receive(null);
    ws.onmessage = (event) => {
      if (typeof event.data === "string") receive(event.data);
    };
    ws.onclose = (event) => receive(event.code);
  }

  /** Whether the socket is open (sending is possible). */
  get open() {
    return this.ws !== null && this.ws.readyState === 1 && !this.ended;
  }

  /** The subprotocol the server selected. */
  get protocol() {
    return this.ws === null ? "" : this.ws.protocol;
  }

  /** Sends a text frame when open. */
  send(text) {
    if (this.open) this.ws.send(text);
  }

  /** Closes with a code and reason (none when `code` is undefined); nothing is reported
   * afterwards. */
  close(code, reason) {
    this.detach();
    if (this.ws === null || this.ws.readyState > 1) return;
    if (code === undefined) this.ws.close();
    else this.ws.close(code, reason);
  }

  /** Ends the socket as a lost connection would: the server sees it close, the engine hears
   * 1006 (after the caller's call) and reconnects with its backoff. */
  kill() {
    if (this.ended) return;
    const ws = this.ws;
    this.detach();
    if (ws !== null && ws.readyState <= 1) ws.close();
    queueMicrotask(() => this.report(1006));
  }

  detach() {
    this.ended = true;
    sockets.delete(this);
    if (this.ws !== null) {
      this.ws.onopen = null;
      this.ws.onmessage = null;
      this.ws.onclose = null;
    }
  }

  /** Hands `value` to the engine (nothing after the socket ended). */
  deliver(value) {
    if (this.ended) return;
    if (typeof value === "number") this.detach();
    this.report(value);
  }
}
