/** `<OfflineBanner>`: shown while the client cannot reach the server. */
import type { ReactNode } from "react";

import { useBackgroundSync, useWebSocket } from "../useWebSocket.js";

/** Props of {@link OfflineBanner}. */
export interface OfflineBannerProps {
  /** Class of the banner (default `tether-offline`). */
  className?: string;
  /** Replaces the banner's content; gets the number of writes waiting. */
  children?: (pendingCount: number) => ReactNode;
}

/** The default text: "You are offline. 2 changes will be sent when the connection is back." */
export function defaultOfflineText(pendingCount: number): string {
  if (pendingCount === 0) return "You are offline. Changes you make are kept and sent when the connection is back.";
  const changes = pendingCount === 1 ? "1 change" : `${pendingCount} changes`;
  return `You are offline. ${changes} will be sent when the connection is back.`;
}

/**
 * A banner while the browser is offline or the server unreachable (states `offline` and
 * `backoff`), nothing otherwise; a polite live region. Reads `useWebSocket()` and
 * `useBackgroundSync()`.
 */
export function OfflineBanner({ className = "tether-offline", children = defaultOfflineText }: OfflineBannerProps): ReactNode {
  const ws = useWebSocket();
  const sync = useBackgroundSync();
  if (ws.status !== "offline" && ws.status !== "backoff") return null;
  return (
    <div className={className} role="status" aria-live="polite" data-testid="offline-banner" data-state={ws.status}>
      {children(sync.pendingCount)}
    </div>
  );
}
