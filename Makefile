# `make demo` and `make test` each work alone on a fresh machine with Python 3.11 and make.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# llama-cpp-python's default native build crashes at the first decode on some CPUs;
# a portable build works everywhere (about 4 minutes, once: pip caches the wheel).
CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: demo test lint format browser postgres clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	CMAKE_ARGS="$(CMAKE_ARGS)" $(PY) -m pip install -q -e '.[test,local]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/evals run suites/quickstart.yaml suites/facts.yaml -r runners/local.yaml
	$(VENV)/bin/evals run suites/humaneval.yaml -r runners/local.yaml -m smollm2-135m -m sim-good --limit 3
	$(VENV)/bin/evals run suites/reference/choice.yaml -r runners/local.yaml
	$(VENV)/bin/evals run suites/quickstart.yaml -r runners/local.yaml -m sim-good --mode batch --no-cache --poll-max 1

test: $(STAMP) browser postgres
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The HTML report is tested in a real headless browser: Debian's chromium + chromedriver.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else \
	    echo "the report tests need chromium and chromedriver: apt-get install chromium chromium-driver"; exit 1; \
	  fi; \
	fi

# The PostgreSQL store is tested against a real, throwaway server (tests/pg.py): Debian's
# postgresql package provides initdb, pg_ctl and postgres under /usr/lib/postgresql/*/bin.
postgres:
	@if ! { command -v pg_ctl && command -v initdb; } >/dev/null 2>&1 \
	    && ! ls /usr/lib/postgresql/*/bin/pg_ctl /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	  else \
	    echo "the PostgreSQL store tests need a PostgreSQL server: apt-get install postgresql"; exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) .evals reports/*/ reports/index.html .pytest_cache .ruff_cache
