import { ConnectionStatus, PendingBadge } from "tether-sync/ui";

export function StatusBar({ user, others }: { user: string; others: string[] }) {
  return (
    <div className="status">
      <ConnectionStatus />
      <PendingBadge />
      <span className="who">
        You are <b>{user}</b>
        {others.length ? ` · also here: ${others.join(", ")}` : ""}
      </span>
    </div>
  );
}
