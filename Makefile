# The two set-up commands of README.md. Both create the environment in .venv/ on first use
# and reuse it afterwards (it is re-installed when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
INSTALLED := $(VENV)/.installed
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba

.PHONY: book test lint clean-book

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

clean-book:
	rm -rf _build book/executed
