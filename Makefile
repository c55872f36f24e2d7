# Two commands on a fresh machine: `make book` and `make test` (see README.md).
# Everything runs inside .venv, created on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed

.PHONY: help setup book test test-lab lab bench student vendor clean

help:
	@echo "make book   - set up .venv and build the HTML book into _build/html"
	@echo "make test   - set up .venv and run the suite: unit and hostile tests, strict build, book and browser tests"
	@echo "make test-lab - JupyterLab end to end: every chapter and learner copy run in Lab (CI runs it too)"
	@echo "make lab    - open the chapters in JupyterLab"
	@echo "make bench  - print the benchmark table"
	@echo "make student- write learner copies (no solutions) into student/ (FORCE=1 replaces old copies)"
	@echo "make vendor - refresh the offline JavaScript in book/vendor/ from npm and the anywidget wheel"
	@echo "make clean  - remove the build and the caches (keeps .venv)"

# (Re)install when the pins or the package metadata change.
$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt -r requirements-test.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

# A clean build: jupyter-cache keys on code cells only, so a changed package
# would otherwise leave stale outputs in the book.
book: $(STAMP)
	$(BIN)/jupyter-book clean --all . >/dev/null
	$(BIN)/jupyter-book build . -W --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

# The whole suite but JupyterLab. The strict build executes every chapter once,
# in a fresh kernel; tests marked `book` then read what the build produced.
test: $(STAMP)
	$(PY) -m pytest -m "not book and not lab" -q
	$(BIN)/jupyter-book clean --all . >/dev/null
	$(BIN)/jupyter-book build . -W --keep-going -n
	$(PY) -m pytest -m book -q

# JupyterLab end to end (about 7 minutes here): every chapter and every learner
# copy run top to bottom in Lab, the explorers driven by key. CI runs it after
# `make test`; it needs no build.
test-lab: $(STAMP)
	$(PY) -m pytest -m lab -q

lab: $(STAMP)
	$(BIN)/jupyter lab chapters/

bench: $(STAMP)
	$(PY) scripts/bench.py

student: $(STAMP)
	$(PY) -m attn_course student chapters/ student/ $(if $(FORCE),--force)

# Needs npm and the registry; rebuild the book from clean afterwards.
vendor: $(STAMP)
	$(PY) scripts/vendor.py

clean:
	rm -rf _build test-artifacts .pytest_cache .hypothesis
