# Two entry points, both self-installing into .venv (Python 3.11 + PyPI) and node_modules (Node.js + npm).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: book test bench clean

$(STAMP): requirements.txt pyproject.toml package.json package-lock.json
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@command -v npm >/dev/null || { echo 'make: npm (Node.js >= 18) is needed: KaTeX renders the math at build time' >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error  # KaTeX (package-lock.json): renders the book's math at build time
	touch $(STAMP)

## make book: execute every notebook and build _build/html with warnings as errors
book: $(STAMP)
	bash scripts/build_book.sh

## make test: the whole suite (core, renderers, widgets, notebooks, browser)
test: $(STAMP)
	bash scripts/test.sh

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_widgets.py

clean:
	rm -rf _build .jupyter_cache
