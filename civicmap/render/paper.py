"""The printable paper map: a vector PDF (and PNG) a volunteer can print at a convenience store.

One page (or a multi-page atlas) with the basemap, numbered markers whose shape
differs per layer, grid references on the frame, an index of every place in
五十音 order, a scale bar that is true on paper, a north arrow, a legend, notes,
dates, credits and an optional QR code to the web map. The IPAex Gothic font is
embedded as a subset, so Japanese text prints everywhere and stays selectable.

:func:`render_paper` lays out and draws into memory and returns the
:class:`PaperPlan` it used (tests check its geometry against the PDF);
:func:`write_paper` writes the PDF, and the PNG when asked, atomically.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import Geod, Transformer
from reportlab.lib import colors
from reportlab.pdfgen import canvas as rl_canvas

from civicmap import settings
from civicmap._files import atomic_path, check_writable
from civicmap.errors import ConfigError, Problem
from civicmap.mapdata import LayerData, MapData
from civicmap.render import basemap as bm
from civicmap.render._fonts import draw_text, register, text_width
from civicmap.render._layout import (
    MM,
    AtlasPage,
    BoxIndex,
    Grid,
    MapFrame,
    NumberLabel,
    Rect,
    ScaleBar,
    atlas_pages,
    fit_scale,
    kana_key,
    page_size,
    place_numbers,
    scale_bar,
    wrap,
)
from civicmap.render._routes import ordered_routes
from civicmap.render.background import draw_paper_background
from civicmap.render.routes_table import route_notes, route_sections
from civicmap.render.symbols import SHAPES
from civicmap.schema import APPROXIMATE, DISASTER_TYPES

log = logging.getLogger(__name__)

#: Fixed text in each language.
TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "scale": "縮尺",
        "legend": "凡例",
        "index": "索引",
        "index_cont": "索引（続き）",
        "cont": "（続き）",
        "notes": "メモ・連絡先",
        "printed": "印刷日",
        "sources": "出典・データの日付",
        "no_date": "日付不明",
        "approx": "位置は概略（住所から推定）",
        "approx_short": "位置は概略",
        "off_map": "地図の範囲外",
        "edge": "灰色の部分は地図データ（道路・建物）の範囲外です",
        "edge_legend": "地図データの範囲外",
        "qr": "Web版の地図",
        "page": "ページ",
        "overview": "全体図（各ページの範囲）",
        "serves": "対応",
        "phone": "TEL",
        "capacity": "定員",
        "number": "番号",
        "grid_note": "マス目は地図の枠の記号（A, B, …）と数字（1, 2, …）",
        "north": "北",
        "road_major": "主要道路",
        "road_minor": "道路",
        "path": "歩道・小道",
        "railway": "鉄道",
        "station": "駅",
        "building": "建物",
        "park": "公園・緑地",
        "school": "学校",
        "water": "水面・川",
        "landuse": "土地利用",
        "home": "自宅",
        "routes": "避難所までの道のり",
        "route_walk": "徒歩 {m} m・{min}分",
        "route_straight": "直線 {m} m",
        "route_no_walk": "直線距離・道順ではありません",
        "route_speed": "徒歩は分速 {speed:g} m で計算。太い実線が徒歩で最も近い避難所",
        "route_speed_straight": "点線は直線（直線距離・道順ではありません）",
    },
    "en": {
        "scale": "Scale",
        "legend": "Legend",
        "index": "Index",
        "index_cont": "Index (continued)",
        "cont": " (cont.)",
        "notes": "Notes and contacts",
        "printed": "Printed",
        "sources": "Sources and data dates",
        "no_date": "date unknown",
        "approx": "Approximate location (from the address)",
        "approx_short": "approx. location",
        "off_map": "off this map",
        "edge": "Grey: outside the map data (roads, buildings)",
        "edge_legend": "Outside the map data",
        "qr": "Web map",
        "page": "page",
        "overview": "Overview (area of each page)",
        "serves": "Serves",
        "phone": "Tel",
        "capacity": "Capacity",
        "number": "No.",
        "grid_note": "Grid: letters (A, B, ...) and numbers (1, 2, ...) on the frame",
        "north": "N",
        "road_major": "Main road",
        "road_minor": "Road",
        "path": "Footpath",
        "railway": "Railway",
        "station": "Station",
        "building": "Building",
        "park": "Park, green",
        "school": "School",
        "water": "Water",
        "landuse": "Land use",
        "home": "Home",
        "routes": "Walking to shelters",
        "route_walk": "walk {m} m, {min} min",
        "route_straight": "straight line {m} m",
        "route_no_walk": "no walking route",
        "route_speed": "Minutes at {speed:g} m per minute. Solid line: nearest shelter on foot",
        "route_speed_straight": "Dotted: straight line (no route computed)",
    },
}

#: Index column names that stand for several source columns (first non-empty wins).
INDEX_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "TEL", "電話番号", "contact:phone", "tel", "電話"),
    "capacity": ("capacity", "定員", "Capall", "想定収容人数", "収容人数"),
}
_DISASTER_EN = {k: k.replace("_", " ") for k in DISASTER_TYPES}


@dataclass
class Entry:
    """One numbered place: what the index prints and where its marker goes."""

    number: int
    layer: LayerData
    category: str
    name: str
    sort_key: str
    details: list[str]
    approximate: bool
    xy: tuple[float, float]  # projected metres
    ref: str = ""  # grid reference ("B3", or "p2 B3" in an atlas)
    page: int | None = None  # atlas page number
    source_ref: str = ""  # the feature's source_ref (routes name shelters by it)


@dataclass
class RouteLeg:
    """One route from the map's home point to a shelter, as the paper map draws and lists it."""

    rank: int  # 1 = nearest on foot (straight fallbacks after the walked routes)
    name: str
    number: int | None  # the shelter's index number, when it is on the map
    walk: bool  # a walked route (False: a straight line, no street route known)
    nearest: bool  # the nearest shelter on foot: drawn solid
    walk_m: float | None
    walk_min: float | None
    straight_m: float
    coords: list[tuple[float, float]]  # projected metres
    home: str = ""  # which home (homes: several meeting points), for the route table


@dataclass
class FramePlan:
    """A map frame drawn on one PDF page."""

    pdf_page: int  # 1-based
    frame: MapFrame
    grid: Grid
    atlas: AtlasPage | None = None
    numbers: list[NumberLabel] = field(default_factory=list)


@dataclass
class PaperPlan:
    """The layout actually drawn; tests compare it with what the PDF shows."""

    size: str
    orientation: str
    page_w: float
    page_h: float
    scale: int
    crs: str
    large_print: bool
    language: str
    entries: list[Entry] = field(default_factory=list)
    frames: list[FramePlan] = field(default_factory=list)
    scale_bar: ScaleBar | None = None
    scale_bar_rect: Rect | None = None
    atlas_pages: list[AtlasPage] = field(default_factory=list)
    pages: int = 0
    index_pages: list[int] = field(default_factory=list)
    routes: list[RouteLeg] = field(default_factory=list)
    home: tuple[float, float] | None = None  # projected metres


# --------------------------------------------------------------------------- options


def _options(data: MapData, options: dict[str, Any]) -> dict[str, Any]:
    """Validated paper options with defaults (mapfile checks size/orientation/scale already)."""
    file = data.spec.file
    problems = []
    size = str(options.get("size", "A4")).upper()
    orientation = str(options.get("orientation", "portrait"))
    if size not in ("A4", "A3", "B4", "B5"):
        problems.append(
            Problem(file, "outputs.paper.size", f"got {size!r}, expected A4, A3, B4 or B5")
        )
    if orientation not in ("portrait", "landscape"):
        problems.append(
            Problem(
                file,
                "outputs.paper.orientation",
                f"got {orientation!r}, expected portrait or landscape",
            )
        )
    scale = options.get("scale", "fit")
    if scale != "fit" and (
        not isinstance(scale, int | float) or isinstance(scale, bool) or not 500 <= scale <= 200_000
    ):
        problems.append(
            Problem(
                file,
                "outputs.paper.scale",
                f"got {scale!r}, expected fit or a number N (1:N) from 500 to 200000",
            )
        )
    overlap = options.get("overlap", 0.08)
    if not isinstance(overlap, int | float) or isinstance(overlap, bool) or not 0 <= overlap <= 0.5:
        problems.append(
            Problem(
                file,
                "outputs.paper.overlap",
                f"got {overlap!r}, expected a fraction of a page from 0 to 0.5 (e.g. 0.08)",
            )
        )
    qr = options.get("qr")
    if qr is not None and not (isinstance(qr, str) and qr.strip()):
        problems.append(
            Problem(file, "outputs.paper.qr", f"got {qr!r}, expected the web map's URL")
        )
    elif qr is not None and len(qr.strip().encode("utf-8")) > QR_MAX_BYTES:
        # a longer code needs more modules than a phone can read at the printed size
        problems.append(
            Problem(
                file,
                "outputs.paper.qr",
                f"the URL is {len(qr.strip().encode('utf-8')):,} bytes ({qr.strip()[:40]!r}...); "
                f"a printed QR code stays readable up to {QR_MAX_BYTES} bytes: use a shorter URL",
            )
        )
    for key in ("png", "large_print", "atlas"):
        if key in options and not isinstance(options[key], bool):
            problems.append(
                Problem(
                    file, f"outputs.paper.{key}", f"got {options[key]!r}, expected true or false"
                )
            )
    if problems:
        raise ConfigError(problems)
    atlas = bool(options.get("atlas", False))
    if atlas and scale == "fit":
        log.info("atlas without a fixed scale: using 1:5000 (set outputs.paper.scale to change it)")
        scale = 5000
    return {
        "size": size,
        "orientation": orientation,
        "scale": scale if scale == "fit" else int(scale),
        "overlap": float(overlap),
        "qr": qr.strip() if qr else None,
        "png": bool(options.get("png", False)),
        "large_print": bool(options.get("large_print", False)),
        "atlas": atlas,
    }


# --------------------------------------------------------------------------- entries


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    return str(v).strip()


def _details(row: pd.Series, columns: tuple[str, ...], lang: str) -> list[str]:
    t = TEXT[lang]
    out: list[str] = []
    for col in columns:
        value, label = "", ""
        if col in ("disasters", "serves"):
            served = [
                (ja if lang == "ja" else _DISASTER_EN[k])
                for k, ja in DISASTER_TYPES.items()
                if row.get(f"serves_{k}") is True or row.get(f"serves_{k}") == 1
            ]
            if served:
                value, label = ("・" if lang == "ja" else ", ").join(served), t["serves"]
        elif col in INDEX_ALIASES or any(col in v for v in INDEX_ALIASES.values()):
            alias = (
                col
                if col in INDEX_ALIASES
                else next(k for k, v in INDEX_ALIASES.items() if col in v)
            )
            names = (col,) if col not in INDEX_ALIASES else INDEX_ALIASES[col]
            value = next((s for s in (_text(row.get(n)) for n in names) if s), "")
            label = t[alias]
        else:
            value = _text(row.get(col))
            label = "" if col in ("address", "name", "category", "designations") else col
            if col == "other_names" and value:
                label = "＋"  # other facilities at the same site
        if value:
            line = f"{label} {value}" if label else value
            if line not in out:
                out.append(line)
    return out


def _entries(data: MapData, crs: str) -> list[Entry]:
    """Every place of every layer, in index order and numbered 1..n.

    Order: layer (map file order), category (the layer's declared order, then
    others by reading), then 五十音 by ``name_kana`` where known, else the name.
    """
    lang = data.language
    entries: list[Entry] = []
    for layer in data.layers:
        f = layer.features
        if f.empty:
            continue
        proj = f.geometry.to_crs(crs)
        pts = [g if g.geom_type == "Point" else g.representative_point() for g in proj]
        declared = [c.get("name") for c in layer.spec.categories]
        rows = []
        for (_, row), pt in zip(f.iterrows(), pts, strict=True):
            if pt is None or pt.is_empty:
                continue
            name = _text(row.get("name")) or _text(row.get("source_ref"))
            kana = _text(row.get("name_kana"))
            cat = _text(row.get("category"))
            rows.append(
                Entry(
                    number=0,
                    layer=layer,
                    category=cat,
                    name=name,
                    sort_key=kana_key(kana or name),
                    details=_details(row, layer.spec.index, lang),
                    approximate=bool(row.get(APPROXIMATE) is True or row.get(APPROXIMATE) == 1),
                    xy=(pt.x, pt.y),
                    source_ref=_text(row.get("source_ref")),
                )
            )
        cat_rank = {c: i for i, c in enumerate(declared)}
        rows.sort(
            key=lambda e: (
                cat_rank.get(e.category, len(cat_rank)),
                kana_key(e.category),
                e.sort_key,
                e.name,
            )
        )
        entries.extend(rows)
    for i, e in enumerate(entries, start=1):
        e.number = i
    return entries


def _route_legs(data: MapData, crs, entries: list[Entry]) -> list[RouteLeg]:
    """The map's home routes, nearest on foot first, with the shelters' index numbers."""
    proj = ordered_routes(data.routes, crs)
    if proj is None:
        return []
    numbers = {
        e.source_ref: e.number
        for e in entries
        if getattr(e.layer.spec, "role", None) == "shelter" or e.layer.id.startswith("shelter")
    }
    legs: list[RouteLeg] = []
    homes = list(dict.fromkeys(proj["place_ref"])) if "place_ref" in proj.columns else []
    per_home: dict[str, int] = {}
    for _, r in proj.iterrows():
        walk = bool(r["walked"])
        ref = _text(r.get("place_ref"))
        per_home[ref] = i = per_home.get(ref, 0) + 1
        geom = r.geometry
        legs.append(
            RouteLeg(
                rank=i,
                name=_text(r.get("shelter_name")),
                number=numbers.get(_text(r.get("shelter_ref"))),
                walk=walk,
                nearest=bool(r["nearest"]),
                walk_m=float(r["walk_m"]) if walk else None,
                walk_min=float(r["walk_min"]) if walk else None,
                straight_m=float(r["straight_m"]),
                coords=list(geom.coords) if geom is not None and not geom.is_empty else [],
                home=_text(r.get("place_name")) if len(homes) > 1 else "",
            )
        )
    return legs


# --------------------------------------------------------------------------- drawing helpers


def _draw_route(c, pts: list[tuple[float, float]], *, nearest: bool, walk: bool) -> None:
    """A route, B&W-readable: white casing, then black, solid (nearest), dashed or dotted."""
    if len(pts) < 2:
        return
    width = 2.6 if nearest else 1.6
    p = c.beginPath()
    p.moveTo(*pts[0])
    for xy in pts[1:]:
        p.lineTo(*xy)
    c.saveState()
    c.setLineJoin(1)
    c.setLineCap(1)
    c.setStrokeColor(colors.white)
    c.setLineWidth(width + 2.2)
    c.drawPath(p, stroke=1, fill=0)
    c.setStrokeColor(colors.black)
    c.setLineWidth(width)
    if not walk:
        c.setDash([0.1, 3.2])  # dotted: round caps make dots
    elif not nearest:
        c.setDash([5, 2.5])
    c.drawPath(p, stroke=1, fill=0)
    c.restoreState()


def _draw_home(c, x: float, y: float, size: float) -> None:
    """The home point: a black house shape with a white outline (distinct from every layer)."""
    h = size
    c.saveState()
    p = c.beginPath()
    p.moveTo(x - h * 0.45, y - h * 0.45)
    p.lineTo(x + h * 0.45, y - h * 0.45)
    p.lineTo(x + h * 0.45, y + h * 0.1)
    p.lineTo(x, y + h * 0.55)
    p.lineTo(x - h * 0.45, y + h * 0.1)
    p.close()
    c.setLineJoin(1)
    c.setStrokeColor(colors.white)
    c.setLineWidth(2.4)
    c.drawPath(p, stroke=1, fill=0)
    c.setFillColor(colors.black)
    c.setStrokeColor(colors.black)
    c.setLineWidth(0.6)
    c.drawPath(p, stroke=1, fill=1)
    c.restoreState()


def draw_marker(
    c, symbol: str, x: float, y: float, size: float, color: str, *, approximate: bool = False
) -> None:
    """A layer's marker shape at (x, y), filled with the layer colour, black outline."""
    c.saveState()
    p = c.beginPath()
    for poly in SHAPES.get(symbol, SHAPES["circle"]):
        (vx, vy), *rest = poly
        p.moveTo(x + (vx - 0.5) * size, y - (vy - 0.5) * size)
        for vx, vy in rest:
            p.lineTo(x + (vx - 0.5) * size, y - (vy - 0.5) * size)
        p.close()
    c.setFillColor(colors.HexColor(color))
    c.setStrokeColor(colors.black)
    c.setLineWidth(max(0.6, size * 0.08))
    c.setLineJoin(1)
    c.drawPath(p, stroke=1, fill=1)
    if approximate:
        c.setDash([1.5, 1.2])
        c.setLineWidth(0.6)
        c.circle(x, y, size * 0.85, stroke=1, fill=0)
    c.restoreState()


def _number_box(c, label: NumberLabel, fs: float) -> None:
    b = label.box
    c.saveState()
    if label.leader:
        mx, my = label.marker
        tx = min(max(mx, b.x), b.x1)
        ty = min(max(my, b.y), b.y1)
        c.setStrokeColor(colors.black)
        c.setLineWidth(0.45)
        c.line(mx, my, tx, ty)
    c.setFillColor(colors.white)
    c.setStrokeColor(colors.black)
    c.setLineWidth(0.4)
    c.roundRect(b.x, b.y, b.w, b.h, 1.2, stroke=1, fill=1)
    c.restoreState()
    draw_text(c, b.x + b.w / 2, b.y + b.h * 0.22, str(label.number), fs, anchor="middle", bold=True)


def _north_arrow(c, x: float, y: float, size: float, angle: float, label: str) -> Rect:
    """A north arrow at (x, y) turned by ``angle`` degrees (grid north → true north)."""
    c.saveState()
    c.setFillColor(colors.white)
    c.setStrokeColor(colors.black)
    c.setLineWidth(0.5)
    c.circle(x, y, size * 0.62, stroke=1, fill=1)
    c.translate(x, y)
    c.rotate(-angle)
    p = c.beginPath()
    p.moveTo(0, size * 0.5)
    p.lineTo(size * 0.2, -size * 0.35)
    p.lineTo(0, -size * 0.2)
    p.close()
    c.setFillColor(colors.black)
    c.drawPath(p, stroke=1, fill=1)
    p = c.beginPath()
    p.moveTo(0, size * 0.5)
    p.lineTo(-size * 0.2, -size * 0.35)
    p.lineTo(0, -size * 0.2)
    p.close()
    c.setFillColor(colors.white)
    c.drawPath(p, stroke=1, fill=1)
    c.restoreState()
    draw_text(c, x, y + size * 0.62 + 1.5, label, size * 0.32, anchor="middle", halo=2, bold=True)
    return Rect(x - size * 0.65, y - size * 0.65, size * 1.3, size * 1.3 + size * 0.4)


def _draw_scale_bar(c, x: float, y: float, bar: ScaleBar, scale: int, fs: float, lang: str) -> Rect:
    """Scale bar with its ratio; tick numbers centred on their ticks (tests measure them)."""
    t = TEXT[lang]
    draw_text(c, x, y + fs * 2.6, f"{t['scale']} 1:{scale:,}", fs * 1.1, bold=True)
    h = 3.2
    by = y + fs * 1.3
    segs = 4
    for i in range(segs):
        c.setFillColor(colors.black if i % 2 == 0 else colors.white)
        c.setStrokeColor(colors.black)
        c.setLineWidth(0.5)
        c.rect(x + bar.length * i / segs, by, bar.length / segs, h, stroke=1, fill=1)
    for m in bar.ticks:
        tx = x + bar.length * m / bar.metres
        draw_text(c, tx, y, bar.tick_label(m), fs, anchor="middle")
    draw_text(c, x + bar.length + 3, y, bar.unit, fs)
    return Rect(x, by, bar.length, h)


def _grid(c, g: Grid, fs: float) -> None:
    r = g.rect
    c.saveState()
    c.setStrokeColor(colors.Color(0.25, 0.25, 0.25, alpha=0.55))
    c.setLineWidth(0.35)
    c.setDash([3, 2])
    for i in range(1, g.cols):
        x = r.x + r.w * i / g.cols
        c.line(x, r.y, x, r.y1)
    for j in range(1, g.rows):
        y = r.y + r.h * j / g.rows
        c.line(r.x, y, r.x1, y)
    c.restoreState()
    for i in range(g.cols):
        x = r.x + r.w * (i + 0.5) / g.cols
        draw_text(c, x, r.y1 + 1.6, g.col_label(i), fs, anchor="middle", bold=True)
        draw_text(c, x, r.y - fs - 0.8, g.col_label(i), fs, anchor="middle", bold=True)
    for j in range(g.rows):
        y = r.y1 - r.h * (j + 0.5) / g.rows - fs * 0.35
        draw_text(c, r.x - 2.0, y, str(j + 1), fs, anchor="end", bold=True)
        draw_text(c, r.x1 + 2.0, y, str(j + 1), fs, bold=True)


# --------------------------------------------------------------------------- the renderer


class _Renderer:
    """Draws one paper map; holds the projected data and the sizes for normal or large print."""

    def __init__(self, data: MapData, opts: dict[str, Any]):
        register()
        self.data = data
        self.opts = opts
        self.lang = data.language
        self.t = TEXT[self.lang]
        lp = opts["large_print"]
        self.f = 1.4 if lp else 1.0  # text factor
        self.marker = 12.0 if lp else 8.0
        self.num_fs = 9.0 if lp else 6.5
        self.pw, self.ph = page_size(opts["size"], opts["orientation"])
        area = gpd.GeoSeries([data.area.geometry], crs="EPSG:4326")
        self.crs = area.estimate_utm_crs()
        self.area = area.to_crs(self.crs).iloc[0]
        self.basemap = (
            data.basemap.to_crs(self.crs)
            if data.basemap is not None and not data.basemap.empty
            else None
        )
        self.edge = (
            gpd.GeoSeries([data.data_edge], crs="EPSG:4326").to_crs(self.crs).iloc[0]
            if data.data_edge is not None
            else None
        )
        c = self.area.centroid
        lon, lat = data.area.geometry.centroid.coords[0]
        fwd = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        # Point scale factor (projected / true length) and grid-north → true-north angle.
        x0, y0 = fwd.transform(lon, lat)
        x1, y1 = fwd.transform(lon + 0.01, lat)
        true_len = Geod(ellps="GRS80").inv(lon, lat, lon + 0.01, lat)[2]
        self.k = math.hypot(x1 - x0, y1 - y0) / true_len if true_len else 1.0
        xn, yn = fwd.transform(lon, lat + 0.01)
        self.north_angle = math.degrees(math.atan2(xn - x0, yn - y0))
        self.centre = (c.x, c.y)
        self.entries = _entries(data, self.crs)
        self.routes = _route_legs(data, self.crs, self.entries)
        self.home = None
        if self.routes and data.spec.home is not None:
            self.home = fwd.transform(data.spec.home[1], data.spec.home[0])
        elif self.routes and self.routes[0].coords:
            self.home = self.routes[0].coords[0]
        # homes: several starting points, each drawn with its name (the first is self.home)
        self.other_homes = [
            (leg.home, leg.coords[0])
            for leg in self.routes
            if leg.home and leg.coords and leg.rank == 1 and leg.coords[0] != self.home
        ]
        self.plan = PaperPlan(
            size=opts["size"],
            orientation=opts["orientation"],
            page_w=self.pw,
            page_h=self.ph,
            scale=0,
            crs=str(self.crs),
            large_print=lp,
            language=self.lang,
            entries=self.entries,
            routes=self.routes,
            home=self.home,
        )
        self.page_no = 1
        self.edge_drawn = False

    # ---- sizes
    def fs(self, base: float) -> float:
        return base * self.f

    # ---- header
    def header(self, c, *, title: str, subtitle: str, right: str = "") -> float:
        """Title and subtitle at the top; returns the header height."""
        m = 10 * MM
        ts = self.fs(15)
        max_w = self.pw - 2 * m - (text_width(right, self.fs(9)) + 8 if right else 0)
        while text_width(title, ts) > max_w and ts > 8:
            ts -= 0.5
        y = self.ph - m - ts
        draw_text(c, m, y, title, ts, bold=True)
        h = ts + 2
        if right:
            draw_text(c, self.pw - m, y, right, self.fs(9), anchor="end", bold=True)
        if subtitle:
            ss = self.fs(8)
            for line in wrap(subtitle, self.pw - 2 * m, lambda s: text_width(s, ss)):
                h += ss * 1.3
                draw_text(c, m, self.ph - m - h, line, ss)
        return h + 3

    # ---- map frame
    def draw_frame(
        self, c, frame: MapFrame, *, atlas: AtlasPage | None = None, numbered: bool = True
    ) -> FramePlan:
        r = frame.rect
        grid = Grid.for_frame(r, cell_mm=55 if self.f > 1 else 40)
        c.saveState()
        p = c.beginPath()
        p.rect(r.x, r.y, r.w, r.h)
        c.clipPath(p, stroke=0, fill=0)
        c.setFillColor(colors.white)
        c.rect(r.x, r.y, r.w, r.h, stroke=0, fill=1)
        draw_paper_background(c, self.data, frame, self.crs)  # tiles / N03 outlines (#14)
        bm.draw_basemap(c, self.basemap, frame, weight=1.15 if self.f > 1 else 1.0)
        if bm.draw_data_edge(c, self.edge, frame, note=self.t["edge"], size=self.fs(6.5)):
            self.edge_drawn = True
        for leg in sorted(self.routes, key=lambda g: g.nearest):  # the nearest on top
            _draw_route(c, [frame.to_page(x, y) for x, y in leg.coords],
                        nearest=leg.nearest, walk=leg.walk)  # fmt: skip
        c.restoreState()
        _grid(c, grid, self.fs(7.5))
        avoid = BoxIndex()
        # North arrow in the top right corner of the frame.
        na = 14 * self.f
        avoid.add(
            _north_arrow(c, r.x1 - na, r.y1 - na * 1.05, na, self.north_angle, self.t["north"])
        )
        if atlas is not None:
            self._neighbours(c, frame, atlas, avoid)
        fplan = FramePlan(self.page_no, frame, grid, atlas)
        minx, miny, maxx, maxy = frame.extent
        shown = [e for e in self.entries if minx <= e.xy[0] <= maxx and miny <= e.xy[1] <= maxy]
        marks = []
        for e in shown:
            x, y = frame.to_page(*e.xy)
            draw_marker(c, e.layer.spec.style.get("symbol", "circle"), x, y, self.marker,
                        e.layer.spec.style.get("color", "#1c7ed6"), approximate=e.approximate)  # fmt: skip
            marks.append((e.number, x, y))
            if atlas is None:
                e.ref = grid.cell(x, y)
        first_home = next((leg.home for leg in self.routes if leg.home), "")
        homes = [(first_home, self.home)] if self.home is not None else []
        for name, xy in [*homes, *getattr(self, "other_homes", [])]:
            if not (minx <= xy[0] <= maxx and miny <= xy[1] <= maxy):
                continue
            hx, hy = frame.to_page(*xy)
            hs = self.marker * 1.4
            _draw_home(c, hx, hy, hs)
            label = name or self.t["home"]
            lw = text_width(label, self.fs(7.5))
            draw_text(c, hx + hs * 0.6, hy - self.fs(7.5) * 0.35, label, self.fs(7.5),
                      halo=2, bold=True)  # fmt: skip
            avoid.add(Rect(hx - hs / 2, hy - hs / 2, hs * 1.1 + lw, hs))
        if numbered:
            h = self.num_fs * 1.3
            fplan.numbers = place_numbers(
                marks,
                marker_size=self.marker,
                box_w=lambda n: text_width(str(n), self.num_fs) + 2.6,
                box_h=h,
                bounds=r,
                avoid=avoid,
            )
            for lab in fplan.numbers:
                _number_box(c, lab, self.num_fs)
                avoid.add(lab.box)
        # Basemap labels last, where they cover no number.
        c.saveState()
        p = c.beginPath()
        p.rect(r.x, r.y, r.w, r.h)
        c.clipPath(p, stroke=0, fill=0)
        for lab in fplan.numbers:
            x, y = lab.marker
            avoid.add(Rect(x - self.marker / 2, y - self.marker / 2, self.marker, self.marker))
        bm.draw_labels(c, self.basemap, frame, avoid=avoid, size=self.fs(6.3),
                       name_column="name_en" if self.lang == "en" else "name")  # fmt: skip
        c.restoreState()
        c.saveState()
        c.setStrokeColor(colors.black)
        c.setLineWidth(0.9)
        c.rect(r.x, r.y, r.w, r.h, stroke=1, fill=0)
        c.restoreState()
        self.plan.frames.append(fplan)
        return fplan

    def _neighbours(self, c, frame: MapFrame, page: AtlasPage, avoid: BoxIndex) -> None:
        """Name the neighbouring atlas pages at the frame's edges."""
        r = frame.rect
        fs = self.fs(7.5)
        word = self.t["page"]
        arrows = {"N": "↑", "S": "↓", "W": "←", "E": "→"}
        for d, n in page.neighbours.items():
            text = (
                f"{arrows.get(d, '')} {word} {n}".strip()
                if self.lang == "en"
                else f"{arrows.get(d, '')}{n}{word}"
            )
            w = text_width(text, fs) + 4
            h = fs * 1.5
            x = {"W": r.x + 2, "E": r.x1 - w - 2}.get(d[-1], r.x + r.w / 2 - w / 2)
            y = {"N": r.y1 - h - 2, "S": r.y + 2}.get(d[0], r.y + r.h / 2 - h / 2)
            if d in ("NE",):
                x -= 40 * self.f  # keep clear of the north arrow
            c.saveState()
            c.setFillColor(colors.white)
            c.setStrokeColor(colors.black)
            c.setLineWidth(0.5)
            c.rect(x, y, w, h, stroke=1, fill=1)
            c.restoreState()
            draw_text(c, x + w / 2, y + h * 0.3, text, fs, anchor="middle", bold=True)
            avoid.add(Rect(x, y, w, h))

    # ---- side panel: scale, legend, notes, QR, credits
    def panel_blocks(
        self, width: float, scale: int, *, with_scale: bool = True
    ) -> list[tuple[float, Callable]]:
        t = self.t
        blocks: list[tuple[float, Callable]] = []
        fs = self.fs(7)
        small = self.fs(5.8)
        if with_scale:
            bar = scale_bar(scale, target_mm=min(40.0, width / MM * 0.6))
            self.plan.scale_bar = bar

            def draw_scale(c, x, y_top, bar=bar):
                rect = _draw_scale_bar(c, x, y_top - fs * 3.7, bar, scale, fs, self.lang)
                if self.plan.scale_bar_rect is None:
                    self.plan.scale_bar_rect = rect

            blocks.append((fs * 4.4, draw_scale))
        # Legend: one line per layer (with its symbol), then the basemap kinds present.
        lines: list[tuple[str, Any]] = []
        for layer in self.data.layers:
            lines.append((layer.spec.title_in(self.lang) + f" ({len(layer.features)})", layer))
        if any(e.approximate for e in self.entries):
            lines.append((t["approx"], "approx"))
        lines.append(("", "number"))
        kinds = []
        if self.basemap is not None:
            present = set(self.basemap["kind"])
            kinds = [k for k in ("road_major", "road_minor", "path", "railway", "station", "building",
                                 "park", "school", "water") if k in present]  # fmt: skip
        if self.edge is not None:
            kinds.append("data_edge")
        lh = max(fs * 1.5, self.marker + 2)
        text_w = width - self.marker - 6
        wrapped = [
            (wrap(txt, text_w, lambda s: text_width(s, fs)) if txt else [""], what)
            for txt, what in lines
        ]
        legend_h = fs * 1.8 + sum(max(lh, len(w) * fs * 1.25) for w, _ in wrapped)
        legend_h += math.ceil(len(kinds) / 2) * fs * 1.5 + 2

        def draw_legend(c, x, y_top):
            draw_text(c, x, y_top - fs, t["legend"], fs * 1.1, bold=True)
            y = y_top - fs * 1.8
            for wl, what in wrapped:
                hh = max(lh, len(wl) * fs * 1.25)
                cy = y - lh / 2
                if isinstance(what, LayerData):
                    st = what.spec.style
                    draw_marker(
                        c,
                        st.get("symbol", "circle"),
                        x + self.marker / 2,
                        cy,
                        self.marker,
                        st.get("color", "#1c7ed6"),
                    )
                elif what == "approx":
                    draw_marker(
                        c,
                        "circle",
                        x + self.marker / 2,
                        cy,
                        self.marker * 0.8,
                        "#ffffff",
                        approximate=True,
                    )
                elif what == "number":
                    lab = NumberLabel(
                        12,
                        (x, cy),
                        Rect(
                            x,
                            cy - self.num_fs * 0.65,
                            text_width("12", self.num_fs) + 2.6,
                            self.num_fs * 1.3,
                        ),
                        False,
                    )
                    _number_box(c, lab, self.num_fs)
                    wl = [f"{t['number']} → {t['index']}"]
                for i, line in enumerate(wl):
                    draw_text(c, x + self.marker + 5, cy - fs * 0.35 - i * fs * 1.25, line, fs)
                y -= hh
            col_w = width / 2
            for i, k in enumerate(kinds):
                kx = x + (i % 2) * col_w
                ky = y - (i // 2) * fs * 1.5 - fs * 1.2
                bm.draw_swatch(c, k, Rect(kx, ky, 16, fs))
                label = t["edge_legend"] if k == "data_edge" else t[k]
                draw_text(c, kx + 20, ky + fs * 0.15, label, fs * 0.92)

        blocks.append((legend_h, draw_legend))
        if self.routes:
            blocks.append(self._routes_block(width))
        notes = self.data.spec.notes.strip()
        if notes:
            nl = wrap(notes, width - 8, lambda s: text_width(s, fs))
            nh = fs * 1.6 + len(nl) * fs * 1.3 + 6

            def draw_notes(c, x, y_top, nl=nl, nh=nh):
                c.saveState()
                c.setLineWidth(0.8)
                c.rect(x, y_top - nh, width, nh, stroke=1, fill=0)
                c.restoreState()
                draw_text(c, x + 4, y_top - fs * 1.3, t["notes"], fs, bold=True)
                for i, line in enumerate(nl):
                    draw_text(c, x + 4, y_top - fs * 2.9 - i * fs * 1.3, line, fs)

            blocks.append((nh + 3, draw_notes))
        qr = self.opts["qr"]
        if qr:
            qs = 22 * MM * (1.2 if self.f > 1 else 1.0)
            ql = wrap(qr, width - qs - 6, lambda s: text_width(s, small))

            def draw_qr(c, x, y_top, qs=qs, ql=ql):
                from reportlab.graphics import renderPDF
                from reportlab.graphics.barcode.qr import QrCodeWidget
                from reportlab.graphics.shapes import Drawing

                w = QrCodeWidget(qr, barLevel="M")
                bx0, by0, bx1, by1 = w.getBounds()
                d = Drawing(qs, qs, transform=[qs / (bx1 - bx0), 0, 0, qs / (by1 - by0), 0, 0])
                d.add(w)
                renderPDF.draw(d, c, x, y_top - qs)
                draw_text(c, x + qs + 4, y_top - fs * 1.2, t["qr"], fs, bold=True)
                for i, line in enumerate(ql):
                    draw_text(c, x + qs + 4, y_top - fs * 2.6 - i * small * 1.25, line, small)

            blocks.append((qs + 3, draw_qr))
        # Dates and credits: every source, with its data date (or "date unknown").
        cl = [f"{t['printed']}: {self.data.built:%Y-%m-%d}", t["sources"] + ":"]
        for cr in self.data.credits():
            line = cr.line() if cr.date else f"{cr.line()} / {t['no_date']}"
            cl.extend("・" + s if i == 0 else "  " + s for i, s in
                      enumerate(wrap(line, width - 8, lambda s: text_width(s, small))))  # fmt: skip
        ch = len(cl) * small * 1.3 + 2

        def draw_credits(c, x, y_top, cl=cl):
            for i, line in enumerate(cl):
                draw_text(c, x, y_top - small - i * small * 1.3, line, small)

        blocks.append((ch, draw_credits))
        return blocks

    def _routes_block(self, width: float) -> tuple[float, Callable]:
        """The "walking to shelters" box: one line per route, nearest on foot first."""
        t = self.t
        fs = self.fs(6.6)
        small = self.fs(5.6)
        sep = "／" if self.lang == "ja" else " / "
        rows: list[tuple[RouteLeg, list[str]]] = []
        text_w = width - 8 - 18
        firsts = {id(sec.legs[0]): sec.home for sec in route_sections(self.routes) if sec.home}
        for leg in self.routes:
            head = f"{leg.rank}. {leg.name}" + (f" [{leg.number}]" if leg.number else "")
            if id(leg) in firsts:  # several homes: a heading per home
                head = f"【{firsts[id(leg)]}】\n{head}"
            parts = []
            if leg.walk and leg.walk_m is not None and leg.walk_min is not None:
                parts.append(t["route_walk"].format(m=f"{round(leg.walk_m):,}",
                                                    min=math.ceil(leg.walk_min)))  # fmt: skip
            else:
                parts.append(t["route_no_walk"])
            parts.append(t["route_straight"].format(m=f"{round(leg.straight_m):,}"))
            lines = [
                w for h in head.split("\n") for w in wrap(h, text_w, lambda s: text_width(s, fs))
            ]
            lines += wrap(sep.join(parts), text_w, lambda s: text_width(s, fs))
            rows.append((leg, lines))
        notes = [t["route_speed"].format(speed=settings.walking_speed_m_per_min)]
        if any(not leg.walk for leg in self.routes):
            notes.append(t["route_speed_straight"])
        notes.extend(route_notes(self.data, self.lang))
        nl = [s for n in notes for s in wrap(n, width - 8, lambda s: text_width(s, small))]
        lh = fs * 1.25
        h = fs * 1.9 + sum(len(ls) * lh + 1.5 for _, ls in rows) + len(nl) * small * 1.25 + 4

        def draw(c, x, y_top, rows=rows, nl=nl, h=h):
            c.saveState()
            c.setLineWidth(0.8)
            c.rect(x, y_top - h, width, h, stroke=1, fill=0)
            c.restoreState()
            draw_text(c, x + 4, y_top - fs * 1.3, t["routes"], fs * 1.05, bold=True)
            y = y_top - fs * 1.9
            for leg, lines in rows:
                if id(leg) in firsts:  # the home's heading line comes first: its name, bold
                    draw_text(c, x + 4, y - fs, lines[0], fs, bold=True)
                    lines = lines[1:]
                    y -= lh
                _draw_route(c, [(x + 4, y - fs * 0.55), (x + 18, y - fs * 0.55)],
                            nearest=leg.nearest, walk=leg.walk)  # fmt: skip
                for i, line in enumerate(lines):
                    draw_text(c, x + 22, y - fs - i * lh, line, fs, bold=(i == 0 and leg.nearest))
                y -= len(lines) * lh + 1.5
            for i, line in enumerate(nl):
                draw_text(c, x + 4, y - small - i * small * 1.25, line, small)

        return (h + 3, draw)

    @staticmethod
    def blocks_height(blocks) -> float:
        return sum(h for h, _ in blocks) + 4 * len(blocks)

    @staticmethod
    def draw_blocks(c, blocks, x: float, y_top: float) -> None:
        for h, fn in blocks:
            fn(c, x, y_top)
            y_top -= h + 4

    # ---- index
    def index_items(
        self, width: float, *, atlas: bool
    ) -> list[tuple[float, Callable, tuple[str, str]]]:
        """The index as blocks (height, draw, (layer, category)) flowed into columns."""
        fs = self.fs(7.2)
        ds = self.fs(6.2)
        nw = text_width("000", fs) + 4
        refw = text_width("p00 M00" if atlas else "M00", fs) + 3
        items: list[tuple[float, Callable, tuple[str, str]]] = []
        cur_layer = None
        cur_cat = None
        for e in self.entries:
            if e.layer is not cur_layer:
                cur_layer, cur_cat = e.layer, None
                items.append(self._layer_heading(e.layer, width, fs, cont=False))
            if e.category != cur_cat:
                cur_cat = e.category
                items.append(self._cat_heading(e, fs, cont=False))
            name = e.name + (f"（{self.t['approx_short']}）" if e.approximate and self.lang == "ja"
                             else (f" ({self.t['approx_short']})" if e.approximate else ""))  # fmt: skip
            nl = wrap(name, width - nw - refw, lambda s: text_width(s, fs))
            dl = [s for d in e.details for s in wrap(d, width - nw, lambda s: text_width(s, ds))]
            h = len(nl) * fs * 1.22 + len(dl) * ds * 1.2 + 1.8

            def draw(c, x, y_top, e=e, nl=nl, dl=dl):
                y = y_top - fs
                draw_text(c, x + nw - 3, y, str(e.number), fs, anchor="end", bold=True)
                ref = e.ref or self.t["off_map"]
                draw_text(c, x + width, y, ref, fs * (1 if e.ref else 0.8), anchor="end")
                for i, line in enumerate(nl):
                    draw_text(c, x + nw, y - i * fs * 1.22, line, fs)
                y -= (len(nl) - 1) * fs * 1.22
                for i, line in enumerate(dl):
                    draw_text(
                        c,
                        x + nw,
                        y - ds * 1.2 * (i + 1),
                        line,
                        ds,
                        color=colors.Color(0.2, 0.2, 0.2),
                    )

            items.append((h, draw, (e.layer.id, e.category)))
        return items

    def _layer_heading(self, layer: LayerData, width: float, fs: float, *, cont: bool):
        title = layer.spec.title_in(self.lang) + (self.t["cont"] if cont else "")
        hs = fs * 1.15
        h = max(hs * 1.6, self.marker + 3)

        def draw(c, x, y_top):
            st = layer.spec.style
            draw_marker(
                c,
                st.get("symbol", "circle"),
                x + self.marker / 2,
                y_top - h / 2,
                self.marker,
                st.get("color", "#1c7ed6"),
            )
            draw_text(c, x + self.marker + 4, y_top - h / 2 - hs * 0.35, title, hs, bold=True)
            c.saveState()
            c.setLineWidth(0.6)
            c.line(x, y_top - h, x + width, y_top - h)
            c.restoreState()

        return (h + 2, draw, ("#layer", layer.id))

    def _cat_heading(self, e: Entry, fs: float, *, cont: bool):
        title = e.layer.spec.category_title(e.category, self.lang) or "—"
        title += self.t["cont"] if cont else ""
        h = fs * 1.6

        def draw(c, x, y_top):
            draw_text(
                c,
                x + 2,
                y_top - fs * 1.2,
                f"■ {title}",
                fs * 0.95,
                bold=True,
                color=colors.Color(0.15, 0.15, 0.15),
            )

        return (h, draw, ("#cat", e.category))

    def flow_index(
        self, c, items, first_boxes: list[Rect], width_for_new: Callable[[], list[Rect]]
    ) -> None:
        """Flow index items into column boxes, adding pages as needed; nothing is cut off.

        A column never starts with a lone heading: headings move with the first
        entry under them, and a group broken across columns repeats its
        headings marked "continued".
        """
        boxes: Iterator[Rect] = iter(first_boxes)
        box = next(boxes, None)
        y = box.y1 if box else 0
        cur_layer_item = None
        cur_cat_entry: Entry | None = None
        fs = self.fs(7.2)
        i = 0
        first_in_box = True
        while i < len(items):
            group = [items[i]]
            # Keep headings with the following entry.
            j = i
            while group[-1][2][0] in ("#layer", "#cat") and j + 1 < len(items):
                j += 1
                group.append(items[j])
            gh = sum(g[0] for g in group)
            if box is None or (y - gh < box.y and not first_in_box):
                box = next(boxes, None)
                if box is None:
                    boxes = iter(width_for_new())
                    box = next(boxes)
                y = box.y1
                first_in_box = True
                if group[0][2][0] not in ("#layer",) and cur_layer_item is not None:
                    # Repeat headings for a group continued in a new column.
                    lh = self._layer_heading(cur_layer_item, box.w, fs, cont=True)
                    lh[1](c, box.x, y)
                    y -= lh[0]
                    if group[0][2][0] != "#cat" and cur_cat_entry is not None:
                        ch = self._cat_heading(cur_cat_entry, fs, cont=True)
                        ch[1](c, box.x, y)
                        y -= ch[0]
            for gh_i, gfn, gkey in group:
                gfn(c, box.x, y)
                y -= gh_i
                if gkey[0] == "#layer":
                    cur_layer_item = self.data.layer(gkey[1])
                elif gkey[0] == "#cat":
                    cur_cat_entry = next(
                        (
                            e
                            for e in self.entries
                            if e.layer is cur_layer_item and e.category == gkey[1]
                        ),
                        None,
                    )
            first_in_box = False
            i = j + 1

    def continuation_page(self, c, *, first: bool = False) -> list[Rect]:
        """Start an index page; return its column boxes."""
        c.showPage()
        c.setPageSize((self.pw, self.ph))
        self.page_no += 1
        self.plan.index_pages.append(self.page_no)
        right = self.t["index"] if first else self.t["index_cont"]
        h = self.header(c, title=self.data.spec.title, subtitle="", right=right)
        m = 10 * MM
        ncol = 3 if self.pw < self.ph else 4
        if self.f > 1:
            ncol -= 1
        gap = 5 * MM
        w = (self.pw - 2 * m - gap * (ncol - 1)) / ncol
        return [Rect(m + i * (w + gap), m, w, self.ph - 2 * m - h) for i in range(ncol)]

    # ---- pages
    def single(self, c) -> None:
        o = self.opts
        m = 10 * MM
        gut = 5.5 * MM * (1.3 if self.f > 1 else 1.0)
        hh = self.header(c, title=self.data.spec.title, subtitle=self.data.spec.subtitle)
        content = Rect(m, m, self.pw - 2 * m, self.ph - 2 * m - hh)
        portrait = self.pw < self.ph
        gap = 4 * MM
        panel_w = content.w * (0.38 if portrait else 0.3)
        minx, miny, maxx, maxy = self.area.bounds
        ground = ((maxx - minx) / self.k * 1.04, (maxy - miny) / self.k * 1.04)
        # The panel's height depends on the scale only through the bar; measure it at a guess.
        probe = self.panel_blocks(panel_w, 5000)
        panel_h = self.blocks_height(probe)
        self.plan.scale_bar = None
        if portrait:
            bottom = min(max(panel_h, content.h * 0.3), content.h * 0.55)
            frame_rect = Rect(content.x + gut, content.y + bottom + gap + gut,
                              content.w - 2 * gut, content.h - bottom - gap - 2 * gut)  # fmt: skip
            panel = Rect(content.x1 - panel_w, content.y, panel_w, bottom)
            idx_area = Rect(content.x, content.y, content.w - panel_w - gap, bottom)
            ncol = 2 if self.f == 1 else 1
        else:
            frame_rect = Rect(
                content.x + gut,
                content.y + gut,
                content.w - panel_w - gap - 2 * gut,
                content.h - 2 * gut,
            )
            panel = Rect(content.x1 - panel_w, content.y1 - panel_h, panel_w, panel_h)
            idx_area = Rect(panel.x, content.y, panel_w, max(0.0, content.h - panel_h - gap))
            ncol = 1
        scale = (
            o["scale"] if o["scale"] != "fit" else fit_scale(*ground, frame_rect.w, frame_rect.h)
        )
        self.plan.scale = scale
        frame = MapFrame(frame_rect, self.centre[0], self.centre[1], scale, self.k)
        fx0, fy0, fx1, fy1 = frame.extent
        if o["scale"] != "fit" and (fx0 > minx or fy0 > miny or fx1 < maxx or fy1 < maxy):
            log.warning(
                "%s: the area is larger than one %s page at 1:%s; parts are cut off "
                "(set outputs.paper.atlas: true for several pages, or a larger scale number)",
                self.data.spec.file, o["size"], f"{scale:,}",
            )  # fmt: skip
        self.draw_frame(c, frame)
        self.draw_blocks(c, self.panel_blocks(panel.w, scale), panel.x, panel.y1)
        cw = (idx_area.w - gap * (ncol - 1)) / ncol
        first = (
            [Rect(idx_area.x + i * (cw + gap), idx_area.y, cw, idx_area.h) for i in range(ncol)]
            if idx_area.h > 40
            else []
        )
        if first:
            draw_text(
                c, first[0].x, first[0].y1 - self.fs(8), self.t["index"], self.fs(8.5), bold=True
            )
            first = [Rect(b.x, b.y, b.w, b.h - self.fs(12)) for b in first]
        if not first:
            first = self.continuation_page(c, first=True)
        # All columns of one flow share a width (the index is measured once).
        items = self.index_items(min(b.w for b in first), atlas=False)
        self.flow_index(c, items, first, lambda: self.continuation_page(c))

    def atlas(self, c) -> None:
        o = self.opts
        m = 10 * MM
        gut = 5.5 * MM * (1.3 if self.f > 1 else 1.0)
        scale = o["scale"]
        self.plan.scale = scale
        # Map pages: a small header, the frame fills the rest of the page.
        header_h = self.fs(15) + 5
        frame_rect = Rect(
            m + gut, m + gut, self.pw - 2 * m - 2 * gut, self.ph - 2 * m - header_h - 2 * gut
        )
        probe = MapFrame(frame_rect, 0, 0, scale, self.k)
        fg = (frame_rect.w / probe.pt_per_unit, frame_rect.h / probe.pt_per_unit)
        area = self.area

        def covers(x0, y0, x1, y1):
            return area.intersects(shapely.box(x0, y0, x1, y1))

        pages = atlas_pages(area.bounds, fg, overlap=o["overlap"], covers=covers)
        self.plan.atlas_pages = pages
        # Each place belongs to the page where it sits farthest from an edge.
        for e in self.entries:
            best, best_d = None, -1.0
            for pg in pages:
                cx, cy = pg.center
                d = min(fg[0] / 2 - abs(e.xy[0] - cx), fg[1] / 2 - abs(e.xy[1] - cy))
                if d > best_d:
                    best, best_d = pg, d
            if best is not None and best_d >= 0:
                e.page = best.number
        # Overview page.
        hh = self.header(
            c,
            title=self.data.spec.title,
            subtitle=self.data.spec.subtitle,
            right=self.t["overview"],
        )
        content = Rect(m, m, self.pw - 2 * m, self.ph - 2 * m - hh)
        portrait = self.pw < self.ph
        panel_w = content.w * (0.45 if portrait else 0.3)
        ph = self.blocks_height(self.panel_blocks(panel_w, scale))
        if portrait:
            ov_rect = Rect(
                content.x + gut,
                content.y + ph + 4 * MM + gut,
                content.w - 2 * gut,
                content.h - ph - 4 * MM - 2 * gut,
            )
            px, py = content.x, content.y + ph
        else:
            ov_rect = Rect(
                content.x + gut,
                content.y + gut,
                content.w - panel_w - 4 * MM - 2 * gut,
                content.h - 2 * gut,
            )
            px, py = content.x1 - panel_w, content.y1
        ux = [pg.center[0] for pg in pages]
        uy = [pg.center[1] for pg in pages]
        ext = (min(ux) - fg[0] / 2, min(uy) - fg[1] / 2, max(ux) + fg[0] / 2, max(uy) + fg[1] / 2)
        ov_scale = fit_scale(
            (ext[2] - ext[0]) / self.k * 1.02,
            (ext[3] - ext[1]) / self.k * 1.02,
            ov_rect.w,
            ov_rect.h,
        )
        ov = MapFrame(ov_rect, (ext[0] + ext[2]) / 2, (ext[1] + ext[3]) / 2, ov_scale, self.k)
        blocks = self.panel_blocks(panel_w, ov_scale)  # the overview's own scale
        self.draw_frame(c, ov, numbered=False)
        self.plan.frames[-1].grid = Grid(ov_rect, 1, 1)
        for pg in pages:
            x0, y0 = ov.to_page(pg.center[0] - fg[0] / 2, pg.center[1] - fg[1] / 2)
            x1, y1 = ov.to_page(pg.center[0] + fg[0] / 2, pg.center[1] + fg[1] / 2)
            c.saveState()
            c.setStrokeColor(colors.HexColor("#c92a2a"))
            c.setLineWidth(1.2)
            c.rect(x0, y0, x1 - x0, y1 - y0, stroke=1, fill=0)
            c.restoreState()
            draw_text(
                c,
                (x0 + x1) / 2,
                (y0 + y1) / 2 - 8,
                str(pg.number),
                self.fs(22),
                anchor="middle",
                halo=4,
                bold=True,
            )
        self.draw_blocks(c, blocks, px, py)
        # One page per atlas sheet.
        for pg in pages:
            c.showPage()
            c.setPageSize((self.pw, self.ph))
            self.page_no += 1
            self.header(c, title=self.data.spec.title, subtitle="",
                        right=f"{self.t['page']} {pg.number} / {len(pages)}  1:{scale:,}")  # fmt: skip
            frame = MapFrame(frame_rect, pg.center[0], pg.center[1], scale, self.k)
            fplan = self.draw_frame(c, frame, atlas=pg)
            for e in self.entries:
                if e.page == pg.number:
                    x, y = frame.to_page(*e.xy)
                    e.ref = f"p{pg.number} {fplan.grid.cell(x, y)}"
            bar = scale_bar(scale)
            bx = frame_rect.x + 6
            c.saveState()
            c.setFillColor(colors.white)
            c.setStrokeColor(colors.black)
            c.setLineWidth(0.4)
            c.rect(bx - 3, frame_rect.y + 3, bar.length + 24, self.fs(7) * 4.6, stroke=1, fill=1)
            c.restoreState()
            _draw_scale_bar(c, bx, frame_rect.y + 6, bar, scale, self.fs(7), self.lang)
        cols = self.continuation_page(c, first=True)
        items = self.index_items(cols[0].w, atlas=True)
        self.flow_index(c, items, cols, lambda: self.continuation_page(c))


def render_paper(data: MapData, *, options: dict[str, Any]) -> tuple[bytes, PaperPlan]:
    """Lay out and draw the paper map in memory; return the PDF bytes and the plan used.

    Raises
    ------
    ConfigError
        For paper options that cannot work (naming ``outputs.paper.<key>``).
    """
    opts = _options(data, options)
    r = _Renderer(data, opts)
    buf = io.BytesIO()
    c = rl_canvas.Canvas(
        buf,
        pagesize=(r.pw, r.ph),
        initialFontName=register(),
        initialFontSize=8,
        pageCompression=1,
        invariant=1,  # no clock in /ID and dates: a rebuild gives the same bytes
    )
    c.setTitle(data.spec.title)
    c.setSubject(data.spec.subtitle)
    c.setCreator("civicmap")
    c.setAuthor("; ".join(cr.credit for cr in data.credits()))
    if opts["atlas"]:
        r.atlas(c)
    else:
        r.single(c)
    c.showPage()
    c.save()
    r.plan.pages = r.page_no
    far = [
        n
        for f in r.plan.frames
        for n in f.numbers
        if math.dist(n.marker, (n.box.x + n.box.w / 2, n.box.y + n.box.h / 2)) > 15 * MM
    ]
    if far and len(far) > 0.2 * max(1, sum(len(f.numbers) for f in r.plan.frames)):
        log.warning(
            "%d marker numbers sit more than 15 mm from their markers: the map is crowded; "
            "use outputs.paper.atlas: true with a larger scale (e.g. scale: 2500), or fewer layers",
            len(far),
        )
    off = [e for e in r.entries if not e.ref]
    if off:
        log.warning(
            "%d place(s) fall outside the paper map's frame and are listed in the index as %r: %s",
            len(off), TEXT[r.lang]["off_map"], ", ".join(e.name for e in off[:5]),
        )  # fmt: skip
    return buf.getvalue(), r.plan


#: Longest ``qr:`` URL (UTF-8 bytes). QR version 40 holds 2,331 bytes at level M, but
#: at the 2-3 cm a paper map prints it, codes past about 400 bytes no longer scan.
QR_MAX_BYTES = 400


def pdf_to_png(pdf: bytes, path: Path, *, dpi: int = 150, overwrite: bool) -> Path:
    """Render the first page (the map, or the atlas overview) to a PNG for sharing."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=dpi / 72).to_pil()
    finally:
        doc.close()
    with atomic_path(path, overwrite=overwrite) as tmp:
        image.save(tmp, format="PNG", dpi=(dpi, dpi))
    return path


def write_paper(data: MapData, path: Path, *, options: dict, overwrite: bool) -> list[Path]:
    """Write the paper map PDF (and ``<name>.png`` when ``options['png']``); return the paths.

    Both files are checked before any drawing and written atomically, so a
    failure leaves neither a half-written PDF nor a PNG from an older run.
    """
    path = Path(path)
    png = path.with_suffix(".png") if options.get("png") else None
    check_writable(path, overwrite=overwrite)
    if png is not None:
        check_writable(png, overwrite=overwrite)
    pdf, plan = render_paper(data, options=options)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(pdf)
    out = [path]
    log.info("paper map: %s, %d page(s), 1:%s", path, plan.pages, f"{plan.scale:,}")
    if png is not None:
        out.append(pdf_to_png(pdf, png, overwrite=overwrite))
    return out
