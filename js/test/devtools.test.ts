/**
 * `tether-sync/devtools`: the fault switches act on the page's sockets (src/shell/socket.js,
 * the very module the WASM glue loads) and on the outbox's writes. A stand-in for the browser's
 * WebSocket records what the socket hands to the engine.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { activeFaults, clearFaults, faults, killSockets, setFaults } from "../src/devtools/index.js";
import { watchFaults } from "../src/wasm/faults.js";

type Report = string | number | null;
interface SocketModule {
  failWrite(): boolean;
  Socket: new (url: string, protocol: string, report: (value: Report) => void) => {
    send(text: string): void;
    close(code?: number, reason?: string): void;
  };
}
const modules: Record<string, unknown> = import.meta.glob(
  "../src/wasm/snippets/*/src/shell/socket.js",
  { eager: true },
);
const socketModule = Object.values(modules)[0] as SocketModule | undefined;
if (socketModule === undefined) throw new Error("build the package first (js/src/wasm)");
const { Socket, failWrite } = socketModule;

/** The browser's WebSocket, as far as socket.js uses it. */
class StandIn {
  static made: StandIn[] = [];
  readyState = 0;
  protocol = "";
  closed = false;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor(readonly url: string) {
    StandIn.made.push(this);
  }
  send(): void {}
  close(): void {
    this.closed = true;
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
  frame(text: string): void {
    this.onmessage?.({ data: text });
  }
}

function open(): { reports: Report[]; ws: StandIn } {
  const reports: Report[] = [];
  new Socket("ws://x", "p", (value) => reports.push(value));
  const ws = StandIn.made[StandIn.made.length - 1]!;
  ws.open();
  return { reports, ws };
}

beforeEach(() => {
  StandIn.made = [];
  vi.stubGlobal("WebSocket", StandIn);
});

afterEach(() => {
  clearFaults();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("fault switches", () => {
  it("are off by default: frames reach the engine as they came", () => {
    expect(activeFaults()).toEqual([]);
    const { reports, ws } = open();
    ws.frame("a");
    ws.frame("b");
    ws.onclose?.({ code: 1000 });
    expect(reports).toEqual([null, "a", "b", 1000]);
  });

  it("drop and duplicate frames, never the close", () => {
    const { reports, ws } = open();
    setFaults({ drop: 1 });
    expect(activeFaults()).toEqual(["drop"]);
    ws.frame("lost");
    setFaults({ drop: 0, duplicate: 1 });
    ws.frame("twice");
    ws.onclose?.({ code: 1006 });
    expect(reports).toEqual([null, "twice", "twice", 1006]);
  });

  it("hold a frame back until after the next one, or 100 ms", () => {
    vi.useFakeTimers();
    const { reports, ws } = open();
    setFaults({ reorder: 1 });
    ws.frame("first");
    ws.frame("second");
    expect(reports).toEqual([null, "second", "first"]);
    ws.frame("alone");
    expect(reports).toEqual([null, "second", "first"]);
    vi.advanceTimersByTime(100);
    expect(reports).toEqual([null, "second", "first", "alone"]);
  });

  it("add latency to everything received, in order", () => {
    vi.useFakeTimers();
    const { reports, ws } = open();
    setFaults({ latencyMs: 50 });
    ws.frame("a");
    vi.advanceTimersByTime(20);
    ws.frame("b");
    setFaults({ latencyMs: 0 });
    ws.frame("c");
    expect(reports).toEqual([null]);
    vi.advanceTimersByTime(30);
    expect(reports).toEqual([null, "a"]);
    vi.advanceTimersByTime(20);
    expect(reports).toEqual([null, "a", "b", "c"]);
  });

  it("offline: no socket opens, open ones end as lost connections", async () => {
    vi.useFakeTimers();
    const { reports, ws } = open();
    setFaults({ offline: true });
    expect(ws.closed).toBe(true);
    await Promise.resolve();
    expect(reports).toEqual([null, 1006]);
    const later: Report[] = [];
    new Socket("ws://x", "p", (value) => later.push(value));
    expect(StandIn.made.length).toBe(1);
    expect(later).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(later).toEqual([1006]);
  });

  it("killSockets ends every socket as a lost connection, once", async () => {
    const one = open();
    const two = open();
    killSockets();
    killSockets();
    await Promise.resolve();
    expect(one.reports).toEqual([null, 1006]);
    expect(two.reports).toEqual([null, 1006]);
    // The browser's close event after the kill is not reported again.
    one.ws.onclose?.({ code: 1000 });
    expect(one.reports).toEqual([null, 1006]);
  });

  it("failWrites fails that many outbox writes, and the status hears each change", () => {
    const seen: string[][] = [];
    const stop = watchFaults((on) => seen.push(on));
    setFaults({ failWrites: 2 });
    expect(failWrite()).toBe(true);
    expect(failWrite()).toBe(true);
    expect(failWrite()).toBe(false);
    stop();
    expect(seen).toEqual([["failWrite"], ["failWrite"], []]);
    expect(faults().failWrites).toBe(0);
  });

  it("refuse unknown switches and values out of range, changing nothing", () => {
    setFaults({ latencyMs: 10 });
    expect(() => setFaults({ latencyMs: 20, drop: 2 })).toThrow(TypeError);
    expect(() => setFaults({ offline: "yes" as unknown as boolean })).toThrow(TypeError);
    expect(() => setFaults({ latencyMs: -1 })).toThrow(TypeError);
    expect(() => setFaults({ nope: 1 } as never)).toThrow(/no fault switch named nope/);
    expect(faults()).toEqual({
      offline: false,
      latencyMs: 10,
      drop: 0,
      duplicate: 0,
      reorder: 0,
      failWrites: 0,
    });
  });
});
