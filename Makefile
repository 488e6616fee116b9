# campuswatch: two commands set everything up on a fresh Debian 12 with python3.
#   make demo   a simulated school feeding a collector that opens tickets (http://127.0.0.1:8750)
#   make test   installs what the tests need (pip and apt packages), then runs ruff, mypy and pytest
#   make quick  the tests that need no root, no Debian package and no real peer (seconds, any user)
#   make bench  every benchmark in bench/ (bench/README.md explains them)
#   make messages  the collector's texts extracted into its catalogues (then translate the new ones) and compiled

# The venv is made from Debian's /usr/bin/python3 (not a Python under /root): snmpsim drops to user
# nobody when run as root and must still be able to read the interpreter.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed

.PHONY: demo test quick lint bench install install-test-deps clean messages

$(VENV)/bin/python:
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || scripts/apt-install.sh python3-venv
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(VENV)/bin/python pyproject.toml
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m sim.demo

install-test-deps: $(STAMP)
	scripts/apt-install.sh $$(grep -v '^#' scripts/apt-test-packages.txt)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy campuswatch sim tests bench

test: install-test-deps lint
	$(PY) -m pytest

quick: $(STAMP)
	$(PY) -m pytest -m "not integration"

bench: install-test-deps
	$(PY) -m bench.snmp_poll
	$(PY) -m bench.snmpv3_poll
	$(PY) -m bench.gateway_school
	$(PY) -m bench.reader_poll
	$(PY) -m bench.collector_ingest
	$(PY) -m bench.collector_ingest --mix realistic --setups postgres-x1 postgres-x2
	$(PY) -m bench.school_judge
	$(PY) -m bench.state_scale
	$(PY) -m bench.metrics_scrape
	$(PY) -m bench.page_render
	$(PY) -m bench.network_checks
	$(PY) -m bench.api_pages

# The collector's catalogues: extract every marked text (into build/, a step's scratch), merge it into
# each language's .po (a new text arrives untranslated: tests/collector/test_language.py fails until it
# has its German), compile the .mo. The .po keep no extraction date, so running this again changes nothing.
LOCALE := campuswatch/collector/language/locale
messages: $(STAMP)
	@mkdir -p build
	$(VENV)/bin/pybabel -q extract -F campuswatch/collector/language/babel.cfg -k N_ --no-location \
		--omit-header --sort-output -o build/campuswatch.pot .
	$(VENV)/bin/pybabel -q update -D campuswatch -i build/campuswatch.pot -d $(LOCALE) \
		--no-fuzzy-matching --ignore-obsolete
	sed -i '/^"POT-Creation-Date: /d' $(LOCALE)/*/LC_MESSAGES/campuswatch.po
	$(VENV)/bin/pybabel -q compile -D campuswatch -d $(LOCALE)

clean:
	rm -rf $(VENV) var build *.egg-info
