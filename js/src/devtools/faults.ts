/**
 * The fault switches of `tether-sync/devtools`. They act on the real code paths of every client
 * of the page: between the browser's WebSocket and the engine (what a socket receives) and
 * before every IndexedDB write of the outbox. All are off until switched on.
 */
import {
  faultsChanged,
  installFaults,
  openSockets,
  type PageSocket,
} from "../wasm/faults.js";

/** The switches. */
export interface FaultSwitches {
  /** No socket opens (each attempt fails as an unreachable server's would); switching it on
   * ends the open ones as a lost connection would. */
  offline: boolean;
  /** Milliseconds added to everything a socket receives (order is kept). */
  latencyMs: number;
  /** Probability (0 to 1) that a received frame is dropped. */
  drop: number;
  /** Probability (0 to 1) that a received frame is delivered twice. */
  duplicate: number;
  /** Probability (0 to 1) that a received frame is held back until after the next one (or
   * 100 ms, when no next one comes). */
  reorder: number;
  /** How many of the next IndexedDB transactions that queue writes (mutations) fail, as an
   * aborted transaction does. */
  failWrites: number;
}

type Value = string | number | null;

const state: FaultSwitches = {
  offline: false,
  latencyMs: 0,
  drop: 0,
  duplicate: 0,
  reorder: 0,
  failWrites: 0,
};

/** Per socket: what waits for its time (latency) and the frame held back (reorder). */
interface Line {
  queue: { at: number; value: Value }[];
  timer: ReturnType<typeof setTimeout> | null;
  held: Value | undefined;
}
const lines = new WeakMap<PageSocket, Line>();

function lineOf(socket: PageSocket): Line {
  let line = lines.get(socket);
  if (line === undefined) {
    line = { queue: [], timer: null, held: undefined };
    lines.set(socket, line);
  }
  return line;
}

/** Delivers in order, after the added latency (at once without it and with nothing waiting). */
function later(socket: PageSocket, line: Line, value: Value): void {
  if (state.latencyMs <= 0 && line.queue.length === 0) return socket.deliver(value);
  line.queue.push({ at: Date.now() + state.latencyMs, value });
  if (line.timer === null) wake(socket, line);
}

function wake(socket: PageSocket, line: Line): void {
  line.timer = null;
  let next = line.queue[0];
  while (next !== undefined && next.at <= Date.now()) {
    line.queue.shift();
    socket.deliver(next.value);
    next = line.queue[0];
  }
  if (next !== undefined && !socket.ended) {
    const wait = Math.max(0, next.at - Date.now());
    line.timer = setTimeout(() => wake(socket, line), wait);
  }
}

function release(socket: PageSocket, line: Line): void {
  if (line.held === undefined) return;
  const held = line.held;
  line.held = undefined;
  later(socket, line, held);
}

function receive(socket: PageSocket, value: Value): void {
  const line = lineOf(socket);
  if (typeof value === "string") {
    if (state.drop > 0 && Math.random() < state.drop) return;
    if (state.reorder > 0 && line.held === undefined && Math.random() < state.reorder) {
      line.held = value;
      setTimeout(() => release(socket, line), 100);
      return;
    }
    later(socket, line, value);
    if (state.duplicate > 0 && Math.random() < state.duplicate) later(socket, line, value);
  } else {
    // A frame held back still arrives before the close.
    release(socket, line);
    later(socket, line, value);
    return;
  }
  release(socket, line);
}

/** The switches that are on, by name (as `status.faults` shows them). */
export function activeFaults(): string[] {
  const on: string[] = [];
  if (state.offline) on.push("offline");
  if (state.latencyMs > 0) on.push("latency");
  if (state.drop > 0) on.push("drop");
  if (state.duplicate > 0) on.push("duplicate");
  if (state.reorder > 0) on.push("reorder");
  if (state.failWrites > 0) on.push("failWrite");
  return on;
}

let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  installFaults({
    offline: () => state.offline,
    receive,
    failWrite: () => {
      if (state.failWrites <= 0) return false;
      state.failWrites -= 1;
      faultsChanged();
      return true;
    },
    active: activeFaults,
  });
}

/** A copy of the switches. */
export function faults(): FaultSwitches {
  return { ...state };
}

const PROBABILITIES = new Set(["drop", "duplicate", "reorder"]);

/**
 * Changes switches. Throws a `TypeError` naming the switch for an unknown name or a value out
 * of range (`offline`: a boolean; `latencyMs`, `failWrites`: an integer ≥ 0; `drop`,
 * `duplicate`, `reorder`: 0 to 1), and then changes nothing.
 */
export function setFaults(change: Partial<FaultSwitches>): void {
  const next: FaultSwitches = { ...state };
  for (const [key, value] of Object.entries(change)) {
    if (!(key in state)) throw new TypeError(`tether devtools: no fault switch named ${key}`);
    const ok =
      key === "offline"
        ? typeof value === "boolean"
        : typeof value === "number" &&
          Number.isFinite(value) &&
          value >= 0 &&
          (PROBABILITIES.has(key) ? value <= 1 : Number.isInteger(value));
    if (!ok) throw new TypeError(`tether devtools: ${key} cannot be ${String(value)}`);
    (next as unknown as Record<string, unknown>)[key] = value;
  }
  install();
  const wentOffline = next.offline && !state.offline;
  Object.assign(state, next);
  if (wentOffline) killSockets();
  faultsChanged();
}

/** Every switch off. */
export function clearFaults(): void {
  setFaults({ offline: false, latencyMs: 0, drop: 0, duplicate: 0, reorder: 0, failWrites: 0 });
}

/** Ends every socket of the page as a lost connection would (the server sees it close; each
 * client hears 1006 and reconnects with its backoff). */
export function killSockets(): void {
  for (const socket of openSockets()) socket.kill();
}
