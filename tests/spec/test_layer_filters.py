"""``filters:`` in a layer file (issue 26): typed at load, every mistake named with its key and fix.

The built-in layers are read from this checkout's ``layers/`` by path (an installed civicmap
may serve another copy of them under their ids).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from filter_maps import CHILDCARE, SHELTERS

from civicmap.errors import ConfigError
from civicmap.spec.layers import FilterSpec, load_layer, parse_layer


def _layer(filters, tmp_path: Path):
    raw = {"id": "hoiku", "sources": [{"osm": {"match": {"amenity": "kindergarten"}}}]}
    raw["filters"] = filters
    return parse_layer(raw, file="hoiku.yaml", base_dir=tmp_path)


def _problems(filters, tmp_path: Path) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        _layer(filters, tmp_path)
    return {p.key: p.message for p in info.value.problems}


def test_filters_are_typed_in_the_order_given(tmp_path):
    spec = _layer(
        [
            "category",
            {"kind": "ages", "from": "AgeS", "to": ["AgeE"], "ages": [0, 2]},
            {
                "kind": "flag",
                "title": {"ja": "一時保育", "en": "Occasional care"},
                "columns": "Temp",
            },
            {"kind": "number", "title": "定員", "columns": ["Full", "定員"]},
            {"kind": "time", "columns": ["Close"]},
            "disasters",
        ],
        tmp_path,
    )
    assert [f.kind for f in spec.filters] == [
        "category", "ages", "flag", "number", "time", "disasters",
    ]  # fmt: skip
    ages = spec.filters[1]
    assert (ages.from_columns, ages.to_columns, ages.ages) == (("AgeS",), ("AgeE",), (0, 2))
    assert spec.filters[2] == FilterSpec(
        kind="flag", title={"ja": "一時保育", "en": "Occasional care"}, columns=("Temp",)
    )
    assert spec.filters[2].title_in("en") == "Occasional care"
    assert spec.filters[3].title_in("en") == "定員"
    assert spec.filters[3].columns == ("Full", "定員")


def test_a_layer_without_filters_has_none(tmp_path):
    raw = {"id": "x", "sources": [{"osm": {"match": {"amenity": "school"}}}]}
    assert parse_layer(raw, file="x.yaml", base_dir=tmp_path).filters == ()


def test_every_mistake_is_reported_at_once_with_its_key_and_the_fix(tmp_path):
    problems = _problems(
        [
            {"kind": "flags", "columns": ["Temp"]},  # misspelt kind
            {"kind": "flag"},  # no columns
            {"kind": "number", "columns": 3},
            {"kind": "category", "columns": ["Type"]},  # category reads no column
            {"kind": "ages", "to": "AgeE"},  # to without from
            {"kind": "ages", "from": "AgeS", "ages": [5, 0]},
            {"columns": ["Temp"]},  # no kind
            ["Temp"],
        ],
        tmp_path,
    )
    assert "flag" in problems["filters[0].kind"] and "flags" in problems["filters[0].kind"]
    assert "columns: [Temp, 一時保育]" in problems["filters[1].columns"]
    assert "e.g. [定員, Capall]" in problems["filters[2].columns"]
    assert "allowed here: kind, title" in problems["filters[3].columns"]
    assert "from:" in problems["filters[4].from"]
    assert "[0, 5]" in problems["filters[5].ages"]
    assert "category" in problems["filters[6].kind"]
    assert "kind" in problems["filters[7]"]
    assert sorted(problems) == [
        "filters[0].kind", "filters[1].columns", "filters[2].columns", "filters[3].columns",
        "filters[4].from", "filters[5].ages", "filters[6].kind", "filters[7]",
    ]  # fmt: skip


def test_an_ages_filter_needs_columns_to_read_its_ages_from(tmp_path):
    problems = _problems([{"kind": "ages", "ages": [0, 2]}], tmp_path)
    assert "from: AgeS, to: AgeE" in problems["filters[0]"]


def test_filters_must_be_a_list(tmp_path):
    problems = _problems({"kind": "category"}, tmp_path)
    assert "expected a list" in problems["filters"]


def test_the_built_in_childcare_layer_offers_what_parents_filter_by():
    spec = load_layer(CHILDCARE)
    titles = [f.title_in("ja") for f in spec.filters]
    for wanted in ("受入年齢", "一時保育", "延長保育", "夜間保育", "休日保育", "障害児保育",
                   "定員", "開所時刻", "閉所時刻"):  # fmt: skip
        assert wanted in titles
    assert spec.filters[0].kind == "category"
    ages = next(f for f in spec.filters if f.kind == "ages")
    assert "AgeS" in ages.from_columns and "AgeE" in ages.to_columns and ages.ages == (0, 5)
    assert all(f.title_in("en") and f.title_in("en") != f.title_in("ja")
               for f in spec.filters if f.kind not in ("category",))  # fmt: skip


def test_the_built_in_shelters_layer_filters_by_disaster():
    spec = load_layer(SHELTERS)
    assert spec.role == "shelter"
    assert [f.kind for f in spec.filters] == ["category", "disasters"]
