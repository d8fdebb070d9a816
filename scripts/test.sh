#!/usr/bin/env bash
# The whole test suite. Called by `make test` (the README's test command) and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0
exec "$BIN/python" -m pytest "$@"
