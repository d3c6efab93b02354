# Both entry points create and use .venv themselves: `make demo`, `make test`.
PYTHON ?= python3
VENV ?= .venv
# Another Django for a CI leg, e.g. DJANGO='django>=6,<7' VENV=.venv-django6 (a pip spec).
DJANGO ?=
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium

CODE := webhooks_app example_project examples tests bench
# The share of webhooks_app's lines the three suites must run (`make test` fails below it).
COV_FLOOR ?= 90
# Material for MkDocs prints a banner about its successor on every build.
export NO_MKDOCS_2_WARNING := 1

.PHONY: demo test test-workers lint format bench install clean docs docs-serve dist

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is needed (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	# pip 25.1 reads dependency groups (the dev tools: pyproject's [dependency-groups]).
	$(PY) -m pip install -q --disable-pip-version-check 'pip>=25.1'
	$(PY) -m pip install -q --disable-pip-version-check -e '.[api]' --group dev $(if $(DJANGO),'$(DJANGO)')
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -f demo.sqlite3 demo.sqlite3-wal demo.sqlite3-shm
	WEBHOOKS_SQLITE_PATH=$(CURDIR)/demo.sqlite3 $(PY) manage.py demo $(if $(DUMP),--dump $(DUMP))
	$(if $(DUMP),$(PY) -m example_project.tests.shapes $(DUMP))

# The browser tests drive Debian's Chromium; Playwright's own browser download is not used.
# Installed here only as root (a fresh CI machine); nobody is asked for a sudo password.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "$(CHROMIUM) is missing: the browser tests need it. Install it as root"; \
		echo "(sudo apt-get install chromium), or skip them: make test PYTEST_ARGS='-m \"not browser\"'"; \
		exit 1; \
	fi

# Every check CI makes: lint and format, types, the docs site, the package, then the
# library's own tests (a tiny test app) and the two example hosts' tests, under coverage.
COVERAGE := COVERAGE_FILE=$(CURDIR)/.coverage
test: $(STAMP) $(if $(findstring not browser,$(PYTEST_ARGS)),,$(CHROMIUM))
	$(PY) -m ruff check $(CODE)
	$(PY) -m ruff format --check $(CODE)
	$(PY) -m mypy
	$(PY) -m mkdocs build --strict --quiet --site-dir $(CURDIR)/build/site
	$(MAKE) --no-print-directory dist
	rm -f .coverage
	$(COVERAGE) $(PY) -m pytest --cov --cov-report= $(PYTEST_ARGS)
	$(COVERAGE) $(PY) -m pytest example_project/tests --ds=example_project.tests.settings \
		--cov --cov-append --cov-report= $(PYTEST_ARGS)
	cd examples/shop && $(COVERAGE) $(CURDIR)/$(PY) -m pytest \
		--cov --cov-config=$(CURDIR)/pyproject.toml --cov-append --cov-report= $(PYTEST_ARGS)
	$(COVERAGE) $(PY) -m coverage report --rcfile=pyproject.toml --fail-under=$(COV_FLOOR)

# The documentation site, into site/ (`docs-serve`: live, on 127.0.0.1:8000).
docs: $(STAMP)
	$(PY) -m mkdocs build --strict
docs-serve: $(STAMP)
	$(PY) -m mkdocs serve

# The wheel and the sdist, into dist/, checked as a package index would.
dist: $(STAMP)
	rm -rf dist build/lib build/bdist.*
	mkdir -p build && $(PY) -m build --no-isolation --sdist --wheel --outdir dist . >build/dist.log 2>&1 \
		|| { cat build/dist.log; exit 1; }
	$(PY) -m twine check --strict dist/*

# The tests that start real workers, on the runner WEBHOOKS_RUNNER names (django-q2,
# celery, tasks), with the fast tests of the runners' checks and health.
WORKER_TESTS := tests/test_workers.py tests/test_recovery.py tests/test_runners.py \
	tests/test_checks.py tests/test_health.py tests/test_faults.py
test-workers: $(STAMP)
	$(PY) -m pytest $(WORKER_TESTS) $(PYTEST_ARGS)

# Figures are ratios against a baseline measured in the same run (docs/performance.md).
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
	rm -rf $(VENV) test-artifacts demo.sqlite3* examples/shop/shop.sqlite3 build dist site .coverage
