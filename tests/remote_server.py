"""A small file server for remote-source tests: real HTTP on 127.0.0.1.

``GET /<name>`` answers :attr:`FileServer.files` ``[name]`` (bytes) with a
Content-Type from the suffix; its answer can change between two fetches (set
another body), as a volunteer's published spreadsheet does. Failures on demand:
put ``500``, ``"truncated"`` (a Content-Length larger than the body sent, then
the connection closed), ``"empty"``, ``("redirect", URL)`` or ``"huge"`` (a body
of :attr:`FileServer.huge_bytes`) into :attr:`FileServer.script` under the
name; each request takes the next entry (``500`` as the last entry is kept, so
the server stays broken). Each file is sent with an ``ETag`` (its hash); a
request whose ``If-None-Match`` names it gets ``304 Not Modified``, counted in
:attr:`FileServer.not_modified` (set :attr:`FileServer.etags` false for a server
without validators). :meth:`stop` takes the server down: connections are then
refused, as for a laptop that left the network.

:attr:`requests` logs every path asked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import loopback

from civicmap.sources import remote

_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".geojson": "application/geo+json",
    ".json": "application/json",
    ".kml": "application/vnd.google-earth.kml+xml",
    ".umap": "application/json",
}

#: 避難所 of a living map on day 1: three places, all open.
SHELTERS_V1 = (
    "名称,住所,緯度,経度,状態\n"
    "西早稲田避難所,東京都新宿区西早稲田1-1,35.7060,139.7060,開設\n"
    "戸山公園給水所,東京都新宿区戸山2-1,35.7070,139.7075,開設\n"
    "高田馬場銭湯,東京都新宿区高田馬場1-2,35.7080,139.7050,開設\n"
).encode()

#: Day 2: the first closes, the third becomes 不明, a fourth opens.
SHELTERS_V2 = (
    "名称,住所,緯度,経度,状態\n"
    "西早稲田避難所,東京都新宿区西早稲田1-1,35.7060,139.7060,閉鎖\n"
    "戸山公園給水所,東京都新宿区戸山2-1,35.7070,139.7075,開設\n"
    "高田馬場銭湯,東京都新宿区高田馬場1-2,35.7080,139.7050,不明\n"
    "大久保地域センター,東京都新宿区大久保2-3,35.7050,139.7040,開設\n"
).encode()


#: When the tests' first fetch happens (the clock of :mod:`civicmap.sources.remote`).
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class Clock:
    """The remote module's clock, set by the test (to cross a ``refresh`` interval at once)."""

    def __init__(self, monkeypatch, start: dt.datetime = T0) -> None:
        self.now = start
        monkeypatch.setattr(remote, "_now", lambda: self.now)

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


class FileServer:
    """Serves :attr:`files` on 127.0.0.1 until :meth:`stop`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.files: dict[str, bytes] = {}
        self.script: dict[str, list] = {}
        self.requests: list[str] = []
        self.huge_bytes = 64 * 1024 * 1024
        self.etags = True
        self.not_modified = 0
        #: The If-None-Match of every request ("" when none was sent).
        self.conditions: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                name = self.path.split("?", 1)[0].lstrip("/")
                with server._lock:
                    server.requests.append(self.path)
                    server.conditions.append(self.headers.get("If-None-Match", ""))
                    todo = server.script.get(name) or []
                    action = todo[0] if todo else None
                    if todo and not (len(todo) == 1 and action == 500):
                        todo.pop(0)
                    body = server.files.get(name)
                if action == 500:
                    self._send(500, b"<h1>Internal Server Error</h1>", "text/html")
                    return
                if isinstance(action, tuple) and action[0] == "redirect":
                    self.send_response(302)
                    self.send_header("Location", action[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if action == "huge":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/csv")
                    self.end_headers()  # no Content-Length: the client must stop reading itself
                    chunk = b"a,b\n" * 16384
                    try:
                        for _ in range(server.huge_bytes // len(chunk) + 1):
                            self.wfile.write(chunk)
                    except OSError:
                        pass  # the client hung up: what it should do
                    return
                if body is None:
                    self._send(404, b"not found", "text/plain")
                    return
                ctype = next(
                    (t for s, t in _TYPES.items() if name.endswith(s)), "application/octet-stream"
                )
                if action == "empty":
                    self._send(200, b"", ctype)
                    return
                etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
                if server.etags and action is None and self.headers.get("If-None-Match") == etag:
                    with server._lock:
                        server.not_modified += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                if action == "truncated":
                    self.send_response(200)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._send(200, body, ctype, etag=etag if server.etags else "")

            def _send(self, status: int, body: bytes, ctype: str, etag: str = "") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self._thread = loopback.start(self.httpd)
        self.port = self.httpd.server_address[1]
        self.host = host
        self.up = True

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.port}/{name}"

    def asked(self, name: str) -> int:
        """How many times ``name`` was requested."""
        return sum(1 for p in self.requests if p.split("?", 1)[0].lstrip("/") == name)

    def stop(self) -> None:
        """Take the server down: from now on the port refuses connections."""
        if self.up:
            self.up = False
            loopback.stop(self.httpd)
