// Bundle-size benchmark: what a user's bundler ships for Tether (the release WASM plus its JS:
// the wasm-bindgen glue and the React hooks) beside socket.io-client, centrifuge, replicache and
// react-use-websocket, each bundled from npm by esbuild (--bundle --minify --format=esm, React
// external), measured raw, gzip -9 and brotli (quality 11).
//
// usage: node bundle.mjs --tether-entry FILE --tether-wasm FILE --out FILE [--tether-source TEXT]
//   --tether-entry  the package's JS entry (dist/index.js of target/npm/tether-sync, or the
//                   TypeScript sources' src/index.ts with src/wasm/ beside them)
//   --tether-wasm   the release tether_bg.wasm (wasm-opt applied)
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i > 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  console.error(`bundle.mjs: missing ${name}`);
  process.exit(2);
}

const EXTERNAL = ["react", "react-dom", "react/jsx-runtime", "react-dom/client"];

/** Sizes of a byte buffer: raw, gzip -9, brotli quality 11. */
function sizes(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }).length,
  };
}

/** esbuild --bundle --minify --format=esm of `contents` (resolved from `resolveDir`). */
async function bundle(contents, resolveDir, loader = "js") {
  const result = await esbuild.build({
    stdin: { contents, resolveDir, loader, sourcefile: "entry" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    external: EXTERNAL,
    write: false,
    logLevel: "error",
    legalComments: "none",
  });
  if (result.outputFiles.length !== 1) throw new Error("expected one output file");
  return Buffer.from(result.outputFiles[0].contents);
}

function total(parts) {
  const t = { raw: 0, gzip: 0, brotli: 0 };
  for (const p of parts) for (const k of Object.keys(t)) t[k] += p[k];
  return t;
}

const PEERS = [
  { name: "socket.io-client", entry: 'export * from "socket.io-client"; export { default } from "socket.io-client";' },
  { name: "centrifuge", entry: 'export * from "centrifuge";' },
  { name: "replicache", entry: 'export * from "replicache";' },
  { name: "react-use-websocket", entry: 'export * from "react-use-websocket"; export { default } from "react-use-websocket";' },
];

function versionOf(name) {
  return JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8")).version;
}

const tetherEntry = resolve(arg("--tether-entry"));
const tetherWasm = resolve(arg("--tether-wasm"));
const out = resolve(arg("--out"));
const source = arg("--tether-source", tetherEntry);

const libraries = [];

const tetherJs = await bundle(
  `export * from ${JSON.stringify(tetherEntry)};`,
  dirname(tetherEntry),
);
const wasmBytes = readFileSync(tetherWasm);
const tetherParts = [
  { name: "js (hooks + wasm-bindgen glue, esbuild)", ...sizes(tetherJs) },
  { name: "wasm (release, wasm-opt)", ...sizes(wasmBytes) },
];
libraries.push({
  name: "tether-sync",
  version: "workspace",
  source,
  parts: tetherParts,
  ...total(tetherParts),
});

for (const peer of PEERS) {
  const bytes = await bundle(peer.entry, here);
  libraries.push({ name: peer.name, version: versionOf(peer.name), ...sizes(bytes) });
}

const result = {
  tool: { esbuild: esbuild.version, node: process.version, flags: "--bundle --minify --format=esm --external:react" },
  libraries,
};
writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
for (const lib of libraries) {
  console.error(`[bundle] ${lib.name}@${lib.version}: ${lib.raw} B raw, ${lib.gzip} B gzip, ${lib.brotli} B brotli`);
}
