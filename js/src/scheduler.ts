/**
 * When the store tells React about changes. Many client flushes within one frame become one
 * notification, so React commits at most once per animation frame per provider.
 */
export type Scheduler = (flush: () => void) => void;

/** Schedules on the next animation frame; falls back to a 16 ms timer where there are no frames
 * (hidden tabs throttle rAF to zero, and server or worker code has none). */
export const frameScheduler: Scheduler = (flush) => {
  const raf = globalThis.requestAnimationFrame as ((cb: () => void) => number) | undefined;
  const hidden = typeof document !== "undefined" && document.visibilityState === "hidden";
  if (typeof raf === "function" && !hidden) {
    raf(flush);
  } else {
    setTimeout(flush, 16);
  }
};
