# unionhub: `make run` starts the platform, `make test` runs the whole suite, `make bench` measures.
PYTHON ?= python3
VENV := .venv
NX_VENV := var/nx-venv

.PHONY: run stop test test-unit test-integration test-e2e bench lint install console-assets browser replay

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

# The console's browser assets (htmx, ECharts) from the npm registry, pinned by its lockfile,
# copied into the directory the console serves: nothing is loaded from a CDN at run time.
CONSOLE := services/console
CONSOLE_VENDOR := $(CONSOLE)/static/vendor

console-assets: $(CONSOLE_VENDOR)/.installed

$(CONSOLE_VENDOR)/.installed: $(CONSOLE)/package.json $(CONSOLE)/package-lock.json
	cd $(CONSOLE) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	mkdir -p $(CONSOLE_VENDOR)
	cp $(CONSOLE)/node_modules/htmx.org/dist/htmx.min.js $(CONSOLE)/node_modules/echarts/dist/echarts.min.js $(CONSOLE_VENDOR)/
	cp $(CONSOLE)/node_modules/echarts/LICENSE $(CONSOLE_VENDOR)/LICENSE.echarts
	cp $(CONSOLE)/node_modules/htmx.org/LICENSE $(CONSOLE_VENDOR)/LICENSE.htmx
	touch $@

# The end-to-end tier drives Debian's Chromium through its chromedriver (no browser download):
# installed here when missing, with a CJK font so screenshots show the Chinese pages.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	  && fc-list 2>/dev/null | grep -qi -e wenquanyi -e 'noto sans cjk' \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium chromium-driver fonts-wqy-zenhei)

REPLICAS ?= 1

run: install console-assets  # make run REPLICAS=2: two processes of every service
	@REPLICAS=$(REPLICAS) $(VENV)/bin/python scripts/devstack.py run

stop:
	@$(PYTHON) scripts/devstack.py stop

# The 2018 year replayed through the edge (scripts/replay): `make replay SCALE=0.05` for a
# proportional sample; FRESH=1 starts the year over. On its own platform unless GATEWAY_URL.
SCALE ?= 1

replay: install console-assets
	$(VENV)/bin/python -m scripts.replay --scale $(SCALE) $(if $(FRESH),--fresh)

test: install console-assets browser
	$(VENV)/bin/python -m pytest

test-unit: install
	$(VENV)/bin/python -m pytest tests/unit

test-integration: install
	$(VENV)/bin/python -m pytest tests/integration

test-e2e: install console-assets browser
	$(VENV)/bin/python -m pytest tests/e2e

bench: install console-assets
	$(VENV)/bin/python -m bench $(BENCH)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
