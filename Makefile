# The two commands of the README. PYTHON can point at a virtual environment's python.
PYTHON ?= python3

# The second environment (older TensorFlow, like Colab's): a venv with pip, outside the book sources.
COMPAT_VENV ?= .venv-compat

.PHONY: book test test-compat compat-env book-sequential clean-book

## Install the pinned packages, then build the book: chapters executed in parallel into
## the jupyter-cache, then a strict Sphinx build (-W -n --keep-going). HTML: _build/html.
book:
	$(PYTHON) -m pip install -r requirements.txt
	npm ci --no-audit --no-fund  # MathJax shipped with the HTML (package.json)
	$(PYTHON) -m tools.build_book

## Install the test tools and run the whole test suite (it builds the book once, strictly, and
## runs the chapters and the exercises' solutions once more in the second environment).
test: compat-env
	$(PYTHON) -m pip install -r requirements-test.txt
	npm ci --no-audit --no-fund  # MathJax for the book, axe-core for the browser tests
	$(PYTHON) -m pytest

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
