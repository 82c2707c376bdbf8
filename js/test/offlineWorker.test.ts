// @vitest-environment node
// The offline shell's service worker, run on a fake worker scope (Cache Storage and network in
// memory): what it precaches, what it serves from the cache, what it never touches, and how a
// new version replaces the old one. The worker runs from the emitted script text, as a browser
// runs it.
import { describe, expect, it } from "vitest";

import { buildManifest, shellVersion, type ShellManifest } from "../src/offline/manifest.js";
import { shellWorkerSource } from "../src/offline/vite.js";
import type { ShellExtendableEvent, ShellFetchEvent, ShellWorkerScope } from "../src/offline/worker.js";

const ORIGIN = "https://app.test";
const SCOPE = `${ORIGIN}/`;

class MemoryCache {
  readonly entries = new Map<string, Response>();
  async match(key: RequestInfo): Promise<Response | undefined> {
    const hit = this.entries.get(typeof key === "string" ? key : key.url);
    return hit?.clone();
  }
  async put(key: RequestInfo, response: Response): Promise<void> {
    this.entries.set(typeof key === "string" ? key : key.url, response);
  }
}

class MemoryCaches {
  readonly caches = new Map<string, MemoryCache>();
  async open(name: string): Promise<MemoryCache> {
    let cache = this.caches.get(name);
    if (!cache) this.caches.set(name, (cache = new MemoryCache()));
    return cache;
  }
  async keys(): Promise<string[]> {
    return [...this.caches.keys()];
  }
  async delete(name: string): Promise<boolean> {
    return this.caches.delete(name);
  }
}

/** Files the fake server has, by absolute URL: body and content type. */
type Site = Record<string, [string, string]>;

function fakeWorker(manifest: ShellManifest, site: Site, caches = new MemoryCaches()) {
  const listeners: Record<string, ((event: never) => void)[]> = {};
  const network = { online: true, fetched: [] as string[] };
  let skipped = false;
  let claimed = false;
  const scope = {
    location: { href: `${ORIGIN}/tether-sw.js`, origin: ORIGIN },
    registration: { scope: SCOPE },
    caches: caches as unknown as CacheStorage,
    async fetch(input: RequestInfo) {
      const url = typeof input === "string" ? input : input.url;
      network.fetched.push(url);
      if (!network.online) throw new TypeError("Failed to fetch");
      const file = site[url.split("?")[0]!];
      if (!file) return new Response("not found", { status: 404 });
      return new Response(file[0], { status: 200, headers: { "content-type": file[1] } });
    },
    async skipWaiting() {
      skipped = true;
    },
    clients: {
      async claim() {
        claimed = true;
      },
    },
    addEventListener(type: string, listener: (event: never) => void) {
      (listeners[type] ??= []).push(listener);
    },
  };
  // Exactly what the browser runs: the emitted script, with `self` bound to the fake scope.
  new Function("self", shellWorkerSource(manifest))(scope as unknown as ShellWorkerScope);

  const lifecycle = async (type: "install" | "activate") => {
    const pending: Promise<unknown>[] = [];
    const event: ShellExtendableEvent = { waitUntil: (p) => void pending.push(p) };
    for (const l of listeners[type] ?? []) l(event as never);
    await Promise.all(pending);
  };
  const request = async (url: string, init: { method?: string; mode?: string } = {}) => {
    let answer: Promise<Response> | undefined;
    const event = {
      request: { url, method: init.method ?? "GET", mode: init.mode ?? "cors" } as Request,
      respondWith: (r: Promise<Response>) => void (answer = r),
      waitUntil: () => undefined,
    } satisfies ShellFetchEvent;
    for (const l of listeners.fetch ?? []) l(event as never);
    return answer ? await answer : "network";
  };
  return {
    caches,
    network,
    lifecycle,
    request,
    get skipped() {
      return skipped;
    },
    get claimed() {
      return claimed;
    },
  };
}

const site: Site = {
  [`${ORIGIN}/index.html`]: ["<html>app v1</html>", "text/html"],
  [`${ORIGIN}/`]: ["<html>app v1 (network)</html>", "text/html"],
  [`${ORIGIN}/assets/index-abc.js`]: ["console.log(1)", "text/javascript"],
  [`${ORIGIN}/assets/tether_bg-def.wasm`]: ["\0asm", "application/wasm"],
  [`${ORIGIN}/api/v1/tasks`]: ["[]", "application/json"],
};
const manifest: ShellManifest = {
  version: "v1",
  shell: "index.html",
  assets: ["assets/index-abc.js", "assets/tether_bg-def.wasm", "index.html"],
};

describe("offline shell worker", () => {
  it("precaches every file of the manifest on install, then activates at once", async () => {
    const w = fakeWorker(manifest, site);
    await w.lifecycle("install");
    const cache = w.caches.caches.get(`tether-shell:${SCOPE}:v1`)!;
    expect([...cache.entries.keys()].sort()).toEqual(
      [`${ORIGIN}/assets/index-abc.js`, `${ORIGIN}/assets/tether_bg-def.wasm`, `${ORIGIN}/index.html`].sort(),
    );
    expect(w.skipped).toBe(true);
  });

  it("fails the install when a built file is missing, so a broken version never activates", async () => {
    const w = fakeWorker({ ...manifest, assets: [...manifest.assets, "assets/gone.js"] }, site);
    await expect(w.lifecycle("install")).rejects.toThrow(/gone\.js got 404/);
    expect(w.skipped).toBe(false);
  });

  it("serves built files cache first, the .wasm as application/wasm, even offline", async () => {
    const w = fakeWorker(manifest, site);
    await w.lifecycle("install");
    w.network.online = false;
    w.network.fetched.length = 0;
    const wasm = await w.request(`${ORIGIN}/assets/tether_bg-def.wasm`);
    expect(wasm).toBeInstanceOf(Response);
    expect((wasm as Response).headers.get("content-type")).toBe("application/wasm");
    expect(await (await w.request(`${ORIGIN}/assets/index-abc.js?v=2`) as Response).text()).toBe("console.log(1)");
    expect(w.network.fetched).toEqual([]);
  });

  it("stores a .wasm served with another type as application/wasm", async () => {
    const wrongType: Site = { ...site, [`${ORIGIN}/assets/tether_bg-def.wasm`]: ["\0asm", "application/octet-stream"] };
    const w = fakeWorker(manifest, wrongType);
    await w.lifecycle("install");
    const wasm = (await w.request(`${ORIGIN}/assets/tether_bg-def.wasm`)) as Response;
    expect(wasm.headers.get("content-type")).toBe("application/wasm");
    expect(await wasm.text()).toBe("\0asm");
  });

  it("answers navigations from the network while online, with the cached shell offline", async () => {
    const w = fakeWorker(manifest, site);
    await w.lifecycle("install");
    const online = (await w.request(`${ORIGIN}/?user=ann`, { mode: "navigate" })) as Response;
    expect(await online.text()).toBe("<html>app v1 (network)</html>");
    w.network.online = false;
    const offline = (await w.request(`${ORIGIN}/?user=ann`, { mode: "navigate" })) as Response;
    expect(await offline.text()).toBe("<html>app v1</html>");
    const deep = (await w.request(`${ORIGIN}/board/42`, { mode: "navigate" })) as Response;
    expect(await deep.text()).toBe("<html>app v1</html>");
  });

  it("never answers API calls, other origins, writes or files the build did not emit", async () => {
    const w = fakeWorker(manifest, site);
    await w.lifecycle("install");
    expect(await w.request(`${ORIGIN}/api/v1/tasks`)).toBe("network");
    expect(await w.request(`${ORIGIN}/healthz`)).toBe("network");
    expect(await w.request(`${ORIGIN}/assets/index-abc.js`, { method: "POST" })).toBe("network");
    expect(await w.request("https://cdn.test/assets/index-abc.js")).toBe("network");
    const cached = [...w.caches.caches.values()].flatMap((c) => [...c.entries.keys()]);
    expect(cached.some((k) => k.includes("/api/"))).toBe(false);
  });

  it("a new version precaches into its own cache and deletes only this scope's old ones", async () => {
    const caches = new MemoryCaches();
    const v1 = fakeWorker(manifest, site, caches);
    await v1.lifecycle("install");
    await v1.lifecycle("activate");
    await caches.open("someone-elses-cache");
    await caches.open("tether-shell:https://app.test/other/:v0");

    const site2: Site = { ...site, [`${ORIGIN}/index.html`]: ["<html>app v2</html>", "text/html"] };
    const v2 = fakeWorker({ ...manifest, version: "v2" }, site2, caches);
    await v2.lifecycle("install");
    await v2.lifecycle("activate");
    expect((await caches.keys()).sort()).toEqual(
      ["someone-elses-cache", "tether-shell:https://app.test/other/:v0", `tether-shell:${SCOPE}:v2`].sort(),
    );
    expect(v2.claimed).toBe(true);
    v2.network.online = false;
    const shell = (await v2.request(`${ORIGIN}/`, { mode: "navigate" })) as Response;
    expect(await shell.text()).toBe("<html>app v2</html>");
  });
});

describe("offline shell manifest", () => {
  const files = [
    { fileName: "index.html", source: "<html></html>" },
    { fileName: "assets/index-abc.js", source: "x" },
    { fileName: "assets/index-abc.js.map", source: "{}" },
    { fileName: "assets/tether_bg-def.wasm", source: new Uint8Array([0, 97, 115, 109]) },
    { fileName: ".vite/manifest.json", source: "{}" },
    { fileName: "tether-sw.js", source: "old" },
  ];

  it("lists the shipped files (no maps, no .vite/, not the worker) plus public files", () => {
    const m = buildManifest(files, {
      shell: "index.html",
      workerFile: "tether-sw.js",
      extra: [{ fileName: "favicon.svg", source: "<svg/>" }],
    });
    expect(m.assets).toEqual(["assets/index-abc.js", "assets/tether_bg-def.wasm", "favicon.svg", "index.html"]);
    expect(m.shell).toBe("index.html");
  });

  it("refuses a build without the shell document", () => {
    expect(() => buildManifest(files, { shell: "app.html", workerFile: "tether-sw.js" })).toThrow(/no app\.html/);
  });

  it("versions by content: the same build gives the same version, any changed byte another", () => {
    const a = shellVersion(files);
    expect(shellVersion([...files].reverse())).toBe(a);
    const changed = files.map((f) => (f.fileName === "assets/index-abc.js" ? { ...f, source: "y" } : f));
    expect(shellVersion(changed)).not.toBe(a);
    const renamed = files.map((f) => (f.fileName === "index.html" ? { ...f, fileName: "main.html" } : f));
    expect(shellVersion(renamed)).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });
});
