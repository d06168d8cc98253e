"""Where the test suite's files are, for tests at any depth below ``tests/``.

The tests mirror the package (``tests/sources/`` for ``civicmap/sources/`` …), so a test's own
folder says nothing about where the data is; these names do.
"""

from pathlib import Path

#: The ``tests/`` folder.
TESTS = Path(__file__).resolve().parent
#: The checkout (README, docs, bench, notebooks, the package).
ROOT = TESTS.parent
#: Test data, with its provenance README.
DATA = TESTS / "data"
