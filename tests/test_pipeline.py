"""The one-way flow on the bundled demo: map file → area → layers → common schema → MapData."""

from __future__ import annotations

from dataclasses import replace

import pytest
from shapely.geometry import Point

import civicmap
from civicmap.pipeline import render, with_output_dir
from civicmap.render.background import map_credits
from civicmap.render.paper import plan
from civicmap.schema import COLUMNS, check_schema


@pytest.fixture(scope="module")
def demo():
    return civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))


def test_demo_area_is_extract_bounds_plus_300_m(demo):
    w, _s, _e, n = demo.area.bounds
    assert w < 139.7031784 - 0.003 and n > 35.7093917 + 0.0025
    assert demo.data_edge.bounds == pytest.approx(
        (139.7031784, 35.7039554, 139.7098839, 35.7093917)
    )
    assert demo.osm_base.startswith("2020-11-28")  # the newest element of the file (#14)


def test_every_layer_is_in_the_common_schema(demo):
    assert [layer.id for layer in demo.layers] == ["childcare", "shelters"]
    for layer in demo.layers:
        assert check_schema(layer.features) == []
        assert list(layer.features.columns[: len(COLUMNS) - 1]) == list(COLUMNS[:-1])
        assert (layer.features["layer"] == layer.id).all()
        assert layer.features["source_ref"].str.len().gt(0).all()
        assert layer.features.geometry.intersects(demo.area.geometry).all()


def test_demo_childcare_has_the_nurseries_of_the_area(demo):
    cc = demo.layer("childcare").features
    names = set(cc["name"])
    # both nurseries inside the extract's bounds, from the 新宿区 list and OSM
    assert {
        "大久保第一保育園",
        "アオバジャパン・バイリンガルプリスクール 早稲田キャンパス",
    } <= names
    csv_rows = cc[cc["source_ref"].str.startswith("shinjuku_nurseryFacilities.csv:")]
    assert len(csv_rows) >= 10
    # original columns are kept for popups
    assert "TEL" in cc.columns and "Capall" in cc.columns
    osm_rows = cc[cc["source_ref"].str.contains("node/1420772842")]
    assert len(osm_rows) == 1


def test_demo_shelters_include_the_two_just_outside_the_extract(demo):
    sh = demo.layer("shelters").features
    names = set(sh["name"])
    assert {"西早稲田中学校", "都立戸山高等学校"} <= names
    assert set(sh["category"]) <= {"指定避難所", "指定緊急避難場所"}


def test_features_outside_the_area_are_reported_not_dropped_silently(demo):
    report = demo.layer("childcare").report
    # 133 rows in the 新宿区 list + the OSM nursery; most of the ward lies outside the demo area
    assert report.read == 134
    assert report.clipped > 100
    assert all(
        r.reason.startswith("outside the map area") for r in report.removed[: report.clipped]
    )
    assert (
        report.read == len(demo.layer("childcare").features) + len(report.removed) + report.merged
    )


def test_credits_name_every_source_used(demo):
    lines = [c.line() for c in map_credits(demo)]
    assert lines[0].startswith("© OpenStreetMap contributors / ODbL 1.0 / 2020-11-28")
    joined = "\n".join(lines)
    assert "新宿区" in joined and "2018" in joined
    assert "国土地理院" in joined


def test_basemap_has_the_kinds_paper_and_web_draw(demo):
    kinds = set(demo.basemap["kind"])
    assert {"building", "road_major", "road_minor", "park", "railway"} <= kinds
    # 都立戸山公園 is in the extract as a park
    parks = demo.basemap[demo.basemap["kind"] == "park"]
    assert parks.geometry.intersects(Point(139.7085, 35.7045).buffer(0.003)).any()


def test_source_warnings_reach_the_layer_report_and_the_quality_rows(aed_map, demo):
    from civicmap import report
    from civicmap.pipeline import collect
    from civicmap.spec.mapfile import load_map

    data = collect(load_map(aed_map))
    rep = data.layer("aed").report
    damaged = [w for w in rep.warnings if w.get("column") == "法人番号"]
    assert damaged and all(w["source"] == "aed.csv" for w in damaged)
    assert any(w["value"] == "5.22001E+12" for w in damaged)
    rows = report.quality_rows(data)
    warned = [r for r in rows if r["kind"] == "warning"]
    assert len(warned) == len(rep.warnings)
    assert {r["row"] for r in warned} >= {str(w["row"]) for w in damaged}
    line = report.summary_lines(data)[0]
    assert line.startswith("aed: read 286, shown ") and f"warnings {len(rep.warnings)}" in line
    # the demo has no source warnings: nothing invented
    assert all(not layer.report.warnings for layer in demo.layers)
    assert "warnings" not in " ".join(report.summary_lines(demo))


def test_source_date_epoch_fixes_the_build_date_printed_on_the_maps(monkeypatch, tmp_path):
    """Reproducible builds: with SOURCE_DATE_EPOCH the date on the maps is that date, not today."""
    import datetime as dt

    from civicmap.mapdata import build_time

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")  # 2020-09-13
    assert build_time() == dt.datetime(2020, 9, 13, 12, 26, 40, tzinfo=dt.UTC)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert abs((build_time() - dt.datetime.now(dt.UTC)).total_seconds()) < 60


def test_a_build_makes_its_places_once_for_the_web_numbers_and_the_paper_index(
    demo, tmp_path, monkeypatch
):
    """The web page numbers its places as the paper index does: one making serves both."""
    made = []
    layer_looks = plan.layer_looks  # the first step of making the places (build_entries)

    def counted(data):
        made.append(data)
        return layer_looks(data)

    monkeypatch.setattr(plan, "layer_looks", counted)
    spec = replace(demo.spec, paper=replace(demo.spec.paper, png=False))  # the PDF is enough
    data = replace(demo, spec=with_output_dir(spec, tmp_path))
    written = render(data, kinds=["web", "paper"])
    assert sorted(written) == ["paper", "web"]
    assert all(p.stat().st_size for paths in written.values() for p in paths)
    # the page numbered the places; the sheet took them from it
    assert len(made) == 1 and made[0] is data
