# Sourced by the other scripts: paths and tool locations shared by bootstrap, test and demo.
# shellcheck shell=bash

TETHER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TETHER_ROOT

# Pinned tool versions. wasm-bindgen-cli is not pinned here: it must equal the wasm-bindgen
# version in Cargo.lock, read by `wasm_bindgen_version` below.
# shellcheck disable=SC2034  # used by bootstrap.sh
WASM_PACK_VERSION="0.15.1"
# Node major needed by the JS tooling (Vite/Vitest, playwright-core).
# shellcheck disable=SC2034  # used by bootstrap.sh
NODE_MIN_MAJOR=20

# cargo-installed tools, and wasm-opt from the npm package `binaryen` (wasm-pack finds it on PATH
# and optimises release builds with it; its own download of binaryen does not work here).
export PATH="$TETHER_ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# The Debian chromedriver, so no tool tries to download its own.
if [[ -z "${CHROMEDRIVER:-}" ]]; then
  if [[ -x /usr/bin/chromedriver ]]; then
    export CHROMEDRIVER=/usr/bin/chromedriver
  elif command -v chromedriver >/dev/null 2>&1; then
    CHROMEDRIVER="$(command -v chromedriver)"
    export CHROMEDRIVER
  fi
fi
# The Debian chromium, for playwright-core (`executablePath`) and for information.
export TETHER_CHROMIUM="${TETHER_CHROMIUM:-/usr/bin/chromium}"

# Colourless, line-oriented logs in CI.
if [[ -n "${CI:-}" ]]; then
  export CARGO_TERM_COLOR=never
fi

log() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# The exact wasm-bindgen version in Cargo.lock (wasm-bindgen-cli must match it).
wasm_bindgen_version() {
  awk '
    /^\[\[package\]\]/ { name = "" }
    /^name = "wasm-bindgen"$/ { name = "wasm-bindgen" }
    name == "wasm-bindgen" && /^version = / { gsub(/"/, "", $3); print $3; exit }
  ' "$TETHER_ROOT/Cargo.lock"
}

# --- The reference server (used by `make demo` and by suites that need a live server) ----------

# True when the workspace has the `tether-server` binary target.
server_bin_exists() {
  cargo metadata --no-deps --format-version 1 2>/dev/null | node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const pkgs = JSON.parse(s || "{}").packages || [];
      const ok = pkgs.some((p) => p.name === "tether-server" &&
        p.targets.some((t) => t.kind.includes("bin") && t.name === "tether-server"));
      process.exit(ok ? 0 : 1);
    });'
}

# Print a free TCP port on 127.0.0.1.
free_port() {
  node -e 'const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Succeeds when GET $1 answers 2xx.
http_ok() {
  node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"
}

# wait_healthy URL PID SECONDS: poll URL until it answers, the process dies, or time runs out.
wait_healthy() {
  local url="$1" pid="$2" deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || return 1
    http_ok "$url" && return 0
    sleep 0.3
  done
  return 1
}

# True when PATH (relative to the root) is part of the project: tracked by git in a git checkout
# (so files another change has not committed yet do not count), or simply present otherwise.
in_project() {
  if git -C "$TETHER_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    [[ -n "$(git -C "$TETHER_ROOT" ls-files -- "$1")" ]]
  else
    [[ -e "$TETHER_ROOT/$1" ]]
  fi
}

# True when DIR/package.json defines the npm script NAME.
npm_script_exists() {
  node -e 'const p = require(require("path").resolve(process.argv[1], "package.json"));
    process.exit(p.scripts && p.scripts[process.argv[2]] ? 0 : 1);' "$1" "$2"
}

# --- The npm package and the example app (used by `make demo` and the e2e suite) -------------

# Path of the packed npm package built by pkg-template/build.sh.
package_tarball() {
  local version
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$TETHER_ROOT/Cargo.toml" | head -n 1)"
  printf '%s\n' "$TETHER_ROOT/target/npm/tether-sync-$version.tgz"
}

# Installs the example's dependencies and the packed tether-sync tarball (not source paths),
# type-checks and builds it into examples/kanban/dist.
build_example() {
  local dir="$TETHER_ROOT/examples/kanban" tarball
  tarball="$(package_tarball)"
  [[ -f "$tarball" ]] || die "no npm package at $tarball: run pkg-template/build.sh first"
  (cd "$dir" && npm ci --no-audit --no-fund &&
    npm install --no-save --no-audit --no-fund "$tarball" &&
    npx tsc -p tsconfig.json && npx vite build)
}
