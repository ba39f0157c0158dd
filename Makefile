# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench train clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install when the project's metadata changes.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[course,grader,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m convnets.bench --quick

test: $(STAMP) lint
	$(BIN)/python -m pytest -q -p no:cacheprovider tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check solutions tests

bench: $(STAMP)
	$(BIN)/python -m convnets.bench

train: $(STAMP)
	$(BIN)/python -m convnets train --dataset digits

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
