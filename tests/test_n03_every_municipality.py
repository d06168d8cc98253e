"""Every municipality and ward resolves from the bundled N03 boundaries (issue 29).

The all-Japan file (0.1 % simplification) had lost six small island and enclave
municipalities (日吉津村 among them) and N03 holds no polygon for a 政令指定都市 itself,
only its wards. The code list is 総務省's 全国地方公共団体コード (tests/data/README.md).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from civicmap import area

CODES = Path(__file__).parent / "data" / "boundaries" / "municipality_codes_2020.tsv"


def _codes() -> list[dict[str, str]]:
    with open(CODES, encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_every_municipality_in_the_code_list_resolves():
    rows = _codes()
    assert len(rows) == 1741
    unresolved = []
    for r in rows:
        try:
            got = area.municipality(r["code"])
        except area.AreaError:
            unresolved.append((r["code"], r["name"]))
            continue
        assert got.name.endswith(r["name"]), (r, got.name)
        assert not got.geometry.is_empty
    assert unresolved == []


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("31384", "日吉津村"),
        ("16321", "舟橋村"),
        ("13402", "青ヶ島村"),
        ("47356", "渡名喜村"),
        ("44322", "姫島村"),
        ("38356", "上島町"),
        ("14130", "川崎市"),
        ("01100", "札幌市"),
    ],
)
def test_tiny_and_designated_municipalities(code, name):
    got = area.municipality(code)
    assert got.name.endswith(name)
    assert got.geometry.area > 0


def test_designated_city_is_the_union_of_its_wards():
    city = area.municipality("14130")
    wards = [area.municipality(f"1413{k}") for k in range(1, 8)]
    total = sum(w.geometry.area for w in wards)
    assert city.geometry.area == pytest.approx(total, rel=0.01)


def test_tottori_has_all_19_municipalities():
    hiezu = area.municipality("31384").geometry
    found = area.municipalities_in((133.0, 35.0, 134.6, 35.7))
    tottori = {code for code, _name, _g in found if code.startswith("31")}
    assert len(tottori) == 19 and "31384" in tottori
    assert hiezu.area > 0
