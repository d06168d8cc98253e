"""The demo, the 金沢 atlas and a batch build to the recorded bytes (issue 23's promise).

See ``tests/golden.py``: a change meant to alter an output runs ``make golden`` and commits
the new digests, so every output that moved shows in the diff of
``tests/data/golden/outputs.json``; a change not meant to alter one fails here.
"""

from __future__ import annotations

import json

import pytest
from golden import EPOCH, GOLDEN, build_all, versions

pytestmark = pytest.mark.slow


def test_the_three_builds_give_the_recorded_bytes(tmp_path, monkeypatch):
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    if recorded["versions"] != versions():
        moved = {k: (v, versions()[k]) for k, v in recorded["versions"].items()
                 if versions().get(k) != v}  # fmt: skip
        pytest.skip(f"drawing libraries differ from the recording {moved}: run make golden")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    built = build_all(tmp_path)
    assert sorted(built) == sorted(recorded["files"]), "a different set of output files"
    changed = [name for name, digest in built.items() if recorded["files"][name] != digest]
    assert not changed, f"outputs changed: {changed} (meant? run make golden and commit)"
