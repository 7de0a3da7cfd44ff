# growthmesh — every command a user runs. Quick start: `make demo`, then `make test`.
# Needs Python 3.11+ on PATH as python3 (or PYTHON=/path/to/python3.11 make demo).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
# pytest over 4 processes, one test file per process (a file's fixtures build once). Four
# even on 2 cores: the heavy files wait on subprocesses (SQLMesh CLI, the BigQuery
# emulator, a Postgres server) much of the time; measured 6 min 40 s against 11 min 24 s
# with 2 processes.
PYTEST_PARALLEL ?= -n 4 --dist loadfile

.PHONY: install demo test test-all bench report lint unit pytest ui clean help

help:
	@echo "make demo      install, generate demo data, build every model on local DuckDB, print a summary"
	@echo "make test      sqlmesh test + sqlmesh lint + pytest (installs first if needed)"
	@echo "make test-all  make test plus the slow tests"
	@echo "make bench     benchmark at 1M and 10M events (BENCH_ARGS='--events 1000000 --json b.json' to choose)"
	@echo "make report    growth report of prod on the demo database -> report.html (REPORT_ARGS='--env dev --out dev.html')"
	@echo "make ui        sqlmesh ui on the demo database"
	@echo "make clean     remove the virtualenv and the demo database"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "growthmesh needs Python 3.11+; run: make PYTHON=/path/to/python3.11 $(MAKECMDGOALS)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing growthmesh and its dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@$(BIN)/python scripts/demo.py

test: $(STAMP)
	@mkdir -p data
	@bash scripts/ensure_chromium.sh
	$(BIN)/sqlmesh test
	$(BIN)/sqlmesh lint
	$(BIN)/pytest -m "not slow" $(PYTEST_PARALLEL)

test-all: $(STAMP)
	@mkdir -p data
	@bash scripts/ensure_chromium.sh
	$(BIN)/sqlmesh test
	$(BIN)/sqlmesh lint
	$(BIN)/pytest $(PYTEST_PARALLEL)

# Figures for the README's benchmark table; about 50 minutes on 2 cores at the default scales.
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python scripts/benchmark.py $(BENCH_ARGS)

# The growth report (scripts/report.py): one self-contained HTML file, opens offline.
REPORT_ARGS ?=
report: $(STAMP)
	$(BIN)/python scripts/report.py $(REPORT_ARGS)

ui: $(STAMP)
	$(BIN)/sqlmesh ui

clean:
	rm -rf $(VENV) data/*.duckdb data/*.duckdb.wal data/demo_args.json
