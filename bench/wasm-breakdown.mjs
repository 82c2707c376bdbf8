// What dominates Tether's WASM: `twiggy top` of the release build *before* wasm-bindgen and
// wasm-opt (it still has function names), grouped by crate. Sizes there are larger than the
// shipped file, so the table gives each crate's share of the code and data, which carries over.
//
// usage: node wasm-breakdown.mjs NAMED_WASM OUT_JSON
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

const [wasm, out] = process.argv.slice(2);
const rows = JSON.parse(
  execFileSync("twiggy", ["top", "-n", "10000000", "--format", "json", wasm], {
    maxBuffer: 1 << 30,
    encoding: "utf8",
  }),
);

/** The crate an item belongs to (for trait impls and generics: the first path named). */
function crateOf(name) {
  if (name.startsWith("data segment")) return "(static data)";
  if (name.startsWith("custom section") || name.includes("subsection")) return null; // not shipped
  // wasm-bindgen's describe functions (and their exports) are removed by wasm-bindgen.
  if (name.startsWith("export ") || name.startsWith("__wbindgen_describe")) return null;
  if (/^(type|import|elem|table|memory|global|code)\b/.test(name)) return "(wasm tables, imports)";
  const m = /^[<&\s]*(?:dyn\s+|mut\s+)?([A-Za-z_][A-Za-z0-9_]*)(?:\[[0-9a-f]+\])?::/.exec(name);
  if (m) return m[1];
  // `<u64 as core::fmt::Display>::fmt`: a primitive's impl belongs to the trait's crate.
  const t = / as (?:dyn\s+)?([A-Za-z_][A-Za-z0-9_]*)(?:\[[0-9a-f]+\])?::/.exec(name);
  if (t) return t[1];
  if (/^<(?:str|char|bool|[iuf](?:8|16|32|64|128|size))>::/.test(name)) return "core";
  if (name.startsWith("__wbg") || name.startsWith("__wbindgen") || name.startsWith("__externref")) {
    return "wasm_bindgen";
  }
  return "(other)";
}

const byCrate = new Map();
let shipped = 0;
for (const row of rows) {
  const crate = crateOf(row.name);
  if (crate === null) continue;
  shipped += row.shallow_size;
  const entry = byCrate.get(crate) ?? { crate, bytes: 0, items: 0, largest: null };
  entry.bytes += row.shallow_size;
  entry.items += 1;
  if (!entry.largest || row.shallow_size > entry.largest.bytes) {
    entry.largest = { name: row.name.replace(/::h[0-9a-f]{16}$/, ""), bytes: row.shallow_size };
  }
  byCrate.set(crate, entry);
}
const crates = [...byCrate.values()]
  .sort((a, b) => b.bytes - a.bytes)
  .map((c) => ({ ...c, share: c.bytes / shipped }));
writeFileSync(out, JSON.stringify({ wasm, code_and_data_bytes: shipped, crates }, null, 2) + "\n");
