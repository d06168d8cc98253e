"""Hostile and broken Overpass servers: redirects, drips, floods, error answers.

Every fault is served over real HTTP on loopback by the test Overpass server
(tests/overpass_server.py) with a scripted action from tests/security/faults.py.
A build against each ends in one ``Error:`` line, exit code 1, no traceback,
no output file and nothing in the cache.
"""

from __future__ import annotations

import json
import re
import runpy
import time
from pathlib import Path

import loopback
import pytest
import urllib3.util.connection
from click.testing import CliRunner
from faults import Drip, Flood, HitRecorder, answer_action, redirect_action
from paths import ROOT

import civicmap
from civicmap import _http, _transport, settings
from civicmap.cli import main
from civicmap.errors import NetworkError
from civicmap.spec.basemap import REGISTRY

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


def test_body_drip_is_cut_at_the_deadline(server, map_file, monkeypatch):
    """One byte every 0.2 s never trips the 1 s read timeout; the 0.8 s deadline cuts it.

    (A deadline smaller than the fixture's 2 s: what is checked is the cut at the
    deadline, whatever its size; the wait was most of this module's time.)
    """
    monkeypatch.setattr(settings, "overpass_deadline", 0.8)
    drip = Drip(0.2)
    server.script.append(drip)
    t = time.monotonic()
    line = build_fails(map_file)
    elapsed = time.monotonic() - t
    assert "no complete answer within 0.8 s" in line
    assert elapsed < 6, elapsed
    assert drip.ended.wait(5)  # the server saw the client hang up
    assert drip.sent < 20  # ~0.8 s worth of bytes, not the 30 s the server would go on
    assert len(server.interpreter_requests()) == 1  # not retried past the deadline


def test_header_drip_is_cut_at_the_deadline(server, monkeypatch):
    monkeypatch.setattr(settings, "overpass_deadline", 0.8)  # as the body drip above
    drip = Drip(0.2, in_headers=True)
    server.script.append(drip)
    t = time.monotonic()
    with pytest.raises(NetworkError, match=r"no complete answer within 0\.8 s"):
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


# --- issue #31: tiles, map-file URLs, secrets, bodies, the geocoder ----------------

TOYAMA_CSV = (
    Path(__file__).parents[1] / "data/childcare/toyama/toyama_nurseryFacilities_utf8bom.csv"
).resolve()


def tile_map_file(folder: Path, tiles_value: str = "gsi-pale", **basemap) -> Path:
    """富山市 nurseries on tiles, no OSM (the fallback is the N03 outlines and the area)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "map.yaml"
    path.write_text(
        json.dumps(
            {
                "title": "富山市 保育施設マップ",
                "area": {"bbox": [137.19, 36.68, 137.23, 36.71]},
                "osm": False,
                "basemap": {"tiles": tiles_value, **basemap},
                "layers": [
                    {
                        "id": "nursery",
                        "title": {"ja": "保育施設", "en": "Childcare"},
                        "sources": [{"csv": {"path": str(TOYAMA_CSV)}}],
                    }
                ],
                "outputs": {"paper": {"file": "out/map.pdf", "size": "A4"}},
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def pdf_images(pdf: Path) -> list[str]:
    import subprocess

    out = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True)
    return out.stdout.splitlines()[2:]


def pdf_text(pdf: Path) -> str:
    import subprocess

    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return "".join(out.stdout.split())


@pytest.fixture
def tile_budget(monkeypatch):
    """Small tile budgets: 3 s and 1 s per request, 6 failures; tiny retry waits."""
    monkeypatch.setattr(settings, "tile_deadline", 3.0)
    monkeypatch.setattr(settings, "tile_request_deadline", 1.0)
    monkeypatch.setattr(settings, "backoff_base", 0.001)
    monkeypatch.setattr(settings, "max_wait", 0.05)
    monkeypatch.setattr(settings, "http_timeout", 0.5)
    monkeypatch.setattr(settings, "http_deadline", 2.0)  # what the old code bounded each tile by


@pytest.mark.timeout(90)
def test_dripping_tile_server_ends_within_the_budget_on_the_fallback(
    gsi, tile_budget, tmp_path, monkeypatch
):
    """One byte every 0.2 s on every tile: the build stops asking at its budget (a 65-tile
    build took 6-8 min before) and draws the N03 outlines instead of a grey frame.

    (Budgets smaller than ``tile_budget``'s: 0.3 s a tile, 1 s in all; what is checked is
    that the build stops at them, whatever their size.)
    """
    from civicmap.pipeline import build

    monkeypatch.setattr(settings, "tile_deadline", 1.0)
    monkeypatch.setattr(settings, "tile_request_deadline", 0.3)
    gsi.default = "drip"
    t = time.monotonic()
    pdf = build(civicmap.load_map(tile_map_file(tmp_path)), overwrite=True)["paper"][0]
    elapsed = time.monotonic() - t
    assert elapsed < settings.tile_deadline + 10, elapsed
    assert len(gsi.requests) <= 2 * settings.tile_max_failures + 4  # stopped asking
    assert pdf_images(pdf) == []  # no grey raster
    assert "背景地図なし" in pdf_text(pdf)  # the fallback background, said on the map


def test_huge_tile_is_refused_from_its_header_without_decoding(monkeypatch):
    """A valid 13000×13000 PNG (20 kB on the wire, 500 MB decoded) never reaches a decoder."""
    from PIL import ImageFile
    from tile_server import huge_png

    from civicmap.render import tiles

    decoded = []
    real = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda im: decoded.append(im) or real(im))
    body = huge_png()
    assert tiles.tile_image_size(body) == (13000, 13000)
    with pytest.raises(NetworkError, match="13000×13000"):
        tiles._png_ok(body)
    assert decoded == []


def test_huge_tiles_from_a_server_are_holes_and_the_server_is_given_up(gsi, tile_budget):
    from civicmap.render import tiles

    gsi.default = "huge"
    want = tiles.tiles_for_bounds((137.19, 36.68, 137.23, 36.71), 16)
    assert len(want) > 2 * settings.tile_max_failures
    t = time.monotonic()
    f = tiles.TileFetcher(REGISTRY["gsi-pale"])
    assert f.get_many(want) == {}
    assert time.monotonic() - t < 10
    assert f.broken and "13000×13000" in f.broken
    assert len(gsi.requests) < len(want)  # given up after a few, not asked for every tile


def test_map_file_tile_url_on_loopback_is_refused_unless_allowed(
    tile_server, tmp_path, monkeypatch
):
    from click.testing import CliRunner

    from civicmap.cli import main
    from civicmap.render import tiles

    monkeypatch.setattr(tiles, "PACE_SECONDS", 0.0)  # no polite pacing towards the test server
    tile_server.reset()
    path = tile_map_file(tmp_path, tile_server.url, attribution="© 自作タイル")
    res = CliRunner().invoke(main, ["build", str(path)])
    assert res.exit_code == 0, res.output
    assert tile_server.requests == []  # nothing was sent to 127.0.0.1
    assert "--allow-private-urls" in res.output and "127.0.0.1" in res.output
    res = CliRunner().invoke(main, ["build", str(path), "--overwrite", "--allow-private-urls"])
    assert res.exit_code == 0, res.output
    assert len(tile_server.requests) > 4  # the user's own server, allowed for this run


def test_map_file_overpass_url_at_the_metadata_address_is_never_connected(tmp_path, no_network):
    from click.testing import CliRunner

    from civicmap.cli import main

    no_network.strict = True  # not even a connection attempt
    path = tmp_path / "map.yaml"
    path.write_text(
        json.dumps(
            {
                "title": "t",
                "area": {"bbox": WASEDA_BBOX},
                "osm": {"overpass": True, "overpass_url": "http://169.254.169.254/latest/api"},
                "layers": ["childcare"],
                "basemap": {"draw": False},
                "outputs": {"geojson": {"file": "out/map.geojson"}},
            }
        ),
        encoding="utf-8",
    )
    res = CliRunner().invoke(main, ["build", str(path)])
    assert res.exit_code == 1, res.output
    line = res.output.strip().splitlines()[-1]
    assert "169.254.169.254" in line and "--allow-private-urls" in line


def test_tile_url_credentials_are_never_printed(tile_server, tmp_path, tile_budget, monkeypatch):
    from click.testing import CliRunner

    from civicmap.cli import main
    from civicmap.render import tiles

    monkeypatch.setattr(tiles, "PACE_SECONDS", 0.0)  # no polite pacing towards the test server
    tile_server.reset()
    tile_server.default = 500
    url = tile_server.url.replace("http://", "http://mapuser:s3cr3tpass@") + "?apikey=k3yk3y"
    path = tile_map_file(tmp_path, url, attribution="© 自作タイル")
    res = CliRunner().invoke(main, ["-v", "build", str(path), "--allow-private-urls"])
    assert res.exit_code == 0, res.output
    assert tile_server.requests  # asked, and failed
    assert "s3cr3tpass" not in res.output and "mapuser" not in res.output
    assert "k3yk3y" not in res.output
    assert "127.0.0.1" in res.output  # the server is still named


def test_an_overpass_error_quotes_only_a_short_excerpt_of_the_answer(server, map_file):
    secret = "AKIAFAKEKEY/" + "x" * 20 + "/SecretAccessKey=wJalrXUtnFEMI"
    body = json.dumps({"error": "denied: " + "padding " * 30 + secret}).encode()
    server.script.append(answer_action(200, body, "application/json"))
    line = build_fails(map_file)
    assert "denied: padding" in line  # what the server said, in short
    assert "SecretAccessKey" not in line and "AKIAFAKEKEY" not in line
    assert len(line) < 700


def test_a_bad_geocoder_answer_is_not_cached(monkeypatch):
    """A server answering ``{}`` (a proxy, a broken search) is an error now and asked again next time."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from civicmap.sources.geocode import geocode_one

    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            data = b'{"status": "maintenance", "data": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    loopback.start(httpd)
    try:
        monkeypatch.setattr(
            settings, "geocoder_url", f"http://127.0.0.1:{httpd.server_address[1]}/search"
        )
        point, why = geocode_one("金沢市鞍月東2丁目1番地")
        assert point is None and "GSI address search" in why
        assert cached_files() == []
        geocode_one("金沢市鞍月東2丁目1番地")
        assert len(hits) == 2  # asked again: the bad answer was not kept
    finally:
        loopback.stop(httpd)


def test_retries_are_bounded_per_run_not_only_per_request(server, monkeypatch):
    monkeypatch.setattr(settings, "max_retries_per_run", 4)
    server.script.extend([503] * 100)
    with _http.network_run():
        for i in range(5):
            with pytest.raises(NetworkError):
                _http.get_json(server.url, params={"data": f"[out:json];node({i},0,1,1);out;"})
    # 5 requests, 4 retries in all (not 5 × 3 = 15)
    assert len(server.interpreter_requests()) == 5 + 4


def test_the_budgets_these_tests_shrink_are_the_documented_defaults():
    """The drips above are cut at small budgets (the cut is what they check); what a user
    gets without settings is what docs/reference.md says, read from a fresh settings module."""
    fresh = runpy.run_path(settings.__file__)
    doc = " ".join((ROOT / "docs" / "reference.md").read_text(encoding="utf-8").split())

    def documented(pattern: str) -> int:
        found = re.search(pattern, doc)
        assert found, pattern
        return int(found.group(1))

    assert fresh["tile_deadline"] == documented(r"`settings\.tile_deadline` \((\d+) s\)") == 180
    assert fresh["tile_request_deadline"] == documented(
        r"`settings\.tile_request_deadline` \((\d+) s\)"
    )
    assert fresh["tile_max_failures"] == documented(r"`settings\.tile_max_failures` \((\d+)\)")
    assert fresh["max_retries"] == documented(r"`settings\.max_retries` \((\d+)\) times")
    assert fresh["http_deadline"] == documented(r"`settings\.http_deadline`, (\d+) s\)")
    # Overpass: no deadline of its own by default, so the server's timeout + 120 s
    assert fresh["overpass_deadline"] is None
    assert fresh["overpass_timeout"] + 120 == documented(
        r"`settings\.overpass_deadline` \(default `overpass_timeout \+ 120` = (\d+) s"
    )
