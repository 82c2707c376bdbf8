// registerOfflineShell's decisions, without a browser: when it is a no-op and says why, which
// script and scope it registers, that a failure is reported (never thrown), and when `ready`
// says the shell is cached.
import { afterEach, describe, expect, it, vi } from "vitest";

import {
  offlineShellScriptUrl,
  offlineShellUnavailable,
  registerOfflineShell,
  whenActive,
} from "../src/offline/index.js";

/** A fake ServiceWorker whose state the test moves. */
class FakeWorker extends EventTarget {
  constructor(public state: ServiceWorkerState) {
    super();
  }
  move(state: ServiceWorkerState) {
    this.state = state;
    this.dispatchEvent(new Event("statechange"));
  }
}

function registration(parts: {
  active?: FakeWorker;
  installing?: FakeWorker;
  waiting?: FakeWorker;
  update?: () => Promise<unknown>;
}) {
  return {
    active: parts.active ?? null,
    installing: parts.installing ?? null,
    waiting: parts.waiting ?? null,
    update: parts.update ?? (async () => undefined),
  } as unknown as ServiceWorkerRegistration;
}

function stubServiceWorker(register: (url: string, options: RegistrationOptions) => Promise<unknown>) {
  Object.defineProperty(navigator, "serviceWorker", { value: { register }, configurable: true });
}

afterEach(() => {
  delete (navigator as { serviceWorker?: unknown }).serviceWorker;
  vi.unstubAllGlobals();
});

describe("offlineShellUnavailable", () => {
  it("is null where service workers exist in a secure context", () => {
    expect(offlineShellUnavailable({ serviceWorker: {}, isSecureContext: true })).toBeNull();
  });
  it("names each reason to skip", () => {
    expect(offlineShellUnavailable({ serviceWorker: {} }, { enabled: false })).toBe("disabled");
    expect(offlineShellUnavailable({})).toBe("no-service-worker");
    expect(offlineShellUnavailable({ serviceWorker: {}, isSecureContext: false })).toBe("insecure-context");
  });
});

describe("offlineShellScriptUrl", () => {
  it("defaults to tether-sw.js beside the document's base", () => {
    expect(offlineShellScriptUrl({}, "http://127.0.0.1:4000/app/?user=a")).toBe("http://127.0.0.1:4000/app/tether-sw.js");
    expect(offlineShellScriptUrl({ url: "/sw/tether-sw.js" }, "http://h/app/")).toBe("http://h/sw/tether-sw.js");
  });
});

describe("registerOfflineShell", () => {
  it("is a no-op without service workers, and says so", async () => {
    expect("serviceWorker" in navigator).toBe(false); // jsdom has none
    await expect(registerOfflineShell()).resolves.toEqual({ status: "unavailable", reason: "no-service-worker" });
  });

  it("does not register when disabled", async () => {
    const register = vi.fn(async () => registration({}));
    stubServiceWorker(register);
    await expect(registerOfflineShell({ enabled: false })).resolves.toEqual({ status: "unavailable", reason: "disabled" });
    expect(register).not.toHaveBeenCalled();
  });

  it("does not register outside a secure context", async () => {
    const register = vi.fn(async () => registration({}));
    stubServiceWorker(register);
    vi.stubGlobal("isSecureContext", false);
    await expect(registerOfflineShell()).resolves.toEqual({ status: "unavailable", reason: "insecure-context" });
    expect(register).not.toHaveBeenCalled();
  });

  it("registers the script resolved against the document, with the scope asked for", async () => {
    const active = new FakeWorker("activated");
    const register = vi.fn(async (_url: string, _options: RegistrationOptions) => registration({ active }));
    stubServiceWorker(register);
    const shell = await registerOfflineShell({ scope: "./" });
    expect(register).toHaveBeenCalledWith(new URL("tether-sw.js", document.baseURI).href, { scope: "./" });
    expect(shell.status).toBe("registered");
    if (shell.status === "registered") await expect(shell.ready).resolves.toBe(true);
  });

  it("asks for a newer worker when one was already active, not on the first install", async () => {
    const update = vi.fn(async () => Promise.reject(new TypeError("offline")));
    stubServiceWorker(async () => registration({ active: new FakeWorker("activated"), update }));
    const again = await registerOfflineShell();
    expect(again.status).toBe("registered");
    expect(update).toHaveBeenCalledTimes(1); // its rejection (offline) is swallowed

    const first = vi.fn(async () => undefined);
    stubServiceWorker(async () => registration({ installing: new FakeWorker("installing"), update: first }));
    expect((await registerOfflineShell()).status).toBe("registered");
    expect(first).not.toHaveBeenCalled();
  });

  it("reports a failed registration instead of throwing", async () => {
    const error = new TypeError("bad MIME type");
    stubServiceWorker(async () => Promise.reject(error));
    await expect(registerOfflineShell()).resolves.toEqual({ status: "failed", error });
  });
});

describe("whenActive", () => {
  it("resolves true once the installing worker activates", async () => {
    const installing = new FakeWorker("installing");
    const ready = whenActive(registration({ installing }));
    let settled = false;
    void ready.then(() => (settled = true));
    installing.move("installed");
    await Promise.resolve();
    expect(settled).toBe(false);
    installing.move("activated");
    await expect(ready).resolves.toBe(true);
  });

  it("resolves false when the install fails and nothing older is active", async () => {
    const installing = new FakeWorker("installing");
    const ready = whenActive(registration({ installing }));
    installing.move("redundant");
    await expect(ready).resolves.toBe(false);
  });

  it("resolves true at once when a worker is already active", async () => {
    await expect(whenActive(registration({ active: new FakeWorker("activated") }))).resolves.toBe(true);
  });
});
