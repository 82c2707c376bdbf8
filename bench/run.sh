#!/usr/bin/env bash
# `make bench`: Tether side by side with its peers, in one invocation on this machine.
#   1. server fan-out: tether-server vs a Socket.IO 4 server, driven by the same load generator
#      (bench/src, `loadgen`), over a ladder of connection counts;
#   2. client figures in headless Chromium (bench/client/: end-to-end latency and the durable
#      outbox beside plain IndexedDB; needs the npm package built by pkg-template/build.sh);
#   3. bundle size: Tether's WASM + JS vs socket.io-client, centrifuge, replicache,
#      react-use-websocket, bundled by esbuild in this run;
#   4. catch-up (tether-server only): time for a client that missed BENCH_CATCHUP_EVENTS events
#      to be current again, and time + server peak RSS to subscribe to BENCH_CATCHUP_DOCS
#      documents (the load generator's `--scenario catchup`);
#   5. cluster (tether-server nodes on one PostgreSQL + Redis, all started here on loopback):
#      fan-out with 1, 2 and 3 nodes (same subscribers, spread over the nodes; publisher on node
#      1), durable mutations/s and the drain of BENCH_DURABLE_DRAIN pipelined mutations on
#      PostgreSQL beside SQLite, and failover: BENCH_FAILOVER_CLIENTS clients on node 2 of 3,
#      node 2 SIGKILLed, time until each is current again on another node.
# Prints a table (medians over repeats, Tether/peer ratios) and writes bench/results/*.json.
# Loopback only, bounded in time; ends only the processes it (or its load generator) started.
#
# Environment (defaults in brackets; BENCH_SMOKE=1 switches to tiny sizes):
#   BENCH_CONNECTIONS  comma-separated ladder            [1000,5000,10000]   smoke [50]
#   BENCH_SECONDS      seconds of publishing per run     [10]                smoke [2]
#   BENCH_RATE         publishes per second              [10]
#   BENCH_REPEAT       runs per size and peer (median)   [1]
#   BENCH_PARTS        which parts                       [fanout,client,bundle,catchup,cluster]
#   BENCH_CATCHUP_EVENTS  missed events to resume from   [10000]             smoke [200]
#   BENCH_CATCHUP_DOCS    channel sizes to subscribe to  [10000,100000]      smoke [100,1000]
#   BENCH_CLUSTER_CONNECTIONS  cluster fan-out subscribers (total) [3000]       smoke [30]
#   BENCH_DURABLE_DRAIN   pipelined mutations drained      [1000]              smoke [100]
#   BENCH_FAILOVER_CLIENTS  clients on the killed node     [1000]              smoke [50]
#   BENCH_THREADS      load generator worker threads     [1]
#   BENCH_SQLITE_SYNC  tether-server --sqlite-sync       [full]
#   BENCH_NPM_STAGE    the staged npm package            [target/npm/tether-sync]
set -euo pipefail
# shellcheck source=scripts/env.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
cd "$TETHER_ROOT"

smoke="${BENCH_SMOKE:-0}"
if [[ "$smoke" == 1 ]]; then
  ladder="${BENCH_CONNECTIONS:-50}"
  seconds="${BENCH_SECONDS:-2}"
  settle_ms=300
  drain_secs=3
  catchup_events="${BENCH_CATCHUP_EVENTS:-200}"
  catchup_docs="${BENCH_CATCHUP_DOCS:-100,1000}"
  cluster_conns="${BENCH_CLUSTER_CONNECTIONS:-30}"
  durable_drain="${BENCH_DURABLE_DRAIN:-100}"
  failover_clients="${BENCH_FAILOVER_CLIENTS:-50}"
else
  ladder="${BENCH_CONNECTIONS:-1000,5000,10000}"
  seconds="${BENCH_SECONDS:-10}"
  settle_ms=2000
  drain_secs=5
  catchup_events="${BENCH_CATCHUP_EVENTS:-10000}"
  catchup_docs="${BENCH_CATCHUP_DOCS:-10000,100000}"
  cluster_conns="${BENCH_CLUSTER_CONNECTIONS:-3000}"
  durable_drain="${BENCH_DURABLE_DRAIN:-1000}"
  failover_clients="${BENCH_FAILOVER_CLIENTS:-1000}"
fi
rate="${BENCH_RATE:-10}"
repeat="${BENCH_REPEAT:-1}"
parts="${BENCH_PARTS:-fanout,client,bundle,catchup,cluster}"
threads="${BENCH_THREADS:-1}"
sqlite_sync="${BENCH_SQLITE_SYNC:-full}"
connect_timeout=180
# The npm package as pkg-template/build.sh stages it (parts 2 and 3 use it when present).
npm_stage="${BENCH_NPM_STAGE:-$TETHER_ROOT/target/npm/tether-sync}"

has_part() { [[ ",$parts," == *",$1,"* ]]; }

target_dir="${CARGO_TARGET_DIR:-$TETHER_ROOT/target}"
work="$(mktemp -d "${TMPDIR:-/tmp}/tether-bench.XXXXXX")"
# Ends the servers a killed load generator left behind: the pids its pid file names (one a
# line: the nodes of a cluster run), only those still one of our servers.
kill_left_server() {
  local pidfile="$1" pid
  [[ -f "$pidfile" ]] || return 0
  while read -r pid; do
    if [[ "$pid" =~ ^[0-9]+$ ]] &&
      grep -qaE 'tether-server|socketio-server' "/proc/$pid/cmdline" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done <"$pidfile"
  rm -f "$pidfile"
}
# PostgreSQL and Redis for part 5 (start_postgres / start_redis, stopped by PID).
# shellcheck source=scripts/services.sh disable=SC1091
source "$TETHER_ROOT/scripts/services.sh"
cleanup() {
  local pidfile
  for pidfile in "$work"/*.server.pid; do
    kill_left_server "$pidfile"
  done
  stop_redis
  stop_postgres
  rm -rf "$work"
}
trap cleanup EXIT

# --- file descriptors: one per connection in the generator and in the server ------------------
max_conns=0
IFS=',' read -r -a sizes <<<"$ladder"
for n in "${sizes[@]}"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "BENCH_CONNECTIONS must be comma-separated numbers, got '$ladder'"
  if ((n > max_conns)); then max_conns=$n; fi
done
if has_part cluster; then
  for n in "$cluster_conns" "$failover_clients"; do
    [[ "$n" =~ ^[0-9]+$ ]] || die "BENCH_CLUSTER_CONNECTIONS and BENCH_FAILOVER_CLIENTS must be numbers"
    if ((n > max_conns)); then max_conns=$n; fi
  done
fi
need_fds=$((max_conns + 1024))
if (($(ulimit -Hn) < need_fds)); then
  ulimit -Hn "$need_fds" 2>/dev/null || true
fi
if (($(ulimit -n) < need_fds)); then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi
if { has_part fanout || has_part cluster; } && (($(ulimit -n) < need_fds)); then
  die "ulimit -n is $(ulimit -n); $max_conns connections need $need_fds (raise the hard limit)"
fi

# --- build -------------------------------------------------------------------------------------
# Part 5's nodes need the feature `cluster`: built first and copied aside, so that
# target/server/tether-server stays the default build the other parts measure. In smoke mode
# the debug build (which the cluster suite has already compiled) stands in for it.
cluster_bin="$work/tether-server-cluster"
if has_part cluster; then
  if [[ "$smoke" == 1 ]]; then
    log "bench: building tether-server --features cluster (debug: smoke mode)"
    cargo build -p tether-server --features cluster
    cp "$target_dir/debug/tether-server" "$cluster_bin"
  else
    log "bench: building tether-server --features cluster (profile server)"
    cargo build --profile server -p tether-server --features cluster
    cp "$target_dir/server/tether-server" "$cluster_bin"
  fi
fi
log "bench: building tether-server and the load generator (profile server)"
cargo build --profile server -p tether-server -p tether-bench
server_bin="$target_dir/server/tether-server"
loadgen_bin="$target_dir/server/loadgen"

peers_dir="$TETHER_ROOT/bench/peers"
TWIGGY_VERSION=0.8.0
if [[ ! -f "$peers_dir/node_modules/.package-lock.json" ||
  "$peers_dir/package-lock.json" -nt "$peers_dir/node_modules/.package-lock.json" ]]; then
  log "bench: npm ci in bench/peers"
  (cd "$peers_dir" && npm ci --no-audit --no-fund)
fi

# --- part 1: server fan-out --------------------------------------------------------------------
run_fanout() {
  local peer="$1" n="$2" rep="$3" tag="$1-$2-$3"
  local out="$work/fanout-$tag.json" pidfile="$work/$tag.server.pid" cmd=()
  case "$peer" in
    tether)
      cmd=("$server_bin" --dev --bind 127.0.0.1:0 --db "$work/$tag.sqlite3"
        --sqlite-sync "$sqlite_sync" --log warn)
      # One publisher above the default per-connection rate limit would be delayed.
      if awk -v r="$rate" 'BEGIN { exit !(r > 50) }'; then cmd+=(--rate-per-sec 0); fi
      ;;
    socketio) cmd=(node "$peers_dir/socketio-server.mjs" --port 0) ;;
  esac
  # Bound: connecting, settling, publishing, draining, plus a minute of slack.
  local limit=$((connect_timeout + seconds + 2 * settle_ms / 1000 + 2 * drain_secs + 60))
  log "bench: fan-out $peer, $n connections, ${seconds}s at $rate/s (run $rep/$repeat)"
  local status=0
  timeout --signal=TERM --kill-after=10 "$limit" "$loadgen_bin" --peer "$peer" \
    --connections "$n" --seconds "$seconds" --rate "$rate" --threads "$threads" \
    --settle-ms "$settle_ms" --drain-secs "$drain_secs" \
    --connect-timeout-secs "$connect_timeout" --out "$out" --server-log "$work/$tag.log" \
    --pid-file "$pidfile" --label "run $rep" -- "${cmd[@]}" || status=$?
  kill_left_server "$pidfile"
  if ((status != 0)) || [[ ! -f "$out" ]]; then
    warn "fan-out $peer n=$n failed (exit $status); server log tail:"
    tail -n 20 "$work/$tag.log" >&2 || true
    node -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify({peer: process.argv[2],
      connections: Number(process.argv[3]), error: "load generator exited with " + process.argv[4]}))' \
      "$out" "$peer" "$n" "$status"
  fi
}

if has_part fanout; then
  for n in "${sizes[@]}"; do
    for ((rep = 1; rep <= repeat; rep++)); do
      # Alternate the order so neither peer always runs on a warmer machine.
      if ((rep % 2)); then order=(tether socketio); else order=(socketio tether); fi
      for peer in "${order[@]}"; do
        run_fanout "$peer" "$n" "$rep"
      done
    done
  done
fi

# --- part 4: catch-up (run here, reported below) ------------------------------------------------
if has_part catchup; then
  tag=catchup
  log "bench: catch-up: resume after $catchup_events missed events; subscribe to $catchup_docs documents"
  status=0
  timeout --signal=TERM --kill-after=10 600 "$loadgen_bin" --peer tether --scenario catchup \
    --events "$catchup_events" --docs "$catchup_docs" --out "$work/catchup.json" \
    --server-log "$work/$tag.log" --pid-file "$work/$tag.server.pid" -- \
    "$server_bin" --dev --bind 127.0.0.1:0 --db "$work/$tag.sqlite3" --sqlite-sync "$sqlite_sync" \
    --rate-per-sec 0 --retain-events "$((catchup_events > 10000 ? catchup_events : 10000))" \
    --log warn || status=$?
  kill_left_server "$work/$tag.server.pid"
  if ((status != 0)) || [[ ! -f "$work/catchup.json" ]]; then
    warn "catch-up failed (exit $status); server log tail:"
    tail -n 20 "$work/$tag.log" >&2 || true
  else
    mkdir -p "$TETHER_ROOT/bench/results"
    cp "$work/catchup.json" "$TETHER_ROOT/bench/results/catchup.json"
  fi
fi

# --- part 5: cluster (run here, reported below) --------------------------------------------------
# A fresh database on the bench's PostgreSQL; prints its URL.
fresh_database() {
  local name="$1" base="${TETHER_TEST_POSTGRES_URL%/*}"
  local psql
  psql="$(command -v psql || echo "$(postgres_bin_dir)/psql")"
  "$psql" -q -X -v ON_ERROR_STOP=1 "$TETHER_TEST_POSTGRES_URL" \
    -c "CREATE DATABASE $name" >/dev/null
  echo "$base/$name"
}
# One load generator run of part 5: TAG, then loadgen arguments, `--`, the server command.
run_cluster() {
  local tag="$1" status=0
  shift
  timeout --signal=TERM --kill-after=10 600 "$loadgen_bin" --out "$work/cluster-$tag.json" \
    --server-log "$work/cluster-$tag.log" --pid-file "$work/cluster-$tag.server.pid" \
    --label "$tag" "$@" || status=$?
  kill_left_server "$work/cluster-$tag.server.pid"
  if ((status != 0)) || [[ ! -f "$work/cluster-$tag.json" ]]; then
    warn "cluster $tag failed (exit $status); server log tail:"
    tail -n 20 "$work/cluster-$tag.log" >&2 || true
    node -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify({label: process.argv[2],
      error: "load generator exited with " + process.argv[3]}))' \
      "$work/cluster-$tag.json" "$tag" "$status"
  fi
}
if has_part cluster && { ! postgres_bin_dir >/dev/null || ! command -v redis-server >/dev/null; }; then
  warn "cluster part skipped: it needs PostgreSQL (initdb, pg_ctl) and redis-server (scripts/bootstrap.sh installs both)"
elif has_part cluster; then
  # Durable: fsync on, as the SQLite runs (--sqlite-sync full) sync every commit.
  TETHER_POSTGRES_DURABLE=1 start_postgres
  start_redis
  node_args=(--dev --bind 127.0.0.1:0 --rate-per-sec 0 --log warn --redis-url "$TETHER_TEST_REDIS_URL")
  for nodes in 1 2 3; do
    log "bench: cluster fan-out, $cluster_conns subscribers over $nodes node(s), ${seconds}s at $rate/s"
    db="$(fresh_database "bench_fanout_$nodes")"
    run_cluster "fanout-$nodes" --peer tether --nodes "$nodes" --connections "$cluster_conns" \
      --seconds "$seconds" --rate "$rate" --threads "$threads" --settle-ms "$settle_ms" \
      --drain-secs "$drain_secs" --connect-timeout-secs "$connect_timeout" -- \
      "$cluster_bin" "${node_args[@]}" --database-url "$db"
  done
  log "bench: durable mutations/s and drain of $durable_drain: SQLite, then PostgreSQL"
  durable_args=(--peer tether --scenario durable --seconds "$seconds" --drain "$durable_drain")
  run_cluster durable-sqlite "${durable_args[@]}" -- "$server_bin" --dev --bind 127.0.0.1:0 \
    --db "$work/durable.sqlite3" --sqlite-sync "$sqlite_sync" --rate-per-sec 0 --log warn
  db="$(fresh_database bench_durable)"
  run_cluster durable-postgres "${durable_args[@]}" -- "$cluster_bin" "${node_args[@]}" \
    --database-url "$db"
  log "bench: failover: $failover_clients clients on node 2 of 3, node 2 SIGKILLed"
  db="$(fresh_database bench_failover)"
  run_cluster failover --peer tether --scenario failover --nodes 3 \
    --connections "$failover_clients" --rate 20 --connect-timeout-secs "$connect_timeout" -- \
    "$cluster_bin" "${node_args[@]}" --database-url "$db"
  stop_redis
  stop_postgres
fi

# A source file of the npm package newer than the staged package's wasm (empty: the stage is
# current), so no part measures an older SDK than the tree's.
source_newer_than_stage() {
  find "$TETHER_ROOT/src" "$TETHER_ROOT/crates/core/src" "$TETHER_ROOT/crates/protocol/src" \
    "$TETHER_ROOT/js/src" "$TETHER_ROOT/Cargo.toml" "$TETHER_ROOT/Cargo.lock" \
    -newer "$npm_stage/dist/wasm/tether_bg.wasm" -type f -not -path '*/wasm/*' 2>/dev/null | head -n 1 || true
}

# --- part 2: client in headless Chromium --------------------------------------------------------
if has_part client; then
  # The staged package counts only if no source of it changed after it was built; otherwise
  # it is built again here, so the page never measures an older SDK than the tree's.
  newer=""
  [[ -f "$npm_stage/dist/wasm/tether_bg.wasm" ]] && newer="$(source_newer_than_stage)"
  if [[ ! -f "$npm_stage/dist/loader.js" || -n "$newer" ]]; then
    log "bench: building the npm package for the client benchmarks (pkg-template/build.sh)"
    "$TETHER_ROOT/pkg-template/build.sh" >"$work/package-build.log" 2>&1 ||
      { tail -n 30 "$work/package-build.log" >&2; die "pkg-template/build.sh failed"; }
  fi
  if [[ ! -f "$npm_stage/dist/loader.js" ]]; then
    log "bench: client benchmarks skipped: no npm package"
  else
    log "bench: client benchmarks in headless Chromium"
    client_args=(--out "$work/client.json")
    if [[ "$smoke" == 1 ]]; then
      client_args+=(--samples 20 --outbox 50 --hook-samples 20 --ingest-docs 100 --ingest-rounds 3)
      client_args+=(--catchup 300 --snapshots 500 --cold 50,200)
    fi
    TETHER_SERVER_BIN="$server_bin" TETHER_NPM_STAGE="$npm_stage" \
      timeout --signal=TERM --kill-after=10 600 node "$TETHER_ROOT/bench/client/run.mjs" \
      "${client_args[@]}" || warn "client benchmarks failed"
  fi
fi

# --- part 3: bundle size -----------------------------------------------------------------------
if has_part bundle; then
  # The staged package counts only if no source of it changed after it was built.
  stage_fresh=0
  if [[ -f "$npm_stage/dist/index.js" && -f "$npm_stage/dist/wasm/tether_bg.wasm" ]]; then
    newer="$(source_newer_than_stage)"
    if [[ -z "$newer" ]]; then
      stage_fresh=1
    else
      log "bench: $npm_stage is older than $newer: building the WASM from the tree instead"
    fi
  fi
  if ((stage_fresh)); then
    tether_entry="$npm_stage/dist/index.js"
    tether_wasm="$npm_stage/dist/wasm/tether_bg.wasm"
    tether_source="${npm_stage#"$TETHER_ROOT"/} (pkg-template/build.sh output of $(date -u -r "$tether_wasm" +%FT%TZ))"
  else
    log "bench: building the release WASM (wasm-pack --release --target web, wasm-opt)"
    wasm_out="$target_dir/bench-wasm-pkg"
    wasm_log="$work/wasm-pack.log"
    if ! wasm-pack build --release --target web --out-dir "$wasm_out" --out-name tether \
      --no-pack "$TETHER_ROOT" >"$wasm_log" 2>&1; then
      cat "$wasm_log" >&2
      die "wasm-pack build failed"
    fi
    grep -q 'found wasm-opt' "$wasm_log" || die "wasm-pack did not use wasm-opt from PATH"
    stage="$work/tether-js"
    mkdir -p "$stage"
    cp -r "$TETHER_ROOT/js/src" "$stage/src"
    cp "$TETHER_ROOT/js/tsconfig.json" "$stage/"
    rm -rf "$stage/src/wasm" && mkdir -p "$stage/src/wasm"
    cp "$wasm_out/tether.js" "$wasm_out/tether_bg.wasm" "$stage/src/wasm/"
    # The shell's JavaScript modules, which the glue imports from snippets/.
    [[ -d "$wasm_out/snippets" ]] && cp -r "$wasm_out/snippets" "$stage/src/wasm/"
    tether_entry="$stage/src/index.ts"
    tether_wasm="$wasm_out/tether_bg.wasm"
    tether_source="js/src + wasm-pack --release (built by this run)"
  fi
  log "bench: bundle sizes (esbuild from npm, gzip -9, brotli 11)"
  node "$peers_dir/bundle.mjs" --tether-entry "$tether_entry" --tether-wasm "$tether_wasm" \
    --tether-source "$tether_source" --out "$work/bundle.json"
  # What dominates the wasm: twiggy over the release build that still has function names (before
  # wasm-bindgen and wasm-opt), grouped by crate. twiggy comes from crates.io (installed here on
  # first use, ~3 min); skipped in smoke mode.
  if [[ "$smoke" != 1 ]] && ! command -v twiggy >/dev/null 2>&1; then
    log "bench: cargo install twiggy $TWIGGY_VERSION (first run only)"
    cargo install twiggy --locked --version "$TWIGGY_VERSION" >"$work/twiggy-install.log" 2>&1 ||
      warn "cargo install twiggy failed (log: $work/twiggy-install.log): no wasm breakdown"
  fi
  if [[ "$smoke" != 1 ]] && command -v twiggy >/dev/null 2>&1; then
    log "bench: wasm size by crate (twiggy)"
    if cargo build --release --target wasm32-unknown-unknown -p tether >"$work/wasm-named.log" 2>&1; then
      node "$TETHER_ROOT/bench/wasm-breakdown.mjs" \
        "$target_dir/wasm32-unknown-unknown/release/tether.wasm" "$work/wasm-breakdown.json" ||
        warn "twiggy breakdown failed"
    else
      warn "release wasm build for twiggy failed (log: $work/wasm-named.log)"
    fi
  fi
fi

# --- table and JSON ------------------------------------------------------------------------------
BENCH_GIT_REV="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  BENCH_GIT_REV+=" + uncommitted changes"
fi
export BENCH_GIT_REV
mkdir -p "$TETHER_ROOT/bench/results"
report_args=("$work" "$TETHER_ROOT/bench/results" --parts "$parts")
if [[ "$smoke" == 1 ]]; then report_args+=(--smoke); fi
node "$TETHER_ROOT/bench/report.mjs" "${report_args[@]}"
