"""Publishing habits of other municipalities (issue 16): header aliases, disaster-flag
spellings, one extent check for every format, lossless names and source, lost characters.

Files: real ones from tests/data, and DERIVED ones from tests/data/opendata/derived (made
from those real files by make_derived.py; see tests/data/README.md). Expected values are
computed here with csv/json, independently of the reader.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from paths import TESTS

from civicmap.fields import flag_to_bool
from civicmap.schema import DISASTER_TYPES, serves_column
from civicmap.sources import read_path

DATA = TESTS / "data"
DER = DATA / "opendata/derived"


def _rows(path: Path, encoding: str = "utf-8-sig") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def test_linked_data_uri_headers_are_recognised():
    path = DER / "minato_linked_data_headers.csv"
    rows = _rows(path)
    r = read_path(path, layer="childcare")
    cols = r.info["columns"]
    assert cols["name"] == "http://schema.org/name"
    assert cols["lat"] == "http://www.w3.org/2003/01/geo/wgs84_pos#lat"
    assert cols["lon"] == "http://www.w3.org/2003/01/geo/wgs84_pos#long"
    assert cols["address"] == "ic:住所"
    placed = [x for x in rows if x["http://www.w3.org/2003/01/geo/wgs84_pos#lat"].strip()]
    assert len(r.features) == len(placed) == 108
    assert list(r.features["name"]) == [x["http://schema.org/name"] for x in placed]
    assert r.info["mapped"] + len(r.rejected) + r.info["skipped_blank"] == len(rows)


def test_toilet_name_column_gives_every_label():
    path = DER / "toilet_toire_mei.csv"
    rows = _rows(path)
    r = read_path(path, layer="toilets")
    assert r.info["columns"]["name"] == "トイレ名"
    assert (r.features["name"] != "").all()
    assert r.info["mapped"] + len(r.rejected) + r.info["skipped_blank"] == len(rows) == 103


def test_kokudo_suuchi_codes_name_places_and_the_files_source_is_kept_aside():
    path = DER / "suzu_p20_codes.geojson"
    feats = json.loads(path.read_text("utf-8"))["features"]
    r = read_path(path, layer="shelters")
    assert r.info["columns"]["name"] == "P20_002" and r.info["columns"]["address"] == "P20_003"
    assert list(r.features["name"]) == [f["properties"]["P20_002"] for f in feats]
    # the schema's source is this file; the file's own "source" survives under another name
    assert set(r.features["source"]) == {"suzu_p20_codes.geojson"}
    assert set(r.features["source (in file)"]) == {"国土地理院"}


def test_disaster_flag_spellings_and_short_headers_map_to_the_schema_columns():
    orig = _rows(DATA / "shelters/ishikawa/170003_evacuation_space.csv")[:60]
    path = DER / "ishikawa_flags_other_styles.csv"
    rows = _rows(path)
    r = read_path(path, layer="shelters")
    flags = r.info["disaster_flags"]
    assert flags[serves_column("landslide")] == "土砂"
    assert flags[serves_column("inland_flood")] == "内水"
    assert flags[serves_column("flood")] == "洪水"
    spellings = {x["土砂"] for x in rows} | {x["洪水"] for x in rows} | {x["内水"] for x in rows}
    assert {"1.0", "○", "◯", "可", "有", "2階以上可"} <= spellings
    # the original file says 1 where the derived one says 1.0, ○, 可, 2階以上可 ...
    for key, ja in (("landslide", DISASTER_TYPES["landslide"]), ("flood", "洪水"),
                    ("inland_flood", DISASTER_TYPES["inland_flood"])):  # fmt: skip
        expected = [x[f"災害種別_{ja}"].strip() == "1" for x in orig]
        assert [bool(v) for v in r.features[serves_column(key)]] == expected, key


@pytest.mark.parametrize(
    ("cell", "want"),
    [("1", True), ("1.0", True), ("○", True), ("◯", True), ("可", True), ("有", True),
     ("2階以上可", True), ("0.0", False), ("", False), ("×", False), ("要確認", None)],
)  # fmt: skip
def test_flag_values(cell, want):
    assert flag_to_bool(cell) is want


def test_kml_points_outside_japan_are_rejected_with_a_reason_and_extent_widens():
    path = DER / "mymaps_outside_japan.kml"
    coords = re.findall(r"<coordinates>\s*([-0-9.]+),([-0-9.]+)", path.read_text("utf-8"))
    outside = [i for i, (x, y) in enumerate(coords, 1) if not 122 <= float(x) <= 154.5]
    assert outside == [2, 3]
    r = read_path(path, layer="water")
    assert [p.row for p in r.rejected] == outside
    assert all("outside Japan" in p.reason for p in r.rejected)
    assert len(r.features) + len(r.rejected) == len(coords) == 3
    wide = read_path(path, layer="water", options={"extent": [30, 0, 160, 50]})
    assert len(wide.features) == 3 and wide.rejected == []


def test_csv_and_geojson_use_the_same_extent_check():
    toilets = read_path(DATA / "messy/170003_public_toilet.csv", layer="t")
    (bad,) = toilets.rejected
    assert "outside Japan" in bad.reason
    gsi = read_path(
        DATA / "shelters/gsi/emergency_131041.json",
        layer="s",
        options={"extent": [139.70, 35.69, 139.72, 35.72]},
    )
    feats = json.loads((DATA / "shelters/gsi/emergency_131041.json").read_text("utf-8"))["features"]
    inside = [
        f for f in feats
        if 139.70 <= f["geometry"]["coordinates"][0] <= 139.72 and 35.69 <= f["geometry"]["coordinates"][1] <= 35.72
    ]  # fmt: skip
    assert len(gsi.features) == len(inside) and len(gsi.rejected) == len(feats) - len(inside)
    assert all("outside the layer's extent" in p.reason for p in gsi.rejected)


def test_display_names_keep_the_publishers_full_width_text():
    path = DATA / "shelters/ishikawa/170003_evacuation_space.csv"
    r = read_path(path, layer="shelters")
    assert "鵬学園高等学校（第２グラウンド）" in set(r.features["name"])


def test_characters_already_lost_in_a_mojibake_file_are_reported_per_row_and_kept():
    path = DATA / "messy/170003_aed_MOJIBAKE_cp932-as-latin1-in-utf8.csv"
    text = path.read_text("utf-8").encode("latin-1").decode("cp932")
    recs = list(csv.reader(io.StringIO(text, newline="")))
    lost = re.compile(
        r"[\u3000-\u30ff\u4e00-\u9fff\uff01-\uffef]\?+[\u3000-\u30ff\u4e00-\u9fff\uff01-\uffef]"
    )
    expected = sorted({i for i, rec in enumerate(recs[1:], 1) for c in rec if lost.search(c)})
    assert expected  # e.g. 石川県金沢市幸町１２?１
    r = read_path(path, layer="aed")
    got = sorted({w["row"] for w in r.info["warnings"] if "lost as '?'" in w["reason"]})
    assert got == expected
    assert any("幸町１２?１" in str(v) for v in r.features["address"])  # kept, not guessed
    assert len(r.features) == len(recs) - 1


# --- a REAL prefectural list: 北海道 医療機関名簿 (H27), via colspan/opendata-jp -------------


@pytest.fixture(scope="module")
def hokkaido():
    path = DATA / "opendata/hokkaido_hospital_list.csv"
    return path, _rows(path), read_path(path, layer="hospitals")


def test_real_english_headers_with_a_typo_are_recognised_and_every_row_maps(hokkaido):
    _path, rows, r = hokkaido
    # before issue 16: no name column, no longitude column ("longtitude"), 0 rows mapped
    assert r.info["columns"]["name"] == "hospital_name"
    assert r.info["columns"]["lon"] == "longtitude" and r.info["columns"]["lat"] == "latitude"
    placed = [x for x in rows if x["latitude"].strip() and x["longtitude"].strip()]
    assert len(r.features) == len(placed) == len(rows) == 574
    assert r.info["mapped"] + len(r.rejected) + r.info["skipped_blank"] == len(rows)
    assert list(r.features["name"]) == [x["hospital_name"].strip() for x in rows]


def test_real_wareki_dates_in_every_spelling_become_iso_and_a_typo_is_kept(hokkaido):
    _path, rows, r = hokkaido
    by_id = dict(zip([x["id"] for x in rows], r.features.to_dict("records"), strict=True))
    # spellings found in the file, converted by hand
    samples = {
        "S22.4.1": "1947-04-01",
        "平元.3.16": "1989-03-16",
        "平\n16.7.22": "2004-07-22",
        "平15,6,27": "2003-06-27",
        "平15.１.10": "2003-01-10",
        "平14. 7.30": "2002-07-30",
        "H9.11.25": "1997-11-25",
    }
    seen = set()
    for x in rows:
        if x["開設許可年月日"] in samples:
            assert by_id[x["id"]]["開設許可年月日"] == samples[x["開設許可年月日"]], x[
                "開設許可年月日"
            ]
            seen.add(x["開設許可年月日"])
    assert seen == set(samples)
    filled = {c: sum(1 for x in rows if x[c].strip()) for c in ("開設許可年月日", "開設年月日")}
    typo = [x for x in rows if x["開設年月日"] == "平H27.8.1"]
    assert len(typo) == 1  # a real typo: neither 平成 nor H alone
    assert r.info["dates_converted"] == {
        "開設許可年月日": filled["開設許可年月日"],
        "開設年月日": filled["開設年月日"] - 1,
    }
    assert by_id[typo[0]["id"]]["開設年月日"] == "平H27.8.1"  # kept as published, not guessed
