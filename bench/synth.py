"""Synthetic but realistic OSM extracts and open-data CSVs, for measuring scale offline.

Real extracts of 1–16 km² of Tokyo would have to be downloaded and shipped;
this generator writes an ``.osm.pbf`` of any size with Tokyo-like densities
instead, so ``bench/run.py`` can measure how civicmap grows with the area
without a network:

- a street grid (blocks of about 90 m, a named major road every 6th line,
  residential streets between, footways through parks), nodes shared at
  intersections as in real OSM;
- about 3,000 buildings per km² (rectangles and L-shapes, ``building=yes/house/
  apartments/commercial``, some with levels, names and ``addr:*``);
- parks (``leisure=park``, one per km² as a multipolygon relation with a pond),
  a river (``natural=water`` strip + ``waterway=river``), a railway with a station,
  schools;
- a few hundred points of interest per km², tagged as the built-in layers in
  ``layers/*.yaml`` expect (see :data:`POI_RATES`), with Japanese names and
  ``addr:*`` tags; every built-in layer and every OSM category is present in
  any extract of 0.25 km² or more (at least one of each kind is written).

:func:`write_opendata_csvs` writes matching municipal CSV files (自治体標準
style headers: 名称, 名称_カナ, 種別, 住所, 緯度, 経度 …) for the childcare and
AED layers: most rows describe the same facilities as the OSM points, a few
metres off (what conflation has to match), some exist only in the CSV, and
about 1 % lack coordinates (what the per-row report has to catch).

Everything is deterministic for a given ``seed``. Geometry is laid out in
metres in JGD2011 / Japan Plane Rectangular CS IX (EPSG:6677, Tokyo) and
projected to WGS 84 when written.

Usage::

    .venv/bin/python bench/synth.py 4 bench/out/synth_4km2     # 4 km² into that folder
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import logging
import math
import os
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import osmium
from pyproj import Transformer

log = logging.getLogger(__name__)

#: Where the synthetic square is centred (lat, lon): 新宿区 西早稲田.
CENTRE = (35.7067, 139.7065)
#: Metric CRS the layout is made in (JGD2011 plane rectangular IX, Tokyo).
METRIC_CRS = "EPSG:6677"
BUILDINGS_PER_KM2 = 3000
BLOCK_M = 90.0  # street spacing
MAJOR_EVERY = 6  # every 6th grid line is a named major road
PARKS_PER_KM2 = 8
SCHOOLS_PER_KM2 = 2

#: Points of interest per km², by kind: (rate, tags). Names are added per kind.
POI_RATES: dict[str, tuple[float, dict[str, str]]] = {
    "aed": (80, {"emergency": "defibrillator"}),
    "toilets": (20, {"amenity": "toilets"}),
    "toilets_wheelchair": (10, {"amenity": "toilets", "wheelchair": "yes", "toilets:wheelchair": "yes"}),
    "drinking_water": (12, {"amenity": "drinking_water"}),
    "water_point": (3, {"amenity": "water_point"}),
    "water_tank": (30, {"emergency": "water_tank"}),
    "suction_point": (5, {"emergency": "suction_point"}),
    "kindergarten": (10, {"amenity": "kindergarten"}),
    "kindergarten_hoiku": (5, {"amenity": "kindergarten"}),
    "childcare": (6, {"amenity": "childcare"}),
    "kodomoen": (4, {"amenity": "kindergarten"}),
    "hospital": (3, {"amenity": "hospital"}),
    "clinic": (30, {"amenity": "clinic"}),
    "doctors": (10, {"amenity": "doctors"}),
    "koban": (4, {"amenity": "police", "police": "koban"}),
    "police_station": (0.5, {"amenity": "police"}),
    "fire_station": (1.5, {"amenity": "fire_station"}),
    "playground": (15, {"leisure": "playground"}),
    "community_centre": (4, {
        "amenity": "community_centre",
        "emergency:amenity": "social_facility",
        "emergency:social_facility": "shelter",
        "shelter_type:ja": "指定避難所",
    }),
    "assembly_point": (2, {"emergency": "assembly_point", "assembly_point:earthquake": "yes"}),
    "convenience": (40, {"shop": "convenience"}),
    "restaurant": (60, {"amenity": "restaurant"}),
}  # fmt: skip

#: Which built-in layer each POI kind feeds (None: basemap or no layer).
POI_LAYER = {
    "aed": "aed", "toilets": "toilets", "toilets_wheelchair": "toilets",
    "drinking_water": "water", "water_point": "water", "water_tank": "water",
    "suction_point": "water", "kindergarten": "childcare", "kindergarten_hoiku": "childcare",
    "childcare": "childcare", "kodomoen": "childcare", "hospital": "hospitals",
    "clinic": "hospitals", "doctors": "hospitals", "koban": "police",
    "police_station": "police", "fire_station": "fire_stations", "playground": "playgrounds",
    "community_centre": "shelters", "assembly_point": "shelters",
    "convenience": None, "restaurant": None,
}  # fmt: skip

_TOWNS = ("西早稲田", "高田馬場", "戸山", "大久保", "百人町", "北新宿", "下落合", "中落合",
          "上落合", "早稲田町", "喜久井町", "若松町", "河田町", "余丁町", "富久町", "新宿")  # fmt: skip
_STEMS = ("さくら", "ひまわり", "あおば", "みどり", "つばさ", "わかば", "すみれ", "なかよし",
          "ひかり", "こすもす", "たんぽぽ", "すずらん", "けやき", "いちょう", "かえで", "ふたば")  # fmt: skip
_ROADS = ("早稲田通り", "明治通り", "諏訪通り", "大久保通り", "職安通り", "新目白通り", "戸山通り",
          "小滝橋通り", "外苑東通り", "夏目坂通り")  # fmt: skip
_TIMESTAMP = dt.datetime(2024, 11, 1, 3, 0, tzinfo=dt.UTC)
CSV_CODE = "131041"
CSV_CITY = "新宿区"


@dataclass
class SynthExtract:
    """What :func:`write_extract` wrote.

    Attributes
    ----------
    path : Path
        The ``.osm.pbf`` file.
    bbox : tuple
        (west, south, east, north) in degrees: the extract's bounds, also in its header.
    km2 : float
        The area asked for (the square's side is ``sqrt(km2)`` km in the metric CRS).
    counts : Counter
        Elements written, by kind: ``building``, ``highway``, ``park``, ``water``,
        ``school``, ``railway``, every key of :data:`POI_RATES`, and ``nodes``,
        ``ways``, ``relations``.
    layer_counts : Counter
        Elements written that a built-in layer should find, by layer id.
    pois : list of dict
        Every point of interest: kind, layer, name, lat, lon, address (for the CSVs).
    """

    path: Path
    bbox: tuple[float, float, float, float]
    km2: float
    counts: Counter = field(default_factory=Counter)
    layer_counts: Counter = field(default_factory=Counter)
    pois: list[dict] = field(default_factory=list)


#: Characters that end or escape a string in OPL; written as ``%hex%`` (UTF-8 passes as is).
_OPL_SPECIAL = frozenset(" \t\r\n,=@%")
#: Every timestamp an element can have: up to 2,000 days before the extract's date.
_TIMESTAMPS = [
    (_TIMESTAMP - dt.timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ") for d in range(2001)
]


_OPL_SEEN: dict[str, str] = {}


def _opl_text(s: str) -> str:
    """``s`` escaped for OPL (the same few strings come back thousands of times)."""
    got = _OPL_SEEN.get(s)
    if got is None:
        got = _OPL_SEEN[s] = "".join(
            f"%{ord(ch):x}%" if ch in _OPL_SPECIAL or ch < " " else ch for ch in s
        )
    return got


def _opl_tags(tags: dict[str, str]) -> str:
    return ",".join(f"{_opl_text(k)}={_opl_text(v)}" for k, v in tags.items())


class _Builder:
    """Collects nodes, ways and relations in metric coordinates, then writes them.

    Elements are kept as the text of an OPL file (libosmium's one-line-per-element format) and
    coordinates as arrays: the file is written by libosmium reading that text, in C++, instead
    of one pyosmium object per element (a 32 km² extract has 480,000 nodes).
    """

    def __init__(self, to_wgs84: Transformer, *, meta_rng: np.random.Generator) -> None:
        self.to_wgs84 = to_wgs84
        self.meta_rng = meta_rng
        self._xs: list[float] = []
        self._ys: list[float] = []
        self.node_tags: dict[int, dict[str, str]] = {}
        self.ways: list[str] = []  # "T<tags> N<refs>"
        self.relations: list[str] = []  # "T<tags> M<members>"

    @property
    def n_nodes(self) -> int:
        return len(self._xs)

    def node(self, x: float, y: float, tags: dict | None = None) -> int:
        self._xs.append(x)
        self._ys.append(y)
        nid = len(self._xs)
        if tags:
            self.node_tags[nid] = tags
        return nid

    def nodes(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Untagged nodes at ``xs, ys`` (any shape); their ids, in the same shape."""
        first = len(self._xs) + 1
        self._xs.extend(np.ravel(xs).tolist())
        self._ys.extend(np.ravel(ys).tolist())
        return np.arange(first, len(self._xs) + 1).reshape(np.shape(xs))

    def xy(self, nid: int) -> tuple[float, float]:
        return self._xs[nid - 1], self._ys[nid - 1]

    def way(self, refs, tags: dict | None = None) -> int:
        self.ways.append(f"T{_opl_tags(tags or {})} N" + ",".join(f"n{r}" for r in refs))
        return len(self.ways)

    def way_text(self, tags_text: str, refs_text: str) -> int:
        """A way whose tags and node list are OPL text already (``k=v,...``, ``n1,n2,...``)."""
        self.ways.append(f"T{tags_text} N{refs_text}")
        return len(self.ways)

    def ring(self, pts: list[tuple[float, float]], tags: dict | None = None) -> int:
        refs = [self.node(x, y) for x, y in pts]
        return self.way([*refs, refs[0]], tags)

    def relation(self, members: list[tuple[str, int, str]], tags: dict) -> int:
        self.relations.append(
            f"T{_opl_tags(tags)} M" + ",".join(f"{t}{i}@{_opl_text(r)}" for t, i, r in members)
        )
        return len(self.relations)

    def lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """Every node's WGS 84 coordinates, rounded to OSM's 7 decimals."""
        lons, lats = self.to_wgs84.transform(np.asarray(self._xs), np.asarray(self._ys))
        return np.round(lons, 7), np.round(lats, 7)

    def _opl(self) -> bytes:
        """The whole file as OPL; versions and dates drawn per element, nodes first."""
        n_nodes, n_ways = len(self._xs), len(self.ways)
        total = n_nodes + n_ways + len(self.relations)
        versions = self.meta_rng.integers(1, 5, total).tolist()
        days = self.meta_rng.integers(0, len(_TIMESTAMPS), total).tolist()
        meta = [f" v{v} dV c{1000 + v} t{_TIMESTAMPS[d]} i1 usynth "
                for v, d in zip(versions, days, strict=True)]  # fmt: skip
        lons, lats = self.lonlat()
        tags = self.node_tags
        lines = [
            f"n{i}{m}T{_opl_tags(tags[i]) if i in tags else ''} x{lon:.7f} y{lat:.7f}"
            for i, m, lon, lat in zip(range(1, n_nodes + 1), meta[:n_nodes], lons.tolist(),
                                      lats.tolist(), strict=True)
        ]  # fmt: skip
        lines += [f"w{i}{meta[n_nodes + i - 1]}{w}" for i, w in enumerate(self.ways, start=1)]
        lines += [f"r{i}{meta[n_nodes + n_ways + i - 1]}{r}"
                  for i, r in enumerate(self.relations, start=1)]  # fmt: skip
        lines.append("")
        return "\n".join(lines).encode()

    def write(self, path: Path, bbox: tuple[float, float, float, float], *, fmt: str) -> None:
        header = osmium.io.Header()
        header.set("generator", "civicmap bench/synth.py")
        # Like a Geofabrik extract: the data's time in the header (no element is newer).
        header.set("osmosis_replication_timestamp", _TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ"))
        header.add_box(
            osmium.osm.Box(
                osmium.osm.Location(bbox[0], bbox[1]), osmium.osm.Location(bbox[2], bbox[3])
            )
        )
        data = self._opl()
        # the format is given explicitly: temporary names end in .part
        writer = osmium.SimpleWriter(osmium.io.File(str(path), fmt), header=header, overwrite=True)
        try:
            osmium.apply(osmium.io.FileBuffer(data, "opl"), writer)
        finally:
            writer.close()


def _square(km2: float, centre: tuple[float, float]) -> tuple[Transformer, float, float, float]:
    """Transformer to WGS 84 and the square's south-west corner and side, in metres."""
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    to_wgs84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    cx, cy = to_metric.transform(centre[1], centre[0])
    side = math.sqrt(km2) * 1000.0
    return to_wgs84, cx - side / 2, cy - side / 2, side


def _how_many(rate: float, km2: float, rng: random.Random) -> int:
    """rate × km², rounded at random so fractions add up over sizes; at least one."""
    expected = rate * km2
    n = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
    return max(1, n)


def _address(rng: random.Random, town: str) -> dict[str, str]:
    return {
        "addr:province": "東京都",
        "addr:city": CSV_CITY,
        "addr:quarter": town,
        "addr:neighbourhood": f"{rng.randint(1, 4)}丁目",
        "addr:block_number": str(rng.randint(1, 30)),
        "addr:housenumber": str(rng.randint(1, 25)),
    }


def _poi_name(kind: str, rng: random.Random, town: str, serial: int) -> str | None:
    stem = rng.choice(_STEMS)
    names = {
        "kindergarten": f"{town}{stem}幼稚園",
        "kindergarten_hoiku": f"{stem}保育園{town}園",
        "childcare": f"{town}{stem}保育園",
        "kodomoen": f"認定こども園{stem}{town}",
        "hospital": f"{town}中央病院" if serial % 2 else f"{stem}総合病院",
        "clinic": f"{stem}クリニック{town}",
        "doctors": f"{town}{stem}内科",
        "koban": f"{town}交番",
        "police_station": f"{town}警察署",
        "fire_station": f"{town}消防署" if serial % 3 == 0 else f"{town}出張所",
        "playground": f"{town}{stem}児童遊園",
        "community_centre": f"{town}地域センター",
        "assembly_point": f"{town}{stem}広場",
        "convenience": f"コンビニ{town}店",
        "restaurant": f"{stem}食堂",
        "drinking_water": f"{town}{stem}公園水飲み場" if serial % 2 else None,
        "water_point": f"{town}災害用給水栓",
    }
    return names.get(kind)


def write_extract(
    path: str | Path,
    *,
    km2: float,
    seed: int = 0,
    centre: tuple[float, float] = CENTRE,
    overwrite: bool = False,
) -> SynthExtract:
    """Write a synthetic Tokyo-like extract of ``km2`` square kilometres.

    The street grid and the buildings (nearly every node) are laid out with NumPy arrays and
    the file is written by libosmium from OPL text: a 32 km² extract takes about a second, not
    seven, so the tests that need a large extract can afford one.

    Parameters
    ----------
    path : path
        Output file; ``.osm.pbf`` (or ``.osm`` for XML). Written atomically.
    km2 : float
        Area of the square, in km² (0.05 to 256).
    seed : int
        Same seed, same extract.
    centre : (lat, lon)
        Centre of the square.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    SynthExtract
        The bounds and what was written, for checking densities.
    """
    path = Path(path)
    if not 0.05 <= km2 <= 256:
        raise ValueError(f"km2={km2!r}: expected 0.05 to 256 km²")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    rng = random.Random(seed)  # the few hundred things laid out one by one
    bulk = np.random.default_rng(seed)  # the street grid and the buildings, as arrays
    to_wgs84, x0, y0, side = _square(km2, centre)
    b = _Builder(to_wgs84, meta_rng=np.random.default_rng(seed + 1))
    out = SynthExtract(path=path, bbox=(0, 0, 0, 0), km2=km2)
    counts = out.counts

    # ---- street grid: lines every BLOCK_M, intersections shared
    n_lines = max(2, round(side / BLOCK_M) + 1)
    step = side / (n_lines - 1)
    at = np.arange(n_lines) * step
    grid = b.nodes(*np.meshgrid(x0 + at, y0 + at, indexing="ij"))  # grid[i, j]: x i, y j
    road_names = iter(_ROADS * 100)
    shaping = max(1, round(step / 15))  # a shaping node every ~15 m, as on real streets
    signals = np.arange(n_lines) % MAJOR_EVERY == MAJOR_EVERY // 2
    signals = signals[:, None] & signals[None, :]
    crossing = ~signals & (bulk.random((n_lines, n_lines)) < 0.3)
    for nid in grid[signals].tolist():
        b.node_tags[nid] = {"highway": "traffic_signals"}
    for nid in grid[crossing].tolist():
        b.node_tags[nid] = {"highway": "crossing", "crossing": "uncontrolled"}
    t = np.arange(1, shaping) / shaping
    for horizontal in (False, True):
        # shaping nodes of every line, segment by segment: [line, segment, k]
        along = (at[:-1, None] + step * t[None, :])[None, :, :]
        across = at[:, None, None] + bulk.uniform(-0.8, 0.8, (n_lines, n_lines - 1, shaping - 1))
        along = np.broadcast_to(along, across.shape)
        xs, ys = (x0 + along, y0 + across) if horizontal else (x0 + across, y0 + along)
        shaped = b.nodes(xs, ys)
        for i in range(n_lines):
            major = i % MAJOR_EVERY == MAJOR_EVERY // 2
            ends = grid[:, i] if horizontal else grid[i, :]
            # the whole line's node ids: each grid node, then its segment's shaping nodes
            line = np.concatenate([ends[:-1, None], shaped[i]], axis=1).ravel().tolist()
            line.append(int(ends[-1]))
            chunk = n_lines if major else 2  # residential ways span about 2 blocks
            for start in range(0, n_lines - 1, chunk):
                stop = min(start + chunk, n_lines - 1)
                refs = line[start * shaping : stop * shaping + 1]
                tags = {"highway": "secondary" if major else "residential"}
                if major:
                    tags |= {"name": next(road_names), "lanes": "2", "maxspeed": "40"}
                elif rng.random() < 0.15:
                    tags["oneway"] = "yes"
                b.way(refs, tags)
                counts["highway"] += 1

    # ---- cells between streets: river row, parks, schools, buildings
    n_cells = n_lines - 1
    cells = [(i, j) for i in range(n_cells) for j in range(n_cells)]
    river_row = n_cells // 3 if n_cells >= 3 else None
    rail_col = (2 * n_cells) // 3 if n_cells >= 3 else None
    free = [c for c in cells if c[1] != river_row and c[0] != rail_col]
    rng.shuffle(free)
    n_parks = min(len(free) // 4, _how_many(PARKS_PER_KM2, km2, rng))
    n_schools = min(len(free) // 8, _how_many(SCHOOLS_PER_KM2, km2, rng))
    parks, schools, building_cells = (
        free[:n_parks],
        free[n_parks : n_parks + n_schools],
        free[n_parks + n_schools :],
    )
    building_cells += [c for c in cells if c[1] != river_row and c[0] == rail_col]
    inset = 5.0  # street half-width + pavement

    def cell_box(c: tuple[int, int], pad: float = inset) -> tuple[float, float, float, float]:
        cx, cy = x0 + c[0] * step, y0 + c[1] * step
        return cx + pad, cy + pad, cx + step - pad, cy + step - pad

    def town_of(x: float, y: float) -> str:
        k = int((x - x0) // 450) + 7 * int((y - y0) // 450)
        return _TOWNS[k % len(_TOWNS)]

    if river_row is not None:
        ry0 = y0 + river_row * step + step * 0.25
        ry1 = y0 + river_row * step + step * 0.75
        b.ring([(x0, ry0), (x0 + side, ry0), (x0 + side, ry1), (x0, ry1)],
               {"natural": "water", "water": "river", "name": "神田川"})  # fmt: skip
        mid = (ry0 + ry1) / 2
        b.way([b.node(x0 + k * side / 10, mid) for k in range(11)],
              {"waterway": "river", "name": "神田川"})  # fmt: skip
        counts["water"] += 2
    if rail_col is not None:
        rx = x0 + rail_col * step + step / 2
        rail = [b.node(rx, y0 + k * side / 20) for k in range(21)]
        b.way(
            rail,
            {
                "railway": "rail",
                "name": "西武新宿線",
                "gauge": "1067",
                "electrified": "contact_line",
            },
        )
        b.node(rx + 20, y0 + side / 2, {"railway": "station", "public_transport": "station",
                                          "name": "高田馬場駅", "name:en": "Takadanobaba"})  # fmt: skip
        counts["railway"] += 1

    for k, c in enumerate(parks):
        x_a, y_a, x_b, y_b = cell_box(c)
        town = town_of(x_a, y_a)
        tags = {"leisure": "park", "name": f"{town}{rng.choice(_STEMS)}公園"}
        if k % 3 == 0:
            tags |= {"emergency": "assembly_point", "assembly_point:earthquake": "yes",
                     "assembly_point:fire": "yes"}  # fmt: skip
            counts["assembly_point_park"] += 1
        outer_pts = [(x_a, y_a), (x_b, y_a), (x_b, y_b), (x_a, y_b)]
        if k == 0 or (k % 8 == 0):  # a park with a pond: multipolygon relation
            outer = b.ring(outer_pts)
            w = (x_b - x_a) / 4
            pond = [
                (x_a + w, y_a + w),
                (x_a + 2 * w, y_a + w),
                (x_a + 2 * w, y_a + 2 * w),
                (x_a + w, y_a + 2 * w),
            ]
            inner = b.ring(pond, {"natural": "water", "water": "pond"})
            b.relation(
                [("w", outer, "outer"), ("w", inner, "inner")], {"type": "multipolygon", **tags}
            )
            counts["park_relation"] += 1
            counts["water"] += 1
        else:
            b.ring(outer_pts, tags)
        counts["park"] += 1
        # a footway across the park
        b.way([b.node(x_a, y_a), b.node(x_b, y_b)], {"highway": "footway"})
        counts["highway"] += 1
    for k, c in enumerate(schools):
        x_a, y_a, x_b, y_b = cell_box(c)
        town = town_of(x_a, y_a)
        tags = {
            "amenity": "school",
            "name": f"新宿区立{town}{'小' if k % 2 else '中'}学校",
            "emergency:amenity": "social_facility",
            "emergency:social_facility" if k % 4 != 3 else "emegency:social_facility": "shelter",
            "shelter_type:ja": "指定避難所",
        }
        b.ring([(x_a, y_a), (x_b, y_a), (x_b, y_b), (x_a, y_b)], tags)
        b.ring([(x_a + 10, y_a + 10), (x_a + 50, y_a + 10), (x_a + 50, y_a + 25), (x_a + 10, y_a + 25)],
               {"building": "school"})  # fmt: skip
        counts["school"] += 1
        counts["building"] += 1

    # ---- buildings: lots in a grid inside each building cell, thinned to the target
    target = max(0, round(BUILDINGS_PER_KM2 * km2) - counts["building"])
    if building_cells and target:
        counts["building"] += _buildings(
            b,
            bulk,
            building_cells,
            target,
            corner=(x0, y0),
            step=step,
            inset=inset,
            town_of=town_of,
        )

    # ---- points of interest, in building cells (and playgrounds also in parks)
    poi_cells = building_cells or cells
    serial = 0
    poi_xy: list[tuple[float, float]] = []
    named: set[str] = set()
    for kind, (rate, base_tags) in POI_RATES.items():
        for _ in range(_how_many(rate, km2, rng)):
            serial += 1
            pool = (
                parks
                if kind in ("playground", "drinking_water", "toilets") and parks and serial % 2
                else poi_cells
            )
            x_a, y_a, x_b, y_b = cell_box(rng.choice(pool), pad=2.0)
            x, y = rng.uniform(x_a, x_b), rng.uniform(y_a, y_b)
            town = town_of(x, y)
            tags = dict(base_tags)
            name = _poi_name(kind, rng, town, serial)
            for _again in range(8):  # another stem: two facilities seldom share a name
                if name not in named:
                    break
                name = _poi_name(kind, rng, town, serial)
            if name:
                named.add(name)
                tags["name"] = name
            if kind in ("kindergarten", "childcare", "kodomoen", "kindergarten_hoiku", "clinic",
                        "hospital", "fire_station", "police_station", "koban", "community_centre"):  # fmt: skip
                tags |= _address(rng, town)
                tags["phone"] = f"+81 3-{rng.randint(3000, 6999)}-{rng.randint(1000, 9999)}"
            if kind == "aed":
                tags |= {"defibrillator:location": rng.choice(("1階エントランス", "受付", "2階事務室")),
                         "indoor": "yes", "opening_hours": "Mo-Fr 08:30-17:15"}  # fmt: skip
            if kind == "water_tank":
                tags["water_tank:volume"] = rng.choice(("40", "100"))
            b.node(x, y, tags)
            counts[kind] += 1
            layer = POI_LAYER[kind]
            if layer:
                poi_xy.append((x, y))
                out.pois.append({"kind": kind, "layer": layer, "name": tags.get("name", ""),
                                 "address": _addr_text(tags)})  # fmt: skip
    if poi_xy:
        lons, lats = to_wgs84.transform(*np.asarray(poi_xy).T)
        for poi, lon, lat in zip(out.pois, lons.tolist(), lats.tolist(), strict=True):
            poi["lat"], poi["lon"] = lat, lon

    for layer_id in POI_LAYER.values():
        if layer_id:
            out.layer_counts[layer_id] += 0
    for poi in out.pois:
        out.layer_counts[poi["layer"]] += 1
    out.layer_counts["playgrounds"] += counts["park"]
    out.layer_counts["shelters"] += counts["school"] + counts["assembly_point_park"]

    w, s = to_wgs84.transform(x0, y0)
    e, n = to_wgs84.transform(x0 + side, y0 + side)
    out.bbox = (round(w, 7), round(s, 7), round(e, 7), round(n, 7))
    counts["nodes"], counts["ways"], counts["relations"] = (
        b.n_nodes,
        len(b.ways),
        len(b.relations),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        b.write(Path(tmp), out.bbox, fmt="pbf" if path.name.endswith(".pbf") else "osm")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("wrote %s: %s km², %s", path, km2, dict(counts))
    return out


_BUILDING_KINDS = ("yes", "house", "apartments", "commercial")


def _buildings(
    b: _Builder,
    bulk: np.random.Generator,
    building_cells: list[tuple[int, int]],
    target: int,
    *,
    corner: tuple[float, float],
    step: float,
    inset: float,
    town_of: Callable[[float, float], str],
) -> int:
    """``target`` buildings on lots of a grid in each building cell; how many were written.

    Rectangles and L-shapes (one in five), ``building=yes/house/apartments/commercial``
    (60/25/10/5 %), apartments and offices with levels and now and then a name, one in ten
    with an address. Drawn as arrays, one array per property, lot by lot in cell order.
    """
    x0, y0 = corner
    per_cell = target / len(building_cells)
    n_lot = max(1, math.ceil(math.sqrt(per_cell)))
    cells = np.asarray(building_cells)
    n_lots = len(cells) * n_lot * n_lot
    pick = np.sort(bulk.choice(n_lots, size=min(target, n_lots), replace=False))
    cell_of, lot = np.divmod(pick, n_lot * n_lot)
    a, d = np.divmod(lot, n_lot)
    # lots sorted by cell (i, j), then lot: the order ids are given in
    order = np.lexsort((d, a, cells[cell_of, 1], cells[cell_of, 0]))
    cell_of, a, d = cell_of[order], a[order], d[order]
    nb = len(pick)
    x_a = x0 + cells[cell_of, 0] * step + inset
    y_a = y0 + cells[cell_of, 1] * step + inset
    lw = (step - 2 * inset) / n_lot  # lots are square
    lx, ly = x_a + a * lw, y_a + d * lw
    m = bulk.uniform(0.6, 1.5, nb)
    bx0, by0, bx1, by1 = lx + m, ly + m, lx + lw - m, ly + lw - bulk.uniform(0.6, 2.0, nb)
    kind = bulk.choice(len(_BUILDING_KINDS), size=nb, p=(0.60, 0.25, 0.10, 0.05))
    levels = bulk.integers(3, 13, nb)
    named = bulk.random(nb) < 0.3
    stem = bulk.integers(0, len(_STEMS), nb)
    addressed = bulk.random(nb) < 0.1
    address = np.column_stack([bulk.integers(1, 5, nb), bulk.integers(1, 31, nb),
                               bulk.integers(1, 26, nb)])  # fmt: skip
    l_shape = bulk.random(nb) < 0.2
    # an L-shape's corners; a rectangle's are the 1st, 2nd, 5th (moved out to x1) and 6th
    cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
    px = np.column_stack([bx0, bx1, bx1, cx, np.where(l_shape, cx, bx1), bx0])
    py = np.column_stack([by0, by0, cy, cy, by1, by1])
    keep = np.ones((nb, 6), dtype=bool)
    keep[:, 2:4] = l_shape[:, None]
    first = b.n_nodes + 1
    b.nodes(px[keep], py[keep])
    n_pts = np.where(l_shape, 6, 4)
    starts = (first + np.concatenate([[0], np.cumsum(n_pts)[:-1]])).tolist()
    plain = [f"building={k}" for k in _BUILDING_KINDS]
    for k, (s, n, kd, lv, nm, st, ad) in enumerate(zip(
            starts, n_pts.tolist(), kind.tolist(), levels.tolist(), named.tolist(),
            stem.tolist(), addressed.tolist(), strict=True)):  # fmt: skip
        if kd < 2 and not ad:  # most: a house or a building=yes, nothing more
            tags_text = plain[kd]
        else:
            tags = {"building": _BUILDING_KINDS[kd]}
            if kd >= 2:  # apartments, commercial
                tags["building:levels"] = str(lv)
                if nm:
                    tags["name"] = f"{_STEMS[st]}{'ハイツ' if kd == 2 else 'ビル'}"
            if ad:
                hood, block, house = address[k].tolist()
                tags |= {"addr:province": "東京都", "addr:city": CSV_CITY,
                         "addr:quarter": town_of(float(lx[k]), float(ly[k])),
                         "addr:neighbourhood": f"{hood}丁目", "addr:block_number": str(block),
                         "addr:housenumber": str(house)}  # fmt: skip
            tags_text = _opl_tags(tags)
        if n == 4:
            refs = f"n{s},n{s + 1},n{s + 2},n{s + 3},n{s}"
        else:
            refs = f"n{s},n{s + 1},n{s + 2},n{s + 3},n{s + 4},n{s + 5},n{s}"
        b.way_text(tags_text, refs)
    return nb


def _addr_text(tags: dict[str, str]) -> str:
    keys = (
        "addr:province",
        "addr:city",
        "addr:quarter",
        "addr:neighbourhood",
        "addr:block_number",
        "addr:housenumber",
    )
    parts = [tags.get(k, "") for k in keys]
    if not any(parts[2:]):
        return ""
    return f"{parts[0]}{parts[1]}{parts[2]}{parts[3]}{parts[4]}-{parts[5]}"


#: Columns of the synthetic 子育て施設一覧 (after the 自治体標準オープンデータセット).
CHILDCARE_COLUMNS = ("全国地方公共団体コード", "ID", "地方公共団体名", "名称", "名称_カナ", "種別",
                     "住所", "方書", "緯度", "経度", "電話番号", "定員", "対象年齢", "URL", "備考")  # fmt: skip
#: Columns of the synthetic AED設置箇所一覧.
AED_COLUMNS = ("全国地方公共団体コード", "ID", "地方公共団体名", "名称", "名称_カナ", "住所", "方書",
               "緯度", "経度", "設置位置", "電話番号", "利用可能曜日", "開始時間", "終了時間", "備考")  # fmt: skip
_CHILDCARE_TYPE = {"kindergarten": "幼稚園", "kindergarten_hoiku": "認可保育所", "childcare": "認可保育所",
                   "kodomoen": "認定こども園"}  # fmt: skip


@dataclass
class SynthCsv:
    """One CSV written by :func:`write_opendata_csvs`."""

    path: Path
    layer: str
    rows: int
    matching_osm: int
    csv_only: int
    no_coordinates: int


def _offset(
    lat: float,
    lon: float,
    rng: random.Random,
    metres: float,
    to_metric: Transformer,
    to_wgs84: Transformer,
) -> tuple[float, float]:
    """A point about ``metres`` away, moved in the metric CRS (never in degrees)."""
    x, y = to_metric.transform(lon, lat)
    a = rng.uniform(0, 2 * math.pi)
    lon2, lat2 = to_wgs84.transform(x + metres * math.cos(a), y + metres * math.sin(a))
    return lat2, lon2


def write_opendata_csvs(
    folder: str | Path, extract: SynthExtract, *, seed: int = 0, overwrite: bool = False
) -> list[SynthCsv]:
    """Write municipal-style CSVs matching ``extract``: 子育て施設 and AED.

    Each OSM childcare / AED point gets a row with the same name (childcare
    names written with full-width spaces now and then, as in real files) and
    coordinates 3–30 m off; 20 % more rows exist only in the CSV; about 1 % of
    rows have empty 緯度/経度. UTF-8 with BOM, CRLF line ends, as Excel saves.

    Returns
    -------
    list of SynthCsv
        One per file: its path and how many rows of each kind it holds.
    """
    folder = Path(folder)
    rng = random.Random(seed + 7)
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    west, south = to_metric.transform(extract.bbox[0], extract.bbox[1])
    east, north = to_metric.transform(extract.bbox[2], extract.bbox[3])
    to_wgs84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    results = []
    for layer, columns, fname in (
        ("childcare", CHILDCARE_COLUMNS, "childcare.csv"),
        ("aed", AED_COLUMNS, "aed.csv"),
    ):
        pois = [p for p in extract.pois if p["layer"] == layer]
        rows: list[dict[str, str]] = []
        no_coords = 0
        for k, p in enumerate(pois):
            lat, lon = _offset(p["lat"], p["lon"], rng, rng.uniform(3, 30), to_metric, to_wgs84)
            name = p["name"] or f"AED {k + 1}"
            rows.append(
                {"名称": name, "kind": p["kind"], "lat": lat, "lon": lon, "住所": p["address"]}
            )
        extra = max(1, round(len(pois) * 0.2))
        for k in range(extra):
            x, y = rng.uniform(west, east), rng.uniform(south, north)
            lon, lat = to_wgs84.transform(x, y)
            stem = rng.choice(_STEMS)
            kind = rng.choice(list(_CHILDCARE_TYPE)) if layer == "childcare" else "aed"
            name = (
                f"{stem}ベビールーム{k + 1}"
                if layer == "childcare"
                else f"{stem}マンション管理棟{k + 1}"
            )
            rows.append({"名称": name, "kind": kind, "lat": lat, "lon": lon, "住所": ""})
        rng.shuffle(rows)
        buf = io.StringIO(newline="")
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(columns)
        for i, r in enumerate(rows, start=1):
            missing = rng.random() < 0.01
            no_coords += missing
            name = r["名称"]
            if layer == "childcare" and rng.random() < 0.1:
                name = name.replace("保育園", "　保育園")
            addr = (
                r["住所"]
                or f"東京都{CSV_CITY}{rng.choice(_TOWNS)}{rng.randint(1, 4)}丁目{rng.randint(1, 30)}-{rng.randint(1, 25)}"
            )
            lat = "" if missing else f"{r['lat']:.6f}"
            lon = "" if missing else f"{r['lon']:.6f}"
            tel = f"03-{rng.randint(3000, 6999)}-{rng.randint(1000, 9999)}"
            if layer == "childcare":
                row = [CSV_CODE, f"{CSV_CODE}{i:04d}", f"東京都{CSV_CITY}", name, "", _CHILDCARE_TYPE.get(r["kind"], "認可保育所"),
                       addr, "", lat, lon, tel, str(rng.choice((30, 60, 90, 120))), "0歳～5歳", "", ""]  # fmt: skip
            else:
                row = [CSV_CODE, f"{CSV_CODE}{i:04d}", f"東京都{CSV_CITY}", name, "", addr, "", lat, lon,
                       rng.choice(("1階エントランス", "受付", "2階事務室")), tel, "月火水木金", "08:30", "17:15", ""]  # fmt: skip
            w.writerow(row)
        path = folder / fname
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{fname}.", suffix=".part", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            fh.write(buf.getvalue())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        results.append(SynthCsv(path, layer, len(rows), len(pois), extra, no_coords))
    return results


def pbf_to_xml(src: str | Path, dest: str | Path, *, overwrite: bool = False) -> Path:
    """Convert an extract to OSM XML with pyosmium (osmnx reads XML only)."""
    src, dest = Path(src), Path(dest)
    if dest.exists() and not overwrite:
        raise FileExistsError(f"{dest} already exists; pass overwrite=True to replace it")
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        reader = osmium.io.Reader(str(src))
        header = reader.header()
        reader.close()
        writer = osmium.SimpleWriter(osmium.io.File(tmp, "osm"), header=header, overwrite=True)
        try:
            for obj in osmium.FileProcessor(str(src)):
                writer.add(obj)
        finally:
            writer.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("km2", type=float, help="area in km²")
    ap.add_argument(
        "folder", type=Path, help="output folder (extract.osm.pbf, childcare.csv, aed.csv)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    ext = write_extract(
        args.folder / "extract.osm.pbf", km2=args.km2, seed=args.seed, overwrite=args.overwrite
    )
    csvs = write_opendata_csvs(args.folder, ext, seed=args.seed, overwrite=args.overwrite)
    sys.stdout.write(f"{ext.path}: bbox {ext.bbox}, {dict(ext.counts)}\n")
    for c in csvs:
        sys.stdout.write(f"{c.path}: {c.rows} rows ({c.no_coordinates} without coordinates)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())


def map_document(
    extract: SynthExtract,
    csvs: list[SynthCsv],
    *,
    folder: Path,
    title: str = "合成データ ベンチマーク地図",
    paper_size: str = "A4",
) -> dict:
    """A map file (as a dict) for ``extract``: its bbox, every built-in layer, the CSVs, web + paper.

    Paths are relative to ``folder``, where the map file is meant to be saved.
    """
    import civicmap

    extra = {c.layer: c for c in csvs}
    layers: list = []
    for layer_id in civicmap.builtin_layer_ids():
        c = extra.get(layer_id)
        if c is None:
            layers.append(layer_id)
            continue
        opts: dict = {
            "path": os.path.relpath(c.path, folder),
            "credit": {
                "source": f"{CSV_CITY} {c.path.stem}（合成データ）",
                "credit": f"合成データ {c.path.name}",
            },
        }
        if layer_id == "childcare":
            opts["category"] = {"column": "種別"}
        layers.append({"use": layer_id, "extra_sources": [{"csv": opts}]})
    return {
        "title": title,
        "subtitle": f"{extract.km2:g} km² の合成データ（bench/synth.py）",
        "language": "ja",
        "area": {"bbox": list(extract.bbox), "name": f"合成 {extract.km2:g} km²"},
        "osm": {"file": os.path.relpath(extract.path, folder)},
        "layers": layers,
        "outputs": {
            "web": {"file": "out/map.html"},
            "paper": {
                "file": f"out/map_{paper_size}.pdf",
                "size": paper_size,
                "orientation": "portrait",
            },
        },
    }


def write_map_file(path: str | Path, document: dict, *, overwrite: bool = False) -> Path:
    """Save a map document as YAML (atomically)."""
    import yaml

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(document, fh, allow_unicode=True, sort_keys=False)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path
