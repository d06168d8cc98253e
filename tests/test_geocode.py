"""Geocoding address-only rows through a fake GSI address search on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicmap.schema import APPROXIMATE
from civicmap.sources.opendata import read_csv

DATA = Path(__file__).parent / "data"


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
