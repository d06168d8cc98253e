"""Cleaning as a user sees it: one row per place, nothing dropped without a reason."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon, box

from civicmap.clean import (
    clean_layer,
    deduplicate,
    fix_geometries,
    loose_key,
    match_key,
    with_marker_points,
)
from civicmap.schema import CRS, conform
from civicmap.sources import read_path

# the demo area (demo.yaml bbox), without the 300 m buffer
DEMO_BBOX = box(139.7031784, 35.7039554, 139.7098839, 35.7093917)
LAT, LON = 35.7066, 139.7062
M_LAT = 1 / 111_000  # degrees per metre north
M_LON = 1 / 90_300  # degrees per metre east at 35.7° N


def frame(rows) -> gpd.GeoDataFrame:
    """rows: (name, east_m, north_m[, ref]) around the demo centre."""
    data = {
        "name": [r[0] for r in rows],
        "source": "hand.csv",
        "source_ref": [r[3] if len(r) > 3 else f"hand.csv:{i + 1}" for i, r in enumerate(rows)],
    }
    geoms = [Point(LON + r[1] * M_LON, LAT + r[2] * M_LAT) for r in rows]
    return conform(gpd.GeoDataFrame(data, geometry=geoms, crs=CRS), layer="t", source="hand.csv")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ｴｲﾋﾞｲｼｲ保育園", "エイビイシイ保育園"),  # half-width katakana
        ("大久保　第一 保育園", "大久保第一保育園"),  # full-width and ASCII spaces
        ("高田馬場第ニ保育園", "高田馬場第二保育園"),  # katakana ニ typed for kanji 二
        ("戸山第1保育園", "戸山第一保育園"),
        ("株式会社さくら保育園", "さくら保育園"),
        ("（仮称）新宿ひまわり保育園", "新宿ひまわり保育園"),
        ("ＡＢＣ保育園", "abc保育園"),
    ],
)
def test_match_key_folds_spelling_variants(a, b):
    assert match_key(a) == match_key(b)


def test_match_key_keeps_branches_apart_but_loose_key_joins_owner_prefixes():
    assert match_key("エイビイシイ保育園(分園)") != match_key("エイビイシイ保育園(本園)")
    assert loose_key("東京都立 戸山高等学校") == loose_key("都立戸山高等学校") == "戸山高等学校"
    assert loose_key("新宿区立 西早稲田中学校") == loose_key("西早稲田中学校")
    assert loose_key("さくら保育園") != loose_key("ひまわり保育園")


def test_near_duplicates_merge_and_are_reported():
    gdf = frame(
        [
            ("エイビイシイ保育園", 0, 0, "a.csv:1"),
            ("ｴｲﾋﾞｲｼｲ 保育園", 5, 3, "a.csv:2"),  # same nursery typed differently, 6 m off
            ("エイビイシイ保育園", 400, 0, "a.csv:3"),  # same name, another street: a branch
        ]
    )
    out, removed = deduplicate(gdf)
    assert list(out["source_ref"]) == ["a.csv:1", "a.csv:3"]
    assert len(removed) == 1
    assert removed[0].row == "a.csv:2"
    assert "duplicate of a.csv:1" in removed[0].reason


def test_two_nurseries_20m_apart_with_different_names_stay_two():
    gdf = frame([("さくら保育園", 0, 0), ("ひまわり保育園", 20, 0)])
    out, removed = deduplicate(gdf)
    assert len(out) == 2 and removed == []


def test_point_inside_polygon_counts_as_distance_zero_for_duplicates():
    school = box(LON, LAT, LON + 100 * M_LON, LAT + 100 * M_LAT)  # 100 m square
    gdf = conform(
        gpd.GeoDataFrame(
            {
                "name": ["戸山小学校", "戸山小学校"],
                "source_ref": ["way/1", "node/2"],
                "source": "osm",
            },
            geometry=[school, Point(LON + 80 * M_LON, LAT + 80 * M_LAT)],  # >30 m from centre
            crs=CRS,
        ),
        layer="t",
        source="osm",
    )
    out, removed = deduplicate(gdf)
    assert list(out["source_ref"]) == ["way/1"] and removed[0].row == "node/2"


def test_clip_to_area_reports_every_place_outside_by_name(data_dir):
    result = read_path(
        data_dir / "childcare/shinjuku/shinjuku_nurseryFacilities.csv",
        layer="childcare",
        options={"columns": {"lat": "Y", "lon": "X", "name": "Name"}},
    )
    gdf = result.features
    out, removed = clean_layer(gdf, area=DEMO_BBOX)
    outside = [r for r in removed if r.reason.startswith("outside the map area")]
    assert len(out) + len(removed) == len(gdf)
    assert 0 < len(out) < len(gdf)
    assert out.geometry.within(DEMO_BBOX).all()
    # every removed nursery is named, and is really outside
    by_ref = gdf.set_index("source_ref")
    for r in outside:
        assert by_ref.loc[r.row, "name"] in r.reason
        assert not by_ref.loc[r.row, "geometry"].intersects(DEMO_BBOX)
    assert "大久保第一保育園" in set(out["name"])


def test_invalid_geometry_is_repaired_and_empty_geometry_reported():
    bowtie = Polygon(
        [(LON, LAT), (LON + 0.001, LAT + 0.001), (LON + 0.001, LAT), (LON, LAT + 0.001)]
    )
    gdf = gpd.GeoDataFrame(
        {"name": ["公園", "空"], "source": "x", "source_ref": ["x:1", "x:2"]},
        geometry=[bowtie, Point()],
        crs=CRS,
    )
    assert not bowtie.is_valid
    out, problems = fix_geometries(gdf)
    assert len(out) == 1 and out.geometry.iloc[0].is_valid
    assert out.geometry.iloc[0].area == pytest.approx(0.001**2 / 2)  # both triangles kept
    assert [(p.row, p.reason) for p in problems] == [("x:2", "empty geometry")]


def test_polygon_keeps_its_shape_and_gets_a_marker_inside_it():
    # an L-shaped school whose centroid falls outside the building
    ell = Polygon([(0, 0), (10, 0), (10, 1), (1, 1), (1, 10), (0, 10)])
    ell = Polygon([(LON + x * 1e-4, LAT + y * 1e-4) for x, y in ell.exterior.coords])
    gdf = gpd.GeoDataFrame({"name": ["L"]}, geometry=[ell], crs=CRS)
    assert not ell.contains(ell.centroid)
    out = with_marker_points(gdf)
    assert out.geometry.iloc[0].equals(ell)
    assert ell.contains(Point(out["marker_lon"].iloc[0], out["marker_lat"].iloc[0]))
