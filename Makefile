# The two commands a student needs: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST := $(BIN)/python -m pytest
NB     ?=
# JupyterLab refuses to run as root unless told (containers, CI).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

PY_SOURCES := course_lib tests tools benchmarks
NOTEBOOKS  := notebooks/*.ipynb solutions/*.ipynb exercises/*.ipynb

.PHONY: install chromium lab lint format test test-fast test-notebooks test-browser exercises check-exercises grade bench claims headless clean

install: $(STAMP)

# A venv with pip; where the system Python has no ensurepip (Debian without python3-venv),
# a venv without pip gets one from the system pip.
$(STAMP): pyproject.toml
	@if ! $(BIN)/python -m pip --version >/dev/null 2>&1; then \
	  rm -rf $(VENV); \
	  $(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV) && $(PYTHON) -m venv --without-pip $(VENV) \
	    && $(PYTHON) -m pip --python $(BIN)/python install --quiet pip; }; \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Debian's chromium for the browser test (never `playwright install`): installed when
# missing and we are root; otherwise the browser test skips and says how to install it.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser test"; \
	  { [ -n "$$APT_UPDATED" ] || apt-get update -qq; } \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	  || echo "warning: could not install chromium; the browser test will be skipped"; \
	else \
	  echo "note: /usr/bin/chromium is missing; the browser test will be skipped (as root: apt-get install -y chromium)"; \
	fi

lab: install
	$(BIN)/python -m jupyter lab $(ROOT_FLAG) --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks

# Lint: ruff (pyflakes, pycodestyle, import order, bugbear, builtins shadowing, pyupgrade),
# ruff's format check, mypy on course_lib, and notebooks committed without outputs
# (nbstripout --keep-id: the grader matches cells by id).
lint: install
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/mypy
	$(BIN)/nbstripout --keep-id --verify $(NOTEBOOKS)

# Rewrite the sources the way `make lint` wants them (ruff --fix, ruff format, nbstripout).
format: install
	$(BIN)/ruff check --fix $(PY_SOURCES)
	$(BIN)/ruff format $(PY_SOURCES)
	$(BIN)/nbstripout --keep-id $(NOTEBOOKS)

# Everything: lint, library unit/property/doctests, exercise generator + sync + stubs, the
# grader, every solution notebook under nbval, and every lecture notebook once: in the browser
# test (Run All in JupyterLab; an error or a failed assert in any cell fails it), or under nbval
# where there is no Chromium to run it (running them twice would cost minutes and test nothing more).
CHROMIUM_BIN := $(or $(CHROMIUM_PATH),/usr/bin/chromium)
test: install chromium lint
	@if [ -x "$(CHROMIUM_BIN)" ]; then nbs="solutions"; \
	  echo "lecture notebooks: run by the browser test (Run All, every check cell), nbval runs solutions/"; \
	else nbs="notebooks solutions"; fi; \
	echo "$(PYTEST) -n 2 --dist loadfile --durations=10 --nbval-lax --nbval-current-env course_lib tools tests $$nbs"; \
	$(PYTEST) -n 2 --dist loadfile --durations=10 --nbval-lax --nbval-current-env course_lib tools tests $$nbs

test-fast: install
	$(PYTEST) -n 2 --dist loadfile course_lib tools tests -m "not browser"

test-notebooks: install
	$(PYTEST) -n 2 --dist loadfile --nbval-lax --nbval-current-env notebooks solutions

# JupyterLab in headless Chromium: Run All on each lecture notebook, move every slider.
# Screenshots and timings land in artifacts/browser/.
test-browser: install chromium
	@$(PYTEST) tests/browser -v; status=$$?; cat artifacts/browser/timings*.txt 2>/dev/null; exit $$status

exercises: install
	$(BIN)/python tools/make_exercises.py

check-exercises: install
	$(BIN)/python tools/make_exercises.py --check

# make grade NB=path/to/01_magnitude_exercise.ipynb   (several: NB="a.ipynb b.ipynb")
grade: install
	@test -n "$(NB)" || { echo "usage: make grade NB=path/to/NN_topic_exercise.ipynb"; exit 2; }
	$(BIN)/python -m course_lib.grade $(NB)

bench: install
	$(BIN)/python -m benchmarks

# Run every lecture notebook headless; each saves the rows of the README's claims table it
# measured to claims/, and the table in README.md is rewritten from them (with this machine).
claims: install
	rm -rf claims.new
	$(BIN)/python tools/run_notebooks.py notebooks/*.ipynb --claims claims.new
	rm -rf claims && mv claims.new claims
	$(BIN)/python tools/claims_table.py

# Every lecture notebook executed headless (nbclient, as nbconvert) RUNS times in a row, a cell
# allowed 120 s: a hang fails it. About 10 x 6 minutes on 2 idle cores; `make headless RUNS=2` is quicker.
RUNS ?= 10
headless: install
	COURSE_HEADLESS_RUNS=$(RUNS) $(PYTEST) -p no:xdist -s -v tests/test_headless.py -k every_lecture_notebook

clean:
	rm -rf $(VENV) artifacts .hypothesis
