import { act, render } from "@testing-library/react";
import { useEffect } from "react";
import { describe, expect, it } from "vitest";

import { TetherProvider } from "../src/provider.js";
import { usePresence, type PresenceResult } from "../src/usePresence.js";
import {
  useBackgroundSync,
  useWebSocket,
  type BackgroundSyncResult,
  type WebSocketResult,
} from "../src/useWebSocket.js";
import { FakeClient, manualScheduler } from "./fakeClient.js";

describe("status hooks", () => {
  it("report connection and outbox state, and reconnect on demand", async () => {
    const client = new FakeClient();
    const frames = manualScheduler();
    let ws!: WebSocketResult;
    let sync!: BackgroundSyncResult;
    function Probe() {
      ws = useWebSocket();
      sync = useBackgroundSync();
      return null;
    }
    render(
      <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
        <Probe />
      </TetherProvider>,
    );
    act(() => void frames.frame());
    expect(ws.status).toBe("connecting");
    expect(ws.isConnected).toBe(false);

    client.setStatus({ state: "ready", latencyMs: 3, pendingCount: 2, writesAtRisk: false });
    act(() => void frames.frame());
    expect(ws.isConnected).toBe(true);
    expect(ws.latencyMs).toBe(3);
    expect(sync.pendingCount).toBe(2);
    expect(sync.isSyncing).toBe(true);
    expect(sync.storage).toBe("indexeddb");

    client.setStatus({ state: "backoff", attempt: 3, nextRetryAt: 1234, storage: "memory", writesAtRisk: true });
    act(() => void frames.frame());
    expect(ws.attempt).toBe(3);
    expect(ws.nextRetryAt).toBe(1234);
    expect(sync.isSyncing).toBe(false);
    expect(sync.writesAtRisk).toBe(true);

    await act(async () => {
      ws.reconnect();
      sync.syncNow();
      await Promise.resolve();
    });
    expect(client.reconnects).toBe(2);
    await expect(ws.request("echo", { a: 1 })).resolves.toEqual({ method: "echo", body: { a: 1 } });
  });

  it("a url list reaches the client as given, and useWebSocket reports the endpoint", async () => {
    const frames = manualScheduler();
    const created: unknown[] = [];
    const client = new FakeClient();
    let ws!: WebSocketResult;
    function Probe() {
      ws = useWebSocket();
      return null;
    }
    const urls = ["ws://a.example/ws", "ws://b.example/ws"];
    render(
      <TetherProvider
        url={urls}
        createClient={async (options) => {
          created.push(options.url);
          return client;
        }}
        scheduler={frames.schedule}
      >
        <Probe />
      </TetherProvider>,
    );
    expect(ws.endpoint).toBeNull();
    await act(async () => {
      await Promise.resolve();
      await Promise.resolve();
    });
    expect(created).toEqual([urls]);
    client.setStatus({ state: "ready", endpoint: "ws://b.example/ws" });
    act(() => void frames.frame());
    expect(ws.endpoint).toBe("ws://b.example/ws");
  });

  it("presence: lists others, announces state, and clears it on unmount", async () => {
    const client = new FakeClient();
    const frames = manualScheduler();
    let presence!: PresenceResult;
    function Probe() {
      const p = usePresence("tasks");
      useEffect(() => {
        presence = p;
      });
      return null;
    }
    const view = render(
      <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
        <Probe />
      </TetherProvider>,
    );
    // Presence needs a subscription; it asks for one that carries no documents.
    expect([...client.subscriptions.values()]).toEqual([{ channel: "tasks", filter: { or: [] } }]);
    client.emit({ presence: [{ channel: "tasks", members: [{ clientId: "b", state: { user: "Sarah" } }] }] });
    act(() => void frames.frame());
    expect(presence.others).toEqual([{ clientId: "b", state: { user: "Sarah" } }]);

    await act(async () => {
      presence.setPresence({ user: "Me", editing: "t1" });
      await Promise.resolve();
    });
    view.unmount();
    await act(async () => {
      await Promise.resolve();
    });
    expect(client.presence).toEqual([
      { channel: "tasks", state: { user: "Me", editing: "t1" } },
      { channel: "tasks", state: null },
    ]);
    expect(client.subscriptions.size).toBe(0);
  });
});
