"""Geocoding address-only rows through a fake GSI address search on 127.0.0.1."""

from __future__ import annotations

import pytest
from paths import TESTS

from civicmap.schema import APPROXIMATE
from civicmap.sources.opendata import read_csv

DATA = TESTS / "data"


def test_address_only_rows_are_geocoded_flagged_approximate_and_unknown_ones_reported(geocoder):
    r = read_csv(DATA / "opendata/hospitals_address_only.csv", layer="x", options={"geocode": True})
    assert list(r.features["address"]) == ["金沢市鞍月東２丁目1番地", "小松市向本折町ホ60番地"]
    assert r.features[APPROXIMATE].tolist() == [True, True]
    assert r.features.iloc[0].geometry.x == pytest.approx(136.6297)
    assert [p.row for p in r.repaired] == [1, 2] and all("geocoded" in p.reason for p in r.repaired)
    (miss,) = r.rejected
    assert miss.row == 3 and "no match" in miss.reason and "存在しない町999" in miss.reason
    assert len(geocoder) == 3


def test_geocoding_is_cached_so_a_second_read_asks_nothing(geocoder):
    read_csv(DATA / "opendata/hospitals_address_only.csv", layer="x", options={"geocode": True})
    n = len(geocoder)
    r = read_csv(DATA / "opendata/hospitals_address_only.csv", layer="x", options={"geocode": True})
    assert len(geocoder) == n and len(r.features) == 2


def test_real_hospital_list_geocodes_the_known_addresses(geocoder):
    r = read_csv(
        DATA / "shelters/ishikawa/saigai_hospital.csv", layer="x", options={"geocode": True}
    )
    assert len(r.features) == 2 and r.features[APPROXIMATE].all()
    assert len(r.rejected) == 8 and r.info["rows"] == 10


def test_without_geocode_option_nothing_is_asked(geocoder):
    r = read_csv(DATA / "opendata/hospitals_address_only.csv", layer="x")
    assert geocoder == [] and len(r.rejected) == 3


def test_an_offline_build_asks_the_geocoder_nothing_and_says_why(geocoder, tmp_path):
    """``build(..., offline=True)`` reaches the CSV's geocoding too (not only Overpass)."""
    import json

    import civicmap
    from civicmap import settings

    csv = tmp_path / "hospitals.csv"
    csv.write_bytes((DATA / "opendata/hospitals_address_only.csv").read_bytes())
    mapfile = tmp_path / "map.yaml"
    mapfile.write_text(
        json.dumps(
            {
                "title": "病院",
                "area": {"bbox": [136.3, 36.3, 136.8, 36.7]},
                "osm": False,
                "layers": [
                    {
                        "id": "hospitals",
                        "title": {"ja": "病院", "en": "Hospitals"},
                        "sources": [{"csv": {"path": "hospitals.csv", "geocode": True}}],
                    }
                ],
                "outputs": {"geojson": {"file": "out/map.geojson"}},
            }
        ),
        encoding="utf-8",
    )
    data = civicmap.collect(civicmap.load_map(mapfile), offline=True)
    assert geocoder == [] and settings.offline is False
    reasons = [p.reason for layer in data.layers for p in layer.report.rejected]
    assert len(reasons) == 3 and all("geocoder failed" in r for r in reasons), reasons
    # online, the same map asks the geocoder once per distinct address
    online = civicmap.collect(civicmap.load_map(mapfile), offline=False)
    assert len(geocoder) == 3
    assert sum(len(layer.features) for layer in online.layers) == 2
