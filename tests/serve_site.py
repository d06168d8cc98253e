"""A small site folder served on 127.0.0.1, with a secret beside it, and a raw GET (tests)."""

from __future__ import annotations

import contextlib
import http.client
from collections.abc import Iterator
from pathlib import Path

from civicmap._outputs import SITE_MARKER
from civicmap.cli.serve import SiteServer, serving

SECRET = "the neighbour's secret"


@contextlib.contextmanager
def served_site(tmp_path: Path) -> Iterator[SiteServer]:
    """A site folder in ``tmp_path`` served on 127.0.0.1, a secret and links to it beside."""
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


def get(server, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.putrequest(method, path, skip_accept_encoding=True)  # the path exactly as written
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body
