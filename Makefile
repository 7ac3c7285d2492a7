# kaoping — the commands of the README: `make demo`, `make demo-ui`, `make test`, `make test-ui`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demo-ui test test-ui bench install clean golden

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kaoping demo --out demo-output

# The demo with the Prefect UI at http://127.0.0.1:4200: you sign in the browser; Ctrl-C stops it.
demo-ui: $(STAMP)
	$(BIN)/kaoping demo --ui

# Two workers (the machine has two cores): each starts its own Prefect test server.
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 --maxschedchunk 2

# The browser test (Chromium at /usr/bin/chromium driven by Playwright); screenshots in var/ui-screenshots/.
test-ui: $(STAMP)
	$(BIN)/python -m pytest -q -m ui tests/ui

# Rewrite the golden samples of emails and documents (tests/golden/*.txt); then review `git diff tests/golden`.
golden: $(STAMP)
	KAOPING_REGENERATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/golden
	git diff --stat -- tests/golden

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[test,bench]"
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) demo-output var .pytest_cache
