# Two commands on a fresh machine: `make run` (the review UI) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test screenshots bench clean browser

setup: $(STAMP)

# Re-installs only when the package definition changes: `make setup` is a no-op otherwise.
$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[train,dev]'
	touch $(STAMP)

run: setup
	$(BIN)/streamlit run streamlit_app.py --server.headless true --server.address 127.0.0.1 --server.port $${PORT:-8501} --server.maxUploadSize $${LAUGHVID_MAX_UPLOAD_MB:-4096}

test: setup browser
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Regenerate docs/screenshots/*.png with the browser test (plain test runs write them to a temp dir).
screenshots: setup browser
	LAUGHVID_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/test_browser.py

# The browser test drives Debian chromium (playwright cannot download browsers offline). Installed
# here when missing and we are root; otherwise tests/test_browser.py skips and says why.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian chromium for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium missing and not root: the browser test will be skipped"; fi

bench: setup
	$(BIN)/python scripts/benchmark.py

clean:
	rm -rf $(VENV) .pytest_cache
