"""Japanese open-data CSVs: the real files in tests/data read with the right counts and repairs."""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

import pytest
from paths import TESTS

from civicmap.errors import SourceError
from civicmap.schema import APPROXIMATE, COLUMNS, DISASTER_TYPES, check_schema, serves_column
from civicmap.sources.opendata import read_csv

DATA = TESTS / "data"


def _records(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    """Data records counted independently with the csv module (header excluded)."""
    text = path.read_bytes().decode(encoding)
    return list(csv.reader(io.StringIO(text, newline="")))[1:]


def _ok(result, path: Path) -> None:
    assert check_schema(result.features) == []
    assert list(result.features.columns[: len(COLUMNS) - 1]) == list(COLUMNS[:-1])
    # nothing dropped silently: every data row of the file is mapped, rejected or
    # a blank line (rows of a joined table are rejected under that table's name)
    own_rejected = [p for p in result.rejected if p.source == path.name]
    assert (
        result.info["mapped"] + len(own_rejected) + result.info["skipped_blank"]
        == result.info["rows"]
    )


def test_shinjuku_all_133_rows_map_and_trailing_spaces_are_reported():
    path = DATA / "childcare/shinjuku/shinjuku_nurseryFacilities.csv"
    recs = _records(path)
    r = read_csv(path, layer="childcare")
    _ok(r, path)
    assert r.info["rows"] == len(recs) == 133
    assert len(r.features) == 133 and r.rejected == []
    assert r.info["columns"]["lat"] == "Y" and r.info["columns"]["lon"] == "X"
    spaced = [
        i
        for i, rec in enumerate(recs, 1)
        if rec[11] != rec[11].strip() or rec[12] != rec[12].strip()
    ]
    assert spaced and [p.row for p in r.repaired] == spaced
    first = r.features.iloc[0]
    assert first["name"] == "大久保第一保育園"
    assert first["address"] == "東京都新宿区大久保3-11-1"  # Add1 + Add2
    assert first.geometry.y == pytest.approx(35.70838)
    assert first["source_ref"] == "shinjuku_nurseryFacilities.csv:1"
    assert not r.features[APPROXIMATE].any()


def test_toyama_utf8_bom_row_without_coordinates_or_address_is_rejected():
    path = DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv"
    recs = _records(path)
    blank = [i for i, rec in enumerate(recs, 1) if not rec[24].strip()]
    r = read_csv(path, layer="childcare")
    _ok(r, path)
    assert r.info["encoding"] == "utf-8-sig"
    assert r.info["columns"]["name"] == "Name"  # BOM not glued to the first header
    assert len(r.features) == len(recs) - len(blank) == 159
    assert [p.row for p in r.rejected] == blank == [150]
    assert "スマイルキッズ" in r.rejected[0].reason


def test_minato_home_visit_rows_footer_and_blank_row_are_all_reported():
    path = DATA / "childcare/minato/minato_hoikuen.csv"
    recs = _records(path)
    no_coords = [i for i, rec in enumerate(recs, 1) if not rec[4].strip()]
    r = read_csv(path, layer="childcare")
    _ok(r, path)
    assert r.info["columns"]["name"] == "保育園名"
    assert len(r.features) == len(recs) - len(no_coords) == 108
    blank = [i for i, rec in enumerate(recs, 1) if not "".join(rec).strip()]
    assert blank == [112]
    assert sorted(p.row for p in r.rejected) == [i for i in no_coords if i not in blank]
    reasons = {p.row: p.reason for p in r.rejected}
    assert "利用者自宅" in reasons[109] and "geocode: true" in reasons[109]
    # the blank line is skipped and counted, not rejected
    assert 112 not in reasons and r.info["blank_rows"] == [112]
    assert set(r.features["category"]) >= {"認可保育園"}


def test_ishikawa_standard_evacuation_1528_records_with_quoted_newlines():
    path = DATA / "shelters/ishikawa/170003_evacuation_space.csv"
    recs = _records(path)
    assert len(recs) == 1528
    r = read_csv(path, layer="shelters")
    _ok(r, path)
    assert r.info["layout"] == "standard_evacuation"
    assert r.info["rows"] == 1528
    empty = [i for i, rec in enumerate(recs, 1) if not rec[13].strip()]
    # template rows holding only a ― placeholder: blank lines, checked by hand
    assert all(set("".join(recs[i - 1]).strip()) == {"―"} for i in empty)
    assert r.rejected == [] and r.info["blank_rows"] == empty
    assert len(r.features) == 1528 - len(empty) == 1525
    # a field holding a newline survives inside its cell
    multi = next(rec for rec in recs if any("\r" in c or "\n" in c for c in rec))
    row = r.features[r.features["name"] == unicodedata.normalize("NFKC", multi[2]).strip()].iloc[0]
    assert any(ch in "".join(str(row[h]) for h in ("名称_英字", "備考")) for ch in "\r\n")
    # the eight 災害種別_* flags become booleans
    for key, ja in DISASTER_TYPES.items():
        col = serves_column(key)
        want = sum(
            1
            for rec in recs
            if rec[13].strip() and rec[24 + list(DISASTER_TYPES).index(key)].strip() == "1"
        )
        assert r.features[col].map(lambda v: v is True).sum() == want, ja
    assert r.features["category"].eq("指定緊急避難場所").all()
    first = r.features.iloc[0]
    assert first["ID"] == "CC0000000001" and first["全国地方公共団体コード"] == "170003"


def test_suzu_free_layout_capacity_from_bikou_and_category_from_subgenre():
    path = DATA / "shelters/ishikawa/suzusiteishelter.csv"
    recs = _records(path)
    r = read_csv(path, layer="shelters")
    _ok(r, path)
    assert len(r.features) == len(recs) == 27
    assert r.info["capacity_from"] == "備考1"
    assert r.features.iloc[0]["capacity"] == 310
    want = [int(rec[17].split(":")[1]) for rec in recs if rec[17].startswith("収容人数:")]
    assert list(r.features["capacity"].dropna().astype(int)) == want
    assert set(r.features["category"]) == {"指定避難所"}


def test_suzu_tsunami_refuges_halfwidth_katakana_names_are_normalised():
    path = DATA / "shelters/ishikawa/suzukinkyushelter.csv"
    r = read_csv(path, layer="shelters")
    _ok(r, path)
    assert len(r.features) == len(_records(path)) == 122
    # ﾊﾞｲﾊﾟｽ → バイパス; the publisher's full-width brackets stay
    assert r.features.iloc[0]["name"] == "国道249号（松波鵜島バイパスA）"


def test_hospitals_without_coordinates_are_reported_not_dropped():
    path = DATA / "shelters/ishikawa/saigai_hospital.csv"
    r = read_csv(path, layer="hospitals")
    assert len(r.features) == 0
    assert [p.row for p in r.rejected] == list(range(1, 11))
    assert all("address only" in p.reason for p in r.rejected)


def test_public_toilet_longitude_without_decimal_point_is_rejected_not_guessed():
    path = DATA / "messy/170003_public_toilet.csv"
    recs = _records(path)
    r = read_csv(path, layer="toilets")
    _ok(r, path)
    assert len(r.features) == len(recs) - 1 == 102
    (bad,) = r.rejected
    assert bad.row == 20 and "outside Japan" in bad.reason and "13674703" in bad.reason
    assert "column_40" in r.features.columns  # empty header cells get names, not dropped


def test_aed_mojibake_is_detected_repaired_and_reported():
    path = DATA / "messy/170003_aed_MOJIBAKE_cp932-as-latin1-in-utf8.csv"
    text = path.read_text(encoding="utf-8").encode("latin-1").decode("cp932")
    recs = list(csv.reader(io.StringIO(text, newline="")))[1:]
    r = read_csv(path, layer="aed")
    _ok(r, path)
    assert "mojibake" in r.info["encoding"] and r.info["file_repairs"]
    assert r.info["rows"] == len(recs) == 286
    assert len(r.features) == 286 and r.rejected == []
    assert r.features.iloc[0]["name"] == "石川県立大学"
    swapped = [i for i, rec in enumerate(recs, 1) if float(rec[14].strip(" ,")) > 90]
    trailing = [i for i, rec in enumerate(recs, 1) if rec[14].strip().endswith(",")]
    assert [p.row for p in r.repaired] == sorted(swapped + trailing)
    assert all("swapped" in p.reason for p in r.repaired if p.row in swapped)
    fixed = r.features[r.features["source_ref"].isin([f"{path.name}:{i}" for i in swapped])]
    assert fixed.geometry.y.between(36, 38).all() and fixed.geometry.x.between(136, 138).all()
    # spreadsheet damage to 法人番号 is reported, never "fixed"
    damaged = [i for i, rec in enumerate(recs, 1) if "E+" in rec[25]]
    assert [w["row"] for w in r.info["warnings"] if w["column"] == "法人番号"] == damaged
    assert r.features.iloc[0]["法人番号"] == "5.22001E+12"


def test_minato_capacity_table_without_coordinates_joins_by_name():
    path = DATA / "childcare/minato/minato_hoikuen.csv"
    jpath = DATA / "childcare/minato/minato_hoikuen_saiteishisu_NO_COORDS.csv"

    def key(s: str) -> str:
        return "".join(unicodedata.normalize("NFKC", s).split())

    left_names = {key(rec[2]) for rec in _records(path)} - {""}
    right = [rec for rec in _records(jpath) if rec]
    matched = [rec for rec in right if key(rec[2]) in left_names]
    r = read_csv(
        path,
        layer="childcare",
        options={"join": {"path": str(jpath), "on": "保育園名", "columns": ["0歳", "1歳"]}},
    )
    _ok(r, path)
    assert r.info["join"]["matched"] == len(matched)
    shiba = r.features[r.features["name"] == "芝保育園"].iloc[0]
    assert shiba["0歳"] == "34" and shiba["1歳"] == "40"
    unmatched = [p for p in r.rejected if p.source == jpath.name]
    assert len(unmatched) == len(_records(jpath)) - len(matched)
    assert all("join:" in p.reason for p in unmatched)


def test_without_coordinate_columns_the_error_names_the_file_and_the_fix():
    with pytest.raises(
        SourceError,
        match=r"minato_hoikuen_saiteishisu_NO_COORDS.csv: no coordinate columns.*columns: \{lat",
    ):
        read_csv(DATA / "childcare/minato/minato_hoikuen_saiteishisu_NO_COORDS.csv", layer="x")


def test_demo_map_still_collects():
    import civicmap

    data = civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))
    childcare = next(layer for layer in data.layers if layer.spec.id == "childcare")
    assert childcare.report.read >= 133
    assert "大久保第一保育園" in set(childcare.features["name"])
