# civicmap — the two commands a fresh machine needs are `make demo` and `make test`.
# Everything is installed into a virtual environment in this checkout (.venv).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed


.PHONY: install demo test check lint format notebooks bench bench-env clean messages golden

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	# Leaflet files for offline web maps, from the npm registry (gitignored vendor/)
	$(BIN)/python -m civicmap.render.assets install
	touch $(STAMP)

demo: install
	$(BIN)/civicmap demo --overwrite

# The whole suite, on every core (pytest-xdist). One test file stays on one worker, so a file's
# shared fixtures (a batch, an atlas, a browser) are built once; files go out longest first
# (LONG_FIRST in tests/conftest.py), so no long file starts last and leaves a core idle.
XDIST := -n auto --dist loadfile --no-loadscope-reorder

# Bytecode first: the suite starts many Python processes (notebook kernels, Dask workers, CLI
# runs), and where PYTHONDONTWRITEBYTECODE is set each would compile civicmap again (~0.3 s).
test: install
	$(BIN)/python -m compileall -q civicmap
	$(BIN)/python -m pytest -q -ra $(XDIST)

# The quick loop while working: lint, then every test not marked slow.
check: lint
	$(BIN)/python -m compileall -q civicmap
	$(BIN)/python -m pytest -q -ra $(XDIST) -m "not slow"

# Re-record the bytes of the demo, the 金沢 atlas and a batch (tests/test_golden_outputs.py) after
# a change that is meant to alter them; the diff of tests/data/golden/outputs.json shows what moved.
golden: install
	$(BIN)/python tests/golden.py

lint: install
	$(BIN)/ruff check civicmap tests bench
	$(BIN)/ruff format --check civicmap tests bench

format: install
	$(BIN)/ruff format civicmap tests bench
	$(BIN)/ruff check --fix civicmap tests bench

# JupyterLab is installed on first use only, so `make install`/`make test` stay lean.
notebooks: install
	@test -x $(BIN)/jupyter-lab || $(BIN)/pip install --quiet jupyterlab
	cd notebooks && ../$(BIN)/jupyter lab

# Message catalogs (gettext, Babel): extract the msgids, merge them into the ja/en .po files,
# compile the .mo files. Translate the new entries in civicmap/locale/ja/LC_MESSAGES/civicmap.po,
# then run this again; the .po and .mo files are both committed.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location --sort-output \
		--project civicmap --copyright-holder "civicmap developers" -o civicmap/locale/civicmap.pot .
	$(BIN)/pybabel update -i civicmap/locale/civicmap.pot -d civicmap/locale -D civicmap --no-fuzzy-matching
	$(BIN)/pybabel compile -d civicmap/locale -D civicmap --statistics

# Every baseline must be there: a missing one stops the run (never a silent "n/a").
bench: install bench-env
	$(BIN)/python bench/run.py
	$(BIN)/python bench/bench_scale.py
	$(BIN)/python bench/bench_join.py
	$(BIN)/python bench/bench_walk.py
	$(BIN)/python bench/bench_names.py

# pyrosm (a reader baseline) pins older libraries: it gets its own environment.
# A folder made here (never a committed link): `rm -rf bench/.venv-pyrosm` starts it afresh.
bench-env:
	if [ -L bench/.venv-pyrosm ]; then rm bench/.venv-pyrosm; fi
	test -x bench/.venv-pyrosm/bin/python || $(PYTHON) -m venv bench/.venv-pyrosm
	bench/.venv-pyrosm/bin/pip install --quiet pyrosm
	bench/.venv-pyrosm/bin/python -c "import pyrosm; print('pyrosm', pyrosm.__version__)"

clean:
	rm -rf $(VENV) out build dist *.egg-info .pytest_cache
