#!/usr/bin/env bash
# `make demo`: build the npm package and the Kanban example from its tarball, then run the
# reference server on 127.0.0.1 with a local SQLite file, in dev mode (no auth).
# Says plainly what is running; never pretends a part exists that does not.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TETHER_ROOT"

addr="${TETHER_DEMO_ADDR:-127.0.0.1:8080}"
db="$TETHER_ROOT/target/demo/tether-demo.sqlite3"
example=examples/kanban

log "building the npm package tether-sync (wasm-pack --release, wasm-opt, React layer)"
"$TETHER_ROOT/pkg-template/build.sh"

static_args=()
example_state="absent"
if in_project "$example/package.json"; then
  log "building the example app in $example from the packed tarball"
  if build_example && [[ -f "$example/dist/index.html" ]]; then
    static_args=(--static "$TETHER_ROOT/$example/dist")
    example_state="built"
  else
    warn "the example app in $example does not build (output above): serving no web page"
    example_state="broken"
  fi
else
  log "no example app yet ($example/ does not exist): the server will serve no web page"
fi

if ! server_bin_exists; then
  die "the reference server binary tether-server does not exist yet (crates/server has no binary
       target), so there is nothing to run. Built so far: the npm package in target/npm/."
fi

log "building the reference server: cargo build --profile server -p tether-server"
cargo build --profile server -p tether-server
mkdir -p "$(dirname "$db")"

cargo run --profile server -q -p tether-server -- \
  --bind "$addr" --db "$db" --dev "${static_args[@]}" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

if ! wait_healthy "http://$addr/healthz" "$server_pid" 60; then
  die "the reference server did not answer http://$addr/healthz (see its output above)"
fi

# The demo's backend: follows the change feed through the HTTP API, stamps tasks moved to Done
# and broadcasts a notification (examples/kanban/backend/workflow.mjs).
backend_state="absent"
if in_project "$example/backend/workflow.mjs" && command -v node >/dev/null 2>&1; then
  TETHER_API="http://$addr/api/v1" node "$example/backend/workflow.mjs" \
    "$(dirname "$db")/workflow-state.json" &
  backend_pid=$!
  backend_state="running"
  trap 'kill "$backend_pid" "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
fi

cat <<MSG

  Tether reference server is running (dev mode: no auth), data in $db
    WebSocket endpoint: ws://$addr/ws
    Health check:       http://$addr/healthz
MSG
case "$example_state" in
  built)
    cat <<MSG
    Kanban demo:        http://$addr/   <- open it in two browser windows
MSG
    if [[ "$backend_state" == running ]]; then
      cat <<MSG
    Demo backend:       $example/backend/workflow.mjs (HTTP API only): move a task to Done
                        and it stamps the task and notifies every board
MSG
    fi
    ;;
  broken)
    cat <<MSG
    No demo web page: the example app ($example) failed to build (see the output above).
    What runs: the server above; the npm package is in target/npm/.
MSG
    ;;
  *)
    cat <<MSG
    No demo web page yet: the example app ($example) does not exist in this checkout.
    What runs: the server above; the npm package is in target/npm/.
MSG
    ;;
esac
printf '\n  Stop with Ctrl-C.\n\n'
wait "$server_pid"
