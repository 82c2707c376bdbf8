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
import { bundle, esbuildVersion, sizes, tetherParts, total } from "../../scripts/bundle-size.mjs";

const here = dirname(fileURLToPath(import.meta.url));

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i > 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  console.error(`bundle.mjs: missing ${name}`);
  process.exit(2);
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

const tetherPartsMeasured = await tetherParts(tetherEntry, tetherWasm);
libraries.push({
  name: "tether-sync",
  version: "workspace",
  source,
  parts: tetherPartsMeasured,
  ...total(tetherPartsMeasured),
});

for (const peer of PEERS) {
  const bytes = await bundle(peer.entry, here);
  libraries.push({ name: peer.name, version: versionOf(peer.name), ...sizes(bytes) });
}

const result = {
  tool: { esbuild: esbuildVersion, node: process.version, flags: "--bundle --minify --format=esm --external:react" },
  libraries,
};
writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
for (const lib of libraries) {
  console.error(`[bundle] ${lib.name}@${lib.version}: ${lib.raw} B raw, ${lib.gzip} B gzip, ${lib.brotli} B brotli`);
}
