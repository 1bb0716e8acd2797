#!/usr/bin/env bash
# The production layout of docs/deploy.md, on this machine, in one command:
#   scripts/cluster.sh up       one control plane, two gateways and one upstream engine, over
#                               PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379)
#   scripts/cluster.sh status   which processes run, and where
#   scripts/cluster.sh down [--drop]   stop them all (SIGTERM); --drop also drops the database
# `up` writes $TM_CLUSTER_DIR/env; `source` it to point `tm`, the SDK and scripts/demo.sh at the
# cluster (the demo then talks to gateway 1; a real deployment puts a load balancer in front).
# Settings (environment): TM_CLUSTER_DIR (.cluster), TM_CLUSTER_DB (tm_cluster),
# TM_CLUSTER_POSTGRES (postgresql://postgres@127.0.0.1:5432, the server the database is made on),
# TENSORMESH_REDIS_URL (redis://127.0.0.1:6379/0), TM_CLUSTER_PORT_BASE (8570: control plane
# on +0, gateways on +1 and +2, the engine on +9).
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${TM_CLUSTER_DIR:-.cluster}"
db_name="${TM_CLUSTER_DB:-tm_cluster}"
pg_server="${TM_CLUSTER_POSTGRES:-postgresql://postgres@127.0.0.1:5432}"
pg_server="${pg_server%/}"
redis_url="${TENSORMESH_REDIS_URL:-redis://127.0.0.1:6379/0}"
base="${TM_CLUSTER_PORT_BASE:-8570}"
cp_port=$((base)) gw1_port=$((base + 1)) gw2_port=$((base + 2)) engine_port=$((base + 9))
processes=(engine controlplane gateway1 gateway2)

py() { .venv/bin/python "$@"; }

# Creates (or, with "drop", drops) the database on the PostgreSQL server; prints nothing.
database() {
  py - "$1" "$pg_server" "$db_name" <<'PY'
import sys

import psycopg
from psycopg import sql

action, server, name = sys.argv[1:]
try:
    with psycopg.connect(server + "/postgres", autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if action == "create" and not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        elif action == "drop" and exists:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
except psycopg.Error as exc:
    sys.exit(f"error: PostgreSQL at {server}: {str(exc).strip().splitlines()[0]}")
PY
}

running() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

# start NAME PORT ARGS...: `tm server up ARGS` in the background, logging to $dir/NAME.log.
start() {
  local name="$1" port="$2"
  shift 2
  nohup .venv/bin/tm server up --host 127.0.0.1 "$@" >"$dir/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
  for _ in $(seq 1 600); do
    if py -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
      "http://127.0.0.1:$port/version" 2>/dev/null; then
      echo "$name up on http://127.0.0.1:$port (pid $(cat "$dir/$name.pid"), log $dir/$name.log)" >&2
      return 0
    fi
    if ! running "$name"; then
      echo "error: $name exited; its log ($dir/$name.log):" >&2
      cat "$dir/$name.log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "error: $name not answering on port $port after 120 s (log $dir/$name.log)" >&2
  return 1
}

# stop NAME...: SIGTERM to all of them at once, then wait for each (SIGKILL after 30 s).
stop() {
  local name pid
  for name in "$@"; do
    if [ -f "$dir/$name.pid" ]; then kill -TERM "$(cat "$dir/$name.pid")" 2>/dev/null || true; fi
  done
  for name in "$@"; do
    [ -f "$dir/$name.pid" ] || continue
    pid="$(cat "$dir/$name.pid")"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null && echo "$name did not stop in 30 s: killed" >&2
    rm -f "$dir/$name.pid"
    echo "$name stopped" >&2
  done
}

# The gateways first (their in-flight streams drain from the engine), then the rest.
stop_all() {
  stop gateway2 gateway1
  stop controlplane engine
}

up() {
  [ -x .venv/bin/tm ] || scripts/setup.sh
  mkdir -p "$dir"
  for name in "${processes[@]}"; do
    if running "$name"; then echo "error: already up ($name runs); run: $0 down" >&2; exit 1; fi
  done
  database create
  local db_url="postgresql+psycopg://${pg_server#*://}/$db_name"
  local engine_key
  engine_key="tm-engine-$(py -c 'import secrets; print(secrets.token_hex(16))')"
  # The gateways reach the engine as an OpenAI-compatible upstream, as they would reach vLLM.
  cat >"$dir/models.toml" <<EOF
[[models]]
id = "SmolLM2-135M-Instruct"
engine = "openai"
upstream_urls = ["http://127.0.0.1:$engine_port/v1"]
api_key_env = "TM_CLUSTER_ENGINE_KEY"
EOF
  cat >"$dir/env" <<EOF
export TENSORMESH_DATABASE_URL='$db_url'
export TENSORMESH_REDIS_URL='$redis_url'
export TENSORMESH_CONTROL_PLANE_BASE_URL='http://127.0.0.1:$cp_port'
export TENSORMESH_SERVERLESS_BASE_URL='http://127.0.0.1:$gw1_port'
EOF
  trap 'stop_all' ERR
  # The engine stands in for a vLLM server: its own data directory (SQLite), one static key.
  (unset TENSORMESH_DATABASE_URL; TM_DATA_HOME="$dir/engine" \
    start engine "$engine_port" --role gateway --serverless-port "$engine_port" \
    --api-key "$engine_key")
  export TENSORMESH_DATABASE_URL="$db_url" TENSORMESH_REDIS_URL="$redis_url"
  export TENSORMESH_CONTROLPLANE_PUBLIC_URL="http://127.0.0.1:$cp_port"
  export TM_CLUSTER_ENGINE_KEY="$engine_key"
  .venv/bin/tm server db upgrade
  start controlplane "$cp_port" --role controlplane --controlplane-port "$cp_port"
  for n in 1 2; do
    local port=$((base + n))
    start "gateway$n" "$port" --role gateway --serverless-port "$port" --no-embedded \
      --models-file "$dir/models.toml"
  done
  trap - ERR
  echo "cluster up; database $db_name; to use it: source $dir/env" >&2
}

status() {
  local name up=0
  for name in "${processes[@]}"; do
    if running "$name"; then
      echo "$name: running (pid $(cat "$dir/$name.pid"))"
      up=$((up + 1))
    else
      echo "$name: stopped"
    fi
  done
  [ -f "$dir/env" ] && cat "$dir/env"
  [ "$up" -eq "${#processes[@]}" ]
}

case "${1:-}" in
  up) up ;;
  down)
    stop_all
    if [ "${2:-}" = "--drop" ]; then database drop && echo "database $db_name dropped" >&2; fi
    ;;
  status) status ;;
  *)
    echo "usage: $0 up|status|down [--drop]" >&2
    exit 2
    ;;
esac
