# unionhub: `make run` starts the platform, `make test` runs the whole suite, `make bench` measures.
PYTHON ?= python3
VENV := .venv
NX_VENV := var/nx-venv

.PHONY: run stop test test-unit test-integration test-e2e bench lint install

install: $(VENV)/.installed $(NX_VENV)/.installed

$(VENV)/.installed: requirements/services.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/dev.txt -c requirements/constraints.txt
	touch $@

# nx-27017 (the MongoDB stand-in) needs pymongo >= 4.18: its own virtualenv (see MONGO.md).
$(NX_VENV)/.installed: requirements/nx.txt
	$(PYTHON) -m venv $(NX_VENV)
	$(NX_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/nx.txt
	touch $@

REPLICAS ?= 1

run: install  # make run REPLICAS=2: two processes of every service
	@REPLICAS=$(REPLICAS) $(VENV)/bin/python scripts/devstack.py run

stop:
	@$(PYTHON) scripts/devstack.py stop

test: install
	$(VENV)/bin/python -m pytest

test-unit: install
	$(VENV)/bin/python -m pytest tests/unit

test-integration: install
	$(VENV)/bin/python -m pytest tests/integration

test-e2e: install
	$(VENV)/bin/python -m pytest tests/e2e

bench: install
	$(VENV)/bin/python -m bench $(BENCH)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
