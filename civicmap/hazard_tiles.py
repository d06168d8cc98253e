"""ハザードマップポータルサイト (重ねるハザードマップ) raster tiles as hazard layers.

``hazards: [flood-max, tsunami]`` names tile sets of the portal instead of
国土数値情報 files. The registry below gives each one's URL template, zoom
range and legend (the 浸水深 classes with their colours); a site's class is
read from the colour of the tile pixel under it, through that legend table:

- a pixel of a legend colour (within a small tolerance, since the tiles are
  anti-aliased at zone edges): that class;
- a transparent pixel, or a tile the server answers 404 for: no zone there
  (the portal sends 404 where there is no zone), 「想定区域外」;
- a tile that could not be had (network, offline without it) or a colour not in
  the legend: 「情報なし」, never a guess.

Tiles are got through :class:`civicmap.render.tiles.TileFetcher` (memory, pack,
cache, then the network), which this module calls and never changes. On paper the
tiles of each frame are drawn as one transparent raster (:func:`paper_hazard_raster`)
over the background and under our symbols; ``civicmap fetch`` stores every tile the
outputs used, and lists the tiles the portal answered 404 for under ``no_zone`` in
the pack's ``tiles.json`` (:func:`write_pack`), so an offline rebuild says
「想定区域外」 where the online build did, byte for byte.

Terms (:data:`TERMS`, read from the portal's FAQ
https://disaportal.gsi.go.jp/hazardmapportal/hazardmap/faq/faq.html): the site
is used without application under the 国土交通省 website terms
(https://www.mlit.go.jp/link.html: the 政府標準利用規約 / 公共データ利用規約 rules:
copying, public transmission and adaptation allowed, commercial use too), with
the source stated — 「出典：ハザードマップポータルサイト」, and 「…を加工して作成」
when processed (we reproject and crop the tiles on paper). Storing them in a pack
is copying, which those terms allow. The portal says the 重ねるハザードマップ
layers are the agencies' risk information, *not* the 水防法 hazard maps of the
municipalities: hence the two honest sentences every map prints.
"""

from __future__ import annotations

import io
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from PIL import Image

from civicmap import wording
from civicmap.errors import CivicMapError, NetworkError
from civicmap.hazards import DEPTH_CLASSES, HazardClass
from civicmap.i18n import _
from civicmap.render import tiles as _tiles
from civicmap.render.tiles import TileFetcher, TileSource, pack_for
from civicmap.schema import CRS, Credit
from civicmap.spec.hazards import TILE_KINDS, HazardSpec

log = logging.getLogger(__name__)

_BASE = "https://disaportaldata.gsi.go.jp/raster/"

#: The portal's credit line, in every map language (the glossaries' ``credit.hazard_portal``):
#: 「出典：ハザードマップポータルサイト。ハザードマップポータルサイトのタイルを加工して作成」.
CREDIT = wording.Names("credit.hazard_portal")


@dataclass(frozen=True)
class TileHazard:
    """One tile set of the portal: where, which zooms, and its legend."""

    id: str
    kind: str
    urls: tuple[str, ...]
    title: dict[str, str]
    classes: tuple[HazardClass, ...]
    min_zoom: int = 2
    max_zoom: int = 17
    #: The zoom the point check reads (z16: a pixel is about 2 m).
    query_zoom: int = 16
    #: The credit the terms ask for, 出典 and 「…を加工して作成」 (we reproject and crop the
    #: tiles), per map language (:data:`CREDIT`).
    credit: wording.Names = CREDIT


#: Where the portal's terms are (its FAQ points to the 国土交通省 website terms).
TERMS_URL = "https://disaportal.gsi.go.jp/hazardmapportal/hazardmap/faq/faq.html"

#: What those terms allow, as recorded in docs/reference.md ("Hazard zones").
TERMS: dict[str, str | bool] = {
    "reuse": "国土交通省ウェブサイトの利用規約（https://www.mlit.go.jp/link.html）に従い申請不要",
    "credit": "出典：ハザードマップポータルサイト（加工したときは「…を加工して作成」）",
    "store": True,  # copying is allowed: the offline pack may hold the tiles
    "print": True,
    "not_legal_map": True,  # 重ねるハザードマップ is not the municipalities' 水防法 maps
}


#: Landslide tiles: 警戒区域 yellow, 特別警戒区域 red (the portal's legend).
_LANDSLIDE = (
    HazardClass("土砂災害警戒区域", "#ffe100"),
    HazardClass("土砂災害特別警戒区域", "#dc0000"),
)

#: The portal's tile sets civicmap knows, by the name a map file uses.
TILE_HAZARDS: dict[str, TileHazard] = {
    "flood-max": TileHazard(
        "flood-max", "flood", (_BASE + "01_flood_l2_shinsuishin_data/{z}/{x}/{y}.png",),
        wording.Names("hazard_tiles.flood-max"), DEPTH_CLASSES,
    ),
    "flood-planned": TileHazard(
        "flood-planned", "flood", (_BASE + "01_flood_l1_shinsuishin_newlegend_data/{z}/{x}/{y}.png",),
        wording.Names("hazard_tiles.flood-planned"), DEPTH_CLASSES,
    ),
    "tsunami": TileHazard(
        "tsunami", "tsunami", (_BASE + "04_tsunami_newlegend_data/{z}/{x}/{y}.png",),
        wording.Names("hazard_tiles.tsunami"), DEPTH_CLASSES,
    ),
    "storm-surge": TileHazard(
        "storm-surge", "storm_surge", (_BASE + "03_hightide_l2_shinsuishin_data/{z}/{x}/{y}.png",),
        wording.Names("hazard_tiles.storm-surge"), DEPTH_CLASSES,
    ),
    "landslide": TileHazard(
        "landslide", "landslide",
        (_BASE + "05_dosekiryukeikaikuiki/{z}/{x}/{y}.png",
         _BASE + "05_kyukeishakeikaikuiki/{z}/{x}/{y}.png",
         _BASE + "05_jisuberikeikaikuiki/{z}/{x}/{y}.png"),
        wording.Names("hazard_tiles.landslide"), _LANDSLIDE,
    ),
}  # fmt: skip

assert {k: t.kind for k, t in TILE_HAZARDS.items()} == TILE_KINDS  # one list of names

#: Largest RGB distance at which a pixel still counts as a legend colour.
COLOUR_TOLERANCE = 24.0


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def pixel_class(rgba: tuple[int, ...], classes: tuple[HazardClass, ...]) -> int | str | None:
    """The class index of a pixel, ``None`` for no zone (transparent), ``"?"`` for an unknown colour."""
    rgba = tuple(rgba) if len(rgba) == 4 else (*rgba[:3], 255)
    found = int(pixel_classes(np.array([rgba]), classes)[0])
    return None if found == -1 else "?" if found == -2 else found


def pixel_classes(rgba: np.ndarray, classes: tuple[HazardClass, ...]) -> np.ndarray:
    """:func:`pixel_class` for an ``(n, 4)`` array: class index, -1 no zone, -2 unknown colour."""
    rgba = np.asarray(rgba, dtype=float).reshape(-1, 4)
    legend = np.array([_rgb(c.color) for c in classes], dtype=float)
    dist = np.linalg.norm(rgba[:, None, :3] - legend[None, :, :], axis=2)
    best = dist.argmin(axis=1)
    out = np.where(dist[np.arange(len(best)), best] <= COLOUR_TOLERANCE, best, -2)
    return np.where(rgba[:, 3] < 32, -1, out)


def _tile_pixels(
    lons: np.ndarray, lats: np.ndarray, z: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tile x, y and the pixel inside it of every point at zoom ``z`` (Web Mercator)."""
    n = 2.0**z
    fx = (lons + 180.0) / 360.0 * n
    fy = (1.0 - np.arcsinh(np.tan(np.radians(lats))) / np.pi) / 2.0 * n
    x, y = np.floor(fx).astype(int), np.floor(fy).astype(int)
    px = np.minimum(((fx - x) * 256).astype(int), 255)
    py = np.minimum(((fy - y) * 256).astype(int), 255)
    return x, y, px, py


@dataclass
class TileHazardLayer:
    """A hazard read from portal tiles: the same interface the shelter check uses."""

    spec: HazardSpec
    tiles: TileHazard
    fetchers: list[TileFetcher]
    language: str = "ja"
    zones: gpd.GeoDataFrame = field(
        default_factory=lambda: gpd.GeoDataFrame({"cls": [], "depth": []}, geometry=[], crs=CRS)
    )
    extent: Any = None

    @property
    def kind(self) -> str:
        return self.tiles.kind

    @property
    def classes(self) -> tuple[HazardClass, ...]:
        return self.tiles.classes

    @property
    def credit(self) -> Credit:
        """The portal's credit in the map's language, dated by the tiles (see :meth:`tiles_date`)."""
        text = self.tiles.credit.get(self.language, self.tiles.credit[wording.SOURCE])
        return Credit(source=f"disaportal {self.tiles.id}", credit=text,
                      date=self.tiles_date() or self.spec.year, url=TERMS_URL)  # fmt: skip

    def tiles_date(self) -> str:
        """The newest date of the tiles read (``YYYY-MM-DD``), ``""`` when none is known.

        As the background tiles are dated (:func:`civicmap.render.tiles.tile_credits`):
        the portal's ``Last-Modified`` of each answer (else its ``Date``), kept beside
        the cached tile, or the ``date`` the pack's ``tiles.json`` recorded when
        ``civicmap fetch`` stored them — so a map built online and rebuilt from its
        pack print the same date. ``year:`` is used only when no tile date is known.
        """
        dates = [f.date or str((f.manifest or {}).get("date") or "") for f in self.fetchers]
        return max(dates, default="")

    def title(self, language: str) -> str:
        return self.spec.title or self.tiles.title.get(language, self.tiles.title["en"])

    def classes_used(self) -> list[int]:
        return []

    def at_many(self, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
        """Covered, class (-1: no zone) and depth text (always ``""``) for every point.

        Vectorised: the tile and pixel of every point at once, each tile decoded
        once, its pixels under the points classed together (:func:`pixel_classes`).
        """
        z = self.tiles.query_zoom
        xs, ys, pxs, pys = _tile_pixels(np.asarray(lons, float), np.asarray(lats, float), z)
        n = len(xs)
        covered = np.ones(n, dtype=bool)
        cls = np.full(n, -1, dtype=int)
        if n == 0:
            return covered, cls, []
        keys, inverse = np.unique(np.stack([xs, ys], axis=1), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(keys) + 1))
        for fetcher in self.fetchers:
            wanted = [(z, int(x), int(y)) for x, y in keys]
            try:
                got = fetcher.get_many(wanted)
            except CivicMapError as exc:  # offline without them, too many: say 情報なし
                log.warning(
                    _("hazard tiles %(name)s: not read (%(exc)s); the sites say 情報なし"),
                    {"name": self.tiles.id, "exc": exc},
                )
                covered[:] = False
                continue
            absent = no_zone_tiles(fetcher)
            for k, key in enumerate(wanted):
                idx = order[bounds[k] : bounds[k + 1]]
                body = got.get(key)
                if body is None:
                    if key not in absent:  # not had at all: we cannot say
                        covered[idx] = False
                    continue
                try:
                    _tiles.check_tile_size(body)  # from the header: a huge image is never decoded
                    with Image.open(io.BytesIO(body)) as im:
                        tile = im.convert("RGBA")
                    if tile.size != (256, 256):
                        tile = tile.resize((256, 256), Image.Resampling.NEAREST)
                    rgba = np.asarray(tile)
                except Exception:  # a damaged tile: we cannot say
                    covered[idx] = False
                    continue
                found = pixel_classes(rgba[pys[idx], pxs[idx]], self.classes)
                covered[idx[found == -2]] = False
                cls[idx] = np.maximum(cls[idx], found)
        return covered, cls, [""] * n

    def at(self, lon: float, lat: float) -> tuple[bool, int | None, str]:
        covered, cls, depth = self.at_many(np.array([lon]), np.array([lat]))
        return bool(covered[0]), (None if cls[0] < 0 else int(cls[0])), depth[0]


def tile_sources(th: TileHazard) -> list[TileSource]:
    """One :class:`TileSource` per tile set of ``th`` (its pack folder is the source id)."""
    return [
        TileSource(
            id=f"hazard-{th.id}-{i}",
            url=url,
            min_zoom=th.min_zoom,
            max_zoom=th.max_zoom,
            name=th.title,
            credit=th.credit[wording.SOURCE],  # never printed: the layer's credit is (per language)
            url_terms=TERMS_URL,
        )
        for i, url in enumerate(th.urls)
    ]


def no_zone_tiles(fetcher: TileFetcher) -> set[tuple[int, int, int]]:
    """The tiles the portal answered 404 for: no zone there (this run's, and the pack's).

    The portal sends 404 where a tile holds no zone; ``civicmap fetch`` lists those
    under ``no_zone`` in the pack's ``tiles.json`` (:func:`write_pack`), so an
    offline rebuild tells 「想定区域外」 from 「情報なし」 as the online build did.
    """
    out = {(m[0], m[1], m[2]) for m in fetcher.missing if "HTTP 404" in str(m[3])}
    for t in (fetcher.manifest or {}).get("no_zone", []):
        if isinstance(t, list) and len(t) == 3 and all(isinstance(v, int) for v in t):
            out.add((t[0], t[1], t[2]))
    return out


#: Largest number of hazard tiles one paper frame may read (the zoom is lowered past it).
PAPER_MAX_TILES = 400

#: Print resolution the hazard raster aims for: a zone edge, not a label, so coarser than tiles.
PAPER_HAZARD_DPI = 100


def paper_zoom(scale: float, lat: float, th: TileHazard, bounds: tuple) -> int:
    """The zoom whose pixel is at most a printed dot at :data:`PAPER_HAZARD_DPI` (capped)."""
    dot_m = 0.0254 / PAPER_HAZARD_DPI * scale  # one printed dot on the ground
    circ = 40075016.68557849 * math.cos(math.radians(lat))
    z = math.ceil(math.log2(circ / (256 * dot_m)))
    z = max(th.min_zoom, min(th.max_zoom, z))
    while z > th.min_zoom and len(_tiles.tiles_for_bounds(bounds, z)) > PAPER_MAX_TILES:
        z -= 1
    return z


def paper_hazard_raster(
    layer: TileHazardLayer,
    extent: tuple[float, float, float, float],
    crs: Any,
    *,
    size_px: tuple[int, int],
    scale: float,
) -> Image.Image | None:
    """One frame's hazard tiles as an RGBA image covering exactly ``extent``, or None.

    Transparent where the portal has no zone (a 404 tile, a transparent pixel)
    and where a tile could not be had (said once as a warning: the sites there
    read 「情報なし」). None when no tile of the frame holds a zone.
    """
    w, s, e, n = _tiles.frame_lonlat_bounds(extent, crs)
    z = paper_zoom(scale, (s + n) / 2, layer.tiles, (w, s, e, n))
    want = _tiles.tiles_for_bounds((w, s, e, n), z)
    xs = sorted({t[1] for t in want})
    ys = sorted({t[2] for t in want})
    size = ((xs[-1] - xs[0] + 1) * 256, (ys[-1] - ys[0] + 1) * 256)
    mosaic = Image.new("RGBA", size, (0, 0, 0, 0))
    drawn = 0
    for fetcher in layer.fetchers:
        try:
            got = fetcher.get_many(want)
        except CivicMapError as exc:
            log.warning(
                _("hazard tiles %(name)s: not drawn on paper (%(exc)s)"),
                {"name": layer.tiles.id, "exc": exc},
            )
            continue
        for (_z, x, y), body in sorted(got.items()):
            try:
                _tiles.check_tile_size(body)  # from the header: a huge image is never decoded
                with Image.open(io.BytesIO(body)) as im:
                    tile = im.convert("RGBA")
            except Exception:  # a damaged tile is a hole, said below
                fetcher.missing.append((z, x, y, "damaged tile file"))
                continue
            if tile.size != (256, 256):
                tile = tile.resize((256, 256), Image.Resampling.NEAREST)
            mosaic.alpha_composite(tile, ((x - xs[0]) * 256, (y - ys[0]) * 256))
            drawn += 1
        holes = [m for m in fetcher.missing
                 if (m[0], m[1], m[2]) in set(want) and "HTTP 404" not in str(m[3])]  # fmt: skip
        if holes:
            log.warning(
                _("hazard tiles %(name)s: %(n)d tile(s) could not be had; that part of the "
                  "paper map shows no zone and its sites say 情報なし"),
                {"name": layer.tiles.id, "n": len(holes)},
            )  # fmt: skip
    if not drawn:
        return None
    return _tiles.reproject_mosaic(mosaic, extent, crs, size_px=size_px, zoom=z,
                                   origin=(xs[0], ys[0]))  # fmt: skip


def fetch_web_tiles(layers: list[Any], bounds: tuple[float, float, float, float]) -> None:
    """Get each portal tile set's tiles of the web map's zooms over ``bounds`` (``civicmap fetch``).

    The zooms an offline page gets from the pack, as for the background tiles
    (:func:`civicmap.render.tiles.web_zooms`); got inside
    :func:`~civicmap.render.tiles.recording`, they are stored by :func:`write_pack`
    (404s as "no zone"), so a self-contained page or a site carries the overlay.
    """
    for layer in layers:
        if not isinstance(layer, TileHazardLayer):
            continue
        for fetcher in layer.fetchers:
            zooms = _tiles.web_zooms(bounds, fetcher.source)
            fetcher.get_many(t for z in zooms for t in _tiles.tiles_for_bounds(bounds, z))


def write_pack(pack: Path, layers: list[Any], rec: dict) -> list[dict]:
    """Store in ``pack`` the hazard tiles the outputs used (``civicmap fetch``); one manifest each.

    ``rec`` is what :func:`civicmap.render.tiles.recording` collected. Each tile
    set's ``tiles.json`` lists the 404 tiles under ``no_zone`` (no zone there,
    not a failure) besides the usual ``missing``.

    Raises
    ------
    NetworkError
        When the portal could not be reached or gave up (a pack with holes where
        zones may be would say 「想定区域外」 wrongly offline): no pack is written.
    """
    out = []
    for layer in layers:
        if not isinstance(layer, TileHazardLayer):
            continue
        for fetcher in layer.fetchers:
            if fetcher.broken:
                raise NetworkError(
                    _(
                        "the hazard tiles (%(name)s) could not be stored in the offline pack: "
                        "%(why)s; no pack was written. Run civicmap fetch again where the "
                        "ハザードマップポータルサイト can be reached"
                    )
                    % {"name": layer.tiles.id, "why": fetcher.broken}
                )
            got = rec.get(fetcher.source.cache_id, {})
            manifest = _tiles.write_pack_tiles(
                pack, fetcher.source, got, fetcher.missing, date=fetcher.date
            )
            manifest["no_zone"] = sorted(no_zone_tiles(fetcher))
            folder = _tiles.pack_tiles_dir(pack, fetcher.source)
            (folder / "tiles.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            out.append({k: v for k, v in manifest.items() if k != "sha256"})
    return out


def pack_holds(spec: Any, hazard: HazardSpec) -> bool:
    """Whether the map's offline pack holds ``hazard``'s tiles (``civicmap check``, offline)."""
    th = TILE_HAZARDS[hazard.tiles]
    pack = pack_for(spec)
    try:
        return all(_tiles.read_pack_manifest(pack, src) is not None for src in tile_sources(th))
    except CivicMapError:
        return False


def load_tile_hazard(
    hazard: HazardSpec, spec: Any, *, language: str = wording.SOURCE
) -> TileHazardLayer:
    """The portal tile set a ``hazards:`` name stands for, with one fetcher per tile set.

    ``language``: the map's, in which the layer's credit is worded (:data:`CREDIT`).
    """
    th = TILE_HAZARDS[hazard.tiles]
    fetchers = [
        TileFetcher(
            source,
            pack=pack_for(spec),
            offline=getattr(spec, "offline", None),
            builtin=True,  # the portal's tile sets are ours (TILE_HAZARDS), not a map file's URL
            record=_tiles.recorder_for(source),  # `civicmap fetch` stores what was used
        )
        for source in tile_sources(th)
    ]
    log.info(
        _("hazard tiles %(name)s: %(n)d tile sets, read at zoom %(zoom)d"),
        {"name": th.id, "n": len(fetchers), "zoom": th.query_zoom},
    )
    return TileHazardLayer(
        spec=hazard,
        tiles=th,
        fetchers=fetchers,
        language=language,
        extent=shapely.box(-180, -90, 180, 90),
    )


__all__ = [
    "CREDIT",
    "TERMS",
    "TERMS_URL",
    "TILE_HAZARDS",
    "TileHazard",
    "TileHazardLayer",
    "fetch_web_tiles",
    "load_tile_hazard",
    "no_zone_tiles",
    "pack_holds",
    "paper_hazard_raster",
    "pixel_class",
    "pixel_classes",
    "tile_sources",
    "write_pack",
]
