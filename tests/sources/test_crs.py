"""Coordinates in other CRSs land in the right place, in EPSG:4326 (issue 16).

Fixtures are DERIVED from real files (tests/data/opendata/derived/make_derived.py): the
新宿区 nursery list with 平面直角座標系 第IX系 metres added beside its own lat/lon, the GSI
新宿区 shelters re-projected to EPSG:6677 and to the Tokyo datum, and 日吉津村's polygons
from the e-Stat shapefile in JGD2000. Expected positions are the files' own degrees.
"""

from __future__ import annotations

import csv
import io
import json

import geopandas as gpd
import pyogrio
import pytest
from paths import TESTS
from shapely.geometry import Point

from civicmap.errors import SourceError
from civicmap.sources import read_path
from civicmap.sources._crs import parse_crs

DATA = TESTS / "data"
DER = DATA / "opendata/derived"


def _metres_apart(a: gpd.GeoSeries, b: gpd.GeoSeries) -> gpd.pd.Series:
    """Distances in metres, measured in the 平面直角座標系 第IX系 (a metric CRS)."""
    return (
        a.set_crs(4326, allow_override=True)
        .to_crs(6677)
        .distance(b.set_crs(4326, allow_override=True).to_crs(6677))
    )


def test_plane_rectangular_csv_lands_within_1_m_of_its_own_lat_lon_columns():
    path = DER / "shinjuku_plane9.csv"
    recs = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    r = read_path(
        path, layer="childcare", options={"crs": 9, "columns": {"y": "X座標(m)", "x": "Y座標(m)"}}
    )
    assert r.info["crs"].startswith("EPSG:6677")
    assert len(r.features) == len(recs) == 133 and r.rejected == []
    own = gpd.GeoSeries([Point(float(x["X"]), float(x["Y"])) for x in recs])
    d = _metres_apart(r.features.geometry.reset_index(drop=True), own)
    assert d.max() < 1.0
    assert r.features.crs.to_epsg() == 4326


def test_plane_rectangular_metres_without_crs_is_an_error_naming_the_likely_zone():
    with pytest.raises(SourceError) as e:
        read_path(DER / "shinjuku_plane9_metres_only.csv", layer="childcare")
    msg = str(e.value)
    assert "shinjuku_plane9_metres_only.csv" in msg and "metres" in msg
    assert "東京都" in msg and "第9系" in msg and "crs: 9" in msg


def test_plane_rectangular_metres_with_crs_given_are_converted_whatever_the_axis_names():
    metres = read_path(DER / "shinjuku_plane9_metres_only.csv", layer="x", options={"crs": "IX"})
    degrees = read_path(DATA / "childcare/shinjuku/shinjuku_nurseryFacilities.csv", layer="x")
    assert len(metres.features) == len(degrees.features) == 133
    d = _metres_apart(metres.features.geometry, degrees.features.geometry)
    assert d.max() < 1.0
    # X is north in the file (survey convention): the reading inside Japan was chosen
    assert "north" in metres.info["crs_axes"]


def test_geojson_crs_member_epsg6677_is_honoured():
    original = json.loads((DATA / "shelters/gsi/evacuation_131041.json").read_text("utf-8"))
    r = read_path(DER / "gsi_131041_epsg6677.geojson", layer="shelters")
    assert r.info["crs"].startswith("EPSG:6677")
    assert len(r.features) == len(original["features"]) == 129
    own = gpd.GeoSeries([Point(f["geometry"]["coordinates"][:2]) for f in original["features"]])
    assert _metres_apart(r.features.geometry, own).max() < 1.0


def test_geojson_metres_without_crs_member_is_refused_naming_the_zone():
    with pytest.raises(SourceError, match=r"gsi_131041_epsg6677_no_crs\.geojson.*東京都.*第9系"):
        read_path(DER / "gsi_131041_epsg6677_no_crs.geojson", layer="shelters")


def test_tokyo_datum_file_is_shifted_back_onto_wgs84():
    original = json.loads((DATA / "shelters/gsi/evacuation_131041.json").read_text("utf-8"))
    tokyo = json.loads((DER / "gsi_131041_tokyo_datum.geojson").read_text("utf-8"))
    own = gpd.GeoSeries([Point(f["geometry"]["coordinates"][:2]) for f in original["features"]])
    raw = gpd.GeoSeries([Point(f["geometry"]["coordinates"][:2]) for f in tokyo["features"]])
    # read as if WGS84, the Tokyo-datum degrees would be hundreds of metres off
    assert _metres_apart(raw, own).min() > 300
    r = read_path(DER / "gsi_131041_tokyo_datum.geojson", layer="shelters")
    assert r.info["crs"].startswith("EPSG:4301")
    assert _metres_apart(r.features.geometry, own).max() < 1.0


def test_shapefile_prj_jgd2000_is_read_and_attributes_decoded():
    path = DER / "tottori_hiezu_jgd2000.shp"
    assert "JGD_2000" in path.with_suffix(".prj").read_text()
    attrs = pyogrio.read_dataframe(path, read_geometry=False, encoding="cp932")
    r = read_path(path, layer="chome", options={"columns": {"name": "MOJI"}})
    assert r.info["crs"].startswith("EPSG:4612")
    assert sorted(r.features["name"]) == sorted(attrs["MOJI"]) and len(attrs) == 7
    # 日吉津村 lies at about 35.44 N, 133.38 E
    minx, miny, maxx, maxy = r.features.total_bounds
    assert 133.3 < minx < maxx < 133.45 and 35.4 < miny < maxy < 35.5


def test_crs_option_accepts_zone_numbers_and_epsg_codes_and_names_bad_values():
    assert parse_crs(9, name="f").to_epsg() == 6677
    assert parse_crs("第9系", name="f").to_epsg() == 6677
    assert parse_crs("IX", name="f").to_epsg() == 6677
    assert parse_crs("EPSG:4612", name="f").to_epsg() == 4612
    assert parse_crs(4301, name="f").to_epsg() == 4301
    with pytest.raises(SourceError, match=r"f: crs: got '第20系'; expected .*1–19"):
        parse_crs("第20系", name="f")


def test_zone_named_in_a_title_line_is_used_and_reported(tmp_path):
    src = DER / "shinjuku_plane9_metres_only.csv"
    titled = tmp_path / "titled.csv"
    titled.write_text("座標は平面直角座標系 第Ⅸ系 (JGD2011)\r\n" + src.read_text("utf-8"), "utf-8")
    r = read_path(titled, layer="x")
    degrees = read_path(DATA / "childcare/shinjuku/shinjuku_nurseryFacilities.csv", layer="x")
    assert r.info["crs"].startswith("EPSG:6677")
    assert any("第9系 taken from" in w["reason"] for w in r.info["warnings"])
    assert _metres_apart(r.features.geometry, degrees.features.geometry).max() < 1.0


@pytest.mark.parametrize(
    "name", ["urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::6668"]
)
def test_longitude_latitude_crs_members_as_qgis_writes_them_change_nothing(tmp_path, name):
    original = json.loads((DATA / "shelters/gsi/evacuation_131041.json").read_text("utf-8"))
    path = tmp_path / "with_crs.geojson"
    path.write_text(
        json.dumps({**original, "crs": {"type": "name", "properties": {"name": name}}}), "utf-8"
    )
    r = read_path(path, layer="s")
    own = gpd.GeoSeries([Point(f["geometry"]["coordinates"][:2]) for f in original["features"]])
    assert len(r.features) == 129 and _metres_apart(r.features.geometry, own).max() < 0.01
