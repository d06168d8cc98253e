"""Hostile and broken Overpass servers: redirects, drips, floods, error answers.

Every fault is served over real HTTP on loopback by the test Overpass server
(tests/overpass_server.py) with a scripted action from tests/security/faults.py.
A build against each ends in one ``Error:`` line, exit code 1, no traceback,
no output file and nothing in the cache.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import urllib3.util.connection
from click.testing import CliRunner
from faults import Drip, Flood, HitRecorder, answer_action, redirect_action

from civicmap import _http, _transport, settings
from civicmap.cli import main
from civicmap.errors import NetworkError

#: The SmallAroundWaseda.osm extent (as tests/conftest.py).
WASEDA_BBOX = [139.7031784, 35.7039554, 139.7098839, 35.7093917]
QUERY = '[out:xml];node["amenity"="kindergarten"](35.70,139.70,35.71,139.71);out body;'


@pytest.fixture(scope="module")
def recorder():
    server = HitRecorder("127.0.0.2")
    yield server
    server.stop()


@pytest.fixture
def server(overpass_server, monkeypatch):
    """The test Overpass server with small limits: 2 s deadline, 2 MB answers."""
    monkeypatch.setattr(settings, "overpass_deadline", 2.0)
    monkeypatch.setattr(settings, "overpass_max_bytes", 2_000_000)
    monkeypatch.setattr(settings, "overpass_check_status", False)
    return overpass_server


@pytest.fixture
def map_file(tmp_path, server) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(
        json.dumps(  # JSON is YAML
            {
                "title": "西早稲田",
                "area": {"bbox": WASEDA_BBOX},
                "osm": {"overpass": True, "overpass_url": server.url},
                "layers": ["childcare"],
                "basemap": {"draw": False},
                "outputs": {"geojson": {"file": "out/map.geojson"}},
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def cached_files() -> list[Path]:
    return [p for p in Path(settings.cache_folder).rglob("*") if p.is_file()]


def build_fails(map_file: Path, *args: str) -> str:
    """Run ``civicmap build``; check it failed cleanly; return the error line."""
    res = CliRunner().invoke(main, ["build", str(map_file), *args])
    assert isinstance(res.exception, SystemExit), res.exception  # not a traceback
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    lines = res.output.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0] == len(lines) - 1, res.output  # one line, the last
    assert not (map_file.parent / "out" / "map.geojson").exists()
    assert cached_files() == []
    return lines[-1]


# --- redirects -------------------------------------------------------------------


def test_307_to_another_host_is_not_followed(server, map_file, recorder):
    server.script.append(redirect_action(307, recorder.url))
    line = build_fails(map_file)
    assert "redirected to another host" in line and "127.0.0.2" in line
    assert recorder.hits == []  # the query never reached the other server


def test_302_to_metadata_address_is_never_connected(server, map_file, monkeypatch):
    targets = []
    real = urllib3.util.connection.create_connection

    def spy(address, *args, **kwargs):
        targets.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", spy)
    server.script.append(redirect_action(302, "http://169.254.169.254/latest/meta-data/"))
    line = build_fails(map_file)
    assert "169.254.169.254" in line and "another host" in line
    assert targets and "169.254.169.254" not in targets
    assert set(targets) == {"127.0.0.1"}


def test_redirect_on_the_same_server_is_followed(server):
    """A 307 to another path of the same server keeps the POST and its query."""
    moved = server.url.replace("/api/interpreter", "/moved/api/interpreter")
    server.script.append(redirect_action(307, moved))
    resp = _http.overpass(QUERY, url=server.url)
    assert b"1420772842" in resp.body
    assert [r[0] for r in server.interpreter_requests()] == ["POST", "POST"]


def test_same_host_rule():
    assert _transport.same_host("http://a.example/x", "http://A.example:80/y")
    assert _transport.same_host("http://a.example/x", "https://a.example/x")
    assert not _transport.same_host("https://a.example/x", "http://a.example/x")
    assert not _transport.same_host("http://a.example/x", "http://a.example:8080/x")
    assert not _transport.same_host("http://127.0.0.1:5/x", "http://127.0.0.2:5/x")
    assert not _transport.same_host("http://a.example/x", "http://169.254.169.254/")
    assert not _transport.same_host("http://a.example/x", "http://a.example.evil.test/")


# --- drips -----------------------------------------------------------------------


def test_body_drip_is_cut_at_the_deadline(server, map_file):
    """One byte every 0.3 s never trips the 1 s read timeout; the 2 s deadline cuts it."""
    drip = Drip(0.3)
    server.script.append(drip)
    t = time.monotonic()
    line = build_fails(map_file)
    elapsed = time.monotonic() - t
    assert "no complete answer within 2 s" in line
    assert elapsed < 6, elapsed
    assert drip.ended.wait(5)  # the server saw the client hang up
    assert drip.sent < 20  # ~2 s worth of bytes, not the 30 s the server would go on
    assert len(server.interpreter_requests()) == 1  # not retried past the deadline


def test_header_drip_is_cut_at_the_deadline(server):
    drip = Drip(0.3, in_headers=True)
    server.script.append(drip)
    t = time.monotonic()
    with pytest.raises(NetworkError, match="no complete answer within 2 s"):
        _http.overpass(QUERY, url=server.url)
    assert time.monotonic() - t < 5
    assert drip.ended.wait(5) and drip.sent < 20


# --- floods ----------------------------------------------------------------------


def test_flood_is_stopped_at_the_size_cap(server, map_file):
    flood = Flood(500_000_000)
    server.script.append(flood)
    line = build_fails(map_file)
    assert "larger than 2 MB" in line and "overpass_max_bytes" in line
    assert flood.ended.wait(5)
    assert flood.sent < 20_000_000  # stopped early: socket buffers, not 500 MB
    assert len(server.interpreter_requests()) == 1


def test_announced_flood_is_refused_before_reading(server):
    flood = Flood(3_000_000_000, announce=True)
    server.script.append(flood)
    with pytest.raises(NetworkError, match=r"larger than 2 MB \(3000\.0 MB announced\)"):
        _http.overpass(QUERY, url=server.url)
    assert flood.ended.wait(5)
    assert flood.sent < 20_000_000


def test_gzip_bomb_counts_decompressed_bytes(server):
    """A 0.2 MB gzip body that inflates to 200 MB is stopped at the 2 MB cap, in little memory."""
    import tracemalloc
    import zlib

    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing, built without 200 MB in memory
    parts = [z.compress(b'<?xml version="1.0"?><osm>')]
    parts += [z.compress(b" " * 1_000_000) for _ in range(200)]
    bomb = b"".join(parts) + z.flush()
    assert len(bomb) < 300_000
    server.script.append(
        answer_action(200, bomb, "application/osm3s+xml", {"Content-Encoding": "gzip"})
    )
    tracemalloc.start()
    try:
        with pytest.raises(NetworkError, match=r"larger than 2 MB \(stopped reading there\)"):
            _http.overpass(QUERY, url=server.url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 30_000_000, peak  # far below the 200 MB the body inflates to


# --- error answers -----------------------------------------------------------------

_HTML_OVERPASS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 '
    b'Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
    b'<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en"><head>\n'
    b"<title>OSM3S Response</title></head>\n<body>\n"
    b'<p><strong style="color:#FF0000">Error</strong>: runtime error: open64: 2 No such file '
    b"or directory /osm3s_osm_base Dispatcher_Client::1. Probably the server is down.</p>\n"
    b"</body></html>\n"
)

ERROR_ANSWERS = {
    "json error": (
        b'{"error": "rate limited: too many requests from your address"}',
        "application/json",
        "rate limited: too many requests",
    ),
    "json remark": (
        b'{"version": 0.6, "elements": [], "remark": "runtime error: Query ran out of memory '
        b'in \\"query\\" at line 1. It would need at least 0 MB of RAM"}',
        "application/json",
        "runtime error: Query ran out of memory",
    ),
    "json list": (b"[1, 2, 3]", "application/json", "JSON answer is a list"),
    "json no elements": (b'{"elements": {"a": 1}}', "application/json", "no 'elements' list"),
    "xml remark": (
        b'<?xml version="1.0"?><osm version="0.6"><remark> runtime error: Query timed out in '
        b'"query" at line 3 after 181 seconds. </remark></osm>',
        "application/osm3s+xml",
        "Query timed out",
    ),
    "overpass html": (_HTML_OVERPASS, "text/html", "Probably the server is down"),
    "proxy html": (
        b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad "
        b"Gateway</h1><script>var x = 1;</script></body></html>",
        "text/html",
        "HTML page instead of OSM data: 502 Bad Gateway",
    ),
    "plain text": (b"Service temporarily unavailable", "text/plain", "neither OSM XML nor"),
}


@pytest.mark.parametrize("case", list(ERROR_ANSWERS))
def test_error_answers_are_errors_and_never_cached(server, map_file, case):
    body, ctype, expected = ERROR_ANSWERS[case]
    server.script.append(answer_action(200, body, ctype))
    line = build_fails(map_file)
    assert expected in line
    assert "stopped the query" in line and "Nothing was cached" in line
    runtime = case in ("json remark", "xml remark")  # the query was too big for the server
    assert ("Make the area smaller" if runtime else "Check the server address") in line
    assert len(server.interpreter_requests()) == 1  # the same answer would come again: no retry
    # the next build (server healthy again) works and caches the real answer
    res = CliRunner().invoke(main, ["build", str(map_file)])
    assert res.exit_code == 0, res.output
    assert len(cached_files()) == 2  # one answer: body + checksum record


def test_malformed_element_is_an_error_and_not_kept(server, tmp_path):
    """A JSON answer of the right outline but a broken element: one error, and no cache entry."""
    ql = tmp_path / "ql.yaml"
    ql.write_text(
        "id: rawql\ntitle: raw\nsources:\n  - osm: {overpass_ql: '[out:json];node(35.70,139.70,"
        "35.71,139.71);out;'}\nstyle: {color: '#123456'}\n",
        encoding="utf-8",
    )
    m = tmp_path / "map.yaml"
    m.write_text(
        json.dumps(
            {
                "title": "t",
                "area": {"bbox": WASEDA_BBOX},
                "osm": {"overpass": True, "overpass_url": server.url},
                "layers": ["ql.yaml"],
                "basemap": {"draw": False},
                "outputs": {"geojson": {"file": "out/map.geojson"}},
            }
        ),
        encoding="utf-8",
    )
    body = b'{"elements": [{"type": "node", "id": 1, "lat": 35.7, "lon": 139.7}, 7]}'
    server.script.append(answer_action(200, body, "application/json"))
    res = CliRunner().invoke(main, ["build", str(m)])
    assert isinstance(res.exception, SystemExit) and res.exit_code == 1, res.output
    assert "element 1 of the Overpass JSON answer is malformed" in res.output.splitlines()[-1]
    assert cached_files() == []


def test_fetch_with_an_error_answer_leaves_no_pack(server, map_file):
    server.script.append(answer_action(200, ERROR_ANSWERS["json error"][0], "application/json"))
    pack = map_file.parent / "pack"
    res = CliRunner().invoke(main, ["fetch", str(map_file), "-o", str(pack), "--no-streets"])
    assert isinstance(res.exception, SystemExit) and res.exit_code == 1, res.output
    assert res.output.splitlines()[-1].startswith("Error: Overpass at")
    assert "rate limited" in res.output.splitlines()[-1]
    assert not pack.exists()
    assert [p.name for p in map_file.parent.iterdir()] == ["map.yaml"]  # no .part folder either
    assert cached_files() == []
