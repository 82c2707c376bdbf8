#!/usr/bin/env bash
# Install everything the workspace needs that is missing; skip what is present.
#
# Idempotent and non-interactive: safe to run on every `make test` / `make demo`; a repeat run
# only checks versions. As root it installs Debian packages with apt-get; otherwise it prints the
# exact command to run and stops. Cargo tools go to ~/.cargo/bin. Timings: shared TOOLCHAIN notes.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TETHER_ROOT"

started=$SECONDS
is_root=0
[[ "$(id -u)" == 0 ]] && is_root=1

# --- Rust ----------------------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 || ! command -v rustup >/dev/null 2>&1; then
  die "Rust is not installed (cargo and rustup not found). Install Rust with rustup (the official
       installer), then run this again. Minimum version: see rust-version in Cargo.toml."
fi
rust_min="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
rust_have="$(rustc --version | awk '{print $2}')"
if [[ "$(printf '%s\n%s\n' "$rust_min" "$rust_have" | sort -V | head -n1)" != "$rust_min" ]]; then
  die "rustc $rust_have is older than the workspace's rust-version $rust_min: run 'rustup update'."
fi
log "rustc $rust_have (>= $rust_min)"

installed_components="$(rustup component list --installed 2>/dev/null || true)"
for component in rustfmt clippy; do
  if ! grep -q "^$component" <<<"$installed_components"; then
    log "installing rustup component $component"
    rustup component add "$component"
  fi
done
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "installing rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# --- Debian packages -----------------------------------------------------------------------------
# command -> package that provides it.
apt_missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || apt_missing+=("$2"); }
need_cmd cc build-essential
need_cmd make make
need_cmd git git
need_cmd node nodejs
need_cmd npm npm
[[ -x "$TETHER_CHROMIUM" ]] || command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
[[ -n "${CHROMEDRIVER:-}" && -x "${CHROMEDRIVER:-}" ]] || apt_missing+=(chromium-driver)
# PostgreSQL's server programs (initdb, pg_ctl) for the postgres suite (scripts/services.sh
# runs a throw-away cluster; no system service is used). Debian keeps them in
# /usr/lib/postgresql/N/bin, off PATH.
command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ||
  apt_missing+=(postgresql)
# redis-server for the cluster suite (scripts/services.sh runs a throw-away one on loopback;
# no system service is used).
command -v redis-server >/dev/null 2>&1 || apt_missing+=(redis-server)
# HAProxy for `make demo-cluster` and the cluster suite's load-balancer test (started on
# loopback with a config of its own; no system service is used).
command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]] || apt_missing+=(haproxy)

if ((${#apt_missing[@]})); then
  if [[ $is_root == 1 ]] && command -v apt-get >/dev/null 2>&1; then
    log "apt-get install ${apt_missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q </dev/null
    apt-get install -y -q --no-install-recommends "${apt_missing[@]}" </dev/null
  else
    die "missing system packages: ${apt_missing[*]}. Install them, then run this again:
       sudo apt-get update && sudo apt-get install -y ${apt_missing[*]}"
  fi
  # Pick up the freshly installed chromedriver.
  source "$TETHER_ROOT/scripts/env.sh"
fi

chromium_bin="$TETHER_CHROMIUM"
[[ -x "$chromium_bin" ]] || chromium_bin="$(command -v chromium)"
chromium_major="$("$chromium_bin" --version 2>/dev/null | grep -oE '[0-9]+' | head -n1 || true)"
driver_major="$("$CHROMEDRIVER" --version 2>/dev/null | grep -oE '[0-9]+' | head -n1 || true)"
if [[ -z "$chromium_major" || "$chromium_major" != "$driver_major" ]]; then
  die "chromium ($chromium_major) and chromedriver ($driver_major) majors differ or are unreadable;
       install both from the same source: apt-get install -y chromium chromium-driver"
fi
log "chromium $chromium_major, chromedriver at $CHROMEDRIVER"

# --- Node and npm dependencies -------------------------------------------------------------------
node_major="$(node --version | sed 's/^v\([0-9]*\).*/\1/')"
if { in_project js/package.json || in_project examples/kanban/package.json; } &&
  ((node_major < NODE_MIN_MAJOR)); then
  die "Node $(node --version) is too old for the JS packages: install Node >= $NODE_MIN_MAJOR."
elif ((node_major < 18)); then
  die "Node $(node --version) is too old: install Node >= $NODE_MIN_MAJOR."
fi
log "node $(node --version), npm $(npm --version 2>/dev/null)"

# `npm ci` from each committed lockfile, skipped while the lockfile is unchanged.
npm_ci() {
  local dir="$1"
  in_project "$dir/package.json" || return 0
  in_project "$dir/package-lock.json" || die "$dir/package.json has no committed package-lock.json"
  local want stamp="$dir/node_modules/.tether-npm-ci"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  log "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  printf '%s\n' "$want" >"$stamp"
}
npm_ci .
npm_ci js
npm_ci examples/kanban
command -v wasm-opt >/dev/null 2>&1 || die "wasm-opt not found after npm ci (npm package binaryen)"
log "$(wasm-opt --version) from npm binaryen"

# --- Cargo-installed tools -----------------------------------------------------------------------
version_of() { "$1" --version 2>/dev/null | awk '{print $2}' || true; }

if [[ "$(version_of wasm-pack)" != "$WASM_PACK_VERSION" ]]; then
  log "cargo install wasm-pack $WASM_PACK_VERSION (a few minutes)"
  cargo install wasm-pack --locked --version "$WASM_PACK_VERSION"
fi
log "wasm-pack $(version_of wasm-pack)"

wb_version="$(wasm_bindgen_version)"
[[ -n "$wb_version" ]] || die "no wasm-bindgen package in Cargo.lock"
if [[ "$(version_of wasm-bindgen)" != "$wb_version" ||
  "$(version_of wasm-bindgen-test-runner)" != "$wb_version" ]]; then
  log "cargo install wasm-bindgen-cli $wb_version (matches Cargo.lock; a few minutes)"
  # The crate's published lockfile can pin a dependency version the registry no longer serves;
  # then resolve the dependencies afresh (same wasm-bindgen-cli version).
  if ! cargo install wasm-bindgen-cli --locked --version "$wb_version"; then
    warn "locked install failed; retrying with freshly resolved dependencies"
    cargo install wasm-bindgen-cli --version "$wb_version"
  fi
fi
log "wasm-bindgen $(version_of wasm-bindgen) (Cargo.lock: $wb_version)"

log "bootstrap done in $((SECONDS - started))s"
