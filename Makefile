# Two commands do everything on a fresh machine:
#   make lab    set up .venv (first time only) and open the course in JupyterLab
#   make test   set up .venv (first time only) and run every test
# and `make book` builds the course website (build/book/html).
SHELL := /bin/bash
PYTHON ?= python3
# `make lab VENV=/path/to/venv` (on the command line or in the environment) uses an
# environment that is already set up, as it is: nothing is installed into it.
# tests/test_lab.py starts a fresh clone's `make lab` that way, with the tested .venv.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vae-course-installed
LAB_ARGS ?=
PYTEST_ARGS ?=
# make test runs in two phases on one cache directory:
# 1. the unit tests and every notebook (nbval) on TEST_WORKERS pytest-xdist workers, a file
#    per worker at a time (--dist loadfile: a notebook's cells share one kernel, a module its
#    fixtures), each with one thread (OMP_NUM_THREADS=1: two-thread kernels on two cores
#    would wait for each other); the default is one worker per core, at most 8 (each holds
#    torch and a kernel in memory), and 0 runs them in-process;
# 2. the grading batches (tests marked grading_batch), in one process: each grades its class
#    with two sandboxed jobs of its own, and a worker beside them would only compete for the
#    cores (an earlier run with both phases mixed on two workers was slower than one process).
# Both phases always run; make test fails when either fails.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 8 ? n : 8 )))
NOTEBOOK_DIRS := solutions notebooks

.PHONY: setup lab test test-unit test-browser build book bench lint format clean sandbox-tool measure

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when the package metadata changed (the stamp is newer otherwise).
$(STAMP): pyproject.toml setup.py | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@$(BIN)/python -c "import torch, torchvision; print('torch', torch.__version__, '| torchvision', torchvision.__version__)" \
	  || { echo "torchvision does not import: recreate the environment with 'rm -rf $(VENV) && make test'"; exit 1; }
	@touch $(STAMP)

ifeq ($(filter command line environment,$(origin VENV)),)
setup: $(STAMP)
else
setup:
	@test -x "$(BIN)/vae-course" || { echo "VENV=$(VENV) has no vae-course: install it there (pip install -e '.[dev]') or leave VENV out"; exit 1; }
endif

# `vae-course lab` passes --allow-root when run as root (a container, a cloud VM) and says so.
lab: setup
	$(BIN)/vae-course lab "$(CURDIR)" $(LAB_ARGS)

# ruff over the package, tests, benchmarks and notebooks (ruff reads .ipynb).
LINT_PATHS := vae_course tests benchmarks solutions notebooks conftest.py book setup.py

lint: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

format: setup
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

build: setup
	$(BIN)/vae-course build

# The classroom grader runs learner code in bubblewrap: install it when it is missing and we
# are root (a fresh container), as the browser tests install chromium; else say what to do.
sandbox-tool:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing bubblewrap (the grader's sandbox)"; \
	    apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1; }; \
	  fi; \
	  command -v bwrap >/dev/null || echo "bubblewrap is missing: the grading tests will fail; install it (apt-get install bubblewrap)"; }

# Every test: lint, student notebooks in sync with solutions/, unit tests, every notebook
# executed by nbval in fast mode against a fresh, empty cache directory, then the grading
# batches (the two phases above).
test: setup lint sandbox-tool
	$(BIN)/vae-course build --check
	@cache=$$(mktemp -d -t vae-course-cache.XXXXXX); trap 'rm -rf "$$cache"' EXIT; \
	  export VAE_COURSE_CACHE="$$cache" VAE_COURSE_FAST=1 VAE_COURSE_OFFLINE=1 MPLBACKEND=Agg; \
	  workers=$(TEST_WORKERS); [ "$$workers" -gt 1 ] 2>/dev/null || workers=0; \
	  echo "make test, phase 1 of 2: unit tests and notebooks on $$workers worker(s) (TEST_WORKERS)"; \
	  OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests $(NOTEBOOK_DIRS) -m "not grading_batch" \
	    --nbval-lax --nbval-current-env -n $$workers --dist loadfile --durations=0 $(PYTEST_ARGS); \
	  first=$$?; \
	  echo "make test, phase 2 of 2: the grading batches, one process (each runs two jobs)"; \
	  $(BIN)/python -m pytest tests -m grading_batch --durations=0 $(PYTEST_ARGS); \
	  second=$$?; \
	  echo "make test: phase 1 exit $$first, phase 2 exit $$second"; \
	  [ $$first -eq 0 ] && [ $$second -eq 0 ]

test-unit: setup sandbox-tool
	$(BIN)/python -m pytest tests --ignore=tests/test_browser.py --ignore=tests/test_book.py $(PYTEST_ARGS)

# Only the end-to-end tests in headless Chromium (installs chromium if missing): JupyterLab
# running notebooks, and the book (make book, a part in fast mode) opened offline.
test-browser: setup
	@cache=$$(mktemp -d -t vae-course-cache.XXXXXX); trap 'rm -rf "$$cache"' EXIT; \
	  VAE_COURSE_CACHE="$$cache" $(BIN)/python -m pytest tests/test_browser.py tests/test_book.py -m browser -v $(PYTEST_ARGS)

bench: setup
	$(BIN)/python benchmarks/train_throughput.py

# Re-run every chapter in full mode and rewrite solutions/measured/*.json: the numbers the
# prose quotes (tests/test_measured.py checks the text against them). Commit the result.
measure: setup
	MPLBACKEND=Agg VAE_COURSE_OFFLINE=1 $(BIN)/python -m vae_course.measured solutions/[0-9][0-9]_*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

# The course as a static website in build/book/html (book/build.py says how): the solution
# notebooks executed in full mode, cached so that a rebuild takes seconds.
# BOOK_ARGS="--chapters 03,04 --fast" builds a part in fast mode; BOOK_DIR moves it.
BOOK_DIR ?= build/book
BOOK_ARGS ?=
book: setup
	$(BIN)/python book/build.py --out "$(BOOK_DIR)" $(BOOK_ARGS)
