/** `<ConnectionStatus>`: state, latency, quality, retry countdown and "retry now". */
import type { ReactNode } from "react";

import { useWebSocket } from "../useWebSocket.js";
import type { ConnectionState } from "../types.js";
import { connectionQuality, useNow, useRecentReconnects, type ConnectionQuality } from "./quality.js";

/** What a custom label of {@link ConnectionStatus} gets. */
export interface ConnectionLabelInput {
  /** Connection state. */
  state: ConnectionState;
  /** Last round trip in ms, rounded, or null. */
  latencyMs: number | null;
  /** Quality level. */
  quality: ConnectionQuality;
  /** Reconnect attempts since the link was last up. */
  attempt: number;
  /** Whole seconds until the next reconnect, or null when none is scheduled. */
  retryInSeconds: number | null;
}

/** Props of {@link ConnectionStatus}. */
export interface ConnectionStatusProps {
  /** Class of the outer element (default `tether-connection`). */
  className?: string;
  /** Replaces the text of the label. */
  label?: (input: ConnectionLabelInput) => ReactNode;
  /** Whether to offer "Retry now" while not connected (default true). */
  showRetry?: boolean;
  /** Text of the retry button (default "Retry now"). */
  retryText?: ReactNode;
}

/** The default English label: "Connected · 12 ms", "Reconnecting in 3 s (attempt 2)", … */
export function defaultConnectionLabel(input: ConnectionLabelInput): string {
  switch (input.state) {
    case "ready":
      return input.latencyMs === null ? "Connected" : `Connected · ${input.latencyMs} ms`;
    case "backoff":
      return input.retryInSeconds === null
        ? `Reconnecting (attempt ${input.attempt})`
        : `Reconnecting in ${input.retryInSeconds} s (attempt ${input.attempt})`;
    case "offline":
      return "Offline";
    case "awaiting-token":
      return "Signed out: waiting for a new token";
    case "closed":
      return "Closed";
    default:
      return "Connecting…";
  }
}

/**
 * The connection at a glance, unstyled: a dot (`data-quality`), a label, the devtools' fault
 * switches while one is on ("Faults on: drop, latency"), and a "Retry now" button while the
 * link is down. The outer element carries `data-state` and `data-quality`
 * for styling (see the `--tether-*` variables in `tether-sync/ui.css`) and is a polite live
 * region, so screen readers hear changes. Reads `useWebSocket()`.
 */
export function ConnectionStatus({
  className = "tether-connection",
  label = defaultConnectionLabel,
  showRetry = true,
  retryText = "Retry now",
}: ConnectionStatusProps): ReactNode {
  const ws = useWebSocket();
  const recentReconnects = useRecentReconnects(ws.status);
  const now = useNow(ws.nextRetryAt !== null);
  const quality = connectionQuality({ state: ws.status, latencyMs: ws.latencyMs, recentReconnects });
  const retryInSeconds =
    ws.nextRetryAt === null ? null : Math.max(0, Math.ceil((ws.nextRetryAt - now) / 1000));
  const text = label({
    state: ws.status,
    latencyMs: ws.latencyMs === null ? null : Math.round(ws.latencyMs),
    quality,
    attempt: ws.attempt,
    retryInSeconds,
  });
  return (
    <span className={className} data-state={ws.status} data-quality={quality}>
      <span className="tether-dot" data-quality={quality} aria-hidden="true" />
      <span role="status" aria-live="polite" data-testid="connection">
        {text}
      </span>
      {ws.faults.length > 0 ? (
        <span className="tether-faults" data-testid="faults">
          {`Faults on: ${ws.faults.join(", ")}`}
        </span>
      ) : null}
      {showRetry && !ws.isConnected ? (
        <button type="button" className="tether-retry" data-testid="reconnect" onClick={ws.reconnect}>
          {retryText}
        </button>
      ) : null}
    </span>
  );
}
