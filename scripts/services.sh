#!/usr/bin/env bash
# Services the tests need, started here as real processes on loopback and stopped by PID.
#
# Sourced by scripts/test.sh (functions start_postgres, stop_postgres), or run directly to wrap
# one command:  scripts/services.sh cargo test -p tether-server --features postgres
#
# start_postgres: a throw-away PostgreSQL cluster in a temp dir (initdb -A trust, user
# `tether`), listening on 127.0.0.1 only, on a free port, its socket in the temp dir; waits
# until it accepts connections and exports
#   TETHER_TEST_POSTGRES_URL  postgres://tether@127.0.0.1:PORT/postgres
# PostgreSQL refuses to run as root: as root the cluster belongs to the OS user `postgres`
# (which the Debian package creates), otherwise to the current user. For speed the cluster
# runs with fsync=off (it is deleted after the tests; a killed tether-server loses nothing the
# PostgreSQL server process holds); TETHER_POSTGRES_DURABLE=1 keeps fsync and full_page_writes
# on (the benchmark's durable figures). stop_postgres: pg_ctl stop -m fast (SIGINT to the PID in
# postmaster.pid if that fails), then removes the temp dir.
#
# start_redis: a throw-away redis-server (Debian's package) on 127.0.0.1 only, a free port, no
# persistence (--save "" --appendonly no), its files in a temp dir; waits until it answers and
# exports
#   TETHER_TEST_REDIS_URL     redis://127.0.0.1:PORT
#   TETHER_TEST_REDIS_SERVER  the redis-server binary (tests that stop and restart Redis start
#                             their own on another free port)
# stop_redis: SIGTERM to its PID (SIGKILL after 5 s), then removes the temp dir.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# The directory holding initdb and pg_ctl: on PATH, else the newest Debian install.
postgres_bin_dir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
  [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]] || return 1
  echo "$d"
}

postgres_dir=""
postgres_owner=""

# Runs a command line as the cluster's owner.
as_postgres_owner() {
  if [[ "$postgres_owner" == postgres ]]; then
    su postgres -s /bin/sh -c "$1"
  else
    sh -c "$1"
  fi
}

start_postgres() {
  [[ -z "$postgres_dir" ]] || return 0
  local bin port
  bin="$(postgres_bin_dir)" || die "PostgreSQL is not installed (no initdb/pg_ctl): run
       scripts/bootstrap.sh, or install the Debian package: apt-get install -y postgresql"
  postgres_dir="$(mktemp -d "${TMPDIR:-/tmp}/tether-test-postgres.XXXXXX")"
  if [[ "$(id -u)" == 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root, but there is no OS user 'postgres' to
       run PostgreSQL as (PostgreSQL refuses root); apt-get install -y postgresql creates it"
    postgres_owner=postgres
    chown postgres "$postgres_dir"
  else
    postgres_owner="$(id -un)"
  fi
  port="$(free_port)"
  local d="$postgres_dir" sync="-c fsync=off -c full_page_writes=off"
  [[ "${TETHER_POSTGRES_DURABLE:-0}" == 1 ]] && sync="-c fsync=on -c full_page_writes=on"
  if ! as_postgres_owner "cd '$d' && '$bin/initdb' -D '$d/data' -A trust -U tether --no-sync \
      >'$d/initdb.log' 2>&1"; then
    cat "$d/initdb.log" >&2 || true
    die "initdb failed (log above)"
  fi
  if ! as_postgres_owner "cd '$d' && '$bin/pg_ctl' -D '$d/data' -w -t 60 -l '$d/postgres.log' \
      -o \"-p $port -k '$d' -c listen_addresses=127.0.0.1 $sync \
      -c max_connections=200\" start >/dev/null"; then
    cat "$d/postgres.log" >&2 || true
    die "PostgreSQL did not start on 127.0.0.1:$port (log above)"
  fi
  export TETHER_TEST_POSTGRES_URL="postgres://tether@127.0.0.1:$port/postgres"
  log "PostgreSQL on 127.0.0.1:$port (pid $(head -n1 "$d/data/postmaster.pid"), dir $d)"
}

stop_postgres() {
  [[ -n "$postgres_dir" ]] || return 0
  local d="$postgres_dir" bin pid=""
  postgres_dir=""
  [[ -f "$d/data/postmaster.pid" ]] && pid="$(head -n1 "$d/data/postmaster.pid")"
  bin="$(postgres_bin_dir || true)"
  if ! as_postgres_owner "'$bin/pg_ctl' -D '$d/data' -w -t 30 stop -m fast >/dev/null 2>&1"; then
    if [[ -n "$pid" ]]; then
      kill -INT "$pid" 2>/dev/null || true
      local i
      for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
    fi
  fi
  rm -rf "$d"
  unset TETHER_TEST_POSTGRES_URL
}

redis_dir=""
redis_pid=""

start_redis() {
  [[ -z "$redis_pid" ]] || return 0
  local bin port i
  bin="$(command -v redis-server || true)"
  [[ -n "$bin" ]] || die "redis-server is not installed: run scripts/bootstrap.sh, or install the
       Debian package: apt-get install -y redis-server"
  redis_dir="$(mktemp -d "${TMPDIR:-/tmp}/tether-test-redis.XXXXXX")"
  port="$(free_port)"
  "$bin" --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$redis_dir" \
    --protected-mode yes >"$redis_dir/redis.log" 2>&1 &
  redis_pid=$!
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      break
    fi
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    cat "$redis_dir/redis.log" >&2 || true
    die "redis-server did not start on 127.0.0.1:$port (log above)"
  fi
  export TETHER_TEST_REDIS_URL="redis://127.0.0.1:$port"
  export TETHER_TEST_REDIS_SERVER="$bin"
  log "Redis on 127.0.0.1:$port (pid $redis_pid, dir $redis_dir)"
}

stop_redis() {
  [[ -n "$redis_pid" ]] || return 0
  local pid="$redis_pid" i
  redis_pid=""
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$redis_dir"
  redis_dir=""
  unset TETHER_TEST_REDIS_URL TETHER_TEST_REDIS_SERVER
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  (($# > 0)) || die "usage: scripts/services.sh [--redis] COMMAND [ARGS...] (runs it with
       PostgreSQL up, and Redis with --redis)"
  with_redis=0
  if [[ "$1" == --redis ]]; then
    with_redis=1
    shift
  fi
  trap 'stop_redis; stop_postgres' EXIT
  start_postgres
  if ((with_redis)); then
    start_redis
  fi
  "$@"
fi
