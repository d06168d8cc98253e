"""``civicmap serve`` (issue 26): the site on loopback, read-only, nothing outside the site.

The server is tested for real on 127.0.0.1: raw request paths (``..``, ``%2e%2e%2f``,
backslashes, a symbolic link planted in the folder) must never reach a file outside the
site, there is no listing, no hidden file and no method but GET and HEAD. The command
itself runs as a subprocess and is stopped by its own process id.
"""

from __future__ import annotations

import http.client
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from paths import ROOT

from civicmap._outputs import SITE_MARKER
from civicmap.cli.serve import serving
from civicmap.pipeline import demo_map_path

SECRET = "the neighbour's secret"


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "site"
    (folder / "sub").mkdir(parents=True)
    (folder / "index.html").write_text("<!DOCTYPE html><title>map</title>", encoding="utf-8")
    (folder / "manifest.webmanifest").write_text("{}", encoding="utf-8")
    (folder / "sw.js").write_text("var x;", encoding="utf-8")
    (folder / "sub" / "a.json").write_text("{}", encoding="utf-8")
    (folder / SITE_MARKER).write_text("{}", encoding="utf-8")
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    (folder / "link.txt").symlink_to(tmp_path / "secret.txt")
    (folder / "linked").symlink_to(tmp_path)
    with serving(folder) as server:
        yield server


def _get(server, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.putrequest(method, path, skip_accept_encoding=True)  # the path exactly as written
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


def test_the_sites_files_are_served_with_the_types_a_phone_needs(site):
    status, headers, body = _get(site, "/")
    assert status == 200 and body.startswith(b"<!DOCTYPE html>")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert _get(site, "/manifest.webmanifest")[1]["Content-Type"] == "application/manifest+json"
    assert _get(site, "/sw.js")[1]["Content-Type"].startswith("text/javascript")
    assert _get(site, "/sub/a.json?v=1")[0] == 200
    status, headers, body = _get(site, "/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


@pytest.mark.parametrize(
    "path",
    ["/../secret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt", "/sub/..%2f..%2fsecret.txt",
     "/sub/%2E%2E/%2E%2E/secret.txt", "/..%5csecret.txt", "/..\\secret.txt", "/link.txt",
     "/linked/secret.txt", "/%00/../secret.txt", "//etc/passwd", "/%ff%fe"],
)  # fmt: skip
def test_nothing_outside_the_site_is_served_however_the_path_is_spelt(site, path):
    status, _headers, body = _get(site, path)
    assert status in (400, 404), (path, status)
    assert SECRET.encode() not in body


def test_no_listing_no_hidden_files_and_only_get_and_head(site):
    assert _get(site, "/sub/")[0] == 404  # a folder without index.html: never a listing
    assert _get(site, "/sub")[0] == 301
    assert _get(site, f"/{SITE_MARKER}")[0] == 404
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, headers, _body = _get(site, "/index.html", method=method)
        assert status == 405 and headers["Allow"] == "GET, HEAD"


def _read_until(proc: subprocess.Popen, done, timeout: float = 120) -> list[str]:
    """Lines of the command's output until ``done(lines)`` holds (or the time is up).

    A thread reads the pipe (a select() on a buffered pipe misses lines already read ahead).
    """
    got: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [got.put(line) for line in proc.stdout], daemon=True).start()
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while not done(lines) and time.monotonic() < deadline:
        try:
            lines.append(got.get(timeout=1.0))
        except queue.Empty:
            if proc.poll() is not None:
                break
    return lines


def _url(lines: list[str]) -> str | None:
    m = re.search(r"(http://[\d.]+:\d+/)", "".join(lines))
    return m.group(1) if m else None


def _qr_rows(lines: list[str]) -> list[str]:
    return [row for row in lines if set(row.strip()) <= set("█▀▄ ") and len(row.strip()) > 20]


def _start(*args: str, tmp: Path) -> subprocess.Popen:
    """Run ``civicmap serve`` on the demo (offline, any free port), its temporary files in ``tmp``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path]), "TMPDIR": str(tmp)}
    return subprocess.Popen(
        [sys.executable, "-c", "from civicmap.cli import main; main()", "--lang", "en", "serve",
         str(demo_map_path()), "--offline", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def _stop(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGTERM)  # our own child, by its id
    proc.wait(timeout=30)


@pytest.mark.slow
def test_serve_builds_the_site_and_serves_it_on_loopback_only(tmp_path):
    proc = _start(tmp=tmp_path)
    try:
        lines = _read_until(proc, _url)
        url = _url(lines)
        assert url and url.startswith("http://127.0.0.1:"), "".join(lines)
        text = "".join(lines)
        assert "read-only" in text and "no folder listing, no uploads" in text
        host, port = url[7:-1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/data.json")
        resp = conn.getresponse()
        assert resp.status == 200 and b'"layers"' in resp.read()
        conn.close()
    finally:
        _stop(proc)
    assert proc.returncode == 0
    assert not _qr_rows(lines)  # no QR code without --lan
    assert not list(tmp_path.glob("civicmap-serve-*"))  # stopped: its built site is removed


@pytest.mark.slow
def test_serve_lan_prints_the_address_and_a_qr_code_in_the_terminal(tmp_path):
    # --bind stands in for the room's network: the test machine may have none
    proc = _start("--lan", "--bind", "127.0.0.1", tmp=tmp_path)
    try:
        lines = _read_until(proc, lambda got: len(_qr_rows(got)) >= 10)
    finally:
        _stop(proc)
    out = "".join(lines)
    assert _url(lines).startswith("http://127.0.0.1:")
    assert "anyone on this network can open it" in out
    assert len(_qr_rows(lines)) >= 10, out  # a QR code drawn with block characters
