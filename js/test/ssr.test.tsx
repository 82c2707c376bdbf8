// @vitest-environment node
import { renderToString } from "react-dom/server";
import { describe, expect, it, vi } from "vitest";

import { TetherProvider } from "../src/provider.js";
import { useRealtimeUpdates } from "../src/useRealtimeUpdates.js";
import { useBackgroundSync, useWebSocket } from "../src/useWebSocket.js";
import { usePresence } from "../src/usePresence.js";

function App() {
  const { data, isLoading } = useRealtimeUpdates("tasks");
  const { status, isConnected } = useWebSocket();
  const { pendingCount } = useBackgroundSync();
  const { others } = usePresence("tasks");
  return (
    <p>
      {[status, isConnected, isLoading, data.length, pendingCount, others.length].join("/")}
    </p>
  );
}

describe("server rendering", () => {
  it("renders a not-connected snapshot without touching browser globals or creating a client", () => {
    expect(typeof window).toBe("undefined");
    expect(typeof indexedDB).toBe("undefined");
    const createClient = vi.fn();
    const html = renderToString(
      <TetherProvider url="ws://x" createClient={createClient}>
        <App />
      </TetherProvider>,
    );
    expect(html).toContain("idle/false/true/0/0/0");
    expect(createClient).not.toHaveBeenCalled();
  });
});
