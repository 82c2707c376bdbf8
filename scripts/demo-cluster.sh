#!/usr/bin/env bash
# `make demo-cluster`: the Kanban demo on a cluster (CLUSTER.md). Starts a throw-away
# PostgreSQL and Redis (scripts/services.sh), three tether-server nodes in cluster mode
# (feature `cluster`, dev mode: no auth) and HAProxy (Debian's package) in front of them, with
# WebSocket upgrade and health checks on /healthz; serves the Kanban board through HAProxy.
# Everything listens on 127.0.0.1 only; Ctrl-C stops every process by its PID.
#
# Environment: TETHER_DEMO_ADDR (HAProxy's address, default 127.0.0.1:8080), TETHER_DEMO_NODES
# (2 or 3, default 3), TETHER_DEMO_STATIC (a built example directory: skips building the npm
# package and the example), TETHER_DEMO_PROFILE (cargo profile of the server, default server).
set -euo pipefail
# shellcheck source=scripts/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/services.sh"
cd "$TETHER_ROOT"

addr="${TETHER_DEMO_ADDR:-127.0.0.1:8080}"
nodes="${TETHER_DEMO_NODES:-3}"
profile="${TETHER_DEMO_PROFILE:-server}"
example=examples/kanban
[[ "$nodes" == 2 || "$nodes" == 3 ]] || die "TETHER_DEMO_NODES must be 2 or 3 (got $nodes)"

# HAProxy from Debian's packages, installed as scripts/bootstrap.sh installs the others.
if ! command -v haproxy >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "apt-get install haproxy"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q </dev/null
    apt-get install -y -q --no-install-recommends haproxy </dev/null
  else
    die "HAProxy is missing. Install it, then run this again:
       sudo apt-get update && sudo apt-get install -y haproxy"
  fi
fi

if [[ -n "${TETHER_DEMO_STATIC:-}" ]]; then
  static="$TETHER_DEMO_STATIC"
  [[ -f "$static/index.html" ]] || die "TETHER_DEMO_STATIC=$static has no index.html"
else
  log "building the npm package tether-sync (wasm-pack --release, wasm-opt, React layer)"
  "$TETHER_ROOT/pkg-template/build.sh"
  log "building the example app in $example from the packed tarball"
  build_example || die "the example app in $example does not build (output above)"
  static="$TETHER_ROOT/$example/dist"
fi

log "building the reference server: cargo build --profile $profile -p tether-server --features cluster"
cargo build --profile "$profile" -p tether-server --features cluster
out_dir="$profile"
[[ "$profile" == dev ]] && out_dir=debug
server_bin="$TETHER_ROOT/target/$out_dir/tether-server"

pids=()
run_dir="$(mktemp -d "${TMPDIR:-/tmp}/tether-demo-cluster.XXXXXX")"
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  stop_redis
  stop_postgres
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_postgres
start_redis

node_ports=()
for i in $(seq 1 "$nodes"); do
  port="$(free_port)"
  "$server_bin" --bind "127.0.0.1:$port" --dev --static "$static" \
    --database-url "$TETHER_TEST_POSTGRES_URL" --redis-url "$TETHER_TEST_REDIS_URL" \
    --log warn >"$run_dir/node$i.log" 2>&1 &
  pids+=($!)
  node_ports+=("$port")
  wait_healthy "http://127.0.0.1:$port/healthz" "$!" 60 ||
    die "node $i did not answer http://127.0.0.1:$port/healthz: $(cat "$run_dir/node$i.log")"
  log "node $i on 127.0.0.1:$port (pid $!)"
done

# HAProxy in HTTP mode passes the WebSocket upgrade through (the tunnel timeout then applies);
# a node whose /healthz stops answering 200 leaves the rotation within ~2 s.
{
  cat <<CFG
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 65s
    timeout server 65s
    timeout tunnel 1h
    timeout client-fin 5s

frontend tether
    bind $addr
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server check inter 1s fall 2 rise 1
CFG
  for i in $(seq 1 "$nodes"); do
    printf '    server node%s 127.0.0.1:%s\n' "$i" "${node_ports[$((i - 1))]}"
  done
} >"$run_dir/haproxy.cfg"
haproxy -c -q -f "$run_dir/haproxy.cfg" || die "HAProxy refused its configuration (above)"
haproxy -db -f "$run_dir/haproxy.cfg" >"$run_dir/haproxy.log" 2>&1 &
haproxy_pid=$!
pids+=("$haproxy_pid")
wait_healthy "http://$addr/healthz" "$haproxy_pid" 30 ||
  die "HAProxy did not answer http://$addr/healthz: $(cat "$run_dir/haproxy.log")"

# The demo's backend, through the load balancer like the browsers.
backend=""
if in_project "$example/backend/workflow.mjs" && command -v node >/dev/null 2>&1; then
  TETHER_API="http://$addr/api/v1" node "$example/backend/workflow.mjs" \
    "$run_dir/workflow-state.json" >"$run_dir/backend.log" 2>&1 &
  pids+=($!)
  backend="    Demo backend:       $example/backend/workflow.mjs, through HAProxy"
fi

cat <<MSG

  Tether cluster demo is running (dev mode: no auth; data in a throw-away PostgreSQL)
    Kanban demo:        http://$addr/   <- open it in two browser windows
    WebSocket endpoint: ws://$addr/ws  (HAProxy, round robin over $nodes nodes)
    Nodes:              $(for p in "${node_ports[@]}"; do printf '127.0.0.1:%s ' "$p"; done)
    PostgreSQL:         $TETHER_TEST_POSTGRES_URL
    Redis:              $TETHER_TEST_REDIS_URL
$backend
    Logs:               $run_dir
  Try: kill one node's PID (${pids[*]:0:$nodes}); its boards reconnect through HAProxy to
  another node and resume; presence of its users leaves within 6 s.

  Stop with Ctrl-C.

MSG
wait "$haproxy_pid"
