/**
 * `tether-sync/offline`: load the app while offline. `registerOfflineShell()` registers the
 * service worker that the Vite plugin `tetherOfflineShell()` (`tether-sync/offline/vite`) emits
 * into the build: it precaches the built files (including the `.wasm`) and serves the app shell
 * when the network is gone. The data is already offline: the engine keeps its cache and its
 * durable outbox in IndexedDB, so a reload without network shows the cached rows and the pending
 * writes, which are sent once the connection is back.
 *
 * Separate entry: an app that does not import it ships none of it.
 * See https://developer.mozilla.org/en-US/docs/Web/API/ServiceWorkerContainer/register
 */

/** Options of {@link registerOfflineShell}. */
export interface OfflineShellOptions {
  /**
   * URL of the worker script, resolved against the document's base URL (default
   * `tether-sw.js`, where the plugin emits it). With a Vite `base` other than `./`, pass
   * `import.meta.env.BASE_URL + "tether-sw.js"`.
   */
  url?: string;
  /** The registration's scope (default: the directory of the worker script). */
  scope?: string;
  /** `false` skips registration (e.g. `enabled: import.meta.env.PROD` in development). */
  enabled?: boolean;
}

/** Why the offline shell was not registered. */
export type OfflineShellUnavailable =
  /** `enabled: false` was passed. */
  | "disabled"
  /** This environment has no `navigator.serviceWorker` (server rendering, old or locked-down browsers). */
  | "no-service-worker"
  /** Service workers need a secure context (https, or http on localhost / 127.0.0.1). */
  | "insecure-context";

/** What {@link registerOfflineShell} did. Never rejects: every outcome is one of these. */
export type OfflineShell =
  | {
      /** Nothing was registered; the app works as before, only online loads. */
      status: "unavailable";
      /** Why. */
      reason: OfflineShellUnavailable;
    }
  | {
      /** The worker is registered. */
      status: "registered";
      /** The browser's registration (for `update()`, `unregister()`). */
      registration: ServiceWorkerRegistration;
      /**
       * Resolves `true` once a worker is active, i.e. the shell is cached and a reload without
       * network will show the app; `false` when the new worker failed to install (e.g. a built
       * file could not be fetched) and no older one is active.
       */
      ready: Promise<boolean>;
    }
  | {
      /** `register()` failed (script missing, wrong MIME type, scope not allowed…). */
      status: "failed";
      /** The browser's error. */
      error: unknown;
    };

/** The parts of the browser the decision reads (structural, so it can be tested without one). */
export interface OfflineShellEnvironment {
  /** `navigator.serviceWorker`, when the browser has it. */
  serviceWorker?: unknown;
  /** `globalThis.isSecureContext`. */
  isSecureContext?: boolean;
}

/** Why the offline shell cannot be registered in `env` with `options`, or `null` when it can. */
export function offlineShellUnavailable(
  env: OfflineShellEnvironment,
  options: OfflineShellOptions = {},
): OfflineShellUnavailable | null {
  if (options.enabled === false) return "disabled";
  if (env.serviceWorker === undefined || env.serviceWorker === null) return "no-service-worker";
  if (env.isSecureContext === false) return "insecure-context";
  return null;
}

/** The worker script's absolute URL for `options`, resolved against `baseUrl`. */
export function offlineShellScriptUrl(options: OfflineShellOptions, baseUrl: string): string {
  return new URL(options.url ?? "tether-sw.js", baseUrl).href;
}

/** `true` once `registration` has an active worker; `false` if the one installing is discarded. */
export function whenActive(registration: ServiceWorkerRegistration): Promise<boolean> {
  if (registration.active) return Promise.resolve(true);
  const worker = registration.installing ?? registration.waiting;
  if (!worker) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onChange = (): void => {
      if (worker.state === "activated" || registration.active) {
        worker.removeEventListener("statechange", onChange);
        resolve(true);
      } else if (worker.state === "redundant") {
        worker.removeEventListener("statechange", onChange);
        resolve(registration.active !== null);
      }
    };
    worker.addEventListener("statechange", onChange);
    onChange();
  });
}

/**
 * Registers the offline app shell's service worker (see the package README, "Offline app
 * shell") and, when one was already active, asks the browser to check for a newer one.
 * Resolves with what happened; it is a no-op (`status: "unavailable"`) where service workers
 * are missing or not allowed, and never rejects.
 */
export async function registerOfflineShell(options: OfflineShellOptions = {}): Promise<OfflineShell> {
  const nav = typeof navigator === "undefined" ? undefined : navigator;
  const reason = offlineShellUnavailable(
    {
      serviceWorker: nav && "serviceWorker" in nav ? nav.serviceWorker : undefined,
      isSecureContext: typeof isSecureContext === "boolean" ? isSecureContext : undefined,
    },
    options,
  );
  if (reason) return { status: "unavailable", reason };
  try {
    const url = offlineShellScriptUrl(options, document.baseURI);
    const registration = await navigator.serviceWorker.register(
      url,
      options.scope === undefined ? {} : { scope: options.scope },
    );
    // A worker was already active: ask now whether a new deployment's worker exists, rather than
    // whenever the browser's own check after navigation runs. Offline this fails; that is fine.
    if (registration.active) {
      registration.update().catch(() => undefined);
    }
    return { status: "registered", registration, ready: whenActive(registration) };
  } catch (error) {
    return { status: "failed", error };
  }
}
