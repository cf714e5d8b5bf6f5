# The two commands: `make run` (serve on http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Where `make run` tells agents the proxy is: the address it serves, unless the environment
# names another (behind a proxy or a tunnel).
AI_PROXY_PUBLIC_URL ?= http://$(HOST):$(PORT)
SERVED := AI_PROXY_PUBLIC_URL=$(AI_PROXY_PUBLIC_URL)

.PHONY: run test check lint install install-dev bench clean screenshots chromium nginx agent-clis

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

.env: | $(VENV)/.installed
	$(PY) -m sam_project.new_env .env

run: $(VENV)/.installed .env
	$(SERVED) $(PY) manage.py migrate --noinput
	$(SERVED) $(PY) manage.py collectstatic --noinput --verbosity 0
	$(SERVED) $(PY) manage.py check --fail-level ERROR
	$(SERVED) $(PY) manage.py bootstrap_demo --base-url http://$(HOST):$(PORT)
	$(SERVED) $(VENV)/bin/uvicorn sam_project.asgi:application --host $(HOST) --port $(PORT) \
		--loop uvloop --http httptools --lifespan on --no-access-log

test: $(VENV)/.installed-dev chromium nginx agent-clis
	$(PY) -m pytest $(PYTEST_ARGS)

# The agent CLIs the tests run (tests/agent_clis), pinned in package.json and
# package-lock.json: installed with `npm ci` when npm is there and node_modules is older than
# the lockfile; without npm those tests fail saying how to install them. `npm ci` wants every
# platform build of a CLI in the lockfile; the OpenCode builds our registry does not serve
# (other systems, musl) are listed by version, os and cpu alone, and skipped as optional.
agent-clis:
	@! command -v npm >/dev/null || $(MAKE) -s --no-print-directory node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The browser tests drive Debian's Chromium: installed here when absent and possible (root
# with apt); otherwise those tests fail saying how to install it.
chromium:
	@test -x /usr/bin/chromium || ! command -v apt-get >/dev/null || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && apt-get install -y -qq chromium)

# The deploy tests (tests/deploy) put Debian's nginx in front of the server and check the
# systemd unit with systemd-analyze: installed here the same way; otherwise those tests fail
# saying how to install them.
nginx:
	@test -x /usr/sbin/nginx -a -x /usr/bin/systemd-analyze || ! command -v apt-get >/dev/null || \
		[ "$$(id -u)" != 0 ] || (apt-get update -qq && apt-get install -y -qq nginx systemd)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	SAM_ENV_FILE= SECRET_KEY=lint CREDENTIAL_ENCRYPTION_KEYS=k1:0000000000000000000000000000000000000000000000000000000000000000 BASE_DOMAIN=lint.test \
		$(VENV)/bin/mypy .
	SAM_ENV_FILE= SECRET_KEY=lint CREDENTIAL_ENCRYPTION_KEYS=k1:0000000000000000000000000000000000000000000000000000000000000000 BASE_DOMAIN=lint.test \
		$(PY) manage.py makemigrations --check --dry-run

# Static checks; `make test` runs the suite.
check: lint

# The README's screenshots, taken by the browser tests (needs /usr/bin/chromium).
screenshots: $(VENV)/.installed-dev
	SAM_SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q tests/browser

bench: $(VENV)/.installed-dev
	$(PY) bench/agent_key.py
	$(PY) bench/proxy_overhead.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
