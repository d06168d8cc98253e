"""Hazard zones on the paper map: the fills in each frame, the legend block, the index lines.

Zones are filled in the 手引き colours over the background and basemap and
under the routes, numbers and markers, with a thin darker outline so a zone
edge stays visible on a greyscale copy (the classes keep a lightness order:
deeper water prints darker). The legend block lists each hazard layer's
classes and prints the two sentences every hazard map owes its readers:
「想定区域の外でも安全とは限りません」 and 「詳しくは市町村のハザードマップで確認してください」.
The renderer's hooks (frame, panel, index entries) are one call each.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from reportlab.lib import colors
from reportlab.lib.utils import ImageReader

from civicmap import wording
from civicmap.hazard_tiles import PAPER_HAZARD_DPI, TileHazardLayer, paper_hazard_raster
from civicmap.hazards import HazardLayer, honest_notes, texts, view_line
from civicmap.mapdata import MapData
from civicmap.render._fonts import draw_text, text_width
from civicmap.render.basemap import _add_polygon, to_page
from civicmap.render.paper.geometry import MapFrame, Rect
from civicmap.render.paper.texts import wrap

log = logging.getLogger(__name__)

#: Opacity of the zone fills: the basemap's roads and buildings stay readable through them.
FILL_ALPHA = 0.8


def _projected(renderer: Any) -> list[tuple[HazardLayer, Any]]:
    """Each hazard layer with its zones in the page's CRS (computed once per renderer)."""
    cached = getattr(renderer, "_hazard_zones", None)
    if cached is not None:
        return cached
    hz = renderer.data.hazards
    out = []
    if hz is not None:
        for layer in hz.shown():  # disaster: 洪水 draws the flood layers only
            if not layer.zones.empty:
                out.append((layer, layer.zones.to_crs(renderer.crs)))
    renderer._hazard_zones = out
    return out


def draw_hazard_tiles(c, renderer: Any, frame: MapFrame) -> None:
    """Draw each portal tile set of the map over ``frame`` (already clipped to it).

    The tiles are the portal's own colours (the 手引き scale, so deeper still
    prints darker), reprojected onto the frame at :data:`FILL_ALPHA` like the
    file zones, so the streets underneath stay readable.
    """
    hz = renderer.data.hazards
    if hz is None:
        return
    r = frame.rect
    size = (max(1, round(r.w / 72 * PAPER_HAZARD_DPI)), max(1, round(r.h / 72 * PAPER_HAZARD_DPI)))
    for layer in hz.shown():
        if not isinstance(layer, TileHazardLayer):
            continue
        img = paper_hazard_raster(layer, frame.extent, renderer.crs, size_px=size,
                                  scale=frame.scale)  # fmt: skip
        if img is None:
            continue
        alpha = img.getchannel("A").point(lambda v: round(v * FILL_ALPHA))
        img.putalpha(alpha)
        c.drawImage(ImageReader(img), r.x, r.y, r.w, r.h, mask="auto")


def draw_hazard_zones(c, renderer: Any, frame: MapFrame) -> None:
    """Fill every hazard zone reaching ``frame`` (already clipped to it), shallow to deep."""
    draw_hazard_tiles(c, renderer, frame)
    for layer, zones in _projected(renderer):
        minx, miny, maxx, maxy = frame.extent
        idx = zones.sindex.query(shapely.box(minx, miny, maxx, maxy))
        if len(idx) == 0:
            continue
        near = zones.iloc[np.sort(idx)]
        page, keep = to_page(frame, near.geometry.values, pad=2 / frame.pt_per_unit)
        classes = near["cls"].to_numpy()
        c.saveState()
        for k, cls in enumerate(layer.classes):
            sel = [
                g for g in page[keep & (classes == k)] if g.geom_type in ("Polygon", "MultiPolygon")
            ]
            if not sel:
                continue
            p = c.beginPath()
            for g in shapely.orient_polygons(np.asarray(sel, dtype=object)):
                _add_polygon(p, g)
            fill = colors.HexColor(cls.color)
            c.setFillColor(fill)
            c.setFillAlpha(FILL_ALPHA)
            c.setStrokeColor(colors.Color(fill.red * 0.6, fill.green * 0.6, fill.blue * 0.6))
            c.setStrokeAlpha(0.8)
            c.setLineWidth(0.3)
            c.drawPath(p, stroke=1, fill=1, fillMode=0)
        c.restoreState()


def hazard_blocks(renderer: Any, width: float) -> list[tuple[float, Callable]]:
    """The panel block: each hazard's classes as swatches, then the two honest notes."""
    hz = renderer.data.hazards
    disaster = renderer.data.spec.disaster
    if (hz is None or not hz.layers) and not disaster:
        return []
    lang = renderer.lang
    fs = renderer.fs(6.6)
    rows: list[tuple[str, str | None]] = []  # (text, colour or None for a heading)
    # wording.both: a bilingual sheet (ja+vi) says each in Japanese, then the other language
    for layer in hz.shown() if hz is not None else []:  # the legend of what is drawn
        rows.append((wording.both(lang, layer.title), None))
        for cls in layer.classes:
            rows.append((cls.label(lang), cls.color))
    sw = 14.0
    said = (  # what a disaster: map leaves out
        [wording.both(lang, lambda one: view_line(disaster, one))] if disaster else []
    )
    if hz is not None and hz.layers:  # whatever is drawn: every map with hazard layers
        said += [wording.both(lang, lambda one, i=i: honest_notes(one)[i]) for i in range(2)]
    notes = [s for n in said for s in wrap(n, width - 6, lambda s: text_width(s, fs))]
    h = len(rows) * fs * 1.45 + len(notes) * fs * 1.3 + fs * 1.2 + 4

    def draw(c, x: float, y_top: float) -> None:
        y = y_top - fs
        for text, color in rows:
            if color is None:
                draw_text(c, x, y, text, fs * 1.05, bold=True)
            else:
                c.saveState()
                fill = colors.HexColor(color)
                c.setFillColor(fill)
                c.setFillAlpha(FILL_ALPHA)  # as on the map, so a swatch matches its zones
                c.setStrokeColor(colors.Color(fill.red * 0.6, fill.green * 0.6, fill.blue * 0.6))
                c.setLineWidth(0.4)
                r = Rect(x + 2, y - fs * 0.2, sw, fs * 0.95)
                c.rect(r.x, r.y, r.w, r.h, stroke=1, fill=1)
                c.restoreState()
                draw_text(c, x + sw + 6, y, text, fs)
            y -= fs * 1.45
        y -= fs * 0.3
        for line in notes:
            draw_text(c, x, y, line, fs, bold=True)
            y -= fs * 1.3

    return [(h, draw)]


def hazard_details(data: MapData, layer_id: str, label: Any) -> list[str]:
    """The index lines of one place: what each hazard says there (empty without hazards)."""
    if data.hazards is None:
        return []
    return data.hazards.lines_for(layer_id, label)


@functools.cache
def warning_start(language: str) -> str:
    """How a warning line starts in ``language`` (「この災害では使えない可能性があります（…）」).

    Read on first use, not at import, and only in the map's language: reading every
    language's glossary cost each paper build with a compact index 0.3 s.
    """
    return texts(language)["unusable"].split("{")[0]


def is_warning(line: str, language: str) -> bool:
    """A line a short index must keep: the site may not serve its disaster.

    ``language`` is the map's (the language the hazard lines are written in, see
    :func:`civicmap.hazards.check_sites`). The compact index leaves addresses and hazard
    depths out to fit one sheet, but a reader choosing where to go must still see that a
    site is ruled out.
    """
    return line.startswith(warning_start(language))


__all__ = [
    "draw_hazard_tiles",
    "draw_hazard_zones",
    "hazard_blocks",
    "hazard_details",
    "is_warning",
]
