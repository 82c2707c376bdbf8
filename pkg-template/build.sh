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
# The client's start, at a path of its own: the loader starts it while the module loads.
start_js=$(cd js/src/wasm && find snippets -path '*/src/shell/db/start.js' | head -n 1)
[[ -n "$start_js" ]] || { echo "build.sh: the glue's snippets hold no src/shell/db/start.js" >&2; exit 1; }
printf 'export { bootEarly, bootCancel } from "./%s";\n' "$start_js" > js/src/wasm/boot.js
cat > js/src/wasm/boot.d.ts <<'TS'
/** Starts a client's start (database open, id claim, partition read) ahead of the module. */
export function bootEarly(name: string, wantDb: boolean): void;
/** Undoes a `bootEarly` that no client took. */
export function bootCancel(name: string, wantDb: boolean): Promise<void>;
TS
# The page's fault switches (the devtools' and the status's way to them).
socket_js=$(cd js/src/wasm && find snippets -path '*/src/shell/socket.js' | head -n 1)
[[ -n "$socket_js" ]] || { echo "build.sh: the glue's snippets hold no src/shell/socket.js" >&2; exit 1; }
printf 'export { activeFaults, faultsChanged, installFaults, openSockets, watchFaults } from "./%s";\n' "$socket_js" > js/src/wasm/faults.js
cat > js/src/wasm/faults.d.ts <<'TS'
/** A socket of the page (src/shell/socket.js). */
export interface PageSocket {
  /** Hands what the browser reported to the engine: null (opened), a frame, a close code. */
  deliver(value: string | number | null): void;
  /** Ends it as a lost connection would (the engine hears 1006). */
  kill(): void;
  /** True once it closed or was killed. */
  readonly ended: boolean;
}
/** What the devtools install to act on every socket and IndexedDB write of the page. */
export interface FaultHooks {
  offline(): boolean;
  receive(socket: PageSocket, value: string | number | null): void;
  failWrite(): boolean;
  active(): string[];
}
/** Installs the fault hooks (null removes them). */
export function installFaults(hooks: FaultHooks | null): void;
/** Tells the status that the switches changed. */
export function faultsChanged(): void;
/** The names of the switches that are on. */
export function activeFaults(): string[];
/** Calls `watcher` with the switches that are on after every change; returns the undo. */
export function watchFaults(watcher: (on: string[]) => void): () => void;
/** The page's sockets that have not ended. */
export function openSockets(): PageSocket[];
TS
(cd js && { [ -d node_modules ] || npm ci --no-audit --no-fund >&2; } && npx tsc -p tsconfig.build.json >&2)

echo "== assemble $stage"
rm -rf "$stage" && mkdir -p "$stage/dist/wasm"
cp -r js/dist/. "$stage/dist/"
cp js/src/ui/ui.css "$stage/dist/ui/"
cp "$wasm_out"/tether.js "$wasm_out"/tether.d.ts "$wasm_out"/tether_bg.wasm "$stage/dist/wasm/"
cp js/src/wasm/boot.js js/src/wasm/boot.d.ts js/src/wasm/faults.js js/src/wasm/faults.d.ts "$stage/dist/wasm/"
[[ -d "$wasm_out/snippets" ]] && cp -r "$wasm_out/snippets" "$stage/dist/wasm/"
cp pkg-template/README.md "$stage/"
sed "s/0.0.0-filled-by-build/$version/" pkg-template/package.json > "$stage/package.json"

echo "== npm pack"
tarball=$(cd "$root/target/npm" && npm pack ./tether-sync --silent 2>/dev/null | tail -n 1)
echo "$root/target/npm/$tarball"
