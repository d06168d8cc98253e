"""`civicmap diff MAP.yaml`: the official list against OSM, as CSV and GeoJSON."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from civicmap.cli import main
from civicmap.pipeline import demo_map_path


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_diff_of_the_demo_writes_csv_and_geojson_and_prints_a_summary(tmp_path):
    res = run("diff", str(demo_map_path()), "--out", str(tmp_path))
    assert res.exit_code == 0, res.output
    assert "childcare: matched 1, only_official 13, only_osm 0" in res.output
    csv_path, geo_path = tmp_path / "demo_diff.csv", tmp_path / "demo_diff.geojson"
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel opens Japanese correctly
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    # #17: the shelters layer has an OSM source with nothing in the demo area, so each
    # of its 11 official rows is listed too (only_official: a to-do list for mappers)
    assert "shelters: matched 0, only_official 11, only_osm 0" in res.output
    assert sum(r["layer"] == "shelters" for r in rows) == 11
    rows = [r for r in rows if r["layer"] == "childcare"]
    assert len(rows) == 13 and {r["status"] for r in rows} == {"only_official"}
    names = {r["name_official"] for r in rows}
    assert "高田馬場第ニ保育園" in names and "大久保第一保育園" not in names
    assert all(35.6 < float(r["lat"]) < 35.8 for r in rows)
    geo = json.loads(geo_path.read_text(encoding="utf-8"))
    assert len(geo["features"]) == 13 + 11
    assert geo["features"][0]["geometry"]["type"] == "Point"
    assert geo["features"][0]["properties"]["ref_official"].startswith(
        "shinjuku_nurseryFacilities.csv:"
    )


def test_diff_refuses_to_overwrite_without_the_flag(tmp_path):
    assert run("diff", str(demo_map_path()), "--out", str(tmp_path)).exit_code == 0
    target = tmp_path / "demo_diff.csv"
    target.write_text("mine", encoding="utf-8")
    res = CliRunner().invoke(main, ["diff", str(demo_map_path()), "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "already exists" in res.output and "--overwrite" in res.output
    assert target.read_text(encoding="utf-8") == "mine"
    assert run("diff", str(demo_map_path()), "--out", str(tmp_path), "--overwrite").exit_code == 0
    assert target.read_text(encoding="utf-8-sig").startswith("status,")
    assert not list(tmp_path.glob("*.part"))


def test_diff_without_an_official_list_says_how_to_add_one(tmp_path, data_dir):
    map_file = tmp_path / "osm_only.yaml"
    map_file.write_text(
        f"""
title: OSMだけ
area: {{bbox: [139.7031784, 35.7039554, 139.7098839, 35.7093917]}}
osm: {{file: {data_dir / "osm/SmallAroundWaseda.osm.bz2"}}}
basemap: {{draw: false}}
layers: [childcare]
""",
        encoding="utf-8",
    )
    res = CliRunner().invoke(main, ["diff", str(map_file), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert "osm_only.yaml" in res.output
    assert "no layer has both an OSM source and a file source" in res.output
    assert "extra_sources" in res.output
    assert not (tmp_path / "out").exists()


def test_diff_in_japanese_says_what_each_count_and_row_means(tmp_path):
    """The console summary and the CSV's message column follow --lang; the status stays a code."""
    res = run("--lang", "ja", "diff", str(demo_map_path()), "--out", str(tmp_path))
    assert res.exit_code == 0, res.output
    assert "childcare: 一致 1, 公式リストのみ 13, OSMのみ 0" in res.output
    raw = (tmp_path / "demo_diff.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(raw.splitlines()))
    assert {r["status"] for r in rows} == {"only_official"}
    assert {r["message"] for r in rows} == {
        "公式リストにだけあります。現地で確かめて OSM に追加してください"
    }
