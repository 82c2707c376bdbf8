import { act, fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { TetherProvider } from "../src/provider.js";
import type { Conflict, MutationResult } from "../src/types.js";
import {
  ConflictResolver,
  ConnectionStatus,
  OfflineBanner,
  PendingBadge,
  connectionQuality,
} from "../src/ui/index.js";
import { FakeClient, manualScheduler } from "./fakeClient.js";

function mount(children: React.ReactNode) {
  const client = new FakeClient();
  const frames = manualScheduler();
  const view = render(
    <TetherProvider url="ws://x" client={client} scheduler={frames.schedule}>
      {children}
    </TetherProvider>,
  );
  const update = (patch: Parameters<FakeClient["setStatus"]>[0]) => {
    client.setStatus(patch);
    act(() => void frames.frame());
  };
  act(() => void frames.frame());
  return { client, update, view };
}

describe("connectionQuality", () => {
  it("derives the level from state, round trip and recent reconnects", () => {
    expect(connectionQuality({ state: "backoff", latencyMs: 5, recentReconnects: 0 })).toBe("offline");
    expect(connectionQuality({ state: "ready", latencyMs: null, recentReconnects: 0 })).toBe("good");
    expect(connectionQuality({ state: "ready", latencyMs: 40, recentReconnects: 0 })).toBe("good");
    expect(connectionQuality({ state: "ready", latencyMs: 200, recentReconnects: 0 })).toBe("fair");
    expect(connectionQuality({ state: "ready", latencyMs: 40, recentReconnects: 1 })).toBe("fair");
    expect(connectionQuality({ state: "ready", latencyMs: 900, recentReconnects: 0 })).toBe("poor");
    expect(connectionQuality({ state: "ready", latencyMs: 40, recentReconnects: 4 })).toBe("poor");
  });
});

describe("<ConnectionStatus>", () => {
  it("shows state, latency and quality, counts reconnects, and retries on demand", () => {
    const { client, update } = mount(<ConnectionStatus />);
    const label = screen.getByTestId("connection");
    expect(label.textContent).toBe("Connecting…");
    expect(label.getAttribute("role")).toBe("status");
    update({ state: "ready", latencyMs: 12.4 });
    expect(label.textContent).toBe("Connected · 12 ms");
    expect(screen.queryByTestId("reconnect")).toBeNull();
    const outer = label.parentElement!;
    expect(outer.dataset.quality).toBe("good");

    update({ state: "backoff", attempt: 2, nextRetryAt: null });
    expect(label.textContent).toBe("Reconnecting (attempt 2)");
    expect(outer.dataset.quality).toBe("offline");
    fireEvent.click(screen.getByTestId("reconnect"));
    return Promise.resolve().then(() => {
      expect(client.reconnects).toBe(1);
      update({ state: "ready", latencyMs: 12, attempt: 0 });
      // Back up after a drop: one recent reconnect makes the link fair, not good.
      expect(outer.dataset.quality).toBe("fair");
    });
  });

  it("counts down to the next retry", () => {
    vi.useFakeTimers();
    try {
      vi.setSystemTime(1_000_000);
      const { update } = mount(<ConnectionStatus />);
      update({ state: "backoff", attempt: 1, nextRetryAt: 1_000_000 + 3_000 });
      const label = screen.getByTestId("connection");
      expect(label.textContent).toBe("Reconnecting in 3 s (attempt 1)");
      act(() => void vi.advanceTimersByTime(2_000));
      expect(label.textContent).toBe("Reconnecting in 1 s (attempt 1)");
    } finally {
      vi.useRealTimers();
    }
  });

  it("names the devtools' fault switches while one is on", () => {
    const { update } = mount(<ConnectionStatus />);
    expect(screen.queryByTestId("faults")).toBeNull();
    update({ state: "ready", faults: ["latency", "drop"] });
    expect(screen.getByTestId("faults").textContent).toBe("Faults on: latency, drop");
    update({ faults: undefined });
    expect(screen.queryByTestId("faults")).toBeNull();
  });

  it("takes a custom label", () => {
    const { update } = mount(<ConnectionStatus label={(s) => `${s.state}/${s.quality}`} showRetry={false} />);
    update({ state: "offline" });
    expect(screen.getByTestId("connection").textContent).toBe("offline/offline");
    expect(screen.queryByTestId("reconnect")).toBeNull();
  });
});

describe("<PendingBadge>", () => {
  it("shows the pending count and warns while writes are at risk", () => {
    const { update } = mount(<PendingBadge />);
    const badge = screen.getByTestId("pending");
    expect(badge.textContent).toBe("0 pending");
    expect(badge.parentElement!.hasAttribute("data-idle")).toBe(true);
    update({ pendingCount: 3, writesAtRisk: false });
    expect(badge.textContent).toBe("3 pending");
    expect(badge.parentElement!.hasAttribute("data-idle")).toBe(false);
    expect(screen.queryByTestId("writes-at-risk")).toBeNull();
    update({ writesAtRisk: true });
    expect(screen.getByTestId("writes-at-risk").getAttribute("role")).toBe("alert");
  });
});

describe("<OfflineBanner>", () => {
  it("is shown only while the server cannot be reached, with the writes waiting", () => {
    const { update } = mount(<OfflineBanner />);
    expect(screen.queryByTestId("offline-banner")).toBeNull();
    update({ state: "offline", pendingCount: 2 });
    expect(screen.getByTestId("offline-banner").textContent).toBe(
      "You are offline. 2 changes will be sent when the connection is back.",
    );
    update({ state: "backoff", pendingCount: 1 });
    expect(screen.getByTestId("offline-banner").textContent).toContain("1 change will be sent");
    update({ state: "ready", pendingCount: 0 });
    expect(screen.queryByTestId("offline-banner")).toBeNull();
  });
});

describe("<ConflictResolver>", () => {
  const conflict: Conflict = {
    key: "c1:7",
    channel: "tasks",
    id: "t1",
    mutationId: 7,
    op: "edit",
    local: { title: "Mine", done: false },
    base: { title: "Base", done: false },
    server: { version: 3, doc: { title: "Theirs", done: true } },
  };

  it("renders nothing without conflicts", () => {
    const { container } = render(<ConflictResolver conflicts={[]} resolve={() => Promise.resolve(null)} />);
    expect(container.innerHTML).toBe("");
  });

  it("lists both sides and settles with mine, theirs or the merge", async () => {
    const calls: unknown[] = [];
    const resolve = (c: Conflict, r: unknown): Promise<MutationResult | null> => {
      calls.push([c.key, r]);
      return Promise.resolve(null);
    };
    const merge = ({ local, server }: { local: { title: string } | null; server: { title: string } | null }) => ({
      title: `${local?.title}+${server?.title}`,
    });
    render(<ConflictResolver conflicts={[conflict]} resolve={resolve} merge={merge} />);
    const item = screen.getByTestId("conflict");
    expect(item.textContent).toContain("You edited it: Mine");
    expect(item.textContent).toContain("Theirs: Theirs");
    expect(screen.getByTestId("conflicts").getAttribute("role")).toBe("alert");
    await act(async () => void fireEvent.click(screen.getByTestId("keep-mine")));
    await act(async () => void fireEvent.click(screen.getByTestId("take-theirs")));
    await act(async () => void fireEvent.click(screen.getByTestId("merge")));
    expect(calls).toEqual([
      ["c1:7", "mine"],
      ["c1:7", "theirs"],
      ["c1:7", merge],
    ]);
  });

  it("names a deleted side and disables the buttons while the resolution is written", async () => {
    let finish!: () => void;
    const resolve = () => new Promise<MutationResult | null>((r) => (finish = () => r(null)));
    render(<ConflictResolver conflicts={[{ ...conflict, server: null }]} resolve={resolve} />);
    expect(screen.getByTestId("conflict").textContent).toContain("Theirs: (deleted)");
    expect(screen.queryByTestId("merge")).toBeNull();
    await act(async () => void fireEvent.click(screen.getByTestId("keep-mine")));
    expect((screen.getByTestId("take-theirs") as HTMLButtonElement).disabled).toBe(true);
    await act(async () => finish());
    expect((screen.getByTestId("take-theirs") as HTMLButtonElement).disabled).toBe(false);
  });
});
