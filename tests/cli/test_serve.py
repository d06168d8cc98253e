"""``civicmap serve`` (issue 26): builds the site and serves it on loopback, --lan with a QR code.

The types a phone needs are checked on the server for real (hostile paths: tests/security/
test_serve_paths.py); the command itself runs as a subprocess, stopped by its own process id.
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
from serve_site import get, served_site

from civicmap.pipeline import demo_map_path


@pytest.fixture
def site(tmp_path):
    with served_site(tmp_path) as server:
        yield server


def test_the_sites_files_are_served_with_the_types_a_phone_needs(site):
    status, headers, body = get(site, "/")
    assert status == 200 and body.startswith(b"<!DOCTYPE html>")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert get(site, "/manifest.webmanifest")[1]["Content-Type"] == "application/manifest+json"
    assert get(site, "/sw.js")[1]["Content-Type"].startswith("text/javascript")
    assert get(site, "/sub/a.json?v=1")[0] == 200
    status, headers, body = get(site, "/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


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


def test_a_port_in_use_is_one_clear_error_naming_the_fix(site, tmp_path):
    from civicmap.cli.serve import ServeError, SiteServer

    taken = site.server_address[1]
    with pytest.raises(ServeError, match="--port") as err:
        SiteServer(tmp_path, host="127.0.0.1", port=taken)
    assert str(taken) in str(err.value)
