# kaoping — the commands of the README: `make demo`, `make demo-ui`, `make test`, `make test-ui`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The demo needs kaoping alone: not the test tools (Playwright's 40 MB wheel, hypothesis, import-linter …).
BASE   := $(VENV)/.installed-base

.PHONY: demo demo-ui serve test test-ui bench install clean golden lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# kaoping's own modules compiled once at install: an editable install leaves them as source, and where Python may not
# write its caches (PYTHONDONTWRITEBYTECODE, a read-only /opt/kaoping) every process that imports the flows — each
# flow run, each CLI call — compiled ~120 modules again (~0.25 s of CPU). A source edited later is compiled in memory
# until the next `make install`.
COMPILE := $(BIN)/python -m compileall -q -j 0 kaoping flows models notifications

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[test,scale]"
	$(COMPILE)
	touch $(STAMP) $(BASE)

$(BASE): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	$(COMPILE)
	touch $(BASE)

# Also after `git pull` (the upgrade in README): the modules that changed are compiled again.
install: $(STAMP)
	$(COMPILE)

demo: $(BASE)
	$(BIN)/kaoping demo --out demo-output

# The demo with the Prefect UI at http://127.0.0.1:4200: you sign in the browser; Ctrl-C stops it.
demo-ui: $(BASE)
	$(BIN)/kaoping demo --ui

# The production topology on one machine: Prefect server on PostgreSQL with its credential, two process
# workers, kaoping on PostgreSQL (the local server, postgres@127.0.0.1:5432); Ctrl-C stops it.
serve: $(STAMP)
	$(BIN)/kaoping serve

# Two workers (the machine has two cores): each starts its own Prefect test server.
test: lint
	$(BIN)/python -m pytest -q -n 2 --maxschedchunk 2

# The import contracts of pyproject.toml. flows/, models/, notifications/ and templates/ install as
# kaoping.flows … (setup.py), which import-linter cannot see from the folders: it reads a tree of links
# that puts them where Python finds them.
LINT_TREE := $(VENV)/lint-tree
lint: $(STAMP)
	@rm -rf $(LINT_TREE) && mkdir -p $(LINT_TREE)/kaoping
	@for f in kaoping/*; do ln -s "$(CURDIR)/$$f" $(LINT_TREE)/kaoping/; done
	@for d in flows models notifications templates; do ln -s "$(CURDIR)/$$d" $(LINT_TREE)/kaoping/$$d; done
	cd $(LINT_TREE) && $(CURDIR)/$(BIN)/lint-imports --config $(CURDIR)/pyproject.toml

# The browser test (Chromium at /usr/bin/chromium driven by Playwright); screenshots in var/ui-screenshots/.
test-ui: $(STAMP)
	$(BIN)/python -m pytest -q -m ui tests/ui

# Rewrite the golden samples of emails and documents (tests/golden/*.txt); then review `git diff tests/golden`.
golden: $(STAMP)
	KAOPING_REGENERATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/golden
	git diff --stat -- tests/golden

# Every benchmark (figures in benchmarks/README.md). The province cycle runs serial and on 2 Dask workers, on SQLite
# and PostgreSQL, at 600 units (about an hour on 2 cores); BENCH_ARGS="--units 60 --backends sqlite" for its shape.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[test,scale,bench]"
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) demo-output var .pytest_cache
