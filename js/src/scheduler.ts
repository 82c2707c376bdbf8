/**
 * When the store tells React about changes. Everything the client reports within one task (a
 * change batch, the status, a settled write) becomes one notification, so React commits once
 * per client flush; the engine itself flushes at most once per `flush.intervalMs` (16 ms by
 * default) however many events arrive.
 */
export type Scheduler = (flush: () => void) => void;

/** The default: notifies at the end of the current task (a microtask), so an optimistic write
 * or a received event reaches React before the browser paints, also in hidden tabs. */
export const microtaskScheduler: Scheduler = (flush) => {
  queueMicrotask(flush);
};

/** Notifies on the next animation frame instead (at most one commit per frame); falls back to
 * a 16 ms timer where there are no frames (hidden tabs throttle rAF to zero, and server or
 * worker code has none). */
export const frameScheduler: Scheduler = (flush) => {
  const raf = globalThis.requestAnimationFrame as ((cb: () => void) => number) | undefined;
  const hidden = typeof document !== "undefined" && document.visibilityState === "hidden";
  if (typeof raf === "function" && !hidden) {
    raf(flush);
  } else {
    setTimeout(flush, 16);
  }
};
