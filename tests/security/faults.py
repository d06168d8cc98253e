"""Hostile or broken HTTP servers for the network fault tests, on loopback only.

Each ``*_action`` returns a callable for :attr:`OverpassServer.script`
(tests/overpass_server.py): it answers one interpreter request the way a
broken, slow or hostile server would. :class:`HitRecorder` is a second server
on 127.0.0.2 ("another host") that only counts who reached it.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import loopback


class HitRecorder:
    """An HTTP server on 127.0.0.2 that records every request and answers valid OSM XML."""

    def __init__(self, host: str = "127.0.0.2") -> None:
        self.hits: list[tuple[str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                recorder.hits.append((self.command, self.path))
                body = b'<?xml version="1.0"?><osm version="0.6"></osm>'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._any()

            def do_POST(self):
                self._any()

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        loopback.start(self.httpd)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/api/interpreter"

    def stop(self) -> None:
        loopback.stop(self.httpd)


def redirect_action(status: int, location: str):
    """Answer with a redirect to ``location``."""

    def act(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return act


def answer_action(status: int, body: bytes, ctype: str, headers: dict | None = None):
    """Answer ``body`` whole (error JSON, error XML, an HTML page, a gzip bomb...)."""

    def act(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return act


class Drip:
    """Send one byte every ``interval`` seconds (in the body, or in the headers).

    ``sent`` counts the bytes written; the server gives up after ``give_up`` s
    or when the client has gone.
    """

    def __init__(self, interval: float, *, in_headers: bool = False, give_up: float = 30.0):
        self.interval, self.in_headers, self.give_up = interval, in_headers, give_up
        self.sent = 0
        self.ended = threading.Event()

    def __call__(self, h: BaseHTTPRequestHandler) -> None:
        start = time.monotonic()
        try:
            if self.in_headers:
                h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            else:
                h.send_response(200)
                h.send_header("Content-Type", "application/osm3s+xml")
                h.send_header("Content-Length", "1000000")
                h.end_headers()
                h.wfile.write(b'<?xml version="1.0"?><osm version="0.6">')
            h.wfile.flush()
            while time.monotonic() - start < self.give_up:
                h.wfile.write(b"a" if self.in_headers else b" ")
                h.wfile.flush()
                self.sent += 1
                time.sleep(self.interval)
        except OSError:
            pass  # the client hung up: what we want
        finally:
            self.ended.set()


class Flood:
    """Send ``total`` bytes of an OSM-looking answer, as fast as the client reads.

    ``announce`` sends a Content-Length; otherwise the body ends when the
    connection closes. ``sent`` counts what actually left the server.
    """

    def __init__(self, total: int, *, announce: bool = False):
        self.total, self.announce = total, announce
        self.sent = 0
        self.ended = threading.Event()

    def __call__(self, h: BaseHTTPRequestHandler) -> None:
        chunk = b"<node id='1' lat='35.7' lon='139.7'/>\n" * 1700  # ~64 kB
        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/osm3s+xml")
            if self.announce:
                h.send_header("Content-Length", str(self.total))
            else:
                h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(b'<?xml version="1.0"?><osm version="0.6">\n')
            while self.sent < self.total:
                h.wfile.write(chunk)
                self.sent += len(chunk)
        except OSError:
            pass
        finally:
            self.ended.set()
