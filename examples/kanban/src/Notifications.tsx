import { useEffect, useState } from "react";
import { useBroadcast } from "tether-sync";

/** A notification the demo's backend broadcasts on `tasks` (backend/workflow.mjs). */
type Notice = { key: number; text: string };

const SHOWN_MS = 6_000;

/** Shows the backend's notifications as toasts for a few seconds each. */
export function Notifications() {
  const [notices, setNotices] = useState<Notice[]>([]);
  useBroadcast("tasks", (message) => {
    const notification = (message.payload as { notification?: { text?: unknown } } | null)?.notification;
    if (typeof notification?.text !== "string") return;
    const text = notification.text;
    setNotices((list) => [...list, { key: Date.now() + Math.random(), text }]);
  });
  useEffect(() => {
    if (notices.length === 0) return;
    const timer = setTimeout(() => setNotices((list) => list.slice(1)), SHOWN_MS);
    return () => clearTimeout(timer);
  }, [notices]);
  return (
    <div className="notifications" role="status" aria-live="polite">
      {notices.map((n) => (
        <p key={n.key} className="notification" data-testid="notification">
          {n.text}
        </p>
      ))}
    </div>
  );
}
