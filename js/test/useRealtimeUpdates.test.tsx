import { act, render, screen } from "@testing-library/react";
import { Profiler, useEffect } from "react";
import { describe, expect, it } from "vitest";

import { TetherProvider } from "../src/provider.js";
import type { Row } from "../src/store.js";
import { useRealtimeUpdates, type RealtimeResult } from "../src/useRealtimeUpdates.js";
import type { Conflict, DocBody } from "../src/types.js";
import { FakeClient, manualScheduler } from "./fakeClient.js";

type Task = { title: string; status: string };

function setup(filter?: DocBody) {
  const client = new FakeClient();
  const frames = manualScheduler();
  const results: RealtimeResult<Task>[] = [];
  let commits = 0;
  function Probe() {
    const result = useRealtimeUpdates<Task>("tasks", filter ? { filter: filter as never } : {});
    useEffect(() => {
      results.push(result);
    });
    return <span data-testid="count">{result.data.length}</span>;
  }
  render(
    <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
      <Profiler id="p" onRender={() => (commits += 1)}>
        <Probe />
      </Profiler>
    </TetherProvider>,
  );
  const sub = client.subOf("tasks");
  const frame = () => act(() => void frames.frame());
  return { client, sub, frame, results, latest: () => results.at(-1)!, commits: () => commits };
}

const row = (id: string, title: string, version = 1, pending = false) => ({
  id,
  version,
  doc: { title, status: "todo" },
  pending,
});

describe("useRealtimeUpdates", () => {
  it("keeps the identity of unchanged documents and replaces changed ones", () => {
    const { client, sub, frame, latest } = setup();
    client.emit({
      views: [{ sub, channel: "tasks", upserts: [row("a", "A"), row("b", "B")], removes: [], continuity: "reset" }],
    });
    frame();
    const first = latest();
    expect(first.isLoading).toBe(false);
    expect(first.continuity).toBe("reset");
    const [a1, b1] = first.data as Row<Task>[];
    expect(a1).toMatchObject({ id: "a", title: "A" });

    client.emit({ views: [{ sub, channel: "tasks", upserts: [row("b", "B2", 2)], removes: [] }] });
    frame();
    const [a2, b2] = latest().data as Row<Task>[];
    expect(a2).toBe(a1);
    expect(b2).not.toBe(b1);
    expect(b2!.title).toBe("B2");

    // A confirmation that only clears `pending` keeps the object too.
    client.emit({ views: [{ sub, channel: "tasks", upserts: [row("b", "B2", 3, true)], removes: [] }] });
    frame();
    expect(latest().pending.has("b")).toBe(true);
    client.emit({ views: [{ sub, channel: "tasks", upserts: [row("b", "B2", 3, false)], removes: [] }] });
    frame();
    expect((latest().data as Row<Task>[])[1]).toBe(b2);
    expect(latest().pending.has("b")).toBe(false);

    client.emit({ views: [{ sub, channel: "tasks", upserts: [], removes: ["a"] }] });
    frame();
    expect(latest().data.map((t) => t.id)).toEqual(["b"]);
  });

  it("replaces the whole view on a reset, keeping unchanged documents' identity", () => {
    const { client, sub, frame, latest } = setup();
    client.emit({
      views: [{ sub, channel: "tasks", upserts: [row("a", "A"), row("b", "B")], removes: [], replace: true }],
    });
    frame();
    const [a1] = latest().data as Row<Task>[];
    client.emit({
      views: [
        { sub, channel: "tasks", upserts: [row("a", "A", 4), row("c", "C")], removes: [], replace: true, continuity: "reset" },
      ],
    });
    frame();
    expect(latest().data.map((t) => t.id)).toEqual(["a", "c"]);
    expect(latest().data[0]).toBe(a1);
    expect(latest().continuity).toBe("reset");
  });

  it("gives one React commit for a burst of batches within a frame", () => {
    const { client, sub, frame, commits, latest } = setup();
    const before = commits();
    for (let i = 0; i < 500; i++) {
      client.emit({ views: [{ sub, channel: "tasks", upserts: [row(`t${i % 50}`, `v${i}`, i)], removes: [] }] });
    }
    expect(commits()).toBe(before);
    frame();
    expect(commits()).toBe(before + 1);
    expect(latest().data).toHaveLength(50);
    expect(screen.getByTestId("count").textContent).toBe("50");
  });

  it("is loading until the view has data", () => {
    const { client, sub, frame, latest } = setup();
    expect(latest().isLoading).toBe(true);
    client.emit({ views: [{ sub, channel: "tasks", upserts: [], removes: [], continuity: "cached" }] });
    frame();
    expect(latest().isLoading).toBe(false);
    expect(latest().continuity).toBe("cached");
  });

  it("passes the filter to the client and writes through it", async () => {
    const filter = { field: "status", op: "eq", value: "todo" };
    const { client, latest } = setup(filter);
    expect(client.subscriptions.get(client.subOf("tasks"))?.filter).toEqual(filter);
    await latest().insert({ id: "n1", title: "New", status: "todo" });
    await latest().update("n1", { status: "doing" });
    await latest().remove("n1");
    expect(client.mutations.map((m) => m.mutation)).toEqual([
      { op: "put", id: "n1", doc: { title: "New", status: "todo" }, baseVersion: 0 },
      { op: "patch", id: "n1", doc: { status: "doing" } },
      { op: "delete", id: "n1" },
    ]);
  });

  it("generates an id for inserts without one", async () => {
    const { client, latest } = setup();
    await latest().insert({ title: "x", status: "todo" });
    const put = client.mutations[0]!.mutation;
    expect(put.op).toBe("put");
    expect(put.id).toMatch(/.{8,}/);
  });

  it("lists conflicts and resolves them with mine, theirs or a merge", async () => {
    const { client, frame, latest } = setup();
    const conflict = (n: number): Conflict => ({
      key: `c:${n}`,
      channel: "tasks",
      id: "t1",
      mutationId: n,
      op: "edit",
      local: { title: "mine", status: "doing" },
      base: { title: "mine", status: "todo" },
      server: { version: 7, doc: { title: "theirs", status: "done" } },
    });
    client.emit({ conflicts: [conflict(1), conflict(2), conflict(3)] });
    frame();
    expect(latest().conflicts.map((c) => c.key)).toEqual(["c:1", "c:2", "c:3"]);

    await act(async () => {
      await latest().resolveConflict(conflict(1), "mine");
    });
    expect(client.mutations.at(-1)!.mutation).toEqual({
      op: "put",
      id: "t1",
      doc: { title: "mine", status: "doing" },
      baseVersion: 7,
    });
    await act(async () => {
      await latest().resolveConflict(conflict(2), "theirs");
    });
    expect(client.mutations).toHaveLength(1);
    await act(async () => {
      await latest().resolveConflict(conflict(3), { title: "merged", status: "done" });
    });
    expect(client.mutations.at(-1)!.mutation).toMatchObject({
      op: "put",
      doc: { title: "merged", status: "done" },
      baseVersion: 7,
    });
    frame();
    expect(latest().conflicts).toEqual([]);
  });

  it("shares one subscription between components showing the same view", () => {
    const client = new FakeClient();
    function View() {
      useRealtimeUpdates("tasks");
      return null;
    }
    const view = render(
      <TetherProvider url="ws://x" client={client}>
        <View />
        <View />
      </TetherProvider>,
    );
    expect(client.subscriptions.size).toBe(1);
    view.unmount();
    expect(client.subscriptions.size).toBe(0);
  });
});
