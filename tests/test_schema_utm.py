"""The local UTM zone, asked of pyproj once per zone: same answer as geopandas, fewer look-ups."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from civicmap import schema
from civicmap.schema import estimate_utm_crs, metric_crs


@pytest.fixture(autouse=True)
def _empty_cache(monkeypatch):
    monkeypatch.setattr(schema, "_UTM_BY_ZONE", {})


def test_the_cached_zone_is_the_one_geopandas_picks_across_japan():
    rng = np.random.default_rng(7)
    # 沖縄 (zone 51/52) to 北海道 (zone 55): a zone's answer is one CRS, so a few random
    # points per zone; then every zone edge crossing Japan (126°, 132°, 138°, 144°E),
    # exactly on it and a hair either side, where a wrong zone formula shows
    # (geopandas' answer takes pyproj ~0.1 s a point: 28 points, not 65)
    edges = [e + d for e in (126.0, 132.0, 138.0, 144.0) for d in (0.0, -1e-6, 1e-6)]
    lons = [*rng.uniform(123.0, 146.0, 16), *edges]
    lats = [*rng.uniform(24.0, 45.5, 16), *[26.5, 26.5, 26.5, 34.0, 34.0, 34.0, 36.0, 36.0,
                                             36.0, 43.0, 43.0, 43.0]]  # fmt: skip
    for x, y in zip(lons, lats, strict=True):
        frame = gpd.GeoDataFrame(geometry=[Point(x, y)], crs="EPSG:4326")
        assert estimate_utm_crs(frame) == frame.estimate_utm_crs(), (x, y)


def test_a_frame_spanning_two_zones_gets_the_zone_of_its_centre():
    frame = gpd.GeoDataFrame(geometry=[box(137.5, 36.0, 138.9, 36.5)], crs="EPSG:4326")
    assert metric_crs(frame) == frame.estimate_utm_crs()


def test_pyproj_is_asked_once_per_zone(monkeypatch):
    calls = []
    real = gpd.GeoDataFrame.estimate_utm_crs

    def counting(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(gpd.GeoDataFrame, "estimate_utm_crs", counting)
    kanazawa = gpd.GeoDataFrame(geometry=[Point(136.65, 36.56)], crs="EPSG:4326")
    shinjuku = gpd.GeoDataFrame(geometry=[Point(139.70, 35.70)], crs="EPSG:4326")
    for _ in range(20):
        assert metric_crs(kanazawa).to_epsg() == 32653
        assert metric_crs(shinjuku).to_epsg() == 32654
    assert len(calls) == 2


def test_a_projected_frame_is_not_taken_for_degrees():
    frame = gpd.GeoDataFrame(geometry=[Point(139.7, 35.7)], crs="EPSG:4326").to_crs(6677)
    assert estimate_utm_crs(frame) == frame.estimate_utm_crs()


def test_nothing_to_measure_falls_back_to_web_mercator():
    assert metric_crs(gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")) == "EPSG:3857"
