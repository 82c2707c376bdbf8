#!/usr/bin/env bash
# A brand-new Vite + React app installs tether-sync from the packed tarball
# (`npm install <tarball>`) and builds with no extra configuration.
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
cat >main.jsx <<'JSX'
import { createRoot } from "react-dom/client";
import { TetherProvider, useRealtimeUpdates, useWebSocket } from "tether-sync";

function Tasks() {
  const { data, insert } = useRealtimeUpdates("tasks");
  const { status } = useWebSocket();
  return (
    <div>
      <p>{status}</p>
      <button onClick={() => insert({ title: "new" })}>add</button>
      <ul>{data.map((t) => <li key={t.id}>{t.title}</li>)}</ul>
    </div>
  );
}

createRoot(document.getElementById("root")).render(
  <TetherProvider url="ws://127.0.0.1:8080/ws"><Tasks /></TetherProvider>,
);
JSX
# shellcheck disable=SC2086  # word splitting of the version list is intended
npm install --no-audit --no-fund $versions "$tarball"
npx vite build
wasm="$(find dist -name '*.wasm' | head -n 1)"
[[ -n "$wasm" ]] || { echo "fresh app: the build has no .wasm asset" >&2; exit 1; }
echo "fresh-app check passed: vite build emitted $(basename "$wasm") ($(wc -c <"$wasm") bytes)"
