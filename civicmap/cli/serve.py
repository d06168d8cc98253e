"""``civicmap serve MAP``: build the map's site and serve it, for a workshop or a USB stick.

The server serves the site's own files and nothing else: GET and HEAD only (no upload, no
other method), no directory listing, no hidden file (the site's marker, a lock), no path
that leads outside the site folder, however it is spelt (``..``, ``%2e%2e%2f``, a
backslash, a NUL) and no symbolic link at all (one planted in the folder could lead
anywhere). It binds 127.0.0.1 unless ``--lan`` is given; then it prints the address the
other phones in the room open, with a QR code in the terminal.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.server
import logging
import mimetypes
import os
import signal
import socket
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import click

from civicmap import pipeline
from civicmap.cli.main import handle_errors, main, say
from civicmap.cli.options import OsmChoice, map_file_argument, osm_source_options
from civicmap.errors import CivicMapError
from civicmap.i18n import N_, _
from civicmap.render.site import terminal_qr
from civicmap.spec.mapfile import load_map
from civicmap.spec.site import SiteOptions

log = logging.getLogger(__name__)

#: Types a static host must send for the site to work (a manifest, a module-less worker).
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


class ServeError(CivicMapError):
    """The site cannot be served (the port is taken, the address cannot be bound)."""

    exit_code = 1


class SiteRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Read-only static files of one folder: see the module docstring for what is refused."""

    server_version = "civicmap"
    sys_version = ""
    protocol_version = "HTTP/1.0"

    def __init__(self, *args, directory: str, **kwargs):
        self.root = Path(os.path.realpath(directory))
        super().__init__(*args, directory=directory, **kwargs)

    # --- only GET and HEAD
    def _refuse_method(self) -> None:
        self.send_response(405)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        self._refuse_method()

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_CONNECT = do_TRACE = do_POST  # noqa: N815

    def list_directory(self, path):  # never a listing
        self.send_error(404)
        return None

    def site_path(self, raw: str) -> Path | None:
        """The file ``raw`` (the request's path) names inside the site, or None when refused."""
        path = urlsplit(raw).path
        if "\\" in path or "\0" in path:
            return None
        parts = [p for p in unquote(path, errors="strict").split("/") if p]
        here = self.root
        for part in parts:
            if (
                part in (".", "..")
                or part.startswith(".")
                or "/" in part
                or "\\" in part
                or "\0" in part
            ):
                return None  # also %2e%2e, %2f, hidden files (the marker, a lock)
            here = here / part
            try:
                st = os.lstat(here)
            except OSError:
                return None
            if stat.S_ISLNK(st.st_mode):
                return None  # no symbolic link, wherever it points
        if os.path.commonpath([os.path.realpath(here), self.root]) != str(self.root):
            return None
        return here

    def send_head(self):
        try:
            path = self.site_path(self.path)
        except UnicodeDecodeError:
            path = None
        if path is not None and path.is_dir():
            if not urlsplit(self.path).path.endswith("/"):
                self.send_response(301)
                self.send_header("Location", urlsplit(self.path).path + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            path = path / "index.html"
        try:
            st = os.lstat(path) if path is not None else None
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            self.send_error(404)
            return None
        f = open(path, "rb")  # closed by do_GET/do_HEAD
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
                         or "application/octet-stream")  # fmt: skip
        self.send_header("Content-Length", str(st.st_size))
        self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
        self.send_header("Cache-Control", "no-cache")  # a rebuilt site is seen at once
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        return f

    def log_message(self, format: str, *args) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class SiteServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server for one site folder (see :class:`SiteRequestHandler`)."""

    daemon_threads = True

    def __init__(self, folder: Path, *, host: str = "127.0.0.1", port: int = 0):
        self.folder = Path(folder)
        handler = _handler_for(self.folder)
        try:
            super().__init__((host, port), handler)
        except OSError as exc:
            raise ServeError(
                _(
                    "cannot serve on %(host)s port %(port)s: %(reason)s; give another port "
                    "with --port (0 takes any free one)"
                )
                % {"host": host, "port": port, "reason": exc.strerror or exc}
            ) from None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


def _handler_for(folder: Path):
    def handler(*args, **kwargs):
        return SiteRequestHandler(*args, directory=str(folder), **kwargs)

    return handler


@contextlib.contextmanager
def serving(folder: Path, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[SiteServer]:
    """Serve ``folder`` in a background thread for the block (tests, benchmarks)."""
    server = SiteServer(folder, host=host, port=port)
    # look for the end of the block every 10 ms (http.server's 0.5 s made each block's end wait)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def lan_address() -> str | None:
    """This computer's address on the local network, or None when it has none.

    A UDP socket "connected" to a documentation address sends nothing; the address the
    system picks for it is the one other machines on the network reach us at.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            ip = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


@main.command(
    help=N_(
        "Build the site of MAP_FILE and serve it: on this computer only (127.0.0.1), or with "
        "--lan to the phones on the same network. Read-only: the site's files only."
    )
)
@map_file_argument
@click.option(
    "--lan",
    is_flag=True,
    help=N_("Serve to the local network too, and print its address and a QR code."),
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help=N_("Port to serve on (0: any free port)."),
)
# the address --lan binds and announces, for tests on a machine with no network
@click.option("--bind", "bind", default=None, hidden=True)
@osm_source_options
@handle_errors
def serve(map_file: Path, lan: bool, port: int, bind: str | None, osm: OsmChoice) -> None:
    spec = osm.apply(load_map(map_file))
    with tempfile.TemporaryDirectory(prefix="civicmap-serve-") as tmp:
        folder = Path(tmp) / "site"
        options = spec.site or SiteOptions(folder=str(folder))
        spec = replace(spec, outputs={"site": str(folder)}, site=options)
        pipeline.build(spec, formats=("site",))
        # a stop (Ctrl+C, or SIGTERM from a workshop's script) ends the loop the same way,
        # so the temporary site folder is removed
        previous = signal.signal(signal.SIGTERM, _interrupt)
        host = bind or ("0.0.0.0" if lan else "127.0.0.1")
        try:
            server = SiteServer(folder, host=host, port=port)
        except ServeError:
            signal.signal(signal.SIGTERM, previous)
            raise
        shown = bind or (lan_address() if lan else "127.0.0.1")
        if lan and shown is None:
            say(_("this computer has no local network address: the phones cannot reach it; "
                  "connect it to the room's Wi-Fi and start again"))  # fmt: skip
            shown = "127.0.0.1"
        url = f"http://{shown}:{server.server_address[1]}/"
        say(
            _(
                "serving the site of %(title)s at %(url)s: read-only, the site's own files only "
                "(no folder listing, no uploads). Stop with Ctrl+C"
            )
            % {"title": spec.title, "url": url}
        )
        if lan:
            say(_("anyone on this network can open it; scan to open it on a phone:"))
            say(terminal_qr(url))
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.server_close()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
