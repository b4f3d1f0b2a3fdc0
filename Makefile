# The two commands a new user needs: `make run` and `make test`. Everything else is optional.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
PORT   ?= 8000
export PORT

.PHONY: run test bench bench-smoke bench-app soak screenshot lint system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

## run: upgrade the database, load the demo when empty, start gunicorn and the scheduler
run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	@echo "starting gunicorn on http://127.0.0.1:$(PORT) and the scheduler (Ctrl-C stops both)"
	@exec $(BIN)/python scripts/serve.py

## system-deps: what the tests and benchmarks need from Debian (chromium, a CJK font, wrk, faketime for CI's moved clock, nginx for the proxy test)
system-deps:
	@missing=""; \
	  [ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	  fc-list 2>/dev/null | grep -qiE 'wqy|noto sans cjk' || missing="$$missing fonts-wqy-microhei"; \
	  command -v wrk >/dev/null || missing="$$missing wrk"; \
	  command -v faketime >/dev/null || missing="$$missing faketime"; \
	  [ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	      echo "installing:$$missing"; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	    else echo "missing:$$missing (install them with apt-get as root)"; fi; \
	  fi

## test: the whole suite on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set
test: $(VENV)/.installed-dev system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: the benchmark table (SQLite; BENCH_DATABASE_URL for PostgreSQL)
bench: $(VENV)/.installed-dev system-deps
	$(BIN)/python -m bench.run

## bench-smoke: the same code on small data, under a minute (run in CI)
bench-smoke: $(VENV)/.installed-dev system-deps
	$(BIN)/python -m bench.run --smoke

## bench-app: the tablet app's first load and reloads on emulated Slow 3G (chromium), bytes transferred
bench-app: $(VENV)/.installed-dev system-deps
	$(BIN)/python -m bench.app_load

## soak: the long fault and load tests (CI runs their short variants)
soak: $(VENV)/.installed-dev system-deps
	SOAK=1 $(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

## screenshot: docs/wall.png from the demo (gunicorn + chromium, ~40 s)
screenshot: $(VENV)/.installed-dev system-deps
	$(BIN)/python docs/make_screenshot.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
