"""Hazard zones on the map, and each shelter checked against its disaster.

A 防災マップ shows two things together: where the hazard is, and where to go.
This module reads the map's ``hazards:`` (国土数値情報 files, see
:mod:`civicmap.spec.hazards`), classes every zone through the official code
lists, and answers, for every site of a ``role: shelter`` layer and every
home, what each hazard says at that point:

- 「洪水：想定浸水深 3–5 m（2階以上可）」, 「土砂災害警戒区域内」, 「津波：想定区域外」;
- 「…：情報なし」 where the point lies outside what the file covers (its extent):
  a file of one river basin says nothing about the next one.

A site designated for a water disaster (洪水, 津波, 高潮, 内水) that lies in a
zone of 3 m or more without upper-floor use (``upstairs_only``), or designated
for 土砂災害 inside a 土砂災害警戒区域, is flagged 「この災害では使えない可能性が
あります」: on the paper index, in the web popup and in ``--report``, and the
routes for that disaster skip it (the pipeline says why, to the builder).

Code lists (国土数値情報 製品仕様書):

- A31a/A31b 洪水浸水想定区域, 浸水深ランクコード (``A31a_205`` 想定最大規模,
  ``A31a_105`` 計画規模): 1 0.5 m未満, 2 0.5–3 m, 3 3–5 m, 4 5–10 m,
  5 10–20 m, 6 20 m以上 — the classes of the 水害ハザードマップ作成の手引き.
  The A31-22 edition ships one file per scenario with the same code list in
  ``A31_201`` (想定最大規模, ``A31-20-…``) or ``A31_101`` (計画規模, ``A31-10-…``).
- A33 土砂災害警戒区域, 区域区分 (``A33_002``): 1 警戒区域, 2 特別警戒区域.
- A40 津波浸水想定 (``A40_003``) and A49 高潮浸水想定 (``A49_003``): the depth as
  text (``1m以上2m未満``), classed on the same depth scale by its lower bound.

The colours are those of the 手引き (pale yellow to purple-red), which keep a
lightness order, so the classes still read in order on a greyscale copy.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from civicmap import wording
from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import CRS, DISASTER_TYPES, Credit
from civicmap.sources.hazard_file import read_hazard_file
from civicmap.spec.hazards import HazardSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HazardClass:
    """One legend class: its Japanese name (the glossaries' ``hazard_class.*`` source, read in
    each language by :meth:`label`), colour, and depth bounds (metres)."""

    ja: str
    color: str
    min_m: float = 0.0
    max_m: float | None = None

    def label(self, language: str) -> str:
        return wording.translate(language, "hazard_class", self.ja)


#: 浸水深ランクコード 1–6 → class (手引き colours, lightest to darkest).
DEPTH_CLASSES: tuple[HazardClass, ...] = (
    HazardClass("0.5 m未満", "#f7f5a9", 0.0, 0.5),
    HazardClass("0.5–3 m", "#ffd8c0", 0.5, 3.0),
    HazardClass("3–5 m", "#ffb7b7", 3.0, 5.0),
    HazardClass("5–10 m", "#ff9191", 5.0, 10.0),
    HazardClass("10–20 m", "#f285c9", 10.0, 20.0),
    HazardClass("20 m以上", "#dc7adc", 20.0, None),
)

#: A33 区域区分 1/2 → class.
LANDSLIDE_CLASSES: tuple[HazardClass, ...] = (
    HazardClass("土砂災害警戒区域", "#ffe14b"),
    HazardClass("土砂災害特別警戒区域", "#c8323c"),
)

#: Depth at which a site's ground floor is under water and its use doubtful.
UNUSABLE_DEPTH_M = 3.0

#: Per kind: the official attribute(s) holding the class, and how to read them.
_FIELDS: dict[str, tuple[str, ...]] = {
    "flood": ("A31a_205", "A31a_105", "A31b_205", "A31b_105", "A31_201", "A31_101", "A31_001"),
    "inland_flood": ("A51_005", "A51_003"),
    "landslide": ("A33_002",),
    "tsunami": ("A40_003",),
    "storm_surge": ("A49_003",),
}

#: 国土数値情報 dataset names by kind, per map language (``hazard_dataset.*`` of the
#: glossaries), for the credit 「国土数値情報（…）（国土交通省）」 (``hazard.credit``).
DATASET_NAMES = wording.Table("hazard_dataset")

#: What the maps print about hazards, per map language (never the console's).
PUBLIC_TEXTS = wording.Table("hazard")


#: Short names of every disaster a shelter may serve, per map language (the web map's choice,
#: the paper's view line); the index prints the official ones (DISASTER_TYPES).
DISASTER_NAMES = wording.Table("disaster_short")


def view_line(disaster: str, language: str) -> str:
    """What a ``disaster:`` map says it shows: 「洪水のときの避難先だけを表示しています」."""
    names = DISASTER_NAMES[language]
    return texts(language)["view"].format(kind=names[disaster])


def texts(language: str) -> dict[str, str]:
    """The public hazard texts of a map language."""
    return PUBLIC_TEXTS[language]


def honest_notes(language: str) -> list[str]:
    """The two sentences every map with hazard layers prints (these are not the 水防法 maps)."""
    t = texts(language)
    return [t["not_safe"], t["check_local"]]


@dataclass
class HazardLayer:
    """One loaded hazard file: its zones classed, the legend and the credit."""

    spec: HazardSpec
    zones: gpd.GeoDataFrame  # columns: cls (index into classes), depth (text), geometry
    classes: tuple[HazardClass, ...]
    credit: Credit
    extent: Any = None  # shapely box of what the file covers
    _tree: Any = None

    @property
    def kind(self) -> str:
        return self.spec.kind

    def title(self, language: str) -> str:
        return self.spec.title or texts(language)["legend"].format(kind=texts(language)[self.kind])

    def classes_used(self) -> list[int]:
        return sorted(set(int(c) for c in self.zones["cls"]))

    def at(self, lon: float, lat: float) -> tuple[bool, int | None, str]:
        """``(covered, class index or None, depth text)`` at a point (the deepest zone wins)."""
        covered, cls, depth = self.at_many(np.array([lon]), np.array([lat]))
        return bool(covered[0]), (None if cls[0] < 0 else int(cls[0])), depth[0]

    def at_many(
        self, lons: np.ndarray, lats: np.ndarray, *, points: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, list]:
        """Every point at once: covered (bool), class index (-1: no zone) and depth text.

        One bulk STRtree query for all points (no Python loop over zones), so
        100,000 sites cost about what a ``geopandas.sjoin`` does (bench/bench_hazards.py).
        ``points`` are the same points as shapely geometries when the caller has
        them (a layer's geometry column): they are not made again.
        """
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        n = len(lons)
        if self.extent is not None:  # a box: what the file covers (its bounds)
            w, s, e, nn = self.extent.bounds
            covered = (lons >= w) & (lons <= e) & (lats >= s) & (lats <= nn)
        else:
            covered = np.zeros(n, bool)
        cls = np.full(n, -1, dtype=int)
        if self.zones.empty:
            return covered, cls, [""] * n
        if self._tree is None:
            self._tree = shapely.STRtree(self.zones.geometry.to_numpy())
        pts = points if points is not None else shapely.points(lons, lats)
        point_i, zone_i = self._tree.query(pts, predicate="intersects")
        zone_cls = self.zones["cls"].to_numpy()[zone_i]
        order = np.lexsort((zone_cls, point_i))  # per point, deepest class last
        point_i, zone_i, zone_cls = point_i[order], zone_i[order], zone_cls[order]
        cls[point_i] = zone_cls  # later (deeper) writes win
        texts_ = np.full(n, "", dtype=object)
        texts_[point_i] = self.zones["depth"].to_numpy(dtype=object)[zone_i]  # deeper wins too
        return covered, cls, texts_.tolist()


def credit_for(spec: HazardSpec, *, language: str = wording.SOURCE) -> Credit:
    """「国土数値情報（洪水浸水想定区域データ）（国土交通省）」 with the year, CC BY 4.0 unless told.

    Worded in the map's ``language`` (the glossaries' ``hazard.credit`` and
    ``hazard_dataset.*``); a ``credit:`` in the map file is printed as written.
    """
    dataset = DATASET_NAMES[language][spec.kind]
    text = spec.credit or texts(language)["credit"].format(dataset=dataset)
    return Credit(
        source=f"国土数値情報 {spec.kind}",
        credit=text,
        licence=spec.licence or "CC BY 4.0",
        date=spec.year,
        url="https://nlftp.mlit.go.jp/ksj/",
    )


_DEPTH_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*m\s*(以上|未満)?")


def depth_bounds(text: str) -> tuple[float, float | None] | None:
    """``1m以上2m未満`` → (1, 2); ``0.3m未満`` → (0, 0.3); ``20m以上`` → (20, None)."""
    s = unicodedata.normalize("NFKC", str(text)).replace("ｍ", "m").replace(" ", "")
    parts = _DEPTH_TEXT.findall(s)
    if not parts:
        return None
    lo, hi = 0.0, None
    for value, how in parts:
        v = float(value)
        if how == "未満":
            hi = v
        else:
            lo = v
    return lo, hi


def _depth_class(lo: float) -> int:
    """The index of the depth class holding a lower bound of ``lo`` metres."""
    for i, c in enumerate(DEPTH_CLASSES):
        if c.max_m is None or lo < c.max_m:
            return i
    return len(DEPTH_CLASSES) - 1


def _code(value: Any) -> int | None:
    try:
        f = float(str(value).strip())
    except ValueError:
        return None
    return int(f) if not math.isnan(f) and f == int(f) else None


def _pick_field(spec: HazardSpec, frame: gpd.GeoDataFrame) -> str:
    if spec.field:
        if spec.field not in frame.columns:
            raise SourceError(
                _(
                    "%(name)s: hazards: field %(field)r is not in the file (columns: %(columns)s); "
                    "give the column holding the depth rank or zone class"
                )
                % {"name": spec.file, "field": spec.field, "columns": _columns(frame)}
            )
        return spec.field
    for name in _FIELDS[spec.kind]:
        if name in frame.columns:
            return name
    raise SourceError(
        _(
            "%(name)s: no %(kind)s class column (expected %(expected)s; columns: %(columns)s); "
            "check kind:, or give field: in the map file's hazards entry"
        )
        % {
            "name": spec.file,
            "kind": spec.kind,
            "expected": ", ".join(_FIELDS[spec.kind]),
            "columns": _columns(frame),
        }
    )


def _columns(frame: gpd.GeoDataFrame) -> str:
    return ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)[:300]


def classify(spec: HazardSpec, frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, tuple]:
    """Class every zone through the official code list; rows with an unknown code are dropped."""
    col = _pick_field(spec, frame)
    values = frame[col].tolist()
    cls: list[int | None] = []
    depth: list[str] = []
    if spec.kind == "landslide":
        classes = LANDSLIDE_CLASSES
        for v in values:
            code = _code(v)
            cls.append(code - 1 if code in (1, 2) else None)
            depth.append("")
    elif spec.kind in ("flood", "inland_flood") and all(
        _code(v) is not None for v in values if str(v).strip()
    ):
        classes = DEPTH_CLASSES
        for v in values:
            code = _code(v)
            ok = code is not None and 1 <= code <= len(DEPTH_CLASSES)
            cls.append(code - 1 if ok else None)
            depth.append("")
    else:  # depth written as text (津波, 高潮, some 内水 files)
        classes = DEPTH_CLASSES
        for v in values:
            bounds = depth_bounds(v)
            cls.append(_depth_class(bounds[0]) if bounds else None)
            text = unicodedata.normalize("NFKC", str(v)).strip()
            depth.append(text[:40] if bounds else "")  # a depth, not a paragraph
    out = gpd.GeoDataFrame(
        {"cls": cls, "depth": depth}, geometry=frame.geometry.to_numpy(), crs=frame.crs
    )
    bad = out["cls"].isna()
    if bad.any():
        samples = sorted({str(v) for v, b in zip(values, bad, strict=True) if b})[:5]
        log.warning(
            _(
                "%(name)s: %(n)d zones have a %(field)s value outside the official code list "
                "(%(values)s); they are left out"
            ),
            {
                "name": spec.file.name,
                "n": int(bad.sum()),
                "field": col,
                "values": ", ".join(samples),
            },
        )
    out = out[~bad].copy()
    out["cls"] = out["cls"].astype(int)
    return out.reset_index(drop=True), classes


def load_hazard(
    spec: HazardSpec, *, area: Any = None, language: str = wording.SOURCE
) -> HazardLayer:
    """Read and class one hazard file; zones outside ``area`` (a shapely geometry) are left out.

    ``language``: the map's, in which the credit is worded (:func:`credit_for`).

    The extent (what the file covers) is taken before the cut, so a site
    outside every zone but within the file's reach reads 「想定区域外」, not 「情報なし」.
    """
    frame = read_hazard_file(spec.file)
    extent = shapely.box(*frame.total_bounds)
    zones, classes = classify(spec, frame)
    if area is not None and not zones.empty:
        zones = zones[zones.intersects(area)].reset_index(drop=True)
    return HazardLayer(
        spec=spec,
        zones=zones,
        classes=classes,
        credit=credit_for(spec, language=language),
        extent=extent,
    )


# --------------------------------------------------------------------------- point checks


@dataclass(frozen=True)
class PointHazard:
    """What one hazard layer says at one point."""

    kind: str
    covered: bool
    cls: int | None
    depth: str = ""


def point_line(layer: HazardLayer, hit: PointHazard, *, language: str, upstairs: str = "") -> str:
    """The line a map prints for one hazard at one point, e.g. 「洪水：想定浸水深 3–5 m（2階以上可）」."""
    t = texts(language)
    kind = t[layer.kind]
    if not hit.covered:
        return t["unknown"].format(kind=kind)
    if hit.cls is None:
        return (
            t["outside_landslide"] if layer.kind == "landslide" else t["outside"].format(kind=kind)
        )
    c = layer.classes[hit.cls]
    if layer.kind == "landslide":
        line = t["inside_zone"].format(zone=c.label(language))
        return line + (t["upstairs"].format(note=upstairs) if upstairs else "")
    depth = hit.depth if (hit.depth and language in wording.JAPANESE) else c.label(language)
    line = t["depth"].format(kind=kind, depth=depth)
    if upstairs:
        line += t["upstairs"].format(note=upstairs)
    return line


def unusable(layer: HazardLayer, hit: PointHazard, *, upstairs: bool) -> bool:
    """Whether a site designated for this hazard's disaster may not serve at this point.

    Water: a zone of :data:`UNUSABLE_DEPTH_M` or more, unless the site's upper
    floors are usable (``2階以上可``). 土砂災害: inside a 土砂災害特別警戒区域
    always (buildings there may be destroyed); inside a 警戒区域 unless the site
    says its building serves (a 土砂災害 upper-floor note) — the 災害対策基本法
    施行令 (第20条の3) wants a 指定緊急避難場所 outside the zone where the
    disaster endangers life, a building inside it only when it is built to
    withstand that disaster, which only the municipality knows.
    """
    if hit.cls is None:
        return False
    if layer.kind == "landslide":
        return hit.cls >= 1 or not upstairs
    return layer.classes[hit.cls].min_m >= UNUSABLE_DEPTH_M and not upstairs


def designated(value: Any) -> bool:
    """Whether a ``serves_<disaster>`` value says yes (True, 1; never None, NaN or "")."""
    return value is True or (isinstance(value, int | float | np.bool_) and value == 1)


def _upstairs_for(row: pd.Series, disaster: str) -> str:
    """The site's upper-floor note for ``disaster`` (``2階以上可``), or ``""``.

    ``upstairs_only`` holds notes such as ``洪水: 2階以上可・津波: 3階以上可``
    (:func:`civicmap.join.sites`): the one naming this disaster counts; a note
    naming none (a 垂直避難 column's ``2階以上可``) counts for the rising-water
    disasters only, never for 土砂災害.
    """
    note = row.get("upstairs_only")
    if not isinstance(note, str) or not note.strip():
        return ""
    name = DISASTER_TYPES.get(disaster, disaster)
    for part in note.split("・"):
        head, sep, tail = part.partition(": ")
        if sep and head.strip() == name:
            return tail.strip()
        if not sep and disaster in ("flood", "inland_flood", "tsunami", "storm_surge"):
            return part.strip()
    return ""


@dataclass
class SiteHazards:
    """The lines and flags of one site (or home)."""

    lines: list[str] = field(default_factory=list)
    unusable: list[str] = field(default_factory=list)  # disaster keys
    #: Whether a hazard has something to say here: a zone, or no information (not "outside").
    speaks: bool = False


@dataclass
class HazardResult:
    """Every hazard layer of a map and what each says at its shelters and homes."""

    layers: list[HazardLayer]
    #: (layer id, row label) → the site's lines and flags.
    sites: dict[tuple[str, Any], SiteHazards] = field(default_factory=dict)
    #: (home name, lines).
    homes: list[tuple[str, list[str]]] = field(default_factory=list)
    #: A site's ``source_ref`` → its lines and flags (routes name shelters by reference).
    by_ref: dict[str, SiteHazards] = field(default_factory=dict)
    #: The map's ``disaster:`` (its view draws only that disaster's hazards), or None.
    disaster: str | None = None

    def shown(self) -> list[Any]:
        """The hazard layers the maps draw (on at load on the web): the view's disaster's, or all.

        A map with ``disaster: 洪水`` draws its flood layers only; the others still
        give each site its lines (and the web map offers them in its layer control, off).
        """
        if self.disaster is None:
            return list(self.layers)
        return [layer for layer in self.layers if layer.spec.disaster == self.disaster]

    def lines_for(self, layer_id: str, label: Any) -> list[str]:
        s = self.sites.get((layer_id, label))
        return list(s.lines) if s else []

    def route_line(self, ref: str, *, disaster: str | None, language: str) -> str:
        """What the hazards say at a route's shelter, for the route table (``""``: nothing).

        With the routes' disaster (``serves_<key>`` key, e.g. ``flood``), only the
        hazards of that disaster; else every hazard. Joined as the index prints them.
        """
        site = self.by_ref.get(ref)
        if site is None:
            return ""
        lines = site.lines[: len(self.layers)]
        if disaster:
            lines = [ln for layer, ln in zip(self.layers, lines, strict=False)
                     if layer.spec.disaster == disaster]  # fmt: skip
        return ("、" if language == "ja" else "; ").join(lines)

    def credits(self) -> list[Credit]:
        out: list[Credit] = []
        for layer in self.layers:
            if layer.credit not in out:
                out.append(layer.credit)
        return out


def _site_hazards(
    layers: list[HazardLayer], hits: list[tuple], row: pd.Series, *, language: str
) -> SiteHazards:
    """One site's lines and flags from what each layer says there (``hits``, per layer)."""
    t = texts(language)
    out = SiteHazards()
    for layer, (covered, cls, depth) in zip(layers, hits, strict=True):
        hit = PointHazard(layer.kind, bool(covered), None if cls < 0 else int(cls), depth)
        out.speaks = out.speaks or not hit.covered or hit.cls is not None
        serves = designated(row.get(f"serves_{layer.spec.disaster}"))
        note = _upstairs_for(row, layer.spec.disaster) if serves else ""
        out.lines.append(point_line(layer, hit, language=language, upstairs=note))
        if serves and unusable(layer, hit, upstairs=bool(note)):
            if layer.spec.disaster not in out.unusable:
                out.unusable.append(layer.spec.disaster)
    for disaster in out.unusable:
        out.lines.append(t["unusable"].format(kind=t[disaster]))
    return out


def check_row(
    layers: list[HazardLayer], row: pd.Series, lon: float, lat: float, *, language: str
) -> SiteHazards:
    """Every hazard at one site: a line each, and the disasters it may not serve."""
    hits = []
    for layer in layers:
        covered, cls, depth = layer.at_many(np.array([lon]), np.array([lat]))
        hits.append((covered[0], cls[0], depth[0]))
    return _site_hazards(layers, hits, row, language=language)


def check_sites(
    result: HazardResult, layer_id: str, frame: gpd.GeoDataFrame, *, language: str
) -> None:
    """Fill ``result.sites`` for every row of one shelter layer (one bulk query per hazard)."""
    if frame.empty or not result.layers:
        return
    geoms = frame.geometry.to_crs(CRS)
    ok = geoms.notna() & ~geoms.is_empty
    geoms = geoms[ok]
    pts = geoms.to_numpy().copy()
    polys = shapely.get_type_id(pts) != 0  # an area's site is its representative point
    pts[polys] = shapely.point_on_surface(pts[polys])
    lons, lats = shapely.get_x(pts), shapely.get_y(pts)
    per_layer = [
        layer.at_many(lons, lats, points=pts) if isinstance(layer, HazardLayer)
        else layer.at_many(lons, lats)
        for layer in result.layers
    ]  # fmt: skip
    for i, label in enumerate(geoms.index):
        hits = [(cov[i], cls[i], depth[i]) for cov, cls, depth in per_layer]
        row = frame.loc[label]
        site = _site_hazards(result.layers, hits, row, language=language)
        result.sites[(layer_id, label)] = site
        ref = row.get("source_ref")
        if isinstance(ref, str) and ref:
            result.by_ref.setdefault(ref, site)


def check_homes(
    result: HazardResult, homes: list[tuple[str, float, float]], *, language: str
) -> None:
    """Fill ``result.homes``: the hazard lines at each home (name, lat, lon)."""
    for name, lat, lon in homes:
        lines = check_row(result.layers, pd.Series(dtype=object), lon, lat, language=language)
        result.homes.append((name, lines.lines))


def home_notes(result: HazardResult, *, language: str) -> list[str]:
    """One note per home for the route table and popup: 「自宅：洪水：想定浸水深 0.5–3 m、…」."""
    sep, colon = ("、", "：") if language in wording.JAPANESE else ("; ", ": ")
    return [f"{name}{colon}{sep.join(lines)}" for name, lines in result.homes if lines]


__all__ = [
    "DEPTH_CLASSES",
    "DISASTER_NAMES",
    "LANDSLIDE_CLASSES",
    "HazardClass",
    "HazardLayer",
    "HazardResult",
    "SiteHazards",
    "check_homes",
    "check_sites",
    "classify",
    "credit_for",
    "depth_bounds",
    "designated",
    "home_notes",
    "honest_notes",
    "load_hazard",
    "point_line",
    "view_line",
]


def hazard_summary(
    specs: tuple[HazardSpec, ...],
    *,
    pack_holds: Callable[[HazardSpec], bool] | None = None,
    pack: str = "",
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """What ``civicmap check`` says of a map's hazards: one entry each, and (key, problem) pairs.

    Each entry names the kind, the file, the year and the zones per class as
    read through the code list, so a wrong ``kind:`` (a 土砂災害 file read as
    洪水) shows before anything is printed. Offline (``pack_holds`` given), a
    portal tile set says whether the offline pack ``pack`` holds it, and is a
    problem when it does not: the build would print 「情報なし」 for every site.
    """
    entries: list[dict[str, Any]] = []
    problems: list[tuple[str, str]] = []
    for i, spec in enumerate(specs):
        if spec.tiles:  # a portal tile set: named, not fetched by check
            entry = {"kind": spec.kind, "tiles": spec.tiles, "year": spec.year}
            if pack_holds is not None:
                entry["in_pack"] = held = pack_holds(spec)
                if not held:
                    problems.append((f"hazards[{i}]", _(
                        "offline, and the offline pack %(pack)s holds no tiles of %(name)s: every "
                        "site would say 情報なし; run civicmap fetch MAP.yaml --overwrite with "
                        "the network"
                    ) % {"pack": pack, "name": spec.tiles}))  # fmt: skip
            entries.append(entry)
            continue
        entry: dict[str, Any] = {"kind": spec.kind, "file": spec.file.name, "year": spec.year}
        try:
            layer = load_hazard(spec)
        except SourceError as exc:
            problems.append((f"hazards[{i}]", str(exc)))
            entries.append(entry)
            continue
        counts = layer.zones["cls"].value_counts()
        entry["zones"] = {c.ja: int(counts.get(k, 0)) for k, c in enumerate(layer.classes)}
        entry["credit"] = layer.credit.line()
        entries.append(entry)
    return entries, problems
