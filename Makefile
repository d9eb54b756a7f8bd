# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-llm bench install clean browser

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/langmem-ext demo

# The memory browser's tests (tests/ui) drive Debian's chromium through Playwright; it is
# installed here when absent (Playwright's own browser download is not used). If it cannot
# be installed, `make test` fails: a missing browser never skips the browser tests.
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "chromium not found: installing it with apt-get for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v chromium >/dev/null 2>&1

# The suite starts its own Redis 8 (tests/conftest.py) and stops it even when tests fail.
test: $(STAMP) browser
	$(PY) -m pytest tests langmem_ext

# Opt-in, not in CI: llama.cpp's llama-server (built from the sources llama-cpp-python vendors,
# cached in ~/.cache/langmem-ext/llm) serving SmolLM2-135M; the demo and a ten-turn chat against
# it; figures into docs/models.md.
test-llm: $(STAMP)
	$(PY) benchmarks/llm/real_server.py

$(VENV)/.bench-installed: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(VENV)/bin/langmem-ext bench

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
