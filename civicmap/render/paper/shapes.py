"""Lines and areas of a layer on paper: a drawn route, a boundary, a zone, as the file styles them.

A feature a uMap or KML file draws as a line or an area (``drawn_as``: ``line`` /
``area``, set by :mod:`civicmap.sources.umap` and :mod:`civicmap.sources.kml`) is drawn
as that shape in its colour, width and dash, never as a numbered point, and the legend
shows a line or an area swatch for it. Places that merely have an outline (a school
from OSM) keep their numbered marker.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from reportlab.lib import colors

from civicmap import settings
from civicmap.mapdata import LayerData
from civicmap.render._rows import frame_rows
from civicmap.render.basemap import _add_line, _add_polygon, to_page
from civicmap.render.paper.geometry import MapFrame
from civicmap.render.symbols import (
    category_counts,
    category_looks,
    kept_categories,
    taken_symbols,
)
from civicmap.spec.layers import dash_pattern

log = logging.getLogger(__name__)

#: The column marking a feature drawn as a shape (values ``line``, ``area``).
DRAWN_AS = "drawn_as"
SHAPE_KINDS = ("line", "area")
#: Paper points per web pixel of a line width: uMap's 3 px line prints at 1.8 pt.
PT_PER_PX = 0.6
#: uMap's defaults where neither file nor layer gives a width or a fill opacity.
DEFAULT_WEIGHT = 3.0
DEFAULT_FILL_OPACITY = 0.3


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v).strip()


def _number(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(f) else f


def is_shape(row: Any) -> bool:
    """Whether a feature is drawn as its line or area (not as a numbered place)."""
    return _text(row.get(DRAWN_AS)) in SHAPE_KINDS


@dataclass(frozen=True)
class ShapeLook:
    """How one shape is drawn: kind (line/area), colours, width in points, dash, fill opacity."""

    kind: str
    color: str
    fill: str
    width: float
    dash: tuple[float, ...]
    fill_opacity: float


def shape_look(layer: LayerData, row: Any, category_colour: str = "") -> ShapeLook:
    """A shape's look: its own style, else its category's colour, else its layer's style."""
    st = layer.spec.style
    colour = _text(row.get("style_color")) or category_colour or st.color
    weight = _number(row.get("style_weight")) or st.weight or DEFAULT_WEIGHT
    dash = dash_pattern(_text(row.get("style_dash")) or st.dash)
    opacity = st.fill_opacity if st.fill_opacity is not None else DEFAULT_FILL_OPACITY
    return ShapeLook(
        kind=_text(row.get(DRAWN_AS)),
        color=colour,
        fill=_text(row.get("style_fill")) or st.fill or colour,
        width=weight * PT_PER_PX,
        dash=tuple(d * PT_PER_PX for d in dash),
        fill_opacity=opacity,
    )


def layer_shapes(renderer: Any) -> list[tuple[LayerData, Any, list[ShapeLook]]]:
    """Each layer's shapes projected to the page's CRS with their looks (computed once)."""
    cached = getattr(renderer, "_layer_shapes", None)
    if cached is not None:
        return cached
    out = []
    specs = [layer.spec for layer in renderer.data.layers]
    for layer in renderer.data.layers:
        f = layer.features
        if f.empty or DRAWN_AS not in f.columns:
            continue
        mask = f[DRAWN_AS].map(_text).isin(SHAPE_KINDS).to_numpy()
        if not mask.any():
            continue
        sel = f[mask]
        counts = category_counts(f)
        cats = {  # the category colours the markers use (past the budget: the layer's)
            st.name: st
            for st in category_looks(
                layer.spec,
                layer.spec.category_order(list(counts)),
                taken=taken_symbols(specs, but=layer.id),
                present=counts,
                kept=kept_categories(layer.spec, counts, settings.max_categories_paper),
            )
        }
        shape_looks = [
            shape_look(layer, row, getattr(cats.get(_text(row.get("category"))), "color", ""))
            for _i, row in frame_rows(sel)
        ]
        out.append((layer, sel.geometry.to_crs(renderer.crs).values, shape_looks))
    renderer._layer_shapes = out
    return out


def _stroke(c, look: ShapeLook) -> None:
    c.setStrokeColor(colors.HexColor(look.color))
    c.setLineWidth(look.width)
    c.setDash(list(look.dash) if look.dash else [])
    c.setLineCap(1)
    c.setLineJoin(1)


def draw_shapes(c, renderer: Any, frame: MapFrame) -> None:
    """Draw every layer's lines and areas reaching ``frame`` (already clipped to it).

    Areas first (under every line), each filled at its opacity with its outline; then the
    lines over a thin white casing so a route stays readable on a busy basemap.
    """
    groups = layer_shapes(renderer)
    if not groups:
        return
    pad = 4 / frame.pt_per_unit
    c.saveState()
    for want in ("area", "line"):
        for _layer, geoms, looks in groups:
            page, keep = to_page(frame, geoms, pad=pad)
            for g, ok, look in zip(page, keep, looks, strict=True):
                if not ok or look.kind != want:
                    continue
                p = c.beginPath()
                if want == "area":
                    polys = [g] if g.geom_type in ("Polygon", "MultiPolygon") else []
                    for poly in shapely.orient_polygons(np.asarray(polys, dtype=object)):
                        _add_polygon(p, poly)
                    fill = colors.HexColor(look.fill)
                    c.setFillColor(fill)
                    c.setFillAlpha(look.fill_opacity)
                    _stroke(c, look)
                    c.drawPath(p, stroke=1, fill=1, fillMode=0)
                    c.setFillAlpha(1)
                    continue
                _add_line(p, g)
                c.setDash([])
                c.setStrokeColor(colors.white)
                c.setLineWidth(look.width + 1.2)
                c.drawPath(p, stroke=1, fill=0)
                _stroke(c, look)
                c.drawPath(p, stroke=1, fill=0)
    c.restoreState()


def shape_legend(layer: LayerData, renderer: Any) -> list[tuple[str, ShapeLook, int]]:
    """The legend rows of a layer's shapes: one per look, named by its category or its
    features (``[(text, look, count), ...]``); ``[]`` when the layer has none."""
    for lay, _g, looks in layer_shapes(renderer):
        if lay is not layer:
            continue
        f = layer.features
        rows = f[f[DRAWN_AS].map(_text).isin(SHAPE_KINDS).to_numpy()]
        groups: dict[ShapeLook, list[str]] = {}
        for look, (_i, row) in zip(looks, frame_rows(rows), strict=True):
            groups.setdefault(look, []).append(_text(row.get("name")))
        out = []
        for look, names in groups.items():
            label = "・".join(dict.fromkeys(n for n in names if n)) if len(groups) > 1 else ""
            out.append((label, look, len(names)))
        return out
    return []


def draw_swatch(c, look: ShapeLook, x: float, cy: float, size: float) -> None:
    """A legend swatch: a short line, or a filled square with its outline."""
    c.saveState()
    if look.kind == "area":
        c.setFillColor(colors.HexColor(look.fill))
        c.setFillAlpha(max(look.fill_opacity, 0.3))
        _stroke(c, look)
        c.setLineWidth(min(look.width, 1.5))
        c.rect(x, cy - size * 0.4, size, size * 0.8, stroke=1, fill=1)
    else:
        _stroke(c, look)
        c.setLineWidth(min(look.width, 2.5))
        c.line(x - size * 0.2, cy, x + size * 1.2, cy)
    c.restoreState()
