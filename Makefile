# The two commands of the README, and the checks they run. PYTHON can point at a virtual
# environment's python.
PYTHON ?= python3

# What ruff (lint and format) and mypy check, in CI and in the pre-commit hooks. The rest of the
# repository joins once it passes (one list, here).
LINT_PATHS = autograder src/upsampling_course/checks.py src/upsampling_course/handin.py benchmarks tests/autograder \
	tests/benchmarks tests/test_checks.py tests/conftest.py tests/hypothesis_profiles.py tools/__init__.py tools/toc.py \
	tools/book_html.py tools/parallel_execution.py tools/notebook_markdown.py \
	tests/run_anywhere/test_notebook_markdown.py

# The markers that `test-fast` leaves out (pyproject.toml lists them).
SLOW_MARKERS = book or browser or grading or kernels or training or compat

# The second environment (older TensorFlow, like Colab's): a venv with pip, outside the book sources.
COMPAT_VENV ?= .venv-compat

.PHONY: book test test-fast lint test-compat compat-env book-sequential clean-book

## Install the pinned packages, then build the book: chapters executed in parallel into
## the jupyter-cache, then a strict Sphinx build (-W -n --keep-going). HTML: _build/html.
book:
	$(PYTHON) -m pip install -r requirements.txt
	npm ci --no-audit --no-fund  # MathJax shipped with the HTML (package.json)
	$(PYTHON) -m tools.build_book

## Install the test tools, check the code (lint), then run the whole test suite (it builds the
## book once, strictly, with hypothesis's full profile, and runs the chapters and the exercises'
## solutions once more in the second environment).
test: compat-env
	$(PYTHON) -m pip install -r requirements-test.txt
	npm ci --no-audit --no-fund  # MathJax for the book, axe-core for the browser tests
	$(MAKE) lint PYTHON=$(PYTHON)
	$(PYTHON) -m pytest --durations=30  # the slowest tests, to keep CI within its time

## The tests that need no book build, browser, sandbox or kernel, with hypothesis's reduced
## profile: under a minute. No install step.
test-fast:
	$(PYTHON) -m pytest -m "not ($(SLOW_MARKERS))" --hypothesis-profile=fast -q

## ruff (lint and format) and mypy on LINT_PATHS; settings in pyproject.toml.
lint:
	$(PYTHON) -m ruff check $(LINT_PATHS)
	$(PYTHON) -m ruff format --check $(LINT_PATHS)
	$(PYTHON) -m mypy $(LINT_PATHS)

## The second environment: TensorFlow 2.19 (requirements-compat.txt, pinned by constraints-compat.txt).
## It lacks the course package on purpose (the tests give its kernels the sources, or install it).
compat-env:
	test -x $(COMPAT_VENV)/bin/python || $(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-compat.txt

## Only the second environment's part of the tests (the chapters, the book tests on their
## outputs, the exercises' solutions, the first cell in a fresh environment).
test-compat: compat-env
	$(PYTHON) -m pytest -m compat

## Jupyter Book's own sequential execution, for comparison (no install step).
book-sequential:
	$(PYTHON) -m tools.build_book --sequential

clean-book:
	rm -rf _build
