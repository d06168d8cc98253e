"""Background map tiles (地理院タイル and others): tile maths, fetching, paper raster.

A paper map is only useful when people find their own street on it. OSM
vectors are thin in much of rural Japan, while the 国土地理院's tiles (淡色地図
``pale`` and 標準地図 ``std``, nationwide to z18) are complete and are what
municipal hazard maps print on. This module holds everything about raster
tiles so the renderers only make one call:

- The tile sources themselves (:data:`civicmap.spec.basemap.REGISTRY`) are what
  a map file may name, so they live with the map file's other words in
  :mod:`civicmap.spec.basemap`; this module fetches and draws them.
- Web Mercator tile maths (:func:`tile_xy`, :func:`tiles_for_bounds`).
- :class:`TileFetcher`: tiles only through :func:`civicmap._http.get_bytes`
  (user agent, timeout, bounded retries), at most :data:`MAX_CONNECTIONS`
  connections with :data:`PACE_SECONDS` between request starts, a disk cache,
  and the offline pack (``<pack>/tiles/<source>/z/x/y.png``). A tile that
  cannot be had is a *hole*: drawn light grey and reported, never a crash.
- :func:`paper_raster`: one image for a map frame, at a zoom whose pixels
  match the print scale at :data:`PAPER_DPI` or more, reprojected and cropped
  exactly to the frame, lightened so our symbols stay readable in greyscale.
- :func:`draw_paper_tiles`: one frame's raster on the canvas, called by
  :func:`civicmap.render.background.draw_paper_background`, the hook the paper
  renderer calls (which also draws the N03 fallback; the web page's tile layer
  and banner are there too).

Tiles are *data*: only their bytes are read (by Pillow), nothing from them
reaches a template.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from civicmap import _http, settings
from civicmap._files import write_bytes_atomic
from civicmap._packfiles import (
    PACK_MANIFEST_MAX_BYTES,
    list_pack_files,
    read_pack_entry,
    warn_old_pack,
)
from civicmap._transport import HostUnreachableError, PrivateAddressError, excerpt, redact
from civicmap.errors import CivicMapError, NetworkError, OfflineError
from civicmap.i18n import _, current_language
from civicmap.schema import Credit
from civicmap.spec.basemap import REGISTRY, TileSource
from civicmap.spec.mapfile import MapSpec

log = logging.getLogger(__name__)

#: Print resolution the paper raster aims for (dots per inch); the zoom is
#: chosen so one tile pixel is at most one printed dot at this resolution.
PAPER_DPI = 200
#: At most this many tile requests at once (tile servers ask for restraint).
MAX_CONNECTIONS = 2
#: Seconds between the starts of two tile requests (polite pacing). Tests set 0.
PACE_SECONDS = 0.1
#: A fetch or a page refuses to use more tiles than this (a typo in the scale
#: must not download a prefecture).
MAX_TILES = 3000
#: Colour of a tile that could not be had (a reported hole).
HOLE_RGB = (233, 236, 239)
#: Folder of the tiles inside an offline pack.
PACK_TILES = "tiles"
#: An offline web page inlines pack tiles as data URIs up to this many bytes in total.
WEB_INLINE_LIMIT = 8 * 1024 * 1024

_EARTH_CIRCUMFERENCE = 40075016.68557849  # metres at the equator, Web Mercator sphere


# --------------------------------------------------------------------------- tile maths


def tile_xy(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Fractional Web Mercator tile coordinates of a point at zoom ``z``."""
    n = 2.0**z
    lat = max(min(lat, 85.05112878), -85.05112878)
    x = (lon + 180.0) / 360.0 * n
    r = math.radians(lat)
    y = (1.0 - math.asinh(math.tan(r)) / math.pi) / 2.0 * n
    return x, y


def tiles_for_bounds(
    bounds: tuple[float, float, float, float], z: int
) -> list[tuple[int, int, int]]:
    """Every tile (z, x, y) touching ``bounds`` (west, south, east, north in degrees)."""
    w, s, e, n = bounds
    x0, y0 = tile_xy(w, n, z)
    x1, y1 = tile_xy(e, s, z)
    top = 2**z - 1
    xs = range(max(0, math.floor(x0)), min(top, math.floor(x1)) + 1)
    ys = range(max(0, math.floor(y0)), min(top, math.floor(y1)) + 1)
    return [(z, x, y) for y in ys for x in xs]


def tile_lonlat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The (west, south, east, north) of tile ``z/x/y`` in degrees (the inverse of :func:`tile_xy`)."""
    n = 2.0**z

    def lat(yy: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)


def metres_per_pixel(lat: float, z: int) -> float:
    """Ground size of one 256-px tile pixel at latitude ``lat`` and zoom ``z``."""
    return _EARTH_CIRCUMFERENCE * math.cos(math.radians(lat)) / (256 * 2**z)


#: A tile's label text is about this many pixels tall (256-px tiles, GSI and OSM styles).
TILE_LABEL_PX = 11.0
#: The smallest a tile's label may print (points): the zoom is chosen for it.
TILE_LABEL_MIN_PT = 6.0


def paper_zoom(scale: float, lat: float, source: TileSource, *, dpi: int = PAPER_DPI) -> int:
    """The most detailed zoom whose labels print at :data:`TILE_LABEL_MIN_PT` or more.

    Tiles are drawn for a screen: at the zoom that matches a printed dot, their
    labels (about :data:`TILE_LABEL_PX` px) print at 2 pt. A pixel may print no
    smaller than ``TILE_LABEL_MIN_PT / TILE_LABEL_PX`` pt at 1:``scale``; the
    image is coarser (resampled up to ``dpi``), the place names readable.
    Capped at the source's ``max_zoom``; never below its ``min_zoom``.
    """
    pixel_m = TILE_LABEL_MIN_PT / TILE_LABEL_PX * 0.0254 / 72 * scale  # on the ground
    z = math.floor(math.log2(_EARTH_CIRCUMFERENCE * math.cos(math.radians(lat)) / (256 * pixel_m)))
    return max(source.min_zoom, min(source.max_zoom, z))


# --------------------------------------------------------------------------- fetching


def tile_image_size(body: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header, without decoding; None for another format.

    Why by hand: the pixel cap must hold before any decoder runs, and a PNG's
    IHDR or a JPEG's SOF marker says the size in a few bytes.
    """
    if body[:8] == b"\x89PNG\r\n\x1a\n" and body[12:16] == b"IHDR" and len(body) >= 24:
        return int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")
    if body[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(body):
            if body[i] != 0xFF:
                i += 1
                continue
            marker = body[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            seg = int.from_bytes(body[i + 2 : i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h = int.from_bytes(body[i + 5 : i + 7], "big")
                w = int.from_bytes(body[i + 7 : i + 9], "big")
                return w, h
            i += 2 + seg
        return (0, 0)  # a JPEG without a frame header: not a usable tile
    return None


def check_tile_size(body: bytes) -> None:
    """Raise ValueError for a tile whose image is larger than ``settings.tile_max_pixels``.

    Read from the header (:func:`tile_image_size`), or for another format from
    Pillow's lazy open, which reads only the header: in both cases before any
    pixel is decoded, so a 13000×13000 PNG costs a few bytes, not 500 MB.
    """
    size = tile_image_size(body)
    if size is None:
        try:
            with Image.open(io.BytesIO(body)) as im:
                size = im.size
        except Exception as exc:
            raise ValueError(
                _("not a readable tile image (%(kind)s)") % {"kind": type(exc).__name__}
            ) from None
    w, h = size
    if w <= 0 or h <= 0 or w * h > settings.tile_max_pixels:
        raise _TooManyPixelsError(
            _("a tile image of %(w)d×%(h)d pixels (at most %(max)d pixels are accepted)")
            % {"w": w, "h": h, "max": settings.tile_max_pixels}
        )


class _TooManyPixelsError(ValueError):
    """A tile image larger than ``settings.tile_max_pixels`` (from its header)."""


class TileTooLargeError(NetworkError):
    """A tile image whose header announces more pixels than accepted (not retried)."""


def _png_ok(body: bytes) -> None:
    """Refuse a body that is not a whole tile image of an acceptable size.

    Too many pixels (from the header, before decoding) is a :class:`TileTooLargeError`
    error, not retried; an image cut short is a ValueError (retried like a 504).
    """
    try:
        check_tile_size(body)
    except _TooManyPixelsError as exc:
        raise TileTooLargeError(str(exc)) from None
    try:
        with Image.open(io.BytesIO(body)) as im:
            im.load()
    except Exception as exc:
        raise ValueError(
            _("not a readable tile image (%(kind)s)") % {"kind": type(exc).__name__}
        ) from None


def pack_tiles_dir(pack: Path, source: TileSource) -> Path:
    return Path(pack) / PACK_TILES / source.cache_id


def _pack_tiles_entry(source: TileSource) -> str:
    """The folder of ``source``'s tiles inside a pack, as a pack entry (``tiles/gsi-pale``)."""
    return f"{PACK_TILES}/{source.cache_id}"


def read_pack_manifest(pack: Path, source: TileSource) -> dict | None:
    """The tile manifest of ``source`` in the pack at ``pack``, or None.

    Read as untrusted data (:func:`civicmap._packfiles.read_pack_entry`): a
    plain file inside the pack, never a link, a FIFO or a device, size-capped.

    Raises
    ------
    SourceError
        The manifest is not a plain file inside the pack, or is too large.
    OfflineError
        The manifest is damaged (not a JSON object).
    """
    entry = f"{_pack_tiles_entry(source)}/tiles.json"
    raw = read_pack_entry(pack, entry, max_bytes=PACK_MANIFEST_MAX_BYTES)
    if raw is None:
        return None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        manifest, why = None, str(exc)
    else:
        why = _("not a JSON object")
    if not isinstance(manifest, dict):
        raise OfflineError(
            _(
                "%(path)s: damaged tile manifest (%(exc)s); run `civicmap fetch MAP.yaml "
                "--overwrite`"
            )
            % {"path": Path(pack) / entry, "exc": why}
        )
    return manifest


def read_pack_tile(
    pack: Path, source: TileSource, manifest: dict, z: int, x: int, y: int
) -> bytes | None:
    """The bytes of tile ``z/x/y`` of ``source`` in the pack, checked; None when it has none.

    The tile must be a plain file inside the pack (never a link, a FIFO or a
    device), at most ``settings.http_max_bytes`` (the cap it was fetched
    under), and match the checksum ``manifest`` (the pack's ``tiles.json``)
    records for it. A pack from before checksums is used with the first two
    checks only, and said once.

    Raises
    ------
    SourceError
        One line naming the pack and the tile: refused, never read further.
    """
    sums = manifest.get("sha256")
    if isinstance(sums, dict):
        sha256: str | None = str(sums.get(f"{z}/{x}/{y}", ""))  # not listed: matches nothing
    else:
        warn_old_pack(pack)
        sha256 = None
    return read_pack_entry(
        pack,
        f"{_pack_tiles_entry(source)}/{z}/{x}/{y}.png",
        max_bytes=int(settings.http_max_bytes),
        sha256=sha256,
    )


def list_pack_tiles(pack: Path, source: TileSource) -> dict[tuple[int, int, int], int]:
    """Every tile file of ``source`` in the pack: ``{(z, x, y): size}``, in path order.

    Listed without following a link: a linked folder or a tile that is not a
    plain file is refused here, before anything is read or copied.
    """
    out: dict[tuple[int, int, int], int] = {}
    folder = _pack_tiles_entry(source)
    for entry, size in list_pack_files(pack, folder, suffix=".png").items():
        parts = entry[len(folder) + 1 : -len(".png")].split("/")
        if len(parts) == 3 and all(p.isdigit() and p.isascii() for p in parts):
            z, x, y = (int(p) for p in parts)
            out[(z, x, y)] = size
    return out


def cache_fix() -> str:
    """What to do about tiles of a map read from a local extract (no pack can hold them)."""
    return _(
        "build this map once where the tile server can be reached (the tiles are kept in the "
        "cache, and later builds, --offline too, use them), or use basemap.tiles: none"
    )


@dataclass
class TileFetcher:
    """Gets tiles for one source: memory, pack, disk cache, then the network.

    The network part is bounded per build (issue #31): all requests together
    within ``settings.tile_deadline`` seconds and ``settings.tile_max_bytes``
    bytes, each within ``settings.tile_request_deadline`` and
    ``settings.tile_request_max_bytes``, no image over ``settings.tile_max_pixels``.
    A server that cannot be reached (issue #30), or that fails
    ``settings.tile_max_failures`` times, or passes a budget, is *broken* for
    the build: it is not asked again, the map says so once (what and how to get
    the tiles) and is drawn on its fallback background.

    Parameters
    ----------
    source : TileSource
    pack : Path, optional
        An offline pack folder; its tiles are used first, and offline only they are.
    record : dict, optional
        When given, every tile got is also put here ((z, x, y) → bytes); ``civicmap
        fetch`` stores them in the pack.
    offline : bool, optional
        Never ask the network (``None``: ``settings.offline``); from the map's run.
    map_file : str
        The map file, named in messages.
    extract : bool
        The map reads OSM from a local extract: ``civicmap fetch`` makes it no pack (it
        refuses), so the advice is to build once with the network (the tiles stay in the cache).
    builtin : bool, optional
        The URL is one of civicmap's own tile sets (``None``: when the source is in
        :data:`REGISTRY`); any other came from a map file and may not reach a private
        address (see :attr:`from_map`).

    Attributes
    ----------
    missing : list of (z, x, y, reason)
        Tiles that could not be had (holes), in the order met.
    fetched : int
        Tiles asked from the network; ``bytes_fetched`` their size.
    dates : set of str
        The tiles' own dates (``YYYY-MM-DD``): the server's ``Last-Modified`` (else
        ``Date``) of each answer, kept beside the cached tile, or the pack's
        ``date``; :attr:`date` is the newest, what the credit prints.
    broken : str
        Why the server is not asked any more in this build ("" while it is).
    """

    source: TileSource
    pack: Path | None = None
    record: dict | None = None
    offline: bool | None = None
    map_file: str = ""
    extract: bool = False
    builtin: bool | None = None
    missing: list[tuple[int, int, int, str]] = field(default_factory=list)
    fetched: int = 0
    bytes_fetched: int = 0
    dates: set = field(default_factory=set)
    broken: str = ""
    failures: int = 0
    _mem: dict = field(default_factory=dict, repr=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False)
    _next_start: float = 0.0
    _started: float | None = None
    _probed: bool = False
    #: ``civicmap fetch``: a broken server ends the fetch with one error, no warning first.
    quiet: bool = False

    def __post_init__(self) -> None:
        self.manifest = None
        if self.pack is not None:
            self.manifest = read_pack_manifest(self.pack, self.source)
        self._pack_holes = {tuple(t[:3]) for t in (self.manifest or {}).get("missing", [])}

    @property
    def service_key(self) -> str:
        return "gsi-tiles" if self.source.id.startswith("gsi") else "tiles"

    @property
    def from_map(self) -> bool:
        """A custom URL comes from the map file (the registry's are ours)."""
        if self.builtin is not None:
            return not self.builtin
        return self.source.id not in REGISTRY

    # where a tile lives on disk
    def _cache_file(self, z: int, x: int, y: int) -> Path:
        return Path(settings.cache_folder) / "tiles" / self.source.cache_id / f"{z}/{x}/{y}.png"

    @property
    def date(self) -> str:
        """The newest known date of the tiles got so far (``""``: none known)."""
        return max(self.dates, default="")

    def _know_date(self, date: str) -> None:
        if date:
            with self._lock:
                self.dates.add(date)

    def _pace(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + PACE_SECONDS
        if start > now:
            time.sleep(start - now)

    def _break(self, why: str) -> None:
        """Stop asking the server for this build; say so once, with what to do."""
        with self._lock:
            if self.broken:
                return
            self.broken = why
        if self.quiet:
            return
        svc = _http.service(self.service_key)
        label = svc.label()
        name = self.source.name.get(current_language(), self.source.id)
        # 「地理院タイル（淡色地図）」 already says 地理院タイル: the service is named once
        tiles = name
        if label not in name:
            tiles = _("%(service)s, %(name)s") % {"service": label, "name": name}
        log.warning(
            _(
                "%(map)sthe background tiles (%(tiles)s) could not be had: %(why)s. "
                "The paper map is drawn without them, on the map drawn from the OSM data, or "
                "else on the municipal outlines and the map's area, and does not credit them. "
                "To print the tiles: %(fix)s"
            ),
            {
                "map": f"{self.map_file}: " if self.map_file else "",
                "tiles": tiles,
                "why": why,
                "fix": cache_fix() if self.extract else svc.advice(),
            },
        )

    def usable(self) -> bool:
        """Whether the map may count on these tiles (checked once, before a paper map is laid out).

        Offline, or with a pack holding them: yes (what is missing is reported
        then). Online: the server is connected to (no request sent); with no
        network that fails at once, and the map is laid out with its fallback
        background and without the tiles' credit.
        """
        if self.broken:
            return False
        if self.manifest is not None or _http.is_offline(self.offline) or not self.source.storable:
            return True
        with self._lock:
            if self._probed:
                return not self.broken
            self._probed = True
        url = self.source.tile_url(self.source.min_zoom, 0, 0)
        try:
            _http.probe(url, service_key=self.service_key, from_map=self.from_map)
        except HostUnreachableError as exc:
            self._break(self._host_why(exc))
        except PrivateAddressError as exc:
            self._break(str(exc))
        return not self.broken

    def _host_why(self, exc: HostUnreachableError) -> str:
        host = _http.shown_host(exc.host)
        return _("%(host)s could not be reached (%(why)s)") % {"host": host, "why": exc.why()}

    def _budget(self) -> tuple[float, int]:
        """(seconds, bytes) the next request may use, within this build's tile budget."""
        with self._lock:
            if self._started is None:
                self._started = time.monotonic()
            left_s = settings.tile_deadline - (time.monotonic() - self._started)
            left_b = settings.tile_max_bytes - self.bytes_fetched
        return min(settings.tile_request_deadline, left_s), min(
            settings.tile_request_max_bytes, left_b
        )

    def _failed(self, z: int, x: int, y: int, why: str, *, counts: bool) -> None:
        self.missing.append((z, x, y, why))
        log.debug("tile %s/%s/%s: %s", z, x, y, why)
        if not counts:
            return
        with self._lock:
            self.failures += 1
            n = self.failures
        if n >= settings.tile_max_failures:
            self._break(
                _("%(n)d tile requests failed (last: %(last)s)") % {"n": n, "last": excerpt(why)}
            )

    def _get_one(self, t: tuple[int, int, int]) -> bytes | None:
        z, x, y = t
        if self.manifest is not None:
            body = read_pack_tile(self.pack, self.source, self.manifest, z, x, y)
            if body is not None:
                self._know_date(str(self.manifest.get("date") or ""))
                return body
            if t in self._pack_holes:
                self.missing.append((z, x, y, "missing in the pack (failed when fetched)"))
                return None
        if self.source.storable and settings.use_cache:
            f = self._cache_file(z, x, y)
            if f.exists():
                self._know_date(_read_date(f.with_suffix(".date")))
                return f.read_bytes()
        url = self.source.tile_url(z, x, y)
        if _http.is_offline(self.offline):
            values = {"z": z, "x": x, "y": y, "id": self.source.id, "pack": self.pack}
            if self.manifest is not None:
                msg = _(
                    "offline mode: tile %(z)s/%(x)s/%(y)s of %(id)s is not in the offline pack "
                    "%(pack)s; run `civicmap fetch MAP.yaml --overwrite` with the network to "
                    "store the tiles"
                )
            elif self.extract:  # civicmap fetch makes no pack for a map read from an extract
                msg = _(
                    "offline mode: tile %(z)s/%(x)s/%(y)s of %(id)s is not in the cache; %(fix)s"
                )
                values["fix"] = cache_fix()
            else:
                msg = _(
                    "offline mode: tile %(z)s/%(x)s/%(y)s of %(id)s is in no offline pack and "
                    "not in the cache; run `civicmap fetch MAP.yaml` on a machine with the "
                    "network to store the tiles in a pack, then build from it with --offline"
                )
            raise OfflineError(msg % values)
        if not self.source.storable:
            raise CivicMapError(
                _(
                    "tiles %(id)r may not be downloaded for print or offline use (see "
                    "%(url_terms)s); use basemap.tiles: gsi-pale or gsi-std"
                )
                % {"id": self.source.id, "url_terms": self.source.url_terms}
            )
        if self.broken:
            self.missing.append((z, x, y, _("not asked: %(why)s") % {"why": self.broken}))
            return None
        seconds, max_bytes = self._budget()
        if seconds <= 0:
            self._break(
                _("the tiles took longer than the build allows (%(s)g s, settings.tile_deadline)")
                % {"s": settings.tile_deadline}
            )
            return self._get_one(t)
        if max_bytes <= 0:
            self._break(
                _(
                    "the tiles passed the bytes the build allows (%(mb)g MB, "
                    "settings.tile_max_bytes)"
                )
                % {"mb": settings.tile_max_bytes / 1e6}
            )
            return self._get_one(t)
        self._pace()
        try:
            body, date = _http.get_dated(
                url, check_body=_png_ok, offline=self.offline, service_key=self.service_key,
                from_map=self.from_map, max_bytes=max_bytes, deadline=seconds, retries=1,
            )  # fmt: skip
        except HostUnreachableError as exc:
            self.missing.append((z, x, y, str(exc)))
            self._break(self._host_why(exc))
            return None
        except PrivateAddressError as exc:
            self.missing.append((z, x, y, str(exc)))
            self._break(str(exc))
            return None
        except NetworkError as exc:
            text = str(exc)
            self._failed(z, x, y, text, counts="HTTP 404" not in text)
            return None
        with self._lock:
            self.fetched += 1
            self.bytes_fetched += len(body)
            self.failures = 0  # a server that answers is not broken
        self._know_date(date)
        if settings.use_cache:
            write_bytes_atomic(self._cache_file(z, x, y), body)
            if date:  # the answer's date travels with the tile (a file's mtime is no date)
                write_bytes_atomic(self._cache_file(z, x, y).with_suffix(".date"), date.encode())
        return body

    def get_many(self, tiles: Iterable[tuple[int, int, int]]) -> dict[tuple[int, int, int], bytes]:
        """The bytes of each tile that could be had (holes are left out and in :attr:`missing`)."""
        tiles = list(dict.fromkeys(tiles))
        if len(tiles) > MAX_TILES:
            raise CivicMapError(
                _(
                    "the background needs %(n)s tiles (limit %(max_tiles)s): the map area is too "
                    "large for its scale; use a smaller area or scale, or basemap.tiles: none"
                )
                % {"n": len(tiles), "max_tiles": MAX_TILES}
            )
        todo = [t for t in tiles if t not in self._mem]
        if todo:
            with ThreadPoolExecutor(max_workers=MAX_CONNECTIONS) as pool:
                for t, body in zip(todo, pool.map(self._get_one, todo), strict=True):
                    self._mem[t] = body
        out = {t: self._mem[t] for t in tiles if self._mem.get(t) is not None}
        if self.record is not None:
            self.record.update(out)
        return out


# --------------------------------------------------------------------------- paper raster


@dataclass
class RasterInfo:
    """What :func:`paper_raster` made: zoom, image size, tiles used and holes."""

    zoom: int
    width: int
    height: int
    tiles: int
    missing: list[tuple[int, int, int, str]]


def frame_lonlat_bounds(extent: tuple[float, float, float, float], crs: Any) -> tuple:
    """(west, south, east, north) in degrees of a projected ``extent`` (edges densified)."""
    from pyproj import Transformer

    minx, miny, maxx, maxy = extent
    t = np.linspace(0.0, 1.0, 21)
    xs = np.concatenate(
        [minx + (maxx - minx) * t, np.full(21, maxx), maxx - (maxx - minx) * t, np.full(21, minx)]
    )
    ys = np.concatenate(
        [np.full(21, miny), miny + (maxy - miny) * t, np.full(21, maxy), maxy - (maxy - miny) * t]
    )
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = inv.transform(xs, ys)
    return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))


def reproject_mosaic(
    mosaic: Image.Image,
    extent: tuple[float, float, float, float],
    crs: Any,
    *,
    size_px: tuple[int, int],
    zoom: int,
    origin: tuple[int, int],
) -> Image.Image:
    """A Web Mercator tile mosaic reprojected onto ``extent`` in the paper ``crs``.

    ``mosaic`` holds the tiles of ``zoom`` from tile ``origin`` (x, y) at its top
    left; the result covers exactly ``extent`` at ``size_px`` (any image mode, so
    transparent hazard tiles stay transparent). Used by :func:`paper_raster` and
    the hazard tile sets (:mod:`civicmap.hazard_tiles`).
    """
    from pyproj import Transformer

    w_px, h_px = size_px
    z = zoom
    tx0, ty0 = origin
    # Reproject: the paper CRS → Web Mercator mapping is exact (pyproj) at the
    # nodes of a coarse mesh over the frame and bilinear inside each cell (the
    # mapping is smooth; the error over a cell is far below a printed dot).
    minx, miny, maxx, maxy = extent
    nx, ny = min(w_px, 16), min(h_px, 16)
    cols = np.linspace(0, w_px, nx + 1).round().astype(int)
    rows = np.linspace(0, h_px, ny + 1).round().astype(int)
    uu, vv = np.meshgrid(cols / w_px, rows / h_px)
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = inv.transform(minx + uu * (maxx - minx), maxy - vv * (maxy - miny))
    nz = 2.0**z
    px = (lon + 180.0) / 360.0 * nz * 256 - tx0 * 256
    lat_r = np.radians(np.clip(lat, -85.05112878, 85.05112878))
    py = (1.0 - np.arcsinh(np.tan(lat_r)) / np.pi) / 2.0 * nz * 256 - ty0 * 256
    mesh = []
    for j in range(ny):
        for i in range(nx):
            quad = (
                px[j, i], py[j, i],  # upper left
                px[j + 1, i], py[j + 1, i],  # lower left
                px[j + 1, i + 1], py[j + 1, i + 1],  # lower right
                px[j, i + 1], py[j, i + 1],  # upper right
            )  # fmt: skip
            mesh.append(((cols[i], rows[j], cols[i + 1], rows[j + 1]), tuple(map(float, quad))))
    return mosaic.transform((w_px, h_px), Image.Transform.MESH, mesh, Image.Resampling.BILINEAR)


def paper_raster(
    extent: tuple[float, float, float, float],
    crs: Any,
    *,
    size_px: tuple[int, int],
    scale: float,
    fetcher: TileFetcher,
    dpi: int = PAPER_DPI,
) -> tuple[Image.Image, RasterInfo]:
    """The background image of one map frame.

    Parameters
    ----------
    extent : (minx, miny, maxx, maxy)
        What the frame shows, in the metric ``crs`` the paper map is drawn in.
    size_px : (width, height)
        Image size; the frame's size in points × ``dpi`` / 72.
    scale : float
        The frame's 1:``scale``; picks the zoom (:func:`paper_zoom`).
    fetcher : TileFetcher
        Where tiles come from; a tile it cannot get is a light grey hole.

    Returns
    -------
    (PIL.Image, RasterInfo)
        An RGB image covering exactly ``extent`` (north up in the paper CRS:
        the tiles are reprojected pixel by pixel, so the crop is exact), lightened
        by the source's ``lighten`` so our symbols stay readable in greyscale.
    """
    src = fetcher.source
    w_px, h_px = size_px
    w, s, e, n = frame_lonlat_bounds(extent, crs)
    z = paper_zoom(scale, (s + n) / 2, src, dpi=dpi)
    tiles = tiles_for_bounds((w, s, e, n), z)
    got = fetcher.get_many(tiles)
    xs_t = sorted({t[1] for t in tiles})
    ys_t = sorted({t[2] for t in tiles})
    tx0, ty0 = xs_t[0], ys_t[0]
    mosaic = Image.new("RGB", ((xs_t[-1] - tx0 + 1) * 256, (ys_t[-1] - ty0 + 1) * 256), HOLE_RGB)
    missing = [m for m in fetcher.missing if (m[0], m[1], m[2]) in set(tiles)]
    for (_z, x, y), body in got.items():
        try:
            check_tile_size(body)  # from the header: a huge image is never decoded
            with Image.open(io.BytesIO(body)) as im:
                tile = im.convert("RGB")
        except Exception:
            missing.append((z, x, y, "damaged tile file"))
            continue
        if tile.size != (256, 256):
            tile = tile.resize((256, 256), Image.Resampling.BILINEAR)
        mosaic.paste(tile, ((x - tx0) * 256, (y - ty0) * 256))
    img = reproject_mosaic(mosaic, extent, crs, size_px=(w_px, h_px), zoom=z, origin=(tx0, ty0))
    keep = src.lighten
    lut = [round(255 - (255 - v) * keep) for v in range(256)]
    img = img.point(lut * 3)
    return img, RasterInfo(z, w_px, h_px, len(tiles), missing)


# --------------------------------------------------------------------------- hooks


#: Set by :func:`recording`: every fetcher made meanwhile records into it.
_RECORDERS: list[dict] = []


@contextlib.contextmanager
def recording() -> Iterator[dict]:
    """Collect every tile the code inside uses: {source_id: {(z, x, y): bytes}} (for packs)."""
    rec: dict = {}
    _RECORDERS.append(rec)
    try:
        yield rec
    finally:
        _RECORDERS.remove(rec)


def recorder_for(source: TileSource) -> dict | None:
    """The dict a fetcher of ``source`` records into inside :func:`recording` (None outside).

    Every fetcher made while ``civicmap fetch`` records (the basemap's, the
    hazard tile sets') puts what it gets there, so the pack holds exactly what
    the outputs used.
    """
    return _RECORDERS[-1].setdefault(source.cache_id, {}) if _RECORDERS else None


def pack_for(spec: MapSpec) -> Path:
    """The offline pack folder a map's tiles are stored in (the same as its OSM pack)."""
    return spec.pack_dir()


#: One fetcher per map spec object and source (the spec is kept so its id is not
#: reused): every page of an atlas, and the web map of the same build, share
#: its memory, so each tile is read or fetched once per run.
_FETCHERS: dict[tuple, tuple[Any, TileFetcher]] = {}


def fetcher_for(spec: MapSpec) -> TileFetcher | None:
    """The map's tile fetcher (one per map and source per run, so an atlas gets each tile once)."""
    source = spec.basemap.source
    if source is None:
        return None
    pack = pack_for(spec)
    offline = spec.offline
    key = (id(spec), source.cache_id, source.url, _http.is_offline(offline), len(_RECORDERS))
    hit = _FETCHERS.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1]
    rec = recorder_for(source)
    extract = bool(spec.osm.extract) and not spec.osm.disabled
    f = TileFetcher(
        source, pack=pack, record=rec, offline=offline, map_file=str(spec.file), extract=extract
    )
    if len(_FETCHERS) >= 4:
        _FETCHERS.pop(next(iter(_FETCHERS)))
    _FETCHERS[key] = (spec, f)
    return f


def _read_date(path: Path) -> str:
    """A tile's date kept beside it in the cache (``YYYY-MM-DD``), or ``""``."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return text if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else ""


def tiles_usable(spec: MapSpec) -> bool:
    """Whether the paper map gets its tiles (False: drawn on its fallback background).

    Only a map with a paper output of printable tiles asks (a connection to the
    tile server, once per build, no request): the web page loads its tiles in
    the reader's browser.
    """
    if spec.paper is None:
        return True
    fetcher = fetcher_for(spec)
    if fetcher is None or not fetcher.source.storable:
        return True
    return fetcher.usable()


def tile_credits(spec: MapSpec) -> list[Credit]:
    """Credits for the map's tiles, dated by the tiles themselves, and its 承認番号.

    The date is the newest tile date the run met (the server's ``Last-Modified`` or
    ``Date``, or the pack's ``date``), so a map built online and rebuilt from its pack
    prints the same; never the day we fetched them. ``""`` (printed 「日付不明」) when
    no tile date is known, e.g. tiles only the browser loads.
    """
    source = spec.basemap.source
    fetcher = fetcher_for(spec) if source is not None else None
    if fetcher is not None and fetcher.broken:
        return []  # not drawn: never credited (nor their 承認番号)
    date = ""
    if source is not None and source.storable:
        date = fetcher.date if fetcher is not None else ""
        if not date:
            m = read_pack_manifest(pack_for(spec), source)
            date = str((m or {}).get("date") or "")
    return spec.basemap.credits(date=date, language=spec.language)


def draw_paper_tiles(c: Any, spec: MapSpec, frame: Any, crs: Any) -> RasterInfo | None:
    """Draw the tile background of one map frame on the reportlab canvas ``c``.

    The hook the paper renderer calls right after filling the frame white and
    before the OSM vectors and our symbols, so the tiles sit under everything.
    Does nothing when the map has no tiles (``basemap.tiles: none``) or its
    source may not be printed (OSM's tiles).
    """
    fetcher = fetcher_for(spec)
    if fetcher is None:
        return None
    if fetcher.source.storable and not fetcher.usable():
        return None  # the caller draws the fallback background (said once by the fetcher)
    if not fetcher.source.storable:
        if not getattr(fetcher, "_told", False):
            log.warning(
                _(
                    "basemap.tiles: %(id)s tiles may not be printed (%(url_terms)s); the paper map "
                    "has no tiles. Use gsi-pale or gsi-std for paper"
                ), {"id": fetcher.source.id, "url_terms": fetcher.source.url_terms},
            )  # fmt: skip
            fetcher._told = True
        return None
    from reportlab.lib.utils import ImageReader

    r = frame.rect
    size = (max(1, round(r.w / 72 * PAPER_DPI)), max(1, round(r.h / 72 * PAPER_DPI)))
    img, info = paper_raster(frame.extent, crs, size_px=size, scale=frame.scale, fetcher=fetcher)
    if len(info.missing) >= info.tiles:  # nothing but holes: the fallback, not a grey frame
        fetcher._break(
            _("no tile of the map could be had (last: %(last)s)")
            % {"last": excerpt(info.missing[-1][3]) if info.missing else "?"}
        )
        return None
    from reportlab import rl_config

    a85 = rl_config.useA85
    rl_config.useA85 = 0  # plain Flate for this image: ASCII85 makes it 25 % larger and slow
    try:
        c.drawImage(ImageReader(img), r.x, r.y, r.w, r.h)
    finally:
        rl_config.useA85 = a85
    if info.missing and not fetcher.broken:  # a broken server was reported once
        log.warning(
            _(
                "%(n)d background tile(s) of %(id)s could not be had and are left as grey "
                "holes: %(value)s"
            ),
            {
                "n": len(info.missing),
                "id": fetcher.source.id,
                "value": "; ".join(
                    f"{z}/{x}/{y} ({why[:120]})" for z, x, y, why in info.missing[:5]
                ),
            },
        )
    return info


def write_pack_tiles(
    pack: Path, source: TileSource, tiles: dict, missing: list, *, date: str = ""
) -> dict:
    """Store recorded tiles in ``pack`` with their manifest; return the manifest.

    ``date`` is the tiles' own date (:attr:`TileFetcher.date`): a rebuild from the
    pack credits the tiles with it, as the online build did.
    """
    folder = pack_tiles_dir(pack, source)
    for (z, x, y), body in sorted(tiles.items()):
        write_bytes_atomic(folder / f"{z}/{x}/{y}.png", body)
    manifest: dict[str, Any] = {
        "source": source.id,
        "url": redact(source.url, 400),  # a pack is shared: never a user:pass@ or a key
        "zooms": sorted({t[0] for t in tiles}),
        "count": len(tiles),
        "bytes": sum(len(b) for b in tiles.values()),
        "missing": sorted({(m[0], m[1], m[2]) for m in missing}),
        "fetched": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "date": date,  # the tiles' own newest date (HTTP Last-Modified / Date), "" unknown
        # what a build checks each tile against (read_pack_tile): a changed tile is refused
        "sha256": {
            f"{z}/{x}/{y}": hashlib.sha256(body).hexdigest()
            for (z, x, y), body in sorted(tiles.items())
        },
    }
    (folder / "tiles.json").parent.mkdir(parents=True, exist_ok=True)
    (folder / "tiles.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def web_zooms(bounds: tuple[float, float, float, float], source: TileSource) -> list[int]:
    """Zooms an offline web map gets from the pack: the three most detailed of ≤ 64 tiles each."""
    zs = [
        z
        for z in range(source.min_zoom, source.max_zoom + 1)
        if len(tiles_for_bounds(bounds, z)) <= 64
    ]
    return zs[-3:]


def source_broken(source: TileSource) -> bool:
    """Whether a fetcher of this run gave ``source`` up (no network, a broken server)."""
    return any(f.broken for _spec, f in list(_FETCHERS.values()) if f.source == source)


def survey_act_notice(spec: MapSpec) -> str:
    """The 測量法 reminder when the map has a paper output on GSI tiles ("" otherwise).

    Not when the tiles could not be had: the paper map was drawn without them.
    """
    if spec.paper is None:
        return ""
    source = spec.basemap.source
    if source is not None and source_broken(source):
        return ""
    return spec.basemap.survey_act_reminder(language=spec.language)
