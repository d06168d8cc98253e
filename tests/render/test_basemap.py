"""The paper basemap: labels, the data edge, and drawing on real and hand-made OSM data."""

from __future__ import annotations

import io
import shutil
import subprocess
from itertools import combinations

import geopandas as gpd
import pytest
from reportlab.pdfgen import canvas
from shapely.geometry import LineString, Point, box

import civicmap
from civicmap.render import basemap as bm
from civicmap.render._fonts import register
from civicmap.render.paper.geometry import MM, BoxIndex, MapFrame, Rect

FRAME = MapFrame(Rect(50, 50, 400, 300), 0.0, 0.0, 5000)  # 1:5000 → 400 pt ≈ 706 m


def _canvas():
    register()
    buf = io.BytesIO()
    return canvas.Canvas(buf, pagesize=(500, 400), initialFontName="IPAexGothic"), buf


def _text(buf: io.BytesIO, tmp_path) -> str:
    path = tmp_path / "b.pdf"
    path.write_bytes(buf.getvalue())
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _hand_made() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "kind": ["road_major", "road_major", "station", "park", "building", "path"],
            "name": ["明治通り", "明治通り", "西早稲田", "戸山公園", "", ""],
        },
        geometry=[
            LineString([(-400, -10), (0, 0)]),
            LineString([(0, 0), (400, 10)]),  # two ways of one road, labelled once
            Point(50, 60),
            box(-300, 40, -120, 140),
            box(100, -100, 130, -80),
            LineString([(-200, -120), (200, -120)]),
        ],
        crs="EPSG:32654",
    )


def test_labels_name_roads_once_stations_and_parks_inside_the_frame_without_overlap():
    c, _ = _canvas()
    gdf = _hand_made()
    bm.draw_basemap(c, gdf, FRAME)
    placed = bm.draw_labels(c, gdf, FRAME, avoid=BoxIndex(), size=7)
    names = [n for n, _ in placed]
    assert sorted(names) == ["戸山公園", "明治通り", "西早稲田"]
    for (_, a), (_, b) in combinations(placed, 2):
        assert not a.intersects(b)
    assert all(r.inside(FRAME.rect) for _, r in placed)


def test_labels_give_way_to_marker_numbers():
    c, _ = _canvas()
    gdf = _hand_made()
    avoid = BoxIndex()
    avoid.add(FRAME.rect)  # numbers everywhere: no label may cover them
    assert bm.draw_labels(c, gdf, FRAME, avoid=avoid) == []


@pytest.mark.pdf
@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")
def test_data_edge_is_greyed_and_explained_only_when_the_frame_passes_it(tmp_path):
    c, buf = _canvas()
    inside = box(-1000, -1000, 1000, 1000)
    assert bm.draw_data_edge(c, inside, FRAME, note="範囲外です", size=7) is False
    edge = box(-100, -100, 100, 100)
    assert (
        bm.draw_data_edge(c, edge, FRAME, note="灰色の部分は地図データの範囲外です", size=7) is True
    )
    c.save()
    assert "灰色の部分は地図データの範囲外です" in _text(buf, tmp_path)


def test_real_demo_basemap_draws_every_kind_it_holds():
    data = civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))
    gdf = data.basemap.to_crs(gpd.GeoSeries([data.area.geometry], crs=4326).estimate_utm_crs())
    c0 = gdf.union_all().centroid
    frame = MapFrame(Rect(20 * MM, 20 * MM, 170 * MM, 170 * MM), c0.x, c0.y, 5000)
    c, buf = _canvas()
    bm.draw_basemap(c, gdf, frame)
    placed = bm.draw_labels(c, gdf, frame, avoid=BoxIndex())
    c.save()
    names = {n for n, _ in placed}
    assert "西早稲田" in names  # the station
    assert {"明治通り", "諏訪通り"} & names  # a main road
    assert "都立戸山公園" in names
    assert len(buf.getvalue()) > 20_000  # hundreds of buildings and roads drawn as vectors


def test_empty_basemap_draws_nothing_and_does_not_fail():
    c, _ = _canvas()
    empty = gpd.GeoDataFrame({"kind": [], "name": []}, geometry=[], crs="EPSG:32654")
    bm.draw_basemap(c, empty, FRAME)
    bm.draw_basemap(c, None, FRAME)
    assert bm.draw_labels(c, empty, FRAME, avoid=BoxIndex()) == []
