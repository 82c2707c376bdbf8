/** `usePresence(channel)`: who else is here, and what this client shows them. */
import { useCallback, useEffect, useRef, useSyncExternalStore } from "react";

import { useTetherStore } from "./provider.js";
import { PRESENCE_ONLY, type PresenceSnapshot } from "./store.js";
import type { Json } from "./types.js";

/** What {@link usePresence} returns. */
export interface PresenceResult {
  /** Everyone else present on the channel, with their states. */
  others: PresenceSnapshot;
  /** Sets this client's state (null clears it). Cleared on unmount. */
  setPresence(state: Json | null): void;
}

/** Presence on a channel. */
export function usePresence(channel: string): PresenceResult {
  const store = useTetherStore();
  const announced = useRef(false);
  useEffect(() => {
    const release = store.acquireView(channel, PRESENCE_ONLY);
    return () => {
      if (announced.current) {
        announced.current = false;
        void store.whenClient().then((client) => client.setPresence(channel, null));
      }
      release();
    };
  }, [store, channel]);
  const others = useSyncExternalStore(
    store.subscribe,
    () => store.getPresence(channel),
    () => store.getPresence(channel),
  );
  const setPresence = useCallback(
    (state: Json | null) => {
      announced.current = state !== null;
      void store.whenClient().then((client) => client.setPresence(channel, state));
    },
    [store, channel],
  );
  return { others, setPresence };
}
