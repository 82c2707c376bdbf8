#!/usr/bin/env bash
# A brand-new Vite + React app installs tether-sync from the packed tarball
# (`npm install <tarball>`) and builds; an app of the main entry alone ships no offline shell
# code. Then it applies the offline app shell recipe of the package README
# (the Vite plugin + registerOfflineShell) and builds; then, served by the reference server
# (TETHER_SERVER_BIN, default target/debug/tether-server) in headless Chromium (the example's
# playwright-core), it loads online, reloads with no network and shows its cached rows and its
# pending write, which reaches the server once back online; a new deployment (rebuilt with
# another heading) is shown at the next online load, replaces the cached version (the old cache
# deleted) and is what loads offline from then on.
#   examples/fresh-app-check.sh target/npm/tether-sync-<version>.tgz
set -euo pipefail
tarball="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app="$(mktemp -d "${TMPDIR:-/tmp}/tether-fresh-app.XXXXXX")"
trap 'rm -rf "$app"' EXIT

# The same React and Vite versions as the example.
versions="$(node -e '
  const p = require(process.argv[1]);
  const all = { ...p.dependencies, ...p.devDependencies };
  console.log(["react", "react-dom", "vite"].map((n) => `${n}@${all[n]}`).join(" "));
' "$here/kanban/package.json")"

cd "$app"
cat >package.json <<'JSON'
{ "name": "fresh-tether-app", "private": true, "type": "module", "scripts": { "build": "vite build" } }
JSON
cat >index.html <<'HTML'
<!doctype html>
<html><body><div id="root"></div><script type="module" src="/main.jsx"></script></body></html>
HTML
# First without the recipe: the main entry alone ships no offline code (separate entry).
cat >main.jsx <<'JSX'
import { createRoot } from "react-dom/client";
import { TetherProvider, useRealtimeUpdates } from "tether-sync";

function Tasks() {
  const { data } = useRealtimeUpdates("tasks");
  return <ul>{data.map((t) => <li key={t.id}>{t.title}</li>)}</ul>;
}

createRoot(document.getElementById("root")).render(
  <TetherProvider url={`ws://${location.host}/ws`}><Tasks /></TetherProvider>,
);
JSX
# shellcheck disable=SC2086  # word splitting of the version list is intended
npm install --no-audit --no-fund $versions "$tarball"
npx vite build
if [[ -e dist/tether-sw.js ]] || grep -rlq serviceWorker dist; then
  echo "fresh app: an app without tether-sync/offline ships offline shell code" >&2
  exit 1
fi

# The offline app shell, as the package README's "Offline app shell" section says.
cat >vite.config.js <<'JS'
import { defineConfig } from "vite";
import { tetherOfflineShell } from "tether-sync/offline/vite";

export default defineConfig({
  plugins: [tetherOfflineShell()],
  optimizeDeps: { exclude: ["tether-sync"] },
});
JS
cat >main.jsx <<'JSX'
import { createRoot } from "react-dom/client";
import { TetherProvider, useBackgroundSync, useRealtimeUpdates, useWebSocket } from "tether-sync";
import { registerOfflineShell } from "tether-sync/offline";

window.offlineShell = registerOfflineShell({
  url: `${import.meta.env.BASE_URL}tether-sw.js`,
  enabled: import.meta.env.PROD,
});

function Tasks() {
  const { data, insert } = useRealtimeUpdates("tasks");
  const { status } = useWebSocket();
  const { pendingCount } = useBackgroundSync();
  return (
    <div>
      <h1>build v1</h1>
      <p id="status">{status}</p>
      <p id="pending">{pendingCount} pending</p>
      <button onClick={() => insert({ title: `task ${data.length + 1}` })}>add</button>
      <ul>{data.map((t) => <li key={t.id}>{t.title}</li>)}</ul>
    </div>
  );
}

createRoot(document.getElementById("root")).render(
  <TetherProvider url={`ws://${location.host}/ws`}><Tasks /></TetherProvider>,
);
JSX
npx vite build
wasm="$(find dist -name '*.wasm' | head -n 1)"
[[ -n "$wasm" ]] || { echo "fresh app: the build has no .wasm asset" >&2; exit 1; }
[[ -f dist/tether-sw.js ]] || { echo "fresh app: the build has no dist/tether-sw.js" >&2; exit 1; }
grep -qF "$(basename "$wasm")" dist/tether-sw.js ||
  { echo "fresh app: tether-sw.js does not precache $(basename "$wasm")" >&2; exit 1; }

# The offline reload, in a real browser against the real server.
server_bin="${TETHER_SERVER_BIN:-${CARGO_TARGET_DIR:-$here/../target}/debug/tether-server}"
[[ -x "$server_bin" ]] || { echo "fresh app: no tether-server binary at $server_bin" >&2; exit 1; }
node "$here/fresh-app-offline.mjs" "$server_bin" "$app/dist" "$here/kanban/node_modules/playwright-core/index.mjs"
echo "fresh-app check passed: vite build emitted $(basename "$wasm") ($(wc -c <"$wasm") bytes)" \
  "and tether-sw.js; an offline reload showed the cached rows and the pending write; a new" \
  "deployment replaced the cached version"
