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

# tests/test_mxnet.py runs real MXNet in its own environment (mxnet 1.9.1 needs numpy<1.24, the
# main .venv has numpy 2); created here when missing or older than its pins. The book never uses it.
MXVENV=.venv-mxnet
if [ ! -f "$MXVENV/.installed" ] || [ requirements-mxnet.txt -nt "$MXVENV/.installed" ]; then
  echo "scripts/test.sh: installing $MXVENV (requirements-mxnet.txt) for tests/test_mxnet.py" >&2
  log=$(mktemp)
  if ! { { [ -x "$MXVENV/bin/python" ] || "${PY:-python3}" -m venv "$MXVENV"; } &&
         "$MXVENV/bin/pip" install -q --disable-pip-version-check -r requirements-mxnet.txt; } >"$log" 2>&1; then
    cat "$log" >&2; exit 1
  fi
  rm -f "$log"
  touch "$MXVENV/.installed"
fi
exec "$BIN/python" -m pytest "$@"
