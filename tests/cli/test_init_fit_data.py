"""``init`` proposes ``fit: data`` when the places sit in a small part of a large area.

A starter tries one sheet of the whole area, then one sheet zoomed to the places
(``fit: data``), then atlases (:func:`civicmap.starter.choose_paper`). The real
新宿区 nursery list (133 places in about 6 × 5 km) on a map of the 23 wards
(about 33 × 33 km): the whole area on one A4 sheet is too crowded to read, the
places zoomed on one sheet are readable — no atlas is needed.
"""

from __future__ import annotations

import shutil

import pytest
import yaml
from click.testing import CliRunner
from paths import TESTS

from civicmap.cli import main

SHINJUKU = TESTS / "data/childcare/shinjuku/shinjuku_nurseryFacilities.csv"
TOKYO_23_WARDS = "139.56,35.52,139.92,35.82"


def run(*args) -> object:
    res = CliRunner().invoke(main, ["--lang", "en", *map(str, args)])
    assert "Traceback" not in res.output, res.output
    return res


@pytest.mark.timeout(300)
def test_places_in_a_corner_of_a_large_area_get_fit_data_and_a_readable_first_build(tmp_path):
    shutil.copy(SHINJUKU, tmp_path / SHINJUKU.name)
    init = run("init", tmp_path / SHINJUKU.name, "--bbox", TOKYO_23_WARDS,
               "-o", tmp_path / "map.yaml")  # fmt: skip
    assert init.exit_code == 0, init.output
    text = (tmp_path / "map.yaml").read_text(encoding="utf-8")
    paper = yaml.safe_load(text)["outputs"]["paper"]
    assert paper.get("fit") == "data", paper
    assert "atlas" not in paper  # one sheet, zoomed to the places
    assert "fit: data" in text  # and the file says why, in its comment
    assert "zoomed to the places (fit: data)" in init.output
    build = run("build", tmp_path / "map.yaml", "--offline")
    assert build.exit_code == 0, build.output
    assert "hard to read" not in build.output, build.output
    assert list((tmp_path / "out").glob("*.pdf"))
    # the whole area on one sheet would not have been readable: fit: data is the answer
    paper.pop("fit")
    doc = yaml.safe_load(text)
    doc["outputs"] = {"paper": {**paper, "file": "whole/map.pdf"}}
    (tmp_path / "whole.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    whole = run("build", tmp_path / "whole.yaml", "--offline")
    # ... and is not written: the one-line error names fit: data among the fixes
    assert whole.exit_code == 1, whole.output
    assert "too crowded to read" in whole.output and "fit: data" in whole.output, whole.output
    assert not (tmp_path / "whole" / "map.pdf").exists()
