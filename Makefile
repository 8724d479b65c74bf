# The two commands of the README. PYTHON can point at a virtual environment's python.
PYTHON ?= python3

.PHONY: book test book-sequential clean-book

## Install the pinned packages, then build the book: chapters executed in parallel into
## the jupyter-cache, then a strict Sphinx build (-W -n --keep-going). HTML: _build/html.
book:
	$(PYTHON) -m pip install -r requirements.txt
	npm ci --no-audit --no-fund  # MathJax shipped with the HTML (package.json)
	$(PYTHON) -m tools.build_book

## Install the test tools and run the whole test suite (it builds the book once, strictly).
test:
	$(PYTHON) -m pip install -r requirements-test.txt
	npm ci --no-audit --no-fund  # MathJax for the book, axe-core for the browser tests
	$(PYTHON) -m pytest

## Jupyter Book's own sequential execution, for comparison (no install step).
book-sequential:
	$(PYTHON) -m tools.build_book --sequential

clean-book:
	rm -rf _build
