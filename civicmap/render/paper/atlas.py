"""A grid atlas: an overview page, one page per sheet, and the index with page and grid cell."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import shapely
from reportlab.lib import colors

from civicmap.render._fonts import draw_text
from civicmap.render._layout import (
    MM,
    Grid,
    MapFrame,
    Rect,
    atlas_pages,
    fit_scale,
    scale_bar,
)
from civicmap.render.paper.panel import draw_scale_bar

if TYPE_CHECKING:
    from civicmap.render.paper.render import Renderer

log = logging.getLogger(__name__)


def draw_atlas(r: Renderer, c) -> None:
    o = r.opts
    m = 10 * MM
    gut = 5.5 * MM * (1.3 if r.f > 1 else 1.0)
    scale = o.scale
    r.plan.scale = scale
    # Map pages: a small header, the frame fills the rest of the page.
    header_h = r.fs(15) + 5
    frame_rect = Rect(m + gut, m + gut, r.pw - 2 * m - 2 * gut, r.ph - 2 * m - header_h - 2 * gut)
    probe = MapFrame(frame_rect, 0, 0, scale, r.k)
    fg = (frame_rect.w / probe.pt_per_unit, frame_rect.h / probe.pt_per_unit)
    area = r.area

    def covers(x0, y0, x1, y1):
        return area.intersects(shapely.box(x0, y0, x1, y1))

    pages = atlas_pages(area.bounds, fg, overlap=o.overlap, covers=covers)
    r.plan.atlas_pages = pages
    # Each place belongs to the page where it sits farthest from an edge.
    for e in r.entries:
        best, best_d = None, -1.0
        for pg in pages:
            cx, cy = pg.center
            d = min(fg[0] / 2 - abs(e.xy[0] - cx), fg[1] / 2 - abs(e.xy[1] - cy))
            if d > best_d:
                best, best_d = pg, d
        if best is not None and best_d >= 0:
            e.page = best.number
    # Overview page.
    hh = r.header(
        c,
        title=r.data.spec.title,
        subtitle=r.data.spec.subtitle,
        right=r.t["overview"],
    )
    content = Rect(m, m, r.pw - 2 * m, r.ph - 2 * m - hh)
    portrait = r.pw < r.ph
    panel_w = content.w * (0.45 if portrait else 0.3)
    ph = r.blocks_height(r.panel_blocks(panel_w, scale))
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
        (ext[2] - ext[0]) / r.k * 1.02,
        (ext[3] - ext[1]) / r.k * 1.02,
        ov_rect.w,
        ov_rect.h,
    )
    ov = MapFrame(ov_rect, (ext[0] + ext[2]) / 2, (ext[1] + ext[3]) / 2, ov_scale, r.k)
    blocks = r.panel_blocks(panel_w, ov_scale)  # the overview's own scale
    r.draw_frame(c, ov, numbered=False)
    r.plan.frames[-1].grid = Grid(ov_rect, 1, 1)
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
            r.fs(22),
            anchor="middle",
            halo=4,
            bold=True,
        )
    r.draw_blocks(c, blocks, px, py)
    # One page per atlas sheet.
    for pg in pages:
        c.showPage()
        c.setPageSize((r.pw, r.ph))
        r.page_no += 1
        r.header(c, title=r.data.spec.title, subtitle="",
                    right=f"{r.t['page']} {pg.number} / {len(pages)}  1:{scale:,}")  # fmt: skip
        frame = MapFrame(frame_rect, pg.center[0], pg.center[1], scale, r.k)
        fplan = r.draw_frame(c, frame, atlas=pg)
        for e in r.entries:
            if e.page == pg.number:
                x, y = frame.to_page(*e.xy)
                e.ref = f"p{pg.number} {fplan.grid.cell(x, y)}"
        bar = scale_bar(scale)
        bx = frame_rect.x + 6
        c.saveState()
        c.setFillColor(colors.white)
        c.setStrokeColor(colors.black)
        c.setLineWidth(0.4)
        c.rect(bx - 3, frame_rect.y + 3, bar.length + 24, r.fs(7) * 4.6, stroke=1, fill=1)
        c.restoreState()
        draw_scale_bar(c, bx, frame_rect.y + 6, bar, scale, r.fs(7), r.lang)
    cols = r.continuation_page(c, first=True)
    items = r.index_items(cols[0].w, atlas=True)
    r.flow_index(c, items, cols, lambda: r.continuation_page(c))
