/** How good the connection is, from its state, round-trip time and recent reconnects. */
import { useEffect, useRef, useState } from "react";

import type { ConnectionState } from "../types.js";

/** A connection's quality level, for an indicator. */
export type ConnectionQuality = "good" | "fair" | "poor" | "offline";

/** What {@link connectionQuality} decides from. */
export interface QualityInput {
  /** Connection state. */
  state: ConnectionState;
  /** Last measured round trip (ms), or null before the first pong. */
  latencyMs: number | null;
  /** How often the link came back up within the recent window ({@link RECONNECT_WINDOW_MS}). */
  recentReconnects: number;
}

/** Round trips up to this (ms) are good. */
export const GOOD_RTT_MS = 150;
/** Round trips up to this (ms) are fair; longer ones are poor. */
export const FAIR_RTT_MS = 500;
/** Reconnects are counted over this window (ms): five minutes. */
export const RECONNECT_WINDOW_MS = 5 * 60_000;

/**
 * The quality level: `offline` unless the link is up (`ready`); then `poor` for a round trip
 * above {@link FAIR_RTT_MS} or more than three reconnects in the window, `fair` for a round trip
 * above {@link GOOD_RTT_MS} or any reconnect in the window beyond the first connection, `good`
 * otherwise. An unknown round trip counts as good (the first pong comes within one ping
 * interval).
 */
export function connectionQuality({ state, latencyMs, recentReconnects }: QualityInput): ConnectionQuality {
  if (state !== "ready") return "offline";
  const rtt = latencyMs ?? 0;
  if (rtt > FAIR_RTT_MS || recentReconnects > 3) return "poor";
  if (rtt > GOOD_RTT_MS || recentReconnects > 0) return "fair";
  return "good";
}

/**
 * Counts how often `state` became `ready` again within the last {@link RECONNECT_WINDOW_MS}
 * (the first connection is not a reconnect). `now` is injectable for tests.
 */
export function useRecentReconnects(state: ConnectionState, now: () => number = Date.now): number {
  const history = useRef<{ wasReady: boolean; ups: number[] }>({ wasReady: false, ups: [] });
  const [count, setCount] = useState(0);
  useEffect(() => {
    const h = history.current;
    if (state === "ready") {
      if (h.wasReady) h.ups.push(now());
      h.wasReady = true;
    }
    const since = now() - RECONNECT_WINDOW_MS;
    h.ups = h.ups.filter((t) => t >= since);
    setCount(h.ups.length);
  }, [state, now]);
  // `wasReady` marks that the first connection happened; later transitions to ready are
  // reconnects. A state other than ready between two readys is what makes it a transition:
  // the effect runs only when `state` changes.
  return count;
}

/**
 * The current time (ms since the epoch), re-read every `intervalMs` while `active`: for
 * countdowns. Inactive, it does not tick.
 */
export function useNow(active: boolean, intervalMs = 1000, now: () => number = Date.now): number {
  const [time, setTime] = useState(now);
  useEffect(() => {
    if (!active) return;
    setTime(now());
    const timer = setInterval(() => setTime(now()), intervalMs);
    return () => clearInterval(timer);
  }, [active, intervalMs, now]);
  return time;
}
