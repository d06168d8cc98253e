"""Categories keep the publisher's text; only the key they are matched by is folded (issue 16).

Real files: 富山市's nursery list writes one age two ways in its AgeS column
(``3歳児`` twice, ``３歳児`` once, full-width digit) and puts full-width brackets
in others (``0歳（2ヶ月）``); 新宿区's Type_desc has a full-width space and
brackets (``保育園　区立（公設公営）``). Expected values are read here with the
csv module; the key is folded by hand (NFKC, no spaces).
"""

from __future__ import annotations

import csv
import json
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from paths import TESTS

from civicmap.pipeline import collect
from civicmap.render.export import write_export
from civicmap.render.web import category_styles, popup_rows
from civicmap.sources import read_path
from civicmap.spec.mapfile import parse_map

DATA = TESTS / "data"
TOYAMA = DATA / "childcare" / "toyama" / "toyama_nurseryFacilities_utf8bom.csv"
SHINJUKU = DATA / "childcare" / "shinjuku" / "shinjuku_nurseryFacilities.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _expected_toyama() -> dict[int, str]:
    """Row number → the category shown: the file's most used spelling of the row's key."""
    rows = _rows(TOYAMA)
    spellings: dict[str, Counter] = {}
    for r in rows:
        v = r["AgeS"].strip()
        if v:
            spellings.setdefault(_key(v), Counter())[v] += 1
    return {
        i: (spellings[_key(r["AgeS"].strip())].most_common(1)[0][0] if r["AgeS"].strip() else "")
        for i, r in enumerate(rows, start=1)
        if r["Y"].strip() and r["X"].strip()
    }


@pytest.fixture(scope="module")
def toyama_read():
    return read_path(TOYAMA, layer="childcare", options={"category": {"column": "AgeS"}})


def test_the_real_file_writes_one_category_two_ways():
    """The premise, checked by hand: 3歳児 and ３歳児 in one column, brackets full-width."""
    values = Counter(r["AgeS"] for r in _rows(TOYAMA))
    assert values["3歳児"] == 2 and values["３歳児"] == 1
    assert values["0歳（2ヶ月）"] == 3 and "0歳(2ヶ月)" not in values


def test_categories_keep_the_publishers_text_and_one_key_shows_one_spelling(toyama_read):
    expected = _expected_toyama()
    f = toyama_read.features
    rows = [int(ref.rsplit(":", 1)[1]) for ref in f["source_ref"]]
    assert sorted(rows) == sorted(expected)  # every located row, each once
    assert list(f["category"]) == [expected[r] for r in rows]
    cats = Counter(f["category"])
    # full-width brackets as published, not folded to (2ヶ月)
    assert cats["0歳（2ヶ月）"] == 3 and cats["0歳（57日目）"] == 2
    assert not any("(" in c for c in cats)
    # the two spellings of 3歳児 are one category, shown as the file writes it most
    assert cats["3歳児"] == 3 and "３歳児" not in cats
    assert toyama_read.info["category_spellings"] == {"3歳児": ["３歳児"]}


@pytest.fixture(scope="module")
def toyama_map():
    raw = {
        "title": "富山市の保育施設",
        "area": {"bbox": [137.0, 36.45, 137.55, 36.8]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [
            {
                "id": "childcare",
                "title": {"ja": "保育施設", "en": "Childcare"},
                "popup": ["name", "category", "address"],
                "sources": [{"csv": {"path": str(TOYAMA), "category": {"column": "AgeS"}}}],
            }
        ],
    }
    return collect(parse_map(raw, file="toyama.yaml", base_dir=DATA))


def test_web_legend_has_one_entry_per_category_with_the_publishers_text(toyama_map):
    layer = toyama_map.layer("childcare")
    styles, index = category_styles(layer, language="ja")
    titles = [s["title"] for s in styles]
    by_key: dict[str, list[str]] = {}
    for t in titles:
        by_key.setdefault(_key(t), []).append(t)
    assert all(len(v) == 1 for v in by_key.values()), by_key  # one legend entry per key
    assert "0歳（2ヶ月）" in titles and "0歳(2ヶ月)" not in titles
    three = next(s for s in styles if s["title"] == "3歳児")
    assert three["count"] == 3
    # and so one colour for all three rows (the popup shows the same text)
    f = layer.features
    threes = f[f["category"] == "3歳児"]
    assert len(threes) == 3
    assert {index[c] for c in threes["category"]} == {index["3歳児"]}
    bracket = f[f["category"] == "0歳（2ヶ月）"].iloc[0]
    cells = [cell for row in popup_rows(layer, bracket, language="ja") for cell in row]
    assert "0歳（2ヶ月）" in cells


def test_exports_keep_the_publishers_category_text(toyama_map, tmp_path):
    out = write_export(toyama_map, tmp_path / "toyama.geojson", fmt="geojson", overwrite=False)
    doc = json.loads(out.read_text(encoding="utf-8"))
    cats = Counter(ft["properties"].get("category") for ft in doc["features"])
    assert cats["0歳（2ヶ月）"] == 3 and cats["3歳児"] == 3
    assert "３歳児" not in cats and not any("(" in str(c) for c in cats)


def test_shinjuku_type_desc_keeps_its_full_width_space_and_brackets():
    rows = _rows(SHINJUKU)
    r = read_path(SHINJUKU, layer="childcare", options={"category": {"column": "Type_desc"}})
    located = [x for x in rows if x["Y"].strip() and x["X"].strip()]
    assert len(r.features) == len(located)
    assert Counter(r.features["category"]) == Counter(x["Type_desc"] for x in located)
    assert "保育園\u3000区立（公設公営）" in set(r.features["category"])


@pytest.mark.parametrize(
    "written",
    [
        "保育園\u3000区立（公設公営）",  # copied from the file as it is
        "保育園 区立(公設公営)",  # typed with half-width brackets and a plain space
    ],
)
def test_renames_and_filters_match_the_category_by_key_not_by_width(written):
    """A layer file's value matches the file's cells however its width and spaces are typed."""
    rows = _rows(SHINJUKU)
    want = sum(1 for x in rows if x["Type_desc"] == "保育園\u3000区立（公設公営）")
    assert want == 10
    opts = {"category": {"column": "Type_desc", "values": {written: "区立保育園"}}}
    r = read_path(SHINJUKU, layer="childcare", options=opts)
    assert Counter(r.features["category"])["区立保育園"] == want
    r = read_path(SHINJUKU, layer="childcare", options={"filter": {"Type_desc": written}})
    assert len(r.features) == want
    assert set(r.features["Type_desc"]) == {"保育園\u3000区立（公設公営）"}


def test_two_files_of_one_layer_share_one_legend_entry_per_category(tmp_path):
    """A hand-made second file writes 0歳(2ヶ月) with half-width brackets: the layer shows
    富山市's spelling (used three times against once) in one legend entry."""
    extra = tmp_path / "extra.csv"
    extra.write_text(
        "名称,緯度,経度,AgeS\n手作りの園A,36.6101,137.1502,0歳(2ヶ月)\n手作りの園B,36.6201,137.1602,3歳児\n",
        encoding="utf-8",
    )
    raw = {
        "title": "富山市の保育施設",
        "area": {"bbox": [137.0, 36.45, 137.55, 36.8]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [
            {
                "id": "childcare",
                "title": {"ja": "保育施設", "en": "Childcare"},
                "sources": [
                    {"csv": {"path": str(TOYAMA), "category": {"column": "AgeS"}}},
                    {"csv": {"path": str(extra), "category": {"column": "AgeS"}}},
                ],
            }
        ],
    }
    layer = collect(parse_map(raw, file="toyama.yaml", base_dir=tmp_path)).layer("childcare")
    cats = Counter(layer.features["category"])
    assert cats["0歳（2ヶ月）"] == 3 + 1 and "0歳(2ヶ月)" not in cats
    assert cats["3歳児"] == 3 + 1
    styles, _index = category_styles(layer, language="ja")
    titles = [s["title"] for s in styles]
    assert titles.count("0歳（2ヶ月）") == 1
    assert len({_key(t) for t in titles}) == len(titles)
