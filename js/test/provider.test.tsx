import { act, render } from "@testing-library/react";
import { StrictMode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { TetherProvider } from "../src/provider.js";
import { useRealtimeUpdates } from "../src/useRealtimeUpdates.js";
import { FakeClient, manualScheduler } from "./fakeClient.js";

function Tasks() {
  const { data } = useRealtimeUpdates("tasks");
  return <ul>{data.map((t) => <li key={t.id}>{t.id}</li>)}</ul>;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("TetherProvider", () => {
  it("creates and connects exactly one client under StrictMode, and closes it on unmount", async () => {
    vi.useFakeTimers();
    const clients: FakeClient[] = [];
    const createClient = vi.fn(async () => {
      const client = new FakeClient();
      clients.push(client);
      return client;
    });
    const scheduler = manualScheduler().schedule;
    const view = render(
      <StrictMode>
        <TetherProvider url="ws://127.0.0.1:1/ws" createClient={createClient} scheduler={scheduler}>
          <Tasks />
        </TetherProvider>
      </StrictMode>,
    );
    await act(async () => {
      await vi.runAllTimersAsync();
    });
    expect(createClient).toHaveBeenCalledTimes(1);
    expect(clients).toHaveLength(1);
    const client = clients[0]!;
    expect(client.connects).toBe(1);
    expect(client.closes).toBe(0);
    // One live subscription for the view despite the double mount.
    expect(client.subscriptions.size).toBe(1);

    view.unmount();
    await act(async () => {
      await vi.runAllTimersAsync();
    });
    expect(client.closes).toBe(1);
    expect(client.subscriptions.size).toBe(0);
    expect(client.changeListeners.size).toBe(0);
    expect(client.statusListeners.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("never closes a client it was handed", async () => {
    vi.useFakeTimers();
    const client = new FakeClient();
    const view = render(
      <TetherProvider url="ws://x" client={client}>
        <Tasks />
      </TetherProvider>,
    );
    expect(client.connects).toBe(1);
    view.unmount();
    await act(async () => {
      await vi.runAllTimersAsync();
    });
    expect(client.closes).toBe(0);
    expect(client.subscriptions.size).toBe(0);
  });

  it("throws a clear error for hooks outside a provider", () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect(() => render(<Tasks />)).toThrow(/inside <TetherProvider>/);
    spy.mockRestore();
  });
});
