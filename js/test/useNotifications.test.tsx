import { act, render } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";

import { TetherProvider } from "../src/provider.js";
import type { Notification } from "../src/types.js";
import { useNotifications } from "../src/useNotifications.js";
import { FakeClient, manualScheduler } from "./fakeClient.js";

describe("useNotifications", () => {
  it("calls the latest handler for each notification while mounted, with no subscription", () => {
    const client = new FakeClient();
    const frames = manualScheduler();
    const got: [string, Notification][] = [];
    let setLabel: (label: string) => void = () => undefined;
    let hide: () => void = () => undefined;
    function Inbox() {
      const [label, set] = useState("first");
      setLabel = set;
      useNotifications((n) => got.push([label, n]));
      return null;
    }
    function App() {
      const [shown, setShown] = useState(true);
      hide = () => setShown(false);
      return shown ? <Inbox /> : null;
    }
    render(
      <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
        <App />
      </TetherProvider>,
    );
    expect(client.subscriptions.size).toBe(0);
    act(() => client.emit({ notifications: [{ from: "api:jobs", payload: { text: "ready" } }] }));
    act(() => setLabel("second"));
    act(() => client.emit({ notifications: [{ from: "api:jobs", payload: 2 }, { from: "api:ops", payload: 3 }] }));
    expect(got).toEqual([
      ["first", { from: "api:jobs", payload: { text: "ready" } }],
      ["second", { from: "api:jobs", payload: 2 }],
      ["second", { from: "api:ops", payload: 3 }],
    ]);
    act(() => hide());
    act(() => client.emit({ notifications: [{ from: "api:jobs", payload: 4 }] }));
    expect(got).toHaveLength(3);
  });
});
