import { act, render } from "@testing-library/react";
import { useEffect } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { TetherProvider } from "../src/provider.js";
import { useBroadcast } from "../src/useBroadcast.js";
import { useRealtimeUpdates, type RealtimeResult } from "../src/useRealtimeUpdates.js";
import { useWebSocket, type WebSocketResult } from "../src/useWebSocket.js";
import type { BroadcastMessage, ClientOptions, Rejection } from "../src/types.js";
import { FakeClient, manualScheduler } from "./fakeClient.js";

type Task = { title: string };

afterEach(() => {
  vi.useRealTimers();
});

/** A hook view of `useRealtimeUpdates("tasks")` over a fake client, one result per commit. */
function setupTasks() {
  const client = new FakeClient();
  const frames = manualScheduler();
  const results: RealtimeResult<Task>[] = [];
  function Probe() {
    const result = useRealtimeUpdates<Task>("tasks");
    useEffect(() => {
      results.push(result);
    });
    return null;
  }
  render(
    <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
      <Probe />
    </TetherProvider>,
  );
  return { client, frame: () => act(() => void frames.frame()), latest: () => results.at(-1)! };
}

/** A component recording every `useWebSocket()` result it commits. */
function webSocketProbe() {
  const results: WebSocketResult[] = [];
  function Probe() {
    const ws = useWebSocket();
    useEffect(() => {
      results.push(ws);
    });
    return null;
  }
  return { results, Probe };
}

describe("options given as undefined", () => {
  it("are left out before the client is created, at every depth", async () => {
    let seen: ClientOptions | null = null;
    const createClient = vi.fn(async (options: ClientOptions) => {
      seen = options;
      return new FakeClient();
    });
    render(
      <TetherProvider
        url="ws://127.0.0.1:1/ws"
        createClient={createClient}
        backoff={undefined}
        heartbeat={{ pingIntervalMs: undefined, deadLinkTimeoutMs: 500 }}
        flush={undefined}
        token={undefined}
      />,
    );
    await act(async () => {
      await Promise.resolve();
    });
    expect(createClient).toHaveBeenCalledTimes(1);
    expect(seen).toEqual({ url: "ws://127.0.0.1:1/ws", heartbeat: { deadLinkTimeoutMs: 500 } });
    expect(Object.keys(seen!)).not.toContain("backoff");
    expect(Object.keys((seen as unknown as ClientOptions).heartbeat!)).toEqual(["deadLinkTimeoutMs"]);
  });
});

describe("a client that cannot start", () => {
  it("reports it in status.lastError with the error's code instead of staying idle", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { results, Probe } = webSocketProbe();
    const error = Object.assign(new Error("invalid argument: url"), { code: "INVALID" });
    const createClient = vi.fn(async () => {
      throw error;
    });
    render(
      <TetherProvider url="ws://x" createClient={createClient}>
        <Probe />
      </TetherProvider>,
    );
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
    const last = results.at(-1)!;
    expect(last.status).toBe("closed");
    expect(last.lastError?.code).toBe("INVALID");
    expect(last.lastError?.message).toContain("invalid argument: url");
  });

  it("uses START_FAILED when the error has no code", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { results, Probe } = webSocketProbe();
    render(
      <TetherProvider url="ws://x" createClient={() => Promise.reject(new Error("no wasm"))}>
        <Probe />
      </TetherProvider>,
    );
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
    expect(results.at(-1)!.lastError?.code).toBe("START_FAILED");
  });
});

describe("useBroadcast", () => {
  it("delivers incoming broadcasts of its channel to the latest handler, while mounted", () => {
    const client = new FakeClient();
    const frames = manualScheduler();
    const got: string[] = [];
    function Listener({ tag }: { tag: string }) {
      useBroadcast("cursors", (message: BroadcastMessage) => {
        got.push(`${tag}:${message.from}:${JSON.stringify(message.payload)}`);
      });
      return null;
    }
    const view = render(
      <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
        <Listener tag="one" />
      </TetherProvider>,
    );
    // The hook subscribes to the channel: the server delivers broadcasts to subscribers only.
    expect([...client.subscriptions.values()].map((s) => s.channel)).toEqual(["cursors"]);
    act(() => {
      client.emit({
        broadcasts: [
          { channel: "cursors", from: "c-2", payload: { x: 1 } },
          { channel: "other", from: "c-2", payload: { x: 9 } },
        ],
      });
    });
    expect(got).toEqual(['one:c-2:{"x":1}']);
    view.rerender(
      <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
        <Listener tag="two" />
      </TetherProvider>,
    );
    act(() => {
      client.emit({ broadcasts: [{ channel: "cursors", from: "c-3", payload: 2 }] });
    });
    expect(got.at(-1)).toBe("two:c-3:2");
    view.unmount();
    client.emit({ broadcasts: [{ channel: "cursors", from: "c-4", payload: 3 }] });
    expect(got).toHaveLength(2);
    expect(client.subscriptions.size).toBe(0);
  });
});

describe("useRealtimeUpdates writes", () => {

  it("checks the shown version by default and writes last-writer-wins on request", async () => {
    const { client, latest } = setupTasks();
    await act(async () => {
      await latest().update("a", { title: "A" });
      await latest().update("a", { title: "B" }, { lastWriterWins: true });
      await latest().remove("a");
      await latest().remove("a", { lastWriterWins: true });
    });
    const sent = client.mutations.map((m) => m.mutation);
    expect(sent[0]).toEqual({ op: "patch", id: "a", doc: { title: "A" } });
    expect(sent[1]).toEqual({ op: "patch", id: "a", doc: { title: "B" }, baseVersion: null });
    expect(sent[2]).toEqual({ op: "delete", id: "a" });
    expect(sent[3]).toEqual({ op: "delete", id: "a", baseVersion: null });
  });

  it("lists rejections of its channel until dismissed", () => {
    const { client, frame, latest } = setupTasks();
    expect(latest().rejections).toEqual([]);
    const rejection: Rejection = {
      channel: "tasks",
      id: "a",
      mutationId: 4,
      code: "FORBIDDEN",
      message: "the token does not allow channel tasks",
    };
    client.emit({
      rejections: [rejection, { ...rejection, channel: "other", mutationId: 5 }],
    });
    frame();
    expect(latest().rejections).toEqual([rejection]);
    act(() => latest().dismissRejection(latest().rejections[0]!));
    frame();
    expect(latest().rejections).toEqual([]);
  });
});

describe("conflicts never lose an edit", () => {

  it('"mine" on an edit of a document deleted meanwhile re-creates it with the edit', async () => {
    const { client, latest } = setupTasks();
    await act(async () => {
      await latest().resolveConflict(
        {
          key: "c:1",
          channel: "tasks",
          id: "w",
          mutationId: 1,
          op: "edit",
          local: { title: "edited offline" },
          base: { title: "before" },
          server: null,
        },
        "mine",
      );
    });
    expect(client.mutations.at(-1)!.mutation).toEqual({
      op: "put",
      id: "w",
      doc: { title: "edited offline" },
      baseVersion: 0,
    });
  });

  it('"mine" on a delete of a document edited meanwhile deletes it', async () => {
    const { client, latest } = setupTasks();
    await act(async () => {
      await latest().resolveConflict(
        {
          key: "c:2",
          channel: "tasks",
          id: "w",
          mutationId: 2,
          op: "delete",
          local: null,
          base: { title: "before" },
          server: { version: 4, doc: { title: "their edit" } },
        },
        "mine",
      );
    });
    expect(client.mutations.at(-1)!.mutation).toEqual({ op: "delete", id: "w", baseVersion: 4 });
  });

  it("a merge function gets base, local and server and its result is written", async () => {
    const { client, latest } = setupTasks();
    const seen: unknown[] = [];
    await act(async () => {
      await latest().resolveConflict(
        {
          key: "c:3",
          channel: "tasks",
          id: "w",
          mutationId: 3,
          op: "edit",
          local: { title: "mine" },
          base: { title: "base" },
          server: { version: 9, doc: { title: "theirs" } },
        },
        (sides) => {
          seen.push(sides);
          return { title: `${sides.local?.title}+${sides.server?.title}` };
        },
      );
    });
    expect(seen).toEqual([
      { base: { title: "base" }, local: { title: "mine" }, server: { title: "theirs" } },
    ]);
    expect(client.mutations.at(-1)!.mutation).toEqual({
      op: "put",
      id: "w",
      doc: { title: "mine+theirs" },
      baseVersion: 9,
    });
  });
});
