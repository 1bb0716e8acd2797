#!/usr/bin/env bash
# Set up (scripts/setup.sh, plus Debian's Chromium for the browser tests) and run the whole test
# suite: lint, types, unit and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ ! -x /usr/bin/chromium ]; then
  # Browser tests use Debian's Chromium through Playwright; nothing downloads a browser.
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q chromium >/dev/null
fi
.venv/bin/ruff check src tests bench examples
.venv/bin/ruff format --check src tests bench examples
.venv/bin/mypy
mkdir -p test-artifacts
# Every test must run: a test skipped for a missing service counts as failed.
TENSORMESH_TEST_REQUIRE_ALL=1 .venv/bin/python -m pytest -q -ra "$@"
