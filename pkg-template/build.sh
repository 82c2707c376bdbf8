#!/usr/bin/env bash
# Builds the npm package `tether-sync` into target/npm/: the release WASM (wasm-pack, wasm-opt)
# plus the compiled React layer, assembled with this template, then packed with `npm pack`.
# Prints the tarball's path on the last line.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
wasm_out="$root/target/wasm-pkg"
stage="$root/target/npm/tether-sync"

echo "== wasm-pack build --release --target web"
# Snippets of an earlier build (another crate hash) must not ship with this one.
rm -rf "$wasm_out/snippets"
wasm-pack build --release --target web --out-dir "$wasm_out" --out-name tether --no-pack . >&2

echo "== React layer (tsc)"
rm -rf js/src/wasm js/dist
mkdir -p js/src/wasm
cp "$wasm_out"/tether.js "$wasm_out"/tether.d.ts "$wasm_out"/tether_bg.wasm js/src/wasm/
# The shell's JavaScript modules (src/shell/**/*.js), which the glue imports from snippets/.
[[ -d "$wasm_out/snippets" ]] && cp -r "$wasm_out/snippets" js/src/wasm/
(cd js && { [ -d node_modules ] || npm ci --no-audit --no-fund >&2; } && npx tsc -p tsconfig.build.json >&2)

echo "== assemble $stage"
rm -rf "$stage" && mkdir -p "$stage/dist/wasm"
cp -r js/dist/. "$stage/dist/"
cp js/src/ui/ui.css "$stage/dist/ui/"
cp "$wasm_out"/tether.js "$wasm_out"/tether.d.ts "$wasm_out"/tether_bg.wasm "$stage/dist/wasm/"
[[ -d "$wasm_out/snippets" ]] && cp -r "$wasm_out/snippets" "$stage/dist/wasm/"
cp pkg-template/README.md "$stage/"
sed "s/0.0.0-filled-by-build/$version/" pkg-template/package.json > "$stage/package.json"

echo "== npm pack"
tarball=$(cd "$root/target/npm" && npm pack ./tether-sync --silent 2>/dev/null | tail -n 1)
echo "$root/target/npm/$tarball"
