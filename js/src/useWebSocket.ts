/** `useWebSocket()`, `useBackgroundSync()`: the connection and the outbox, as React state. */
import { useCallback, useMemo, useSyncExternalStore } from "react";

import { useTetherStore } from "./provider.js";
import type { TetherStore } from "./store.js";
import type { ClientError, ConnectionState, Json, Status, StorageKind } from "./types.js";

function useStatus(store: TetherStore): Status {
  return useSyncExternalStore(store.subscribe, store.getStatus, store.getStatus);
}

const NO_FAULTS: readonly string[] = Object.freeze([]);

/** What {@link useWebSocket} returns. */
export interface WebSocketResult {
  /** Connection state. */
  status: ConnectionState;
  /** True when the handshake is done and the link is up. */
  isConnected: boolean;
  /** Last measured round trip, in milliseconds. */
  latencyMs: number | null;
  /** The server URL (one of the `url` list) in use or tried next; null before the client
   * exists. */
  endpoint: string | null;
  /** Reconnect attempts since the link was last up. */
  attempt: number;
  /** When the next reconnect happens (ms since the epoch). */
  nextRetryAt: number | null;
  /** Last error. */
  lastError: ClientError | null;
  /** The devtools' fault switches that are on (`tether-sync/devtools`); empty normally. */
  faults: readonly string[];
  /** Reconnect now, skipping the backoff wait. */
  reconnect(): void;
  /** Replace the auth token; after a refused fixed token (`status: "awaiting-token"`,
   * `lastError.code` `AUTH_INVALID`) the client connects with it at once; on an open
   * connection it is handed over without a reconnect. */
  setToken(token: string): void;
  /** Sends an ephemeral message to a channel's other subscribers. */
  broadcast(channel: string, payload: Json): void;
  /** Calls a server method. */
  request(method: string, body?: Json): Promise<Json>;
}

/** The connection: state, latency, retries, and ephemeral messaging. */
export function useWebSocket(): WebSocketResult {
  const store = useTetherStore();
  const status = useStatus(store);
  const reconnect = useCallback(() => {
    void store.whenClient().then((client) => client.reconnect());
  }, [store]);
  const setToken = useCallback(
    (token: string) => {
      void store.whenClient().then((client) => client.setToken?.(token));
    },
    [store],
  );
  const broadcast = useCallback(
    (channel: string, payload: Json) => {
      void store.whenClient().then((client) => client.broadcast(channel, payload));
    },
    [store],
  );
  const request = useCallback(
    (method: string, body?: Json) =>
      store.whenClient().then((client) => client.request(method, body)),
    [store],
  );
  return useMemo(
    () => ({
      status: status.state,
      isConnected: status.state === "ready",
      latencyMs: status.latencyMs,
      endpoint: status.endpoint,
      attempt: status.attempt,
      nextRetryAt: status.nextRetryAt,
      lastError: status.lastError,
      faults: status.faults ?? NO_FAULTS,
      reconnect,
      setToken,
      broadcast,
      request,
    }),
    [status, reconnect, setToken, broadcast, request],
  );
}

/** What {@link useBackgroundSync} returns. */
export interface BackgroundSyncResult {
  /** Writes queued and not yet acknowledged. */
  pendingCount: number;
  /** True while connected with writes still in flight. */
  isSyncing: boolean;
  /** When the outbox was last empty while connected (ms since the epoch). */
  lastSyncedAt: number | null;
  /** Where the outbox lives. */
  storage: StorageKind;
  /** True when queued writes would not survive a reload. */
  writesAtRisk: boolean;
  /** Whether the browser agreed to keep storage under pressure (null: not known). */
  persisted: boolean | null;
  /** Reconnect and send the outbox now. */
  syncNow(): void;
}

/** The durable outbox: how much is waiting and whether it is safe. */
export function useBackgroundSync(): BackgroundSyncResult {
  const store = useTetherStore();
  const status = useStatus(store);
  const syncNow = useCallback(() => {
    void store.whenClient().then((client) => client.reconnect());
  }, [store]);
  return useMemo(
    () => ({
      pendingCount: status.pendingCount,
      isSyncing: status.state === "ready" && status.pendingCount > 0,
      lastSyncedAt: status.lastSyncedAt,
      storage: status.storage,
      writesAtRisk: status.writesAtRisk,
      persisted: status.persisted ?? null,
      syncNow,
    }),
    [status, syncNow],
  );
}
