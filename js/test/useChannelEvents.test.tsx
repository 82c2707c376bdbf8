import { act, render } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";

import { TetherProvider } from "../src/provider.js";
import type { ChannelEvent } from "../src/store.js";
import { useChannelEvents } from "../src/useChannelEvents.js";
import { useRealtimeUpdates } from "../src/useRealtimeUpdates.js";
import type { Filter, ViewEventRow } from "../src/types.js";
import { FakeClient, manualScheduler } from "./fakeClient.js";

type Task = { title: string; status: string };
const todo: Filter = { field: "status", op: "eq", value: "todo" };

const row = (id: string, title: string, version = 1) => ({
  id,
  version,
  doc: { title, status: "todo" },
  pending: false,
});
const ev = (kind: ViewEventRow["kind"], id: string, offset: number, own = false): ViewEventRow => ({
  kind,
  id,
  version: offset,
  offset,
  own,
});

describe("useChannelEvents", () => {
  it("reports each server event once with its kind and the document as the view shows it", () => {
    const client = new FakeClient();
    const frames = manualScheduler();
    const seen: ChannelEvent<Task>[] = [];
    function Toasts() {
      useChannelEvents<Task>("tasks", (e) => seen.push(e), { filter: todo });
      return null;
    }
    render(
      <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
        <Toasts />
      </TetherProvider>,
    );
    const sub = client.subOf("tasks");
    expect(client.subscriptions.get(sub)?.filter).toEqual(todo);
    act(() => {
      // A snapshot: no events. Then an optimistic write of this client: shown, no event.
      client.emit({ views: [{ sub, channel: "tasks", replace: true, upserts: [row("a", "A")], removes: [], continuity: "reset" }] });
      client.emit({ views: [{ sub, channel: "tasks", upserts: [{ ...row("b", "B", 0), pending: true }], removes: [] }] });
    });
    expect(seen).toEqual([]);
    act(() => {
      client.emit({
        views: [
          {
            sub,
            channel: "tasks",
            upserts: [row("b", "B"), row("c", "C", 3)],
            removes: ["a"],
            events: [ev("created", "b", 1, true), ev("left", "a", 2), ev("entered", "c", 3)],
          },
        ],
      });
    });
    expect(seen.map((e) => [e.kind, e.id, e.own])).toEqual([
      ["created", "b", true],
      ["left", "a", false],
      ["entered", "c", false],
    ]);
    expect(seen[0]!.doc).toMatchObject({ id: "b", title: "B" });
    expect(seen[1]!.doc).toBeNull();
    expect(seen[2]).toMatchObject({ channel: "tasks", offset: 3, version: 3, doc: { title: "C" } });
  });

  it("is three lines with onEvent on useRealtimeUpdates, and stops when unmounted", () => {
    const client = new FakeClient();
    const frames = manualScheduler();
    const toasts: string[] = [];
    let hide: () => void = () => undefined;
    function Board() {
      useRealtimeUpdates<Task>("tasks", {
        onEvent: (e) => e.kind === "created" && toasts.push(`New task: ${e.doc?.title}`),
      });
      return null;
    }
    function App() {
      const [shown, setShown] = useState(true);
      hide = () => setShown(false);
      return shown ? <Board /> : null;
    }
    render(
      <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
        <App />
      </TetherProvider>,
    );
    const sub = client.subOf("tasks");
    act(() => {
      client.emit({
        views: [
          {
            sub,
            channel: "tasks",
            upserts: [row("a", "Fix login")],
            removes: [],
            events: [ev("created", "a", 1), ev("updated", "a", 2)],
          },
        ],
      });
    });
    expect(toasts).toEqual(["New task: Fix login"]);
    act(() => hide());
    act(() => {
      client.emit({ views: [{ sub, channel: "tasks", upserts: [row("z", "Z")], removes: [], events: [ev("created", "z", 3)] }] });
    });
    expect(toasts).toEqual(["New task: Fix login"]);
  });
});
