"""Areas: every way a user can name one resolves to the right polygon, offline."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from civicmap import settings
from civicmap.area import check_digit, municipality, n03_credit, normalise_code, resolve_area
from civicmap.errors import AreaError
from civicmap.spec.area import parse_area

WASEDA = Point(139.7065, 35.7066)  # inside the demo extract, in 新宿区


def metric_area_km2(geom) -> float:
    s = gpd.GeoSeries([geom], crs="EPSG:4326")
    return float(s.to_crs(s.estimate_utm_crs()).area.iloc[0] / 1e6)


@pytest.mark.parametrize(
    ("code5", "digit"),
    [("13104", "1"), ("13101", "6"), ("17201", "4"), ("17205", "7"), ("01101", "1")],
)
def test_check_digit(code5, digit):
    assert check_digit(code5) == digit


def test_codes_with_and_without_check_digit_give_the_same_ward():
    a = municipality("13104")
    b = municipality("131041")
    assert a.name == b.name == "新宿区"
    assert a.code == "131041"
    assert a.geometry.equals(b.geometry)
    assert a.geometry.contains(WASEDA)
    # 新宿区 is about 18 km²; the simplified N03 polygon stays close
    assert 15 < metric_area_km2(a.geometry) < 21


def test_wrong_check_digit_says_which_is_right():
    with pytest.raises(AreaError, match="expected 1"):
        normalise_code("131042")


def test_unknown_code_says_what_to_do():
    with pytest.raises(AreaError, match="boundary"):
        municipality("99999")


def test_ishikawa_code_from_its_prefecture_file():
    suzu = municipality("17205")
    assert "珠洲市" in suzu.name
    assert suzu.geometry.contains(Point(137.26, 37.44))


def test_code_outside_bundled_prefectures_uses_the_national_file():
    sapporo_chuo = municipality("01101")
    assert "中央区" in sapporo_chuo.name
    assert sapporo_chuo.geometry.contains(Point(141.35, 43.06))


def test_bbox_and_buffer(tmp_path):
    area = resolve_area(
        parse_area({"bbox": [139.70, 35.70, 139.71, 35.71]}, base_dir=tmp_path), base_dir=tmp_path
    )
    assert area.geometry.equals(box(139.70, 35.70, 139.71, 35.71))
    grown = resolve_area(
        parse_area({"bbox": [139.70, 35.70, 139.71, 35.71], "buffer": 300}, base_dir=tmp_path),
        base_dir=tmp_path,
    )
    _w, s, _e, _n = grown.bounds
    # 300 m is about 0.0027° of latitude
    assert 35.70 - 0.0029 < s < 35.70 - 0.0025


def test_point_and_radius_is_a_metric_circle(tmp_path):
    area = resolve_area(
        parse_area({"point": [35.7066, 139.7065], "radius": 500}, base_dir=tmp_path),
        base_dir=tmp_path,
    )
    assert area.geometry.contains(WASEDA)
    assert metric_area_km2(area.geometry) == pytest.approx(3.14159 * 0.25, rel=0.02)


def test_boundary_file(tmp_path, data_dir):
    src = gpd.read_file(data_dir / "boundaries" / "N03-21_13_210101.json")
    src[src["N03_007"] == "13104"].to_file(tmp_path / "shinjuku.geojson", driver="GeoJSON")
    area = resolve_area(
        parse_area({"boundary": "shinjuku.geojson"}, base_dir=tmp_path), base_dir=tmp_path
    )
    assert area.geometry.contains(WASEDA)
    assert area.name == "shinjuku"


def test_a_jgd2000_shift_jis_chome_shapefile_is_the_area_as_its_own_polygons(data_dir):
    """日吉津村's 町丁目 (JGD2000 .prj, Shift_JIS, no .cpg): the map area is their union,
    read the way area atlases and batches read the same file."""
    shp = data_dir / "boundaries" / "chome_hiezu" / "hiezu_chome.shp"
    area = resolve_area(
        parse_area({"boundary": shp.name}, base_dir=shp.parent), base_dir=shp.parent
    )
    own = gpd.read_file(shp).to_crs("EPSG:4326").union_all()  # plain geopandas, .prj honoured
    assert area.geometry.symmetric_difference(own).area < 1e-9 * own.area + 1e-12
    west, south, east, north = area.geometry.bounds
    assert 133.3 < west < east < 133.5 and 35.4 < south < north < 35.5  # 鳥取県日吉津村


def test_boundary_file_without_polygons_is_refused(tmp_path):
    gpd.GeoDataFrame(geometry=[Point(139.7, 35.7)], crs="EPSG:4326").to_file(
        tmp_path / "points.geojson", driver="GeoJSON"
    )
    with pytest.raises(AreaError, match="no polygons"):
        resolve_area(
            parse_area({"boundary": "points.geojson"}, base_dir=tmp_path), base_dir=tmp_path
        )


@pytest.mark.parametrize("name", ["SmallAroundWaseda.osm", "SmallAroundWaseda.osm.bz2"])
def test_bounds_of_an_extract(data_dir, name):
    area = resolve_area(
        parse_area({"osm_file": name}, base_dir=data_dir / "osm"), base_dir=data_dir / "osm"
    )
    assert area.bounds == pytest.approx((139.7031784, 35.7039554, 139.7098839, 35.7093917))


def test_extract_without_declared_bounds_uses_its_tagged_features(data_dir):
    area = resolve_area(
        parse_area({"osm_file": "SmallAroundWaseda.osm.pbf"}, base_dir=data_dir / "osm"),
        base_dir=data_dir / "osm",
    )
    # the complete ways reach far beyond the download (nodes span 35.66–35.73 N); the
    # extent of the tagged points is the download's box (the .osm file declares it)
    declared = resolve_area(
        parse_area({"osm_file": "SmallAroundWaseda.osm"}, base_dir=data_dir / "osm"),
        base_dir=data_dir / "osm",
    )
    assert area.bounds == pytest.approx(declared.bounds, abs=0.001)  # within ~100 m


def test_place_name_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "offline", True)
    with pytest.raises(AreaError, match="needs the network"):
        resolve_area(parse_area({"place": "新宿区"}, base_dir=tmp_path), base_dir=tmp_path)


def test_the_n03_credit_reads_in_the_maps_language():
    # the bundled boundaries' credit was Japanese on every map (issue #28)
    assert n03_credit().credit == "国土数値情報（行政区域データ）国土交通省"  # unchanged
    en = n03_credit(language="en")
    assert en.credit.startswith("National Land Numerical Information (Administrative Areas")
    assert (en.source, en.date) == ("N03", "2021")
    assert n03_credit(language="ja-easy").credit == "国土数値情報（行政区域データ）国土交通省"
    assert n03_credit(language="xx").credit == n03_credit().credit  # no glossary: Japanese
