# The two commands a student needs: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST := $(BIN)/python -m pytest
NB     ?=

.PHONY: install lab test test-fast test-notebooks test-browser exercises check-exercises grade bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

lab: install
	$(BIN)/jupyter lab notebooks/

# Everything: library unit/property/doctests, exercise sync + stubs, every lecture and
# solution notebook under nbval, the grader, and the browser test.
test: install
	$(PYTEST) -n 2 --dist loadfile --nbval-lax --nbval-current-env course_lib tests notebooks solutions

test-fast: install
	$(PYTEST) -n 2 --dist loadfile course_lib tests -m "not browser"

test-notebooks: install
	$(PYTEST) -n 2 --dist loadfile --nbval-lax --nbval-current-env notebooks solutions

exercises: install
	$(BIN)/python tools/make_exercises.py

check-exercises: install
	$(BIN)/python tools/make_exercises.py --check

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) artifacts .hypothesis
