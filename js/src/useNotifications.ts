/** `useNotifications(handler)`: notifications the app's backend sends to this user. */
import { useEffect, useRef } from "react";

import { useTetherStore } from "./provider.js";
import type { Notification } from "./types.js";

/**
 * Calls `handler({ from, payload })` for every notification the app's backend sends to the
 * signed-in user (`POST /api/v1/subjects/{sub}/notifications`, API.md §6): every open
 * connection whose token has that `sub` gets it, on the server node it is connected to. Not
 * stored: a notification sent while this client is offline is not delivered later. Needs no
 * subscription. The latest `handler` is called, so an inline function is fine.
 */
export function useNotifications(handler: (notification: Notification) => void): void {
  const store = useTetherStore();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => store.onNotification((n) => latest.current(n)), [store]);
}
