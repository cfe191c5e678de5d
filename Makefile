# Two commands on a fresh machine: `make run` (the review UI) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test bench clean

setup: $(STAMP)

# Re-installs only when the package definition changes: `make setup` is a no-op otherwise.
$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[train,dev]'
	touch $(STAMP)

run: setup
	$(BIN)/streamlit run streamlit_app.py --server.headless true --server.address 127.0.0.1 --server.port $${PORT:-8501}

test: setup
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(BIN)/python scripts/benchmark.py

clean:
	rm -rf $(VENV) .pytest_cache
