// What a user's bundler ships for tether-sync, measured one way for both the CI budget (package
// suite) and `make bench` (bench/peers/bundle.mjs): the package's JS entry (React hooks +
// wasm-bindgen glue) bundled by esbuild (--bundle --minify --format=esm, React external), plus the
// release `.wasm` (wasm-opt applied), each raw, gzip -9 and brotli (quality 11).
//
// As a command it checks the staged npm package against the budget recorded in the repository:
//   node scripts/bundle-size.mjs --check pkg-template/size-budget.json target/npm/tether-sync
// and exits 1 when the gzip total exceeds it. The budget is a deterministic size, not a timing.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import * as esbuild from "esbuild";

/** Packages a user's app provides itself (peer dependencies), never counted. */
export const EXTERNAL = ["react", "react-dom", "react/jsx-runtime", "react-dom/client"];

/** Sizes of a byte buffer: raw, gzip -9, brotli quality 11. */
export function sizes(bytes) {
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
export async function bundle(contents, resolveDir, loader = "js") {
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

/** Sums the raw, gzip and brotli figures of `parts`. */
export function total(parts) {
  const t = { raw: 0, gzip: 0, brotli: 0 };
  for (const p of parts) for (const k of Object.keys(t)) t[k] += p[k];
  return t;
}

/** Tether's shipped parts: the bundled JS of `entry` and the `.wasm` at `wasm`. */
export async function tetherParts(entry, wasm) {
  const js = await bundle(`export * from ${JSON.stringify(resolve(entry))};`, dirname(resolve(entry)));
  return [
    { name: "js (hooks + wasm-bindgen glue, esbuild)", ...sizes(js) },
    { name: "wasm (release, wasm-opt)", ...sizes(readFileSync(wasm)) },
  ];
}

/** `esbuild`'s version, for reports. */
export const esbuildVersion = esbuild.version;

async function check(budgetFile, stage) {
  const budget = JSON.parse(readFileSync(budgetFile, "utf8"));
  const parts = await tetherParts(join(stage, "dist/index.js"), join(stage, "dist/wasm/tether_bg.wasm"));
  const sum = total(parts);
  for (const p of parts) console.log(`bundle: ${p.name}: ${p.raw} B raw, ${p.gzip} B gzip, ${p.brotli} B brotli`);
  console.log(`bundle: total ${sum.raw} B raw, ${sum.gzip} B gzip -9 (budget ${budget.gzip_bytes} B), ${sum.brotli} B brotli`);
  if (sum.gzip > budget.gzip_bytes) {
    console.error(
      `bundle: ${sum.gzip} B gzip is over the budget of ${budget.gzip_bytes} B in ${budgetFile}. ` +
        "Find what grew (make bench prints the twiggy breakdown by crate) and shrink it; raise " +
        "the budget only for bytes that earn their place, and say why in the commit.",
    );
    process.exit(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--check");
  if (i < 0 || process.argv.length < i + 3) {
    console.error("usage: node scripts/bundle-size.mjs --check BUDGET_JSON STAGED_PACKAGE_DIR");
    process.exit(2);
  }
  await check(process.argv[i + 1], process.argv[i + 2]);
}
