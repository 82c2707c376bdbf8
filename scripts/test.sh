#!/usr/bin/env bash
# Run the test suites. `scripts/test.sh all` (what `make test` runs after the bootstrap) runs
# every suite in order and stops at the first failure; `scripts/test.sh SUITE...` runs some.
#
# Suites: fmt clippy clippy-wasm native postgres cluster browser package js e2e bench
# A suite whose code does not exist yet (js/, examples/kanban/ not in git) is skipped with a
# message; it is never faked. Once the code is committed the suite runs and must pass.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=scripts/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/services.sh"
cd "$TETHER_ROOT"

ALL_SUITES=(fmt clippy clippy-wasm native postgres cluster browser package js e2e bench)
ran=()
skipped=()

# The browser tests that talk to a live reference server read its URLs at compile time
# (option_env!("TETHER_TEST_SERVER_URL"), option_env!("TETHER_TEST_CONTROL_URL")); the browser
# suite starts the server first when any file in tests/ does that.
browser_tests_need_server() { grep -rqs TETHER_TEST_SERVER_URL "$TETHER_ROOT/tests"; }

# --- hook: a reference server on loopback ports for the suites that need one ---------------------
server_pid=""
stop_reference_server() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
stop_services() {
  stop_reference_server
  stop_redis
  stop_postgres
}
trap stop_services EXIT

# Start tether-server (dev mode, a fresh SQLite file) on a free 127.0.0.1 port and export
#   TETHER_TEST_SERVER_URL   ws://127.0.0.1:PORT/ws
#   TETHER_TEST_SERVER_HTTP  http://127.0.0.1:PORT
#   TETHER_TEST_CONTROL_URL  http://127.0.0.1:CPORT  (only with the supervisor, see below)
# With tests/browser/support/server-supervisor.mjs present, the server runs under that supervisor, whose
# control port lets browser tests stop, start, restart and wipe the server.
start_reference_server() {
  [[ -z "$server_pid" ]] || return 0
  server_bin_exists || die "this suite needs the reference server, but the workspace has no
       tether-server binary"
  # The dev build: `cargo test --workspace` has already compiled most of it, while the
  # optimised `server` profile would cost minutes of CI time for no test benefit. With
  # REFERENCE_SERVER_FEATURES (the browser suite: `cluster`) the binary has those features; the
  # cluster suite, earlier in `all`, has compiled that build already.
  cargo build -p tether-server ${REFERENCE_SERVER_FEATURES:+--features "$REFERENCE_SERVER_FEATURES"}
  local bin="${CARGO_TARGET_DIR:-$TETHER_ROOT/target}/debug/tether-server"
  local port dir supervisor="$TETHER_ROOT/tests/browser/support/server-supervisor.mjs"
  port="$(free_port)"
  dir="$(mktemp -d "${TMPDIR:-/tmp}/tether-test-server.XXXXXX")"
  export TETHER_TEST_SERVER_URL="ws://127.0.0.1:$port/ws"
  export TETHER_TEST_SERVER_HTTP="http://127.0.0.1:$port"
  if [[ -f "$supervisor" ]]; then
    local cport
    cport="$(free_port)"
    node "$supervisor" "$bin" "$dir/test.sqlite3" "$port" "$cport" >"$dir/server.log" 2>&1 &
    server_pid=$!
    export TETHER_TEST_CONTROL_URL="http://127.0.0.1:$cport"
    if ! wait_healthy "$TETHER_TEST_CONTROL_URL/status" "$server_pid" 60 ||
      ! http_ok "$TETHER_TEST_SERVER_HTTP/healthz"; then
      cat "$dir/server.log" >&2
      die "reference server (supervised) did not become ready on 127.0.0.1:$port (log above)"
    fi
    log "reference server on 127.0.0.1:$port, supervisor control on 127.0.0.1:$cport" \
      "(pid $server_pid, log $dir/server.log)"
  else
    "$bin" --bind "127.0.0.1:$port" --db "$dir/test.sqlite3" --dev >"$dir/server.log" 2>&1 &
    server_pid=$!
    if ! wait_healthy "$TETHER_TEST_SERVER_HTTP/healthz" "$server_pid" 30; then
      cat "$dir/server.log" >&2
      die "reference server did not become healthy on 127.0.0.1:$port (log above)"
    fi
    log "reference server on 127.0.0.1:$port (pid $server_pid, log $dir/server.log)"
  fi
}

# --- suites ---------------------------------------------------------------------------------------
suite_fmt() { cargo fmt --all --check; }

suite_clippy() { cargo clippy --workspace --all-targets -- -D warnings; }

# The root crate as the browser sees it, including its wasm-only browser tests.
suite_clippy-wasm() {
  cargo clippy -p tether --target wasm32-unknown-unknown --all-targets -- -D warnings
}

suite_native() { cargo test --workspace; }

# The PostgreSQL store (feature `postgres` of tether-server): a throw-away PostgreSQL on a free
# loopback port (scripts/services.sh, stopped again by PID when the suite ends, also on failure),
# then clippy with the feature, the server crate's tests with it (the store conformance suite on
# memory, SQLite and PostgreSQL) and the integration suite a second time, on PostgreSQL
# (TETHER_TEST_STORE=postgres: a fresh database per test).
suite_postgres() {
  cargo clippy -p tether-server --all-targets --features postgres -- -D warnings
  start_postgres
  TETHER_TEST_STORE=postgres cargo test -p tether-server --features postgres
  stop_postgres
}

# Cluster mode (feature `cluster` of tether-server, CLUSTER.md): a throw-away PostgreSQL and
# Redis on loopback (scripts/services.sh, stopped by PID when the suite ends, also on failure),
# clippy with the feature, then the cluster tests (crates/server/tests/cluster/): several real
# tether-server processes on one database and one Redis, real WebSocket clients. A test that
# kills and restarts Redis starts its own redis-server.
suite_cluster() {
  cargo clippy -p tether-server --all-targets --features cluster -- -D warnings
  start_postgres
  start_redis
  cargo test -p tether-server --features cluster --test cluster
  stop_redis
  stop_postgres
}

# The benchmark harness in smoke mode (tiny sizes, see bench/run.sh): fails unless every part
# produced numbers; how fast they are is never checked here.
suite_bench() { BENCH_SMOKE=1 "$TETHER_ROOT/bench/run.sh"; }

# wasm-bindgen-test in headless Chromium (tests/*.rs of the root crate). Fails if no test ran.
# The reference server is built with the feature `cluster`, and a throw-away PostgreSQL and
# Redis run for the suite (scripts/services.sh, stopped by PID), so that the supervisor can
# start two cluster nodes for the tests that ask (tests/browser/client_failover_between_nodes.rs).
suite_browser() {
  if browser_tests_need_server; then
    start_postgres
    start_redis
    REFERENCE_SERVER_FEATURES=cluster start_reference_server
  fi
  local out
  out="$(mktemp)"
  # The runner gives the whole page 20 s by default, and the suite takes about that already:
  # a bound of its own, well above it (each test has bounded waits of its own).
  WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}" \
    wasm-pack test --headless --chrome --chromedriver "$CHROMEDRIVER" "$TETHER_ROOT" 2>&1 |
    tee "$out"
  local passed
  passed="$(grep -oE 'test result: ok\. [0-9]+ passed' "$out" | awk '{s += $4} END {print s + 0}')"
  rm -f "$out"
  stop_services
  ((passed > 0)) || die "wasm-pack test ran no browser test"
  log "browser: $passed tests passed in headless Chromium"
}

# The npm package tether-sync (release WASM optimised by wasm-opt + the React layer), packed
# into target/npm/ by pkg-template/build.sh; prints its sizes.
suite_package() {
  local out
  out="$(mktemp)"
  "$TETHER_ROOT/pkg-template/build.sh" 2>&1 | tee "$out"
  if ! grep -q 'found wasm-opt' "$out"; then
    rm -f "$out"
    die "wasm-pack did not use wasm-opt from PATH"
  fi
  rm -f "$out"
  local wasm=target/npm/tether-sync/dist/wasm/tether_bg.wasm tarball
  tarball="$(package_tarball)"
  [[ -f "$wasm" && -f "$tarball" ]] || die "the npm package was not built"
  log "package: $wasm $(wc -c <"$wasm") bytes, $(gzip -9c "$wasm" | wc -c) gzipped;" \
    "$(basename "$tarball") $(wc -c <"$tarball") bytes"
  # The size budget: what esbuild ships of the package (wasm + glue + hooks), gzip -9, against
  # the figure recorded in pkg-template/size-budget.json. Deterministic, so it may fail CI.
  node "$TETHER_ROOT/scripts/bundle-size.mjs" --check "$TETHER_ROOT/pkg-template/size-budget.json" \
    "$TETHER_ROOT/target/npm/tether-sync" || die "the npm package is over its size budget"
}

# Vitest (and the type check, when defined) of the TypeScript package, once js/ exists.
suite_js() {
  if ! in_project js/package.json; then
    skipped+=("js (js/ does not exist yet)")
    log "SKIPPED js: js/ does not exist yet"
    return 0
  fi
  # The tests import the glue's modules (js/src/wasm, made by the package build).
  [[ -f "$TETHER_ROOT/js/src/wasm/faults.d.ts" ]] || "$TETHER_ROOT/pkg-template/build.sh"
  if npm_script_exists js typecheck; then
    npm --prefix js run typecheck
  fi
  npm --prefix js test
}

# Browser end-to-end tests (playwright-core + /usr/bin/chromium) of the example app. They live
# with the example as its `test:e2e` npm script, run against the built app (dist/) and start
# their own reference servers from TETHER_SERVER_BIN.
suite_e2e() {
  if ! in_project examples/kanban/package.json; then
    skipped+=("e2e (examples/kanban/ does not exist yet)")
    log "SKIPPED e2e: examples/kanban/ does not exist yet"
    return 0
  fi
  if ! npm_script_exists examples/kanban test:e2e; then
    skipped+=("e2e (examples/kanban has no test:e2e script yet)")
    log "SKIPPED e2e: examples/kanban has no end-to-end tests (npm script test:e2e) yet"
    return 0
  fi
  # The package suite (earlier in `all`) has usually packed tether-sync already.
  [[ -f "$(package_tarball)" ]] || "$TETHER_ROOT/pkg-template/build.sh"
  build_example
  server_bin_exists || die "the e2e tests need the tether-server binary, which does not exist"
  cargo build -p tether-server
  TETHER_SERVER_BIN="${CARGO_TARGET_DIR:-$TETHER_ROOT/target}/debug/tether-server" \
    npm --prefix examples/kanban run test:e2e
  # A brand-new Vite + React app installs the tarball and builds with no extra configuration.
  "$TETHER_ROOT/examples/fresh-app-check.sh" "$(package_tarball)"
}

run_suite() {
  local name="$1" started=$SECONDS
  declare -F "suite_$name" >/dev/null || die "unknown suite '$name' (suites: ${ALL_SUITES[*]})"
  local skipped_before=${#skipped[@]}
  log "suite $name"
  "suite_$name"
  if ((${#skipped[@]} == skipped_before)); then
    ran+=("$name ($((SECONDS - started))s)")
    log "suite $name passed in $((SECONDS - started))s"
  fi
}

suites=("$@")
if ((${#suites[@]} == 0)) || [[ "${suites[0]}" == all ]]; then
  suites=("${ALL_SUITES[@]}")
fi
total=$SECONDS
for suite in "${suites[@]}"; do
  run_suite "$suite"
done

log "passed: ${ran[*]}"
if ((${#skipped[@]})); then
  for s in "${skipped[@]}"; do log "skipped: $s"; done
fi
log "all requested suites passed in $((SECONDS - total))s"
