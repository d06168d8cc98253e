"""Geocoding address-only rows through a fake GSI address search on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from civicmap import settings
from civicmap.schema import APPROXIMATE
from civicmap.sources.opendata import read_csv

DATA = Path(__file__).parent / "data"

#: What the fake geocoder knows (NFKC-normalised query → lon, lat), GSI answer format.
KNOWN = {
    "金沢市鞍月東2丁目1番地": (136.6297, 36.6070),
    "小松市向本折町ホ60番地": (136.4541, 36.4135),
}


@pytest.fixture
def geocoder(monkeypatch):
    queries: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            q = parse_qs(urlparse(self.path).query).get("q", [""])[0]
            queries.append(q)
            hit = KNOWN.get(q)
            body = (
                []
                if hit is None
                else [
                    {
                        "geometry": {"coordinates": list(hit), "type": "Point"},
                        "type": "Feature",
                        "properties": {"addressCode": "", "title": q},
                    }
                ]
            )
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(
        settings, "geocoder_url", f"http://127.0.0.1:{server.server_address[1]}/search"
    )
    monkeypatch.setattr(settings, "offline", False)
    yield queries
    server.shutdown()
    server.server_close()


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
