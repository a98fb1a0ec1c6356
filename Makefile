# The README's commands. `make run` starts the dashboard; `make test` runs the whole suite.
# Both create or refresh .venv first, so a clean clone needs nothing installed by hand.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.PHONY: run test test-quick demo lint bench clean

# Reinstall when pyproject.toml changes; each extra set has its own stamp.
$(VENV)/.installed-run: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	touch $@ $(VENV)/.installed-run

# Poll the configured feeds once, build the demo store (shown when nothing could be
# collected), then serve the dashboard while `tracker watch` keeps polling.
# Ctrl-C stops both.
run: $(VENV)/.installed-run
	-$(BIN)/tracker poll
	$(BIN)/tracker demo
	@echo "Dashboard: http://localhost:$(PORT)  (Ctrl-C stops the dashboard and the poller)"
	@trap 'kill $$watcher 2>/dev/null' EXIT INT TERM; \
	$(BIN)/tracker watch & watcher=$$!; \
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/pytest

# The quick subset: no subprocess, browser or PostgreSQL tests.
test-quick: $(VENV)/.installed-test
	$(BIN)/pytest -m "not slow and not browser and not postgres"

demo: $(VENV)/.installed-run
	$(BIN)/tracker demo

# The benchmark (not part of the tests): 10k and 100k articles, about 4 minutes.
# Add `--sizes 1000000` for a million (about 20 minutes); see bench/README.md.
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.run --sizes 10000,100000

lint: $(VENV)/.installed-test
	$(BIN)/ruff check tracker tests app.py pages bench tools
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache data/*.sqlite data/*.sqlite-* data/*.lock
