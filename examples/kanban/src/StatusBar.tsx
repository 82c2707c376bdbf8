import { useBackgroundSync, useWebSocket } from "tether-sync";

export function StatusBar({ user, others }: { user: string; others: string[] }) {
  const ws = useWebSocket();
  const sync = useBackgroundSync();
  const label = ws.isConnected
    ? `Connected${ws.latencyMs === null ? "" : ` · ${Math.round(ws.latencyMs)} ms`}`
    : ws.status === "backoff"
      ? `Reconnecting (attempt ${ws.attempt})`
      : ws.status === "offline"
        ? "Offline"
        : "Connecting…";
  return (
    <div className="status">
      <span className={ws.isConnected ? "dot online" : "dot offline"} />
      <span data-testid="connection">{label}</span>
      <span data-testid="pending" className={sync.pendingCount ? "badge" : "badge idle"}>
        {sync.pendingCount} pending
      </span>
      {sync.writesAtRisk ? <span className="warn">Writes are kept in memory only</span> : null}
      {ws.isConnected ? null : (
        <button onClick={ws.reconnect} data-testid="reconnect">
          Retry now
        </button>
      )}
      <span className="who">
        You are <b>{user}</b>
        {others.length ? ` · also here: ${others.join(", ")}` : ""}
      </span>
    </div>
  );
}
