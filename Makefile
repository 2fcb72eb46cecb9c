# Two commands set everything up: `make run` (install, prepare the embedded databases, demo data, serve)
# and `make test` (install, run the whole suite). Nothing here needs a database server.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Re-install only when the requirement files change.
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: install run serve test lint migrate messages vendor clean bench

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate_all --noinput

# Web, a Celery worker and beat run together (the embedded broker is a folder under var/); Ctrl+C stops all.
# gunicorn replaces a web process after ~1000 requests: with the embedded chDB each page that reads ClickHouse
# re-opens its engine, which keeps a few threads for good (README, "Limits of the embedded default").
run: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py load_demo
	$(PY) manage.py create_admin --url http://$(HOST):$(PORT)/admin/
	@echo "Serving on http://$(HOST):$(PORT)/ with a worker and beat (Ctrl+C stops them all)"
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) -m celery -A etlsite worker --loglevel=warning --concurrency=1 & \
	$(PY) -m celery -A etlsite beat --loglevel=warning --pidfile= & \
	$(PY) -m gunicorn etlsite.wsgi:application --bind $(HOST):$(PORT) --workers 2 --timeout 300 \
	  --max-requests 1000 --max-requests-jitter 100

test: install
	$(PY) scripts/test_suite.py $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .

# Re-extract and compile the Russian and English catalogues after changing user-visible strings.
messages: install
	$(PY) manage.py makemessages -l ru -l en --no-obsolete --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*'
	$(PY) manage.py compilemessages --ignore '.venv/*'

# The pages' JavaScript libraries, pinned in package.json/package-lock.json, copied with their licences into
# static/vendor/<lib>/. The copies are committed, so `make run` and CI need no npm; run this after changing
# a version in package.json (then `npm install` updates the lock file).
VENDOR := static/vendor
vendor:
	npm ci --ignore-scripts --no-audit --no-fund
	rm -rf $(VENDOR)/chart.js $(VENDOR)/cytoscape
	mkdir -p $(VENDOR)/chart.js $(VENDOR)/cytoscape
	cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map \
	   node_modules/chart.js/LICENSE.md $(VENDOR)/chart.js/
	cp node_modules/@kurkle/color/LICENSE.md $(VENDOR)/chart.js/LICENSE-kurkle-color.md
	cp node_modules/cytoscape/dist/cytoscape.min.js node_modules/cytoscape/LICENSE $(VENDOR)/cytoscape/
	for lib in chart.js cytoscape; do \
	  node -p "require('./node_modules/$$lib/package.json').version" > $(VENDOR)/$$lib/VERSION; done
# The side-by-side benchmark (issue 5): ~20 min on 2 cores, needs PostgreSQL at 127.0.0.1:5432 (and Redis
# for the scale-out section); writes docs/BENCHMARKS.md and docs/bench/*.png. BENCH_QUICK=1: a short smoke
# pass on a slice of the data, reported under var/bench/ instead. See docs/BENCH.md.
BENCH_STAMP := $(VENV)/.bench-installed-$(shell cat requirements-bench.txt | sha1sum | cut -c1-12)

$(BENCH_STAMP): requirements-bench.txt | $(STAMP)
	$(PY) -m pip install --quiet -r requirements-bench.txt
	rm -f $(VENV)/.bench-installed-*
	touch $@

bench: install $(BENCH_STAMP)
	$(PY) -m bench all

clean:
	rm -rf var .pytest_cache
