"""The network module: retries, status slots, cache entries, get_json."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicmap import _http, settings
from civicmap.errors import NetworkError, OfflineError

STATUS_FREE = "Connected as: 1\nRate limit: 2\n2 slots available now.\nCurrently running queries:\n"
STATUS_WAIT = (
    "Connected as: 1\nRate limit: 2\nSlot available after: 2024-01-01T00:00:12Z, in 12 seconds.\n"
    "Slot available after: 2024-01-01T00:00:40Z, in 40 seconds.\nCurrently running queries:\n"
)


def test_status_text_is_read_like_overpass_writes_it():
    assert _http.slot_wait(STATUS_FREE) == 0
    assert _http.slot_wait(STATUS_WAIT) == 12
    assert _http.slot_wait("no rate limiting here") is None
    assert (
        _http.status_url("https://overpass-api.de/api/interpreter")
        == "https://overpass-api.de/api/status"
    )


def test_osm_base_and_truncation_checks():
    xml = b'<?xml version="1.0"?><osm><meta osm_base="2024-05-01T10:00:00Z"/></osm>'
    assert _http.osm_base_of(xml) == "2024-05-01T10:00:00Z"
    assert (
        _http.osm_base_of(b'{"osm3s": {"timestamp_osm_base": "2024-05-02T00:00:00Z"}}')
        == "2024-05-02T00:00:00Z"
    )
    _http.check_overpass_body(xml)
    with pytest.raises(ValueError, match="truncated XML"):
        _http.check_overpass_body(xml[:-6])
    with pytest.raises(ValueError, match="truncated JSON"):
        _http.check_overpass_body(b'{"elements": [')
    remark = xml.replace(b"</osm>", b"<remark> runtime error: out of memory </remark></osm>")
    assert _http.overpass_error(remark) == "runtime error: out of memory"
    assert _http.overpass_error(xml) == ""


def test_cache_entry_counts_only_when_whole(tmp_path):
    resp = _http.OverpassResponse(body=b"<osm></osm>", osm_base="2024-01-01T00:00:00Z", key="k")
    _http.write_entry("k", resp, tmp_path)
    assert _http.read_entry("k", tmp_path).osm_base == "2024-01-01T00:00:00Z"
    (tmp_path / "k.osm").write_bytes(b"<osm></o")  # cut short after the meta file was written
    assert _http.read_entry("k", tmp_path) is None
    (tmp_path / "k.osm").unlink()
    assert _http.read_entry("k", tmp_path) is None


def test_backoff_doubles_and_respects_retry_after_up_to_max_wait(monkeypatch):
    import requests

    monkeypatch.setattr(settings, "backoff_base", 2.0)
    monkeypatch.setattr(settings, "max_wait", 60.0)
    assert [_http._backoff(i) for i in range(3)] == [2.0, 4.0, 8.0]
    r = requests.Response()
    r.headers["Retry-After"] = "30"
    assert _http._backoff(0, r) == 30.0
    r.headers["Retry-After"] = "600"
    assert _http._backoff(0, r) == 60.0


def test_get_json_uses_get_retries_and_caches(overpass_server):
    q = '[out:json];node["amenity"="kindergarten"](35.70,139.70,35.71,139.71);out;'
    overpass_server.script.append(504)
    first = _http.get_json(overpass_server.url, params={"data": q})
    assert [e["id"] for e in first["elements"]] == [1420772842]
    assert [r[0] for r in overpass_server.interpreter_requests()] == ["GET", "GET"]
    assert _http.get_json(overpass_server.url, params={"data": q}) == first
    assert len(overpass_server.interpreter_requests()) == 2  # second answer from the cache
    assert list(Path(settings.cache_folder, "http").glob("*.json"))


def test_get_json_offline_and_failure_messages(overpass_server, monkeypatch):
    monkeypatch.setattr(settings, "offline", True)
    with pytest.raises(OfflineError, match="offline mode: no cached response"):
        _http.get_json(overpass_server.url, params={"data": "x"})
    monkeypatch.setattr(settings, "offline", False)
    overpass_server.script.extend([429] * 5)
    with pytest.raises(NetworkError, match=r"failed 4 times \(last: HTTP 429"):
        _http.get_json(overpass_server.url, params={"data": "[out:json];node(1,2,3,4);out;"})
