# The two set-up commands of README.md. Both create the environment in .venv/ on first use
# and reuse it afterwards (it is re-installed when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
INSTALLED := $(VENV)/.installed
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba

.PHONY: book test lint clean-book publish

$(INSTALLED): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

## Install everything and build the book with the quick profile: _build/html/index.html
book: $(INSTALLED)
	$(VENV)/bin/qlatent book --profile quick

## Install everything and run the tests (every notebook is executed with the quick profile)
test: $(INSTALLED)
	$(VENV)/bin/python -m pytest

## Install everything and lint the code and the notebooks' code cells (configuration: pyproject.toml [tool.ruff])
lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

## Publish the built book (_build/html) to the gh-pages branch with ghp-import (the [docs] extra).
## Build it first with `make book`; publishing is never part of `make book` or `make test`.
publish:
	test -f _build/html/index.html || { echo "no built book in _build/html: run make book first" >&2; exit 2; }
	test -x $(VENV)/bin/ghp-import || { echo "ghp-import is missing: $(VENV)/bin/pip install -e '.[docs]'" >&2; exit 2; }
	$(VENV)/bin/ghp-import --no-jekyll --push --force --message "Publish the book" _build/html

clean-book:
	rm -rf _build book/executed
