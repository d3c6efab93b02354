# Both entry points create and use .venv themselves: `make demo`, `make test`.
PYTHON ?= python3
VENV ?= .venv
# Another Django for a CI leg, e.g. DJANGO='django>=6,<7' VENV=.venv-django6 (a pip spec).
DJANGO ?=
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium

CODE := webhooks_app example_project examples tests bench

.PHONY: demo test test-workers lint format bench install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is needed (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]' $(if $(DJANGO),'$(DJANGO)')
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -f demo.sqlite3 demo.sqlite3-wal demo.sqlite3-shm
	WEBHOOKS_SQLITE_PATH=$(CURDIR)/demo.sqlite3 $(PY) manage.py demo $(if $(DUMP),--dump $(DUMP))
	$(if $(DUMP),$(PY) -m example_project.tests.shapes $(DUMP))

# The browser test drives Debian's Chromium; Playwright's own browser download is not used.
$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser test"
	@if [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null; then SUDO=sudo; \
	else echo "$(CHROMIUM) is missing; install it as root: apt-get install chromium"; exit 1; fi; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# The library's own tests (a tiny test app), then the two example hosts' tests.
test: $(STAMP) $(CHROMIUM)
	$(PY) -m ruff check $(CODE)
	$(PY) -m mypy
	$(PY) -m pytest $(PYTEST_ARGS)
	$(PY) -m pytest example_project/tests --ds=example_project.tests.settings $(PYTEST_ARGS)
	cd examples/shop && $(CURDIR)/$(PY) -m pytest $(PYTEST_ARGS)

# The tests that start real workers, on the runner WEBHOOKS_RUNNER names (django-q2,
# celery, tasks), with the fast tests of the runners' checks and health.
WORKER_TESTS := tests/test_workers.py tests/test_recovery.py tests/test_runners.py \
	tests/test_checks.py tests/test_health.py tests/test_faults.py
test-workers: $(STAMP)
	$(PY) -m pytest $(WORKER_TESTS) $(PYTEST_ARGS)

# Figures are ratios against a baseline measured in the same run (README: Performance).
bench: $(STAMP)
	$(PY) bench/save_path.py
	$(PY) bench/throughput.py
	$(PY) bench/isolation.py

lint: $(STAMP)
	$(PY) -m ruff check $(CODE)
	$(PY) -m ruff format --check $(CODE)

format: $(STAMP)
	$(PY) -m ruff format $(CODE)
	$(PY) -m ruff check --fix $(CODE)

clean:
	rm -rf $(VENV) test-artifacts demo.sqlite3* examples/shop/shop.sqlite3
