#!/usr/bin/env bash
# The strict book build: `make book` and the browser tests both run this.
set -euo pipefail
cd "$(dirname "$0")/.."
# jupyter-cache keys executed notebooks on their code cells only, but the outputs also depend on
# src/convviz: a change there must re-read (Sphinx) and re-execute (jupyter-cache) the chapters.
# every file of the package, recursively (render/, explorer/ JS and CSS included), in a stable order
src_hash=$(find src/convviz -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z \
  | xargs -0 sha1sum | sha1sum | cut -c1-16)
if [ "$(cat _build/.convviz-src-hash 2>/dev/null)" != "$src_hash" ]; then
  rm -rf _build/.jupyter_cache _build/.doctrees _build/jupyter_execute
fi
mkdir -p _build
echo "$src_hash" > _build/.convviz-src-hash
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0
exec .venv/bin/jupyter-book build . -W -n --keep-going "$@"
