/**
 * The offline app-shell service worker. `startShellWorker` is written into the emitted worker
 * script as source text (`(${startShellWorker})(self, manifest)`), so it must not refer to
 * anything outside its own body: every helper lives inside it.
 *
 * Strategy:
 * - install: precache every file of the build's manifest (including the `.wasm`) into the
 *   versioned cache `tether-shell:<scope>:<version>`, then take over at once (`skipWaiting`);
 * - activate: delete this scope's caches of other versions, claim open pages;
 * - navigations: network first, the cached shell (index.html) when the network fails;
 * - files of the manifest: cache first (they are content-hashed), the network on a miss;
 * - everything else (other origins, non-GET, the app's API, anything not built): untouched,
 *   never cached. WebSocket connections never reach a service worker.
 *
 * See https://developer.mozilla.org/en-US/docs/Web/API/Service_Worker_API/Using_Service_Workers
 */
import type { ShellManifest } from "./manifest.js";

/** The part of an `ExtendableEvent` the worker uses. */
export interface ShellExtendableEvent {
  /** Keeps the worker alive (and install/activate pending) until `promise` settles. */
  waitUntil(promise: Promise<unknown>): void;
}

/** The part of a `FetchEvent` the worker uses. */
export interface ShellFetchEvent extends ShellExtendableEvent {
  /** The request the page made. */
  readonly request: Request;
  /** Answers the request from the worker instead of the network. */
  respondWith(response: Promise<Response>): void;
}

/** The part of `ServiceWorkerGlobalScope` the worker uses (structural, so tests can fake it). */
export interface ShellWorkerScope {
  /** The worker script's URL. */
  readonly location: { readonly href: string; readonly origin: string };
  /** The worker's registration (its scope names the caches). */
  readonly registration: { readonly scope: string };
  /** The Cache Storage of the origin. */
  readonly caches: CacheStorage;
  /** Network fetch. */
  fetch(input: RequestInfo, init?: RequestInit): Promise<Response>;
  /** Activates this worker without waiting for the old one's pages to close. */
  skipWaiting(): Promise<void>;
  /** The pages of the scope. */
  readonly clients: { claim(): Promise<void> };
  /** Lifecycle and fetch events. */
  addEventListener(type: "install" | "activate", listener: (event: ShellExtendableEvent) => void): void;
  /** Lifecycle and fetch events. */
  addEventListener(type: "fetch", listener: (event: ShellFetchEvent) => void): void;
}

/** Installs the shell worker's event handlers on `sw` for the build described by `manifest`. */
export function startShellWorker(sw: ShellWorkerScope, manifest: ShellManifest): void {
  const prefix = `tether-shell:${sw.registration.scope}:`;
  const cacheName = prefix + manifest.version;
  const withoutSearch = (href: string): string => {
    const url = new URL(href);
    url.search = "";
    url.hash = "";
    return url.href;
  };
  const shellUrl = new URL(manifest.shell, sw.location.href).href;
  const assetUrls = new Set(manifest.assets.map((a) => new URL(a, sw.location.href).href));

  // A cached `.wasm` must keep `application/wasm`, or WebAssembly.instantiateStreaming fails
  // (wasm-bindgen then falls back to a slower path with a console warning).
  const storable = async (url: string, response: Response): Promise<Response> => {
    if (!new URL(url).pathname.endsWith(".wasm")) return response;
    if (response.headers.get("content-type")?.split(";")[0]?.trim() === "application/wasm") return response;
    const headers = new Headers(response.headers);
    headers.set("content-type", "application/wasm");
    return new Response(await response.arrayBuffer(), { status: response.status, headers });
  };

  const precache = async (): Promise<void> => {
    const cache = await sw.caches.open(cacheName);
    await Promise.all(
      [...assetUrls].map(async (url) => {
        // Past the HTTP cache: the files of this version, not a copy of an older deployment.
        const response = await sw.fetch(url, { cache: "no-cache", credentials: "same-origin" });
        if (!response.ok) throw new Error(`tether-sync/offline: precaching ${url} got ${response.status}`);
        await cache.put(url, await storable(url, response));
      }),
    );
  };

  sw.addEventListener("install", (event) => {
    event.waitUntil(precache().then(() => sw.skipWaiting()));
  });

  sw.addEventListener("activate", (event) => {
    event.waitUntil(
      sw.caches
        .keys()
        .then((keys) => keys.filter((k) => k.startsWith(prefix) && k !== cacheName))
        .then((old) => Promise.all(old.map((k) => sw.caches.delete(k))))
        .then(() => sw.clients.claim()),
    );
  });

  const cachedShell = async (): Promise<Response> => {
    const cache = await sw.caches.open(cacheName);
    return (await cache.match(shellUrl)) ?? Response.error();
  };

  const cacheFirst = async (request: Request, url: string): Promise<Response> => {
    const cache = await sw.caches.open(cacheName);
    const hit = await cache.match(url);
    if (hit) return hit;
    const response = await sw.fetch(request);
    if (response.ok) await cache.put(url, await storable(url, response.clone()));
    return response;
  };

  sw.addEventListener("fetch", (event) => {
    const request = event.request;
    if (request.method !== "GET") return;
    if (new URL(request.url).origin !== sw.location.origin) return;
    if (request.mode === "navigate") {
      event.respondWith(sw.fetch(request).catch(() => cachedShell()));
      return;
    }
    const url = withoutSearch(request.url);
    if (assetUrls.has(url)) event.respondWith(cacheFirst(request, url));
    // Anything else (the app's API, files the build did not emit) goes to the network as if
    // there were no worker, and is never cached.
  });
}
