import { act, render } from "@testing-library/react";
import { Profiler } from "react";
import { describe, expect, it } from "vitest";

import { TetherProvider } from "../src/provider.js";
import { useRealtimeUpdates } from "../src/useRealtimeUpdates.js";
import { FakeClient } from "./fakeClient.js";

const row = (id: string, title: string) => ({ id, version: 1, doc: { title }, pending: false });

describe("the default scheduler", () => {
  it("commits everything reported within one task once, before the next task", async () => {
    const client = new FakeClient();
    let commits = 0;
    let seen: string[] = [];
    function Probe() {
      const { data } = useRealtimeUpdates<{ title: string }>("tasks");
      seen = data.map((r) => r.title);
      return null;
    }
    render(
      <TetherProvider url="ws://x" client={client}>
        <Profiler id="p" onRender={() => (commits += 1)}>
          <Probe />
        </Profiler>
      </TetherProvider>,
    );
    const sub = client.subOf("tasks");
    const before = commits;
    await act(async () => {
      // Three batches and a status change in one task...
      client.emit({ views: [{ sub, channel: "tasks", upserts: [row("a", "A")], removes: [], continuity: "reset" }] });
      client.emit({ views: [{ sub, channel: "tasks", upserts: [row("b", "B")], removes: [] }] });
      client.emit({ views: [{ sub, channel: "tasks", upserts: [row("a", "A2")], removes: [] }] });
      client.setStatus({ pendingCount: 1 });
      // ...are rendered after a microtask, without waiting for a frame or a timer.
      await Promise.resolve();
    });
    expect(seen).toEqual(["A2", "B"]);
    expect(commits - before).toBe(1);
  });
});
