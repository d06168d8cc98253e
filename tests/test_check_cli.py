"""`civicmap check FILE` and `civicmap convert FILE -o OUT.geojson` on data files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from civicmap.check import check_file
from civicmap.cli import main

DATA = Path(__file__).parent / "data"
AED = DATA / "messy/170003_aed_MOJIBAKE_cp932-as-latin1-in-utf8.csv"
TOILET = DATA / "messy/170003_public_toilet.csv"


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_check_json_reports_encoding_rows_mapped_repairs_and_rejections():
    res = run("check", "--json", TOILET)
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["encoding"] == "utf-8" and rep["layout"] == "standard"
    assert rep["rows"] == 103 and rep["mapped"] == 102
    assert rep["rejected"] == [
        {"row": 20, "reason": rep["rejected"][0]["reason"], "source": TOILET.name}
    ]
    assert "outside Japan" in rep["rejected"][0]["reason"]
    assert rep["columns"]["lat"] == "緯度"


def test_check_text_names_the_mojibake_repair_and_each_repaired_row():
    res = run("check", AED)
    assert res.exit_code == 0
    out = res.output
    assert "mojibake" in out and "rows read: 286" in out and "rows mapped: 286" in out
    assert "row 216: latitude and longitude swapped" in out
    assert "法人番号 = '5.22001E+12'" in out


def test_check_writes_rejected_rows_csv_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "rejected.csv"
    res = run("check", DATA / "childcare/minato/minato_hoikuen.csv", "--rejected", out)
    assert res.exit_code == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    # row 112 is a blank line: skipped and counted, not a rejected place (issue 16)
    assert [int(r["row"]) for r in rows] == [109, 110, 111, 113]
    assert rows[0]["file"] == "minato_hoikuen.csv" and "利用者自宅" in rows[0]["reason"]
    res = run("check", DATA / "childcare/minato/minato_hoikuen.csv", "--rejected", out)
    assert res.exit_code == 2 and "already exists" in res.output
    assert (
        run(
            "check", DATA / "childcare/minato/minato_hoikuen.csv", "--rejected", out, "--overwrite"
        ).exit_code
        == 0
    )


@pytest.mark.parametrize(
    ("rel", "rows", "mapped"),
    [
        ("childcare/shinjuku/shinjuku_nurseryFacilities.csv", 133, 133),
        ("childcare/minato/minato_hoikuen_saiteishisu_NO_COORDS.csv", 108, 0),
        ("shelters/ishikawa/170003_evacuation_space.csv", 1528, 1525),
        ("shelters/gsi/emergency_172014.json", 507, 507),
        ("kml/hiroshima2018_water-supply_google-mymaps.kml", 389, 345),
        ("umap/mapprint_sample_legacy.umap", 33, 33),
    ],
)
def test_check_file_on_every_kind(rel, rows, mapped):
    rep = check_file(DATA / rel)
    assert (rep["rows"], rep["mapped"]) == (rows, mapped)
    assert (
        rep["mapped"]
        + len([r for r in rep["rejected"] if r["source"] == Path(rel).name])
        + rep.get("skipped_blank", 0)  # blank lines are counted, not rejected (issue 16)
        == rows
    )


def test_check_on_a_table_without_coordinates_says_how_to_use_it():
    rep = check_file(DATA / "childcare/minato/minato_hoikuen_saiteishisu_NO_COORDS.csv")
    assert any("join:" in n for n in rep["notes"])
    assert rep["rejected"][0]["row"] == 1


def test_convert_writes_common_schema_geojson_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "aed.geojson"
    res = run("convert", AED, "-o", out)
    assert res.exit_code == 0, res.output
    assert "286 of 286 rows written" in res.output
    fc = json.loads(out.read_text(encoding="utf-8"))
    assert len(fc["features"]) == 286
    props = fc["features"][0]["properties"]
    assert {"layer", "category", "name", "name_kana", "address", "source", "source_ref"} <= set(
        props
    )
    assert props["name"] == "石川県立大学" and props["法人番号"] == "5.22001E+12"
    before = out.read_bytes()
    res = run("convert", TOILET, "-o", out)
    assert res.exit_code == 2 and "--overwrite" in res.output
    assert out.read_bytes() == before
    assert run("convert", TOILET, "-o", out, "--overwrite").exit_code == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))["features"]) == 102
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_convert_rejects_non_geojson_output(tmp_path):
    res = run("convert", TOILET, "-o", tmp_path / "out.csv")
    assert res.exit_code == 1 and "expected .geojson" in res.output
