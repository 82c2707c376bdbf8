/** `useBroadcast(channel, handler)`: ephemeral messages from the channel's other subscribers. */
import { useEffect, useRef } from "react";

import { useTetherStore } from "./provider.js";
import { PRESENCE_ONLY } from "./store.js";
import type { BroadcastMessage } from "./types.js";

/**
 * Calls `handler` for every broadcast another client sends on `channel` (its own are not echoed;
 * PROTOCOL.md `broadcast`). The hook holds a subscription to the channel while mounted (the
 * server delivers broadcasts to subscribers only); with no other view of the channel it is a
 * subscription that matches no documents. The latest `handler` is called, so an inline function
 * is fine. Send with `useWebSocket().broadcast(channel, payload)`.
 */
export function useBroadcast(channel: string, handler: (message: BroadcastMessage) => void): void {
  const store = useTetherStore();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => {
    const release = store.acquireView(channel, PRESENCE_ONLY);
    const stop = store.onBroadcast(channel, (message) => latest.current(message));
    return () => {
      stop();
      release();
    };
  }, [store, channel]);
}
