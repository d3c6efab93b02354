# Both entry points create and use .venv themselves: `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium

.PHONY: demo test lint format bench install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is needed (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -f demo.sqlite3 demo.sqlite3-wal demo.sqlite3-shm
	WEBHOOKS_SQLITE_PATH=$(CURDIR)/demo.sqlite3 $(PY) manage.py demo $(if $(DUMP),--dump $(DUMP))

# The browser test drives Debian's Chromium; Playwright's own browser download is not used.
$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser test"
	@if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null; then SUDO=sudo; \
	else echo "$(CHROMIUM) is missing; install it as root: apt-get install chromium"; exit 1; fi; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

test: $(STAMP) $(CHROMIUM)
	$(PY) -m ruff check webhooks_app example_project tests bench
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/throughput.py

lint: $(STAMP)
	$(PY) -m ruff check webhooks_app example_project tests bench
	$(PY) -m ruff format --check webhooks_app example_project tests bench

format: $(STAMP)
	$(PY) -m ruff format webhooks_app example_project tests bench
	$(PY) -m ruff check --fix webhooks_app example_project tests bench

clean:
	rm -rf $(VENV) test-artifacts demo.sqlite3*
