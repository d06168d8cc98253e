"""The atlas overview page: the whole map with every page's outline and its page number.

Shared by the grid atlas (sheet rectangles) and the area atlas (area
polygons). Sheets left out (no place on them) are drawn faint and unnumbered,
so a reader sees why there is no page there. Numbers are sized to their
outline, so the overview stays readable at any page count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reportlab.lib import colors

from civicmap.render._fonts import draw_text, text_width
from civicmap.render.paper.frame import _fill_polygons, _stroke_boundary
from civicmap.render.paper.geometry import MM, Grid, MapFrame, Rect, fit_scale
from civicmap.render.paper.renderer import Renderer

#: Smallest page number printed on the overview (points), however small its outline.
MIN_NUMBER_PT = 6.0


@dataclass
class OverviewShape:
    """One outline on the overview: a projected polygon, its page number (None: left out)."""

    geom: Any
    page: int | None


def draw_overview(r: Renderer, c, shapes: list[OverviewShape], *, sheet_scale: int | None) -> None:
    """Draw the overview page (page 1): header, map of the outlines, panel blocks."""
    m = 10 * MM
    gut = 5.5 * MM * (1.3 if r.f > 1 else 1.0)
    hh = r.header(c, title=r.data.spec.title, subtitle=r.data.spec.subtitle, right=r.t["overview"])
    content = Rect(m, m, r.pw - 2 * m, r.ph - 2 * m - hh)
    portrait = r.pw < r.ph
    panel_w = content.w * (0.45 if portrait else 0.3)
    ph = r.blocks_height(r.panel_blocks(panel_w, sheet_scale or 5000))
    if portrait:
        ov_rect = Rect(content.x + gut, content.y + ph + 4 * MM + gut,
                       content.w - 2 * gut, content.h - ph - 4 * MM - 2 * gut)  # fmt: skip
        px, py = content.x, content.y + ph
    else:
        ov_rect = Rect(content.x + gut, content.y + gut,
                       content.w - panel_w - 4 * MM - 2 * gut, content.h - 2 * gut)  # fmt: skip
        px, py = content.x1 - panel_w, content.y1
    bounds = [s.geom.bounds for s in shapes]
    ext = (
        min(b[0] for b in bounds),
        min(b[1] for b in bounds),
        max(b[2] for b in bounds),
        max(b[3] for b in bounds),
    )
    ov_scale = fit_scale(
        (ext[2] - ext[0]) / r.k * 1.02, (ext[3] - ext[1]) / r.k * 1.02, ov_rect.w, ov_rect.h
    )
    ov = MapFrame(ov_rect, (ext[0] + ext[2]) / 2, (ext[1] + ext[3]) / 2, ov_scale, r.k)
    blocks = r.panel_blocks(panel_w, ov_scale)  # the overview's own scale
    numbers = [_page_number(r, ov, s) for s in shapes if s.page is not None]
    # Basemap labels keep clear of the page numbers drawn on top.
    r.draw_frame(c, ov, numbered=False, reserved=tuple(n[4] for n in numbers))
    r.plan.frames[-1].grid = Grid(ov_rect, 1, 1)
    c.saveState()
    p = c.beginPath()
    p.rect(ov_rect.x, ov_rect.y, ov_rect.w, ov_rect.h)
    c.clipPath(p, stroke=0, fill=0)
    for s in shapes:  # left-out sheets first, faint and dashed
        if s.page is None:
            c.setStrokeColor(colors.Color(0.6, 0.6, 0.6))
            c.setFillColor(colors.Color(0.93, 0.93, 0.93, alpha=0.5))
            c.setLineWidth(0.4)
            c.setDash([2, 2])
            _fill_polygons(c, ov, s.geom)
            _stroke_boundary(c, ov, s.geom)
    c.setDash([])
    # The map's own area, so the sheets read against the town's shape even without a basemap.
    c.setStrokeColor(colors.Color(0.2, 0.2, 0.2))
    c.setLineWidth(0.8)
    _stroke_boundary(c, ov, r.area)
    for s in shapes:
        if s.page is not None:
            c.setStrokeColor(colors.HexColor("#c92a2a"))
            c.setLineWidth(1.0 if len(shapes) < 60 else 0.6)
            _stroke_boundary(c, ov, s.geom)
    c.restoreState()
    for cx, cy, size, text, _ in numbers:
        draw_text(c, cx, cy - size * 0.35, text, size, anchor="middle", halo=size * 0.18, bold=True)
    r.draw_blocks(c, blocks, px, py)


def _page_number(r: Renderer, ov: MapFrame, s: OverviewShape):
    """Where and how large a page number goes: inside its outline, at most 22 pt.

    Returns (x, y, size, text, box) with (x, y) the text's centre.
    """
    x0, y0, x1, y1 = s.geom.bounds
    (px0, py0), (px1, py1) = ov.to_page(x0, y0), ov.to_page(x1, y1)
    w, h = abs(px1 - px0), abs(py1 - py0)
    text = str(s.page)
    unit = max(1e-6, text_width(text, 1.0))
    size = max(min(r.fs(22), 0.45 * h, 0.6 * w / unit), MIN_NUMBER_PT)
    cx, cy = ov.to_page(*_inner(s.geom))
    tw = text_width(text, size)
    return cx, cy, size, text, Rect(cx - tw / 2 - 2, cy - size * 0.6, tw + 4, size * 1.2)


def _inner(geom) -> tuple[float, float]:
    """The polygon's centroid when inside it (a sheet's centre), else a point inside it."""
    cen = geom.centroid
    if geom.contains(cen):
        return cen.x, cen.y
    return geom.representative_point().coords[0]
