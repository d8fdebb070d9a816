#!/usr/bin/env bash
# The whole test suite. Called by `make test` (the README's test command) and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0

# The browser tests (tests/test_browser.py) drive Debian's Chromium (Playwright never downloads a browser);
# a CJK font lets its screenshots show the Chinese titles of the source articles that the book cites.
if ! dpkg -s chromium fonts-wqy-microhei >/dev/null 2>&1; then
  echo "scripts/test.sh: installing Debian chromium and a CJK font for the browser tests" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  log=$(mktemp)
  if ! { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
         apt-get install -y -qq chromium fonts-wqy-microhei; } >"$log" 2>&1; then
    cat "$log" >&2; exit 1
  fi
  rm -f "$log"
fi
exec "$BIN/python" -m pytest "$@"
