"""A small XYZ tile server for tests: real HTTP on 127.0.0.1, generated PNG tiles.

``GET /{z}/{x}/{y}.png`` answers a 256×256 PNG drawn from its own address: a
pale fill, a dark "road" across the middle, a 1-px border, so a mosaic shows
whether tiles were placed right. Failures on demand, per tile: put a list of
``404``, ``429``, ``500``, ``"slow"``, ``"broken"`` (a PNG cut in half),
``"drip"`` (headers, then one byte every :attr:`TileServer.drip_seconds`) or
``"huge"`` (a valid 13000×13000 PNG, :func:`huge_png`) into
:attr:`TileServer.script` under ``"z/x/y"``; each request for that tile takes
the next entry (an empty or missing list answers :attr:`TileServer.default`,
normally a tile). ``"404"`` as the last entry of a list is kept, so the tile
stays missing.

:attr:`requests` logs every path asked; :attr:`max_active` the most requests
served at once (the client promises at most two connections).
"""

from __future__ import annotations

import functools
import io
import re
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import loopback
from PIL import Image, ImageDraw

from civicmap.spec.basemap import REGISTRY

_PATH = re.compile(r"^/(\d+)/(\d+)/(\d+)\.png$")


@functools.cache
def tile_png(z: int, x: int, y: int) -> bytes:
    """The tile the server sends for z/x/y (deterministic: drawn once, sent as often as asked)."""
    fill = (200 + (x * 7) % 40, 215 + (y * 5) % 30, 190 + (z * 3) % 50)
    im = Image.new("RGB", (256, 256), fill)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, 255, 255], outline=(120, 120, 120))
    d.line([(0, 128), (255, 128)], fill=(60, 60, 60), width=6)
    d.text((8, 8), f"{z}/{x}/{y}", fill=(0, 0, 0))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


@functools.cache
def huge_png(side: int = 13000) -> bytes:
    """A valid 1-bit PNG of ``side``×``side`` pixels, about 20 kB (its rows are all zero).

    Decoded it is hundreds of megabytes in RGB: what a hostile tile server sends.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\0" * (1 + (side + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


class TileServer:
    """Serves generated tiles on 127.0.0.1 until :meth:`stop`."""

    def __init__(self, *, slow_seconds: float = 2.0):
        self.script: dict[str, list] = {}
        self.requests: list[str] = []
        self.slow_seconds = slow_seconds
        #: Sent as ``Last-Modified`` with every tile when set (GSI sends one): the tiles' date.
        self.last_modified: str | None = None
        #: What a tile without a script gets (None: the tile).
        self.default = None
        self.drip_seconds = 0.2
        #: Bytes sent by drips (all requests).
        self.dripped = 0
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                with server._lock:
                    server.requests.append(self.path)
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    self._answer()
                finally:
                    with server._lock:
                        server.active -= 1

            def _answer(self):
                m = _PATH.match(self.path.split("?", 1)[0])  # a key in the query is ignored
                if not m:
                    self.send_error(404)
                    return
                key = "/".join(m.groups())
                with server._lock:
                    todo = server.script.get(key) or []
                    action = todo[0] if todo else server.default
                    if todo and not (len(todo) == 1 and action == 404):
                        todo.pop(0)
                time.sleep(0.005)  # a little latency, so parallel requests overlap
                if action in (404, 429, 500):
                    self.send_response(action)
                    if action == 429:
                        self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = tile_png(*map(int, m.groups()))
                if action == "slow":
                    time.sleep(server.slow_seconds)
                if action == "broken":
                    body = body[: len(body) // 2]
                if action == "huge":
                    body = huge_png()
                if action == "drip":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    try:
                        for i in range(len(body)):
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                            with server._lock:
                                server.dripped += 1
                            time.sleep(server.drip_seconds)
                    except OSError:
                        pass  # the client hung up: what it should do
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                if server.last_modified:
                    self.send_header("Last-Modified", server.last_modified)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = loopback.start(self.httpd)

    @property
    def url(self) -> str:
        """The XYZ template of this server."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/{{z}}/{{x}}/{{y}}.png"

    def reset(self) -> None:
        self.last_modified = None
        self.script.clear()
        self.requests.clear()
        self.max_active = 0
        self.default = None
        self.dripped = 0

    def stop(self) -> None:
        loopback.stop(self.httpd)


def use_loopback_gsi(mp, server: TileServer, *, cache_folder=None) -> None:
    """Point the registry's gsi-pale at ``server`` (no pacing, fresh fetchers) through ``mp``.

    ``mp`` is a ``pytest.MonkeyPatch`` (the function fixture's, or a module fixture's own),
    so everything is undone with it. ``cache_folder`` also isolates the response cache, online.
    """
    import dataclasses

    from civicmap import settings
    from civicmap.render import tiles

    if cache_folder is not None:
        mp.setattr(settings, "cache_folder", cache_folder)
        mp.setattr(settings, "offline", False)
    mp.setattr(tiles, "PACE_SECONDS", 0.0)
    mp.setitem(
        REGISTRY,
        "gsi-pale",
        dataclasses.replace(REGISTRY["gsi-pale"], url=server.url),
    )
    tiles._FETCHERS.clear()
