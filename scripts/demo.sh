#!/usr/bin/env bash
# The main job on a fresh machine: set up, create a user and an inference API key with the
# operator commands, start the local platform, stream a chat completion with the SDK and with
# `tm`, show the token usage, stop the server.
# With TENSORMESH_DATABASE_URL and TENSORMESH_SERVERLESS_BASE_URL both set (e.g. after
# `source .cluster/env`, see scripts/cluster.sh), it uses that platform instead of starting one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

demo_home="$(mktemp -d)"
platform_url=""
email="demo@example.com"
if [ -n "${TENSORMESH_DATABASE_URL:-}" ] && [ -n "${TENSORMESH_SERVERLESS_BASE_URL:-}" ]; then
  platform_url="$TENSORMESH_SERVERLESS_BASE_URL"
  email="demo-$RANDOM$RANDOM@example.com" # a shared database may have run the demo before
fi
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$demo_home"
}
trap cleanup EXIT
free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
serverless_port="${TENSORMESH_SERVERLESS_PORT:-$(free_port)}"
controlplane_port="${TENSORMESH_CONTROLPLANE_PORT:-$(free_port)}"

export TM_DATA_HOME="$demo_home/data" TM_CONFIG_HOME="$demo_home/config"

# A user and an inference API key, made by the operator commands straight in the database
# (SQLite in $TM_DATA_HOME, or TENSORMESH_DATABASE_URL; no browser needed).
.venv/bin/tm server db upgrade >&2
printf '%s\n' "demo-password-$RANDOM$RANDOM" |
  .venv/bin/tm server users create "$email" --name "Demo User" --password-stdin >&2
api_key="$(.venv/bin/tm server api-keys create --user "$email" --name demo)"
# Inference is billed: give the user some credit (a CREDIT transaction in the ledger).
.venv/bin/tm server billing credit "$email" 5.00 >&2

if [ -z "$platform_url" ]; then
  .venv/bin/tm server up --serverless-port "$serverless_port" --controlplane-port "$controlplane_port" \
    >"$demo_home/server.log" 2>&1 &
  server_pid=$!
fi

export TENSORMESH_SERVERLESS_BASE_URL="${platform_url:-http://127.0.0.1:$serverless_port}"
export TENSORMESH_INFERENCE_API_KEY="$api_key"
for _ in $(seq 1 300); do
  if .venv/bin/tm --quiet infer health >/dev/null 2>&1; then break; fi
  if [ -n "$server_pid" ] && ! kill -0 "$server_pid" 2>/dev/null; then cat "$demo_home/server.log"; exit 1; fi
  sleep 0.2
done
echo "== server up: $TENSORMESH_SERVERLESS_BASE_URL" >&2
.venv/bin/tm infer models >&2

echo "== streamed with the Python SDK (examples/quickstart.py)" >&2
.venv/bin/python examples/quickstart.py

echo "== streamed with tm" >&2
.venv/bin/tm infer chat --stream --show-usage --max-tokens 64 "Name three uses of a GPU."

if [ -n "$server_pid" ]; then echo "== stopping the server" >&2; fi
