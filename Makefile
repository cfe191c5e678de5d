# Two commands on a fresh machine: `make run` (the review UI) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint format screenshots bench clean browser strace

setup: $(STAMP)

# Re-installs only when the package definition changes: `make setup` is a no-op otherwise.
$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[train,dev,ray]'
	touch $(STAMP)

run: setup
	$(BIN)/streamlit run streamlit_app.py --server.headless true --server.address 127.0.0.1 --server.port $${PORT:-8501} --server.maxUploadSize $${LAUGHVID_MAX_UPLOAD_MB:-4096}

test: setup browser strace
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Formatter and linter (ruff, configured in pyproject.toml); CI runs `make lint` before the tests.
lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerate docs/screenshots/*.png with the browser test (plain test runs write them to a temp dir).
screenshots: setup browser
	LAUGHVID_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/test_browser.py

# Debian tools the tests drive, installed when missing and we are root; otherwise the test that
# needs one skips and says why. $(call debian_tool,PACKAGE,EXECUTABLE,WHAT NEEDS IT)
define debian_tool
	@if [ -x $(2) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian $(1) for $(3)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; \
	else echo "$(1) missing and not root: $(3) will be skipped"; fi
endef

# The browser test drives chromium (playwright cannot download browsers offline).
browser:
	$(call debian_tool,chromium,/usr/bin/chromium,the browser test)

# tests/test_no_network.py runs an analysis and the review server under strace.
strace:
	$(call debian_tool,strace,/usr/bin/strace,the no-network test)

bench: setup
	$(BIN)/python scripts/benchmark.py

clean:
	rm -rf $(VENV) .pytest_cache
