/**
 * The precache manifest of an offline app shell: which built files the service worker caches
 * when it installs, and the version that names its cache. The Vite plugin (`./vite.ts`) writes
 * it into the worker script it emits, so a new deployment is a new worker script.
 */

/** What the shell worker caches, written into the worker script by the build. */
export interface ShellManifest {
  /** Names the cache (`tether-shell:<scope>:<version>`); changes with any shipped byte. */
  version: string;
  /** The HTML document served for navigations when the network fails (relative to the worker). */
  shell: string;
  /** Every built file to precache, relative to the worker's URL (the build's output root). */
  assets: string[];
}

/** One built file: its path in the output directory and its bytes (or text). */
export interface BuiltFile {
  /** Path relative to the build's output directory, `/`-separated. */
  fileName: string;
  /** The file's content. */
  source: string | Uint8Array;
}

/** FNV-1a (32 bit) over `bytes`, continuing from `hash`. */
function fnv1a(hash: number, bytes: Uint8Array): number {
  let h = hash;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The version of a set of built files: a hash over their sorted names and contents, so the same
 * build gives the same version and any changed, added or removed file gives another.
 */
export function shellVersion(files: readonly BuiltFile[]): string {
  const encoder = new TextEncoder();
  let h = 0x811c9dc5;
  let g = 0x01000193;
  for (const file of [...files].sort((a, b) => (a.fileName < b.fileName ? -1 : 1))) {
    const name = encoder.encode(`${file.fileName}\0`);
    const body = typeof file.source === "string" ? encoder.encode(file.source) : file.source;
    h = fnv1a(fnv1a(h, name), body);
    g = fnv1a(fnv1a(g ^ 0x5bd1e995, body), name);
  }
  return h.toString(16).padStart(8, "0") + g.toString(16).padStart(8, "0");
}

/** Files a build emits that the browser never loads as part of the app. */
function isShipped(fileName: string, workerFile: string): boolean {
  return fileName !== workerFile && !fileName.endsWith(".map") && !fileName.startsWith(".vite/");
}

/**
 * The manifest of a build: every emitted file except source maps, Vite's own `.vite/` metadata
 * and the worker script itself, plus `extra` (files the bundle does not see, such as `public/`).
 */
export function buildManifest(
  files: readonly BuiltFile[],
  options: { shell: string; workerFile: string; extra?: readonly BuiltFile[] },
): ShellManifest {
  const all = [...files, ...(options.extra ?? [])];
  const shipped = all.filter((f) => isShipped(f.fileName, options.workerFile));
  const assets = [...new Set(shipped.map((f) => f.fileName))].sort();
  if (!assets.includes(options.shell)) {
    throw new Error(`tether-sync/offline: the build has no ${options.shell} to serve as the app shell`);
  }
  return { version: shellVersion(shipped), shell: options.shell, assets };
}
