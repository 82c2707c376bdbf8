import { act, render } from "@testing-library/react";
import * as React from "react";
import { useEffect } from "react";
import { describe, expect, it } from "vitest";

import { TetherProvider } from "../src/provider.js";
import type { ChannelEvent } from "../src/store.js";
import { useDocument, type DocumentResult } from "../src/useDocument.js";
import { useChannelEvents } from "../src/useChannelEvents.js";
import { useRealtimeUpdates } from "../src/useRealtimeUpdates.js";
import { FakeClient, manualScheduler } from "./fakeClient.js";

type Task = { title: string; status: string };

const row = (id: string, title: string, version = 1, pending = false) => ({
  id,
  version,
  doc: { title, status: "todo" },
  pending,
});

function setup(id: string) {
  const client = new FakeClient();
  const frames = manualScheduler();
  const results: DocumentResult<Task>[] = [];
  const events: ChannelEvent<Task>[] = [];
  function Detail() {
    const result = useDocument<Task>("tasks", id, { onEvent: (e) => events.push(e) });
    useEffect(() => {
      results.push(result);
    });
    return null;
  }
  render(
    <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
      <Detail />
    </TetherProvider>,
  );
  const frame = () => act(() => void frames.frame());
  return { client, frame, results, events, latest: () => results.at(-1)! };
}

describe("useDocument", () => {
  it("subscribes a by-id view and returns the document, its status and version", () => {
    const { client, frame, latest, events } = setup("t1");
    const sub = client.subOf("tasks");
    expect(client.subscriptions.get(sub)).toEqual({ channel: "tasks", filter: undefined, ids: ["t1"] });
    expect(latest().isLoading).toBe(true);
    expect(latest().data).toBeUndefined();

    client.emit({ views: [{ sub, channel: "tasks", replace: true, upserts: [], removes: [], continuity: "reset" }] });
    frame();
    expect(latest().isLoading).toBe(false);
    expect(latest().data).toBeUndefined();
    expect(latest().version).toBeUndefined();

    client.emit({
      views: [
        {
          sub,
          channel: "tasks",
          upserts: [row("t1", "Fix login", 3)],
          removes: [],
          events: [{ kind: "created", id: "t1", version: 3, offset: 7, own: false }],
        },
      ],
    });
    frame();
    expect(latest().data).toEqual({ id: "t1", title: "Fix login", status: "todo" });
    expect(latest().version).toBe(3);
    expect(latest().pending).toBe(false);
    expect(events.map((e) => [e.kind, e.id])).toEqual([["created", "t1"]]);

    client.emit({ views: [{ sub, channel: "tasks", upserts: [row("t1", "Fix it", 3, true)], removes: [] }] });
    frame();
    expect(latest().pending).toBe(true);
    expect(latest().data?.title).toBe("Fix it");

    client.emit({ views: [{ sub, channel: "tasks", upserts: [], removes: ["t1"] }] });
    frame();
    expect(latest().data).toBeUndefined();
  });

  it("writes the document through update, put and remove", async () => {
    const { client, latest } = setup("t1");
    await act(async () => {
      await latest().update({ status: "done" });
      await latest().put({ title: "New", status: "todo" }, { lastWriterWins: true });
      await latest().remove();
    });
    expect(client.mutations).toEqual([
      { channel: "tasks", mutation: { op: "patch", id: "t1", doc: { status: "done" } } },
      { channel: "tasks", mutation: { op: "put", id: "t1", doc: { title: "New", status: "todo" }, baseVersion: null } },
      { channel: "tasks", mutation: { op: "delete", id: "t1" } },
    ]);
  });

  it("is a view of its own, distinct from the channel's other views, and follows the id", () => {
    const client = new FakeClient();
    const frames = manualScheduler();
    let setId: (id: string) => void = () => undefined;
    function Both({ initial }: { initial: string }) {
      useRealtimeUpdates<Task>("tasks");
      useRealtimeUpdates<Task>("tasks", { ids: ["b", "a"] });
      useRealtimeUpdates<Task>("tasks", { ids: ["a", "b"] });
      return <One initial={initial} />;
    }
    function One({ initial }: { initial: string }) {
      const [id, set] = React.useState(initial);
      setId = set;
      useDocument<Task>("tasks", id);
      return null;
    }
    render(
      <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
        <Both initial="a" />
      </TetherProvider>,
    );
    const views = () =>
      [...client.subscriptions.values()].map((s) => JSON.stringify(s.ids ?? null)).sort();
    // The unfiltered view, one shared view of {a, b} (ids in any order), and the document's.
    expect(views()).toEqual(['["a"]', '["b","a"]', "null"]);
    act(() => setId("c"));
    expect(views()).toEqual(['["b","a"]', '["c"]', "null"]);
  });

  it("shares its view with useChannelEvents of the same ids", () => {
    const client = new FakeClient();
    const frames = manualScheduler();
    const seen: string[] = [];
    function Page() {
      useDocument<Task>("tasks", "a");
      useChannelEvents<Task>("tasks", (e) => seen.push(`${e.kind} ${e.id}`), { ids: ["a"] });
      return null;
    }
    render(
      <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
        <Page />
      </TetherProvider>,
    );
    expect(client.subscriptions.size).toBe(1);
    const sub = client.subOf("tasks");
    act(() => {
      client.emit({
        views: [
          {
            sub,
            channel: "tasks",
            upserts: [],
            removes: ["a"],
            events: [{ kind: "deleted", id: "a", version: 2, offset: 9, own: false }],
          },
        ],
      });
    });
    expect(seen).toEqual(["deleted a"]);
  });
});
