"""The OSM vector basemap drawn on paper: roads, buildings, water, parks, railways, labels.

Designed for black-and-white printing and photocopying: every kind differs by
line weight, casing, dash or tone, and colour is only a second cue. Roads use
the classic black casing with a white (major: pale yellow) inner line, railways
the black-and-white "ladder", paths a fine dash, water a mid tone with a solid
edge, parks a light tone with a dashed edge.

Input is :attr:`MapData.basemap` reprojected to the map's metric CRS (the
paper renderer does that once); drawing goes onto a reportlab canvas inside a
:class:`~civicmap.render.paper.geometry.MapFrame`.
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import shapely
from reportlab.lib import colors
from reportlab.pdfgen.canvas import FILL_NON_ZERO
from shapely.geometry.base import BaseGeometry

from civicmap.render._fonts import draw_text, text_width
from civicmap.render.paper.geometry import BoxIndex, MapFrame, Rect

log = logging.getLogger(__name__)

#: Area kinds: (fill, outline, outline width pt, dash or None), drawn in this order.
AREA_STYLES: dict[str, tuple[str, str, float, tuple[float, ...] | None]] = {
    "landuse": ("#f1f1ec", "#c8c8c0", 0.2, None),
    "park": ("#dcedc8", "#4f7a3a", 0.5, (2.0, 1.2)),
    "school": ("#f6eed7", "#7a6a3a", 0.4, (0.6, 0.8)),
    "water": ("#a9c8e6", "#3d6d99", 0.6, None),
    "building": ("#d4d4d4", "#8c8c8c", 0.2, None),
}

#: Line kinds: (casing colour, casing width, inner colour, inner width, inner dash).
LINE_STYLES: dict[str, tuple[str, float, str, float, tuple[float, ...] | None]] = {
    "path": ("#ffffff", 0.0, "#555555", 0.45, (1.2, 0.9)),
    "road_minor": ("#6e6e6e", 2.0, "#ffffff", 1.3, None),
    "road_major": ("#111111", 4.2, "#fff3b0", 3.2, None),
    "railway": ("#111111", 2.0, "#ffffff", 1.0, (3.0, 3.0)),
}


def _hex(c: str):
    return colors.HexColor(c)


def _add_polygon(path, geom: BaseGeometry) -> None:
    for poly in getattr(geom, "geoms", [geom]):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = shapely.get_coordinates(ring)
            path.moveTo(xy[0, 0], xy[0, 1])
            for x, y in xy[1:]:
                path.lineTo(x, y)
            path.close()


def _add_line(path, geom: BaseGeometry) -> None:
    for line in getattr(geom, "geoms", [geom]):
        if line.geom_type == "LinearRing":
            line = shapely.LineString(line)
        if line.geom_type != "LineString" or line.is_empty:
            continue
        xy = shapely.get_coordinates(line)
        path.moveTo(xy[0, 0], xy[0, 1])
        for x, y in xy[1:]:
            path.lineTo(x, y)


def to_page(frame: MapFrame, geoms, *, pad: float = 0.0):
    """Clip projected geometries to the frame (plus ``pad`` metres) and move them to page points."""
    minx, miny, maxx, maxy = frame.extent
    arr = np.asarray(geoms, dtype=object)
    clipped = shapely.clip_by_rect(arr, minx - pad, miny - pad, maxx + pad, maxy + pad)
    keep = ~shapely.is_empty(clipped)
    return shapely.transform(clipped, frame.transform), keep


def near_frame(basemap: gpd.GeoDataFrame, frame: MapFrame, pad: float = 0.0) -> gpd.GeoDataFrame:
    """The features whose bounding boxes reach the frame (plus ``pad`` metres), in order.

    GeoPandas builds the STRtree once per basemap and keeps it, so each atlas
    page clips only its own features instead of all of them: drawing an atlas
    grows with the features on its pages, not with pages × features.
    """
    minx, miny, maxx, maxy = frame.extent
    idx = basemap.sindex.query(shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad))
    if len(idx) == len(basemap):
        return basemap
    return basemap.iloc[np.sort(idx)]


def surface(basemap: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The basemap without its underground lines (tunnels, subways, negative layers).

    A subway drawn as the black-and-white railway ladder reads as a surface
    line a walker meets; on a map of routes to shelters it is left out
    (stations stay: their entrances are on the street). ``underground`` is set
    by :func:`civicmap.pipeline.is_underground`.
    """
    if "underground" not in basemap.columns:
        return basemap
    below = basemap["underground"].fillna(False).astype(bool).to_numpy()
    lines = basemap.geometry.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
    drop = below & lines
    return basemap[~drop] if drop.any() else basemap


def draw_basemap(
    c, basemap: gpd.GeoDataFrame | None, frame: MapFrame, *, weight: float = 1.0
) -> None:
    """Draw the basemap features (no labels) inside ``frame``.

    Parameters
    ----------
    basemap : GeoDataFrame or None
        Basemap features in the map's projected CRS, with a ``kind`` column.
    weight : float
        Line-width factor (large print draws roads a little heavier).
    """
    if basemap is None or basemap.empty:
        return
    pad = 20 / frame.pt_per_unit  # keep line caps just outside the frame
    basemap = surface(near_frame(basemap, frame, pad))
    page, keep = to_page(frame, basemap.geometry.values, pad=pad)
    kinds = basemap["kind"].to_numpy()
    c.saveState()
    c.setLineJoin(1)
    c.setLineCap(1)
    for kind, (fill, stroke, width, dash) in AREA_STYLES.items():
        sel = page[keep & (kinds == kind)]
        polys = [g for g in sel if g.geom_type in ("Polygon", "MultiPolygon")]
        if not polys:
            continue
        p = c.beginPath()
        for g in shapely.orient_polygons(np.asarray(polys, dtype=object)):
            _add_polygon(p, g)
        c.setFillColor(_hex(fill))
        c.setStrokeColor(_hex(stroke))
        c.setLineWidth(width)
        c.setDash(list(dash) if dash else [])
        c.drawPath(p, stroke=1, fill=1, fillMode=FILL_NON_ZERO)
    # Waterways (rivers, canals) are lines in the water kind.
    water_lines = [g for g in page[keep & (kinds == "water")] if "LineString" in g.geom_type]
    if water_lines:
        p = c.beginPath()
        for g in water_lines:
            _add_line(p, g)
        c.setDash([])
        c.setStrokeColor(_hex("#3d6d99"))
        c.setLineWidth(1.4 * weight)
        c.drawPath(p, stroke=1, fill=0)
    for kind, (casing, cw, inner, iw, dash) in LINE_STYLES.items():
        sel = [g for g in page[keep & (kinds == kind)] if "LineString" in g.geom_type]
        if not sel:
            continue
        p = c.beginPath()
        for g in sel:
            _add_line(p, g)
        if cw > 0:
            c.setDash([])
            c.setStrokeColor(_hex(casing))
            c.setLineWidth(cw * weight)
            c.drawPath(p, stroke=1, fill=0)
        c.setDash(list(dash) if dash else [])
        c.setStrokeColor(_hex(inner))
        c.setLineWidth(iw * weight)
        c.setLineCap(0 if dash else 1)
        c.drawPath(p, stroke=1, fill=0)
        c.setLineCap(1)
    c.setDash([])
    for g in page[keep & (kinds == "station")]:
        pt = g.representative_point() if g.geom_type != "Point" else g
        station_symbol(c, pt.x, pt.y, 7.0 * weight)
    c.restoreState()


def station_symbol(c, x: float, y: float, size: float) -> None:
    """A station: a black square with a white inner square (reads in black and white)."""
    c.saveState()
    c.setFillColor(colors.black)
    c.rect(x - size / 2, y - size / 2, size, size, stroke=0, fill=1)
    c.setFillColor(colors.white)
    c.rect(x - size / 4, y - size / 4, size / 2, size / 2, stroke=0, fill=1)
    c.restoreState()


def _rotated_box(x: float, y: float, w: float, h: float, angle: float) -> Rect:
    a = math.radians(angle)
    dx = abs(w / 2 * math.cos(a)) + abs(h / 2 * math.sin(a))
    dy = abs(w / 2 * math.sin(a)) + abs(h / 2 * math.cos(a))
    return Rect(x - dx, y - dy, 2 * dx, 2 * dy)


def draw_labels(
    c,
    basemap: gpd.GeoDataFrame | None,
    frame: MapFrame,
    *,
    avoid: BoxIndex,
    size: float = 6.5,
    name_column: str = "name",
) -> list[tuple[str, Rect]]:
    """Label main roads, stations, parks and schools where there is room; return what was placed.

    Labels skip places where they would cover a marker number or another
    label (``avoid``, updated with each label placed), so the numbers the
    index refers to always stay readable.
    """
    placed: list[tuple[str, Rect]] = []
    if basemap is None or basemap.empty:
        return placed
    basemap = surface(near_frame(basemap, frame))
    names = basemap[name_column] if name_column in basemap.columns else basemap["name"]
    names = names.where(names.astype(str).str.len() > 0, basemap["name"]).fillna("").astype(str)
    frame_rect = frame.rect
    page, keep = to_page(frame, basemap.geometry.values)
    kinds = basemap["kind"].to_numpy()
    # Stations first (the most useful landmark), then parks and schools by size.
    areas = []
    for kind, rank in (("station", 0), ("park", 1), ("school", 1)):
        for g, name in zip(
            page[keep & (kinds == kind)], names[keep & (kinds == kind)], strict=True
        ):
            if name:
                areas.append((rank, -g.area, kind, name, g))
    seen: set[tuple[str, str]] = set()
    for _, _, kind, name, g in sorted(areas, key=lambda a: a[:2]):
        if (kind, name) in seen:
            continue
        pt = g.representative_point() if g.geom_type != "Point" else g
        fs = size * (1.15 if kind == "station" else 1.0)
        w, h = text_width(name, fs), fs * 1.2
        dy = 6.0 if kind == "station" else 0.0
        for ox, oy in ((0, dy), (0, -dy - h), (w / 2 + 5, -h / 3), (-(w / 2 + 5), -h / 3)):
            r = Rect(pt.x + ox - w / 2, pt.y + oy - h * 0.25, w, h)
            if r.inside(frame_rect) and not avoid.hits(r):
                draw_text(
                    c,
                    pt.x + ox,
                    pt.y + oy,
                    name,
                    fs,
                    anchor="middle",
                    halo=2.2,
                    bold=kind == "station",
                )
                avoid.add(r)
                placed.append((name, r))
                seen.add((kind, name))
                break
    # Main roads: one label per name on its longest stretch, along the road.
    roads = {}
    for g, name in zip(
        page[keep & (kinds == "road_major")], names[keep & (kinds == "road_major")], strict=True
    ):
        if name and "LineString" in g.geom_type:
            roads.setdefault(name, []).append(g)
    for name, parts in sorted(roads.items(), key=lambda kv: -sum(p.length for p in kv[1])):
        merged = shapely.line_merge(shapely.union_all(parts))
        lines = sorted(getattr(merged, "geoms", [merged]), key=lambda ln: -ln.length)
        w, h = text_width(name, size), size * 1.2
        done = False
        for line in lines[:3]:
            if line.length < w + 12:
                break
            for frac in (0.5, 0.3, 0.7, 0.15, 0.85):
                mid = line.interpolate(frac, normalized=True)
                a = line.interpolate(max(0.0, frac * line.length - w / 2))
                b = line.interpolate(min(line.length, frac * line.length + w / 2))
                angle = math.degrees(math.atan2(b.y - a.y, b.x - a.x))
                if angle > 90:
                    angle -= 180
                elif angle <= -90:
                    angle += 180
                r = _rotated_box(mid.x, mid.y, w, h, angle)
                if r.inside(frame_rect) and not avoid.hits(r):
                    c.saveState()
                    c.translate(mid.x, mid.y)
                    c.rotate(angle)
                    draw_text(c, 0, -size * 0.35, name, size, anchor="middle", halo=2.0)
                    c.restoreState()
                    avoid.add(r)
                    placed.append((name, r))
                    done = True
                    break
            if done:
                break
    return placed


#: The data edge's line: grey dash-dot, unlike the black (white-cased) solid,
#: dashed and dotted walking routes, so a reader never takes one for the other.
EDGE_DASH = (7.0, 2.0, 1.2, 2.0)
EDGE_COLOR = colors.Color(0.3, 0.3, 0.3)


def draw_data_edge(
    c, edge: BaseGeometry | None, frame: MapFrame, *, note: str, size: float, veil: bool = True
) -> bool:
    """Grey out the frame outside ``edge`` (projected) and say why; return whether it was greyed.

    Outside an extract's bounds the basemap is empty or cut off; greying it
    and writing a note keeps a reader from taking an empty street for none.
    ``veil`` False (tiles under the frame show the streets there): only the
    edge line is drawn, the tiles stay clear, and False is returned (no note).
    """
    if edge is None or edge.is_empty:
        return False
    minx, miny, maxx, maxy = frame.extent
    outside = shapely.box(minx, miny, maxx, maxy).difference(edge)
    if outside.is_empty or outside.area < 1e-6 * (maxx - minx) * (maxy - miny):
        return False
    page_outside = shapely.transform(outside, frame.transform)
    page_edge = shapely.transform(
        shapely.intersection(edge.boundary, shapely.box(minx, miny, maxx, maxy)), frame.transform
    )
    c.saveState()
    if veil:
        p = c.beginPath()
        _add_polygon(p, shapely.orient_polygons(page_outside))
        c.setFillColor(colors.Color(0.45, 0.45, 0.45, alpha=0.35))
        c.drawPath(p, stroke=0, fill=1, fillMode=FILL_NON_ZERO)
    p = c.beginPath()
    _add_line(p, page_edge)
    c.setStrokeColor(EDGE_COLOR)
    c.setLineWidth(0.8)
    c.setDash(list(EDGE_DASH))
    c.drawPath(p, stroke=1, fill=0)
    c.restoreState()
    if not veil:
        return False
    if note:
        data_edge_note(c, edge, frame, note=note, size=size, avoid=None)
    return True


def data_edge_note(
    c, edge: BaseGeometry | None, frame: MapFrame, *, note: str, size: float, avoid=None
) -> Rect | None:
    """Write ``note`` in the largest grey strip outside ``edge``, clear of ``avoid`` boxes.

    Tried from the strip's top down; when no spot is free the note is left out
    (the legend still explains the grey). Returns the note's box, if drawn.
    """
    if edge is None or edge.is_empty:
        return None
    minx, miny, maxx, maxy = frame.extent
    outside = shapely.box(minx, miny, maxx, maxy).difference(edge)
    if outside.is_empty:
        return None
    page_outside = shapely.transform(outside, frame.transform)
    biggest = max(getattr(page_outside, "geoms", [page_outside]), key=lambda g: g.area)
    bx0, by0, _, by1 = biggest.bounds
    if by1 - by0 < size * 1.6:
        return None
    x = max(bx0, frame.rect.x) + 4
    w = text_width(note, size)
    y = min(by1, frame.rect.y1) - size * 1.3
    while y >= max(by0, frame.rect.y) + 2:
        box = Rect(x - 2, y - size * 0.3, w + 4, size * 1.3)
        if avoid is None or not avoid.hits(box):
            draw_text(c, x, y, note, size, halo=2.0)
            if avoid is not None:
                avoid.add(box)
            return box
        y -= size * 1.5
    return None


def draw_swatch(c, kind: str, r: Rect) -> None:
    """A legend swatch for a basemap kind, drawn with the map's own style."""
    c.saveState()
    c.setLineCap(1)
    if kind in AREA_STYLES:
        fill, stroke, width, dash = AREA_STYLES[kind]
        c.setFillColor(_hex(fill))
        c.setStrokeColor(_hex(stroke))
        c.setLineWidth(width)
        c.setDash(list(dash) if dash else [])
        c.rect(r.x, r.y, r.w, r.h, stroke=1, fill=1)
    elif kind in LINE_STYLES:
        casing, cw, inner, iw, dash = LINE_STYLES[kind]
        ym = r.y + r.h / 2
        if cw > 0:
            c.setStrokeColor(_hex(casing))
            c.setLineWidth(cw)
            c.line(r.x + 1, ym, r.x1 - 1, ym)
        c.setStrokeColor(_hex(inner))
        c.setLineWidth(iw)
        c.setDash(list(dash) if dash else [])
        if dash:
            c.setLineCap(0)
        c.line(r.x + 1, ym, r.x1 - 1, ym)
    elif kind == "station":
        station_symbol(c, r.x + r.w / 2, r.y + r.h / 2, min(r.h, 7.0))
    elif kind == "data_edge":
        c.setFillColor(colors.Color(0.45, 0.45, 0.45, alpha=0.35))
        c.rect(r.x, r.y, r.w / 2, r.h, stroke=0, fill=1)
        c.setStrokeColor(EDGE_COLOR)
        c.setDash(list(EDGE_DASH))
        c.setLineWidth(0.8)
        c.line(r.x + r.w / 2, r.y, r.x + r.w / 2, r.y1)
    c.restoreState()
