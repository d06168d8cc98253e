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
cache, then the network), which this module calls and never changes.

Terms: the portal asks for the credit 「ハザードマップポータルサイト」; we could
not read its terms page offline while writing this, so storing the tiles in a
pack follows the fetcher's rules for GSI tiles, and the docs say to check the
terms (https://disaportal.gsi.go.jp/) before printing.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from PIL import Image

from civicmap import wording
from civicmap.errors import CivicMapError
from civicmap.hazards import DEPTH_CLASSES, HazardClass
from civicmap.i18n import _
from civicmap.render.tiles import TileFetcher, TileSource, pack_for
from civicmap.schema import CRS, Credit
from civicmap.spec.hazards import TILE_KINDS, HazardSpec

log = logging.getLogger(__name__)

_BASE = "https://disaportaldata.gsi.go.jp/raster/"


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
    credit: str = "ハザードマップポータルサイト"


#: Landslide tiles: 警戒区域 yellow, 特別警戒区域 red (the portal's legend).
_LANDSLIDE = (
    HazardClass("土砂災害警戒区域", "landslide warning zone", "#ffe100"),
    HazardClass("土砂災害特別警戒区域", "landslide special warning zone", "#dc0000"),
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
    if len(rgba) == 4 and rgba[3] < 32:
        return None
    best, dist = None, float("inf")
    for i, c in enumerate(classes):
        d = math.dist(rgba[:3], _rgb(c.color))
        if d < dist:
            best, dist = i, d
    return best if dist <= COLOUR_TOLERANCE else "?"


def _tile_pixel(lon: float, lat: float, z: int) -> tuple[int, int, int, int]:
    """(x, y) of the tile holding a point at zoom ``z``, and the pixel inside it."""
    n = 2**z
    fx = (lon + 180.0) / 360.0 * n
    lat_r = math.radians(lat)
    fy = (1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n
    x, y = int(fx), int(fy)
    return x, y, min(int((fx - x) * 256), 255), min(int((fy - y) * 256), 255)


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
        return Credit(source=f"disaportal {self.tiles.id}", credit=self.tiles.credit,
                      date=self.spec.year, url="https://disaportal.gsi.go.jp/")  # fmt: skip

    def title(self, language: str) -> str:
        return self.spec.title or self.tiles.title.get(language, self.tiles.title["en"])

    def classes_used(self) -> list[int]:
        return []

    def at_many(self, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
        """Covered, class (-1: no zone) and depth text (always ``""``) for every point."""
        z = self.tiles.query_zoom
        where = [_tile_pixel(float(lo), float(la), z) for lo, la in zip(lons, lats, strict=True)]
        n = len(where)
        covered = np.ones(n, dtype=bool)
        cls = np.full(n, -1, dtype=int)
        for fetcher in self.fetchers:
            wanted = list(dict.fromkeys((z, x, y) for x, y, _, _ in where))
            try:
                got = fetcher.get_many(wanted)
            except CivicMapError as exc:  # offline without them, too many: say 情報なし
                log.warning(
                    _("hazard tiles %(name)s: not read (%(exc)s); the sites say 情報なし"),
                    {"name": self.tiles.id, "exc": exc},
                )
                covered[:] = False
                continue
            absent = {(m[0], m[1], m[2]) for m in fetcher.missing if "404" in str(m[3])}
            images: dict[tuple[int, int, int], Image.Image] = {}
            for i, (x, y, px, py) in enumerate(where):
                key = (z, x, y)
                if key not in got:
                    if key not in absent:  # not had at all: we cannot say
                        covered[i] = False
                    continue
                if key not in images:
                    images[key] = Image.open(io.BytesIO(got[key])).convert("RGBA")
                found = pixel_class(images[key].getpixel((px, py)), self.classes)
                if found == "?":
                    covered[i] = False
                elif found is not None:
                    cls[i] = max(cls[i], int(found))
        return covered, cls, [""] * n

    def at(self, lon: float, lat: float) -> tuple[bool, int | None, str]:
        covered, cls, depth = self.at_many(np.array([lon]), np.array([lat]))
        return bool(covered[0]), (None if cls[0] < 0 else int(cls[0])), depth[0]


def load_tile_hazard(hazard: HazardSpec, spec: Any) -> TileHazardLayer:
    """The portal tile set a ``hazards:`` name stands for, with one fetcher per tile set."""
    th = TILE_HAZARDS[hazard.tiles]
    fetchers = [
        TileFetcher(
            TileSource(
                id=f"hazard-{th.id}-{i}",
                url=url,
                min_zoom=th.min_zoom,
                max_zoom=th.max_zoom,
                name=th.title,
                credit=th.credit,
            ),
            pack=pack_for(spec),
            offline=getattr(spec, "offline", None),
            builtin=True,  # the portal's tile sets are ours (TILE_HAZARDS), not a map file's URL
        )
        for i, url in enumerate(th.urls)
    ]
    log.info(
        _("hazard tiles %(name)s: %(n)d tile sets, read at zoom %(zoom)d"),
        {"name": th.id, "n": len(fetchers), "zoom": th.query_zoom},
    )
    return TileHazardLayer(
        spec=hazard, tiles=th, fetchers=fetchers, extent=shapely.box(-180, -90, 180, 90)
    )


__all__ = ["TILE_HAZARDS", "TileHazard", "TileHazardLayer", "load_tile_hazard", "pixel_class"]
