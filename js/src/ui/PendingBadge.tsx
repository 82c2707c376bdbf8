/** `<PendingBadge>`: how many writes wait for the server, and whether they are at risk. */
import type { ReactNode } from "react";

import { useBackgroundSync } from "../useWebSocket.js";

/** Props of {@link PendingBadge}. */
export interface PendingBadgeProps {
  /** Class of the outer element (default `tether-pending`). */
  className?: string;
  /** Replaces the count's text (default "N pending"). */
  label?: (pendingCount: number) => ReactNode;
  /** Text shown while queued writes would not survive a reload. */
  atRiskText?: ReactNode;
}

/**
 * The outbox at a glance, unstyled: "N pending" (`data-pending` is the count, `data-idle` is
 * present at 0), plus a warning while writes are at risk (kept in memory only: IndexedDB is
 * unavailable or failing). Reads `useBackgroundSync()`. The count never shows 0 while a write
 * made on this device is unsent (the engine counts adopted writes of closed tabs too).
 */
export function PendingBadge({
  className = "tether-pending",
  label = (n) => `${n} pending`,
  atRiskText = "Writes are kept in memory only",
}: PendingBadgeProps): ReactNode {
  const sync = useBackgroundSync();
  return (
    <span className={className} data-pending={sync.pendingCount} data-idle={sync.pendingCount === 0 ? "" : undefined}>
      <span className="tether-badge" data-testid="pending" aria-label={`${sync.pendingCount} writes waiting for the server`}>
        {label(sync.pendingCount)}
      </span>
      {sync.writesAtRisk ? (
        <span className="tether-at-risk" role="alert" data-testid="writes-at-risk">
          {atRiskText}
        </span>
      ) : null}
    </span>
  );
}
