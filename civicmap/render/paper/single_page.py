"""One sheet: map frame, side or bottom panel, and the index flowing onto extra pages if needed."""

from __future__ import annotations

import logging

from civicmap.i18n import _
from civicmap.render._fonts import draw_text
from civicmap.render.paper.geometry import MM, MapFrame, Rect, fit_scale
from civicmap.render.paper.inset import InsetPlan, draw_map
from civicmap.render.paper.renderer import Renderer

log = logging.getLogger(__name__)


def draw_single(r: Renderer, c, *, insets: list[InsetPlan] | tuple = ()) -> None:
    """One sheet: the map frame (with its 拡大図 ``insets``, if any), panel and index.

    The layout does not depend on the insets, so insets chosen from a first
    drawing (:func:`civicmap.render.paper.inset.inset_candidates`) fit the second.
    """
    o = r.opts
    m = 10 * MM
    gut = 5.5 * MM * (1.3 if r.f > 1 else 1.0)
    hh = r.header(c, title=r.data.spec.title, subtitle=r.data.spec.subtitle)
    content = Rect(m, m, r.pw - 2 * m, r.ph - 2 * m - hh)
    portrait = r.pw < r.ph
    gap = 4 * MM
    panel_w = content.w * (0.38 if portrait else 0.3)
    minx, miny, maxx, maxy = r.area.bounds
    centre = r.centre
    if o.fit == "data" and r.entries:
        # Zoom to where the places (and the home point) are, not the whole area.
        xs = [e.xy[0] for e in r.entries] + ([r.home[0]] if r.home else [])
        ys = [e.xy[1] for e in r.entries] + ([r.home[1]] if r.home else [])
        minx, miny, maxx, maxy = min(xs), min(ys), max(xs), max(ys)
        pad = max(maxx - minx, maxy - miny, 200.0) * 0.04  # markers are not cut at the edge
        minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
        centre = ((minx + maxx) / 2, (miny + maxy) / 2)
    ground = ((maxx - minx) / r.k * 1.04, (maxy - miny) / r.k * 1.04)
    # The panel's height depends on the scale only through the bar; measure it at a guess.
    probe = r.panel_blocks(panel_w, 5000)
    panel_h = r.blocks_height(probe)
    r.plan.scale_bar = None
    large_portrait = portrait and r.f > 1
    if large_portrait:
        # Large print keeps the normal sheet's map (same frame, same scale): its
        # bigger panel takes the whole strip under the map in two columns, and
        # the index (and any block that does not fit) moves on to the next pages.
        with r.normal_sizes():
            normal_h = r.blocks_height(r.panel_blocks(panel_w, 5000))
            r.plan.scale_bar = None
            normal_hh = r.header(None, title=r.data.spec.title, subtitle=r.data.spec.subtitle)
        normal_content_h = r.ph - 2 * m - normal_hh
        bottom = min(max(normal_h, normal_content_h * 0.3), normal_content_h * 0.55)
        gut_n = 5.5 * MM
        frame_h = normal_content_h - bottom - gap - 2 * gut_n
        frame_rect = Rect(content.x + gut_n, content.y1 - gut_n - frame_h,
                          content.w - 2 * gut_n, frame_h)  # fmt: skip
        bottom = frame_rect.y - gut - gap - content.y
        panel_w = (content.w - gap) / 2
        panel = Rect(content.x, content.y, content.w, bottom)
        idx_area = Rect(content.x, content.y, 0, 0)
        ncol = 1
    elif portrait:
        bottom = min(max(panel_h, content.h * 0.3), content.h * 0.55)
        frame_rect = Rect(content.x + gut, content.y + bottom + gap + gut,
                          content.w - 2 * gut, content.h - bottom - gap - 2 * gut)  # fmt: skip
        panel = Rect(content.x1 - panel_w, content.y, panel_w, bottom)
        idx_area = Rect(content.x, content.y, content.w - panel_w - gap, bottom)
        ncol = 2 if r.f == 1 else 1
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
    scale = o.scale if o.scale != "fit" else fit_scale(*ground, frame_rect.w, frame_rect.h)
    r.plan.scale = scale
    frame = MapFrame(frame_rect, centre[0], centre[1], scale, r.k)
    fx0, fy0, fx1, fy1 = frame.extent
    if o.scale != "fit" and (fx0 > minx or fy0 > miny or fx1 < maxx or fy1 < maxy):
        log.warning(
            _(
                "%(file)s: the area is larger than one %(size)s page at 1:%(scale)s; parts are "
                "cut off (set outputs.paper.atlas: true for several pages, or a larger scale "
                "number)"
            ), {"file": r.data.spec.file, "size": o.size, "scale": f"{scale:,}"},
        )  # fmt: skip
    # Where the index starts may hold a 拡大図 instead (the index moves on to the next page)
    # when no corner of the map is free of places.
    r.inset_slot = idx_area if not large_portrait and idx_area.h > 60 * MM else None
    slot_used = any(ins.box == r.inset_slot for ins in insets)
    draw_map(r, c, frame, insets)
    if large_portrait:
        rest = _two_columns(r, c, r.panel_blocks(panel_w, scale), panel, gap)
        first = r.continuation_page(c, first=True)
        if rest:  # what did not fit under the map heads the first index column
            r.draw_blocks(c, rest, first[0].x, first[0].y1)
            first[0] = Rect(first[0].x, first[0].y, first[0].w,
                            first[0].h - r.blocks_height(rest))  # fmt: skip
        items = r.index_items(min(min(b.w for b in first), r.index_columns()[1]), atlas=False)
        r.flow_index(c, items, first, lambda: r.continuation_page(c))
        return
    r.draw_blocks(c, r.panel_blocks(panel.w, scale), panel.x, panel.y1)
    cw = (idx_area.w - gap * (ncol - 1)) / ncol
    first = (
        [Rect(idx_area.x + i * (cw + gap), idx_area.y, cw, idx_area.h) for i in range(ncol)]
        if idx_area.h > 40 and not slot_used
        else []
    )
    if first:
        draw_text(c, first[0].x, first[0].y1 - r.fs(8), r.t["index"], r.fs(8.5), bold=True)
        first = [Rect(b.x, b.y, b.w, b.h - r.fs(12)) for b in first]
    if not first:
        first = r.continuation_page(c, first=True)
    # All columns of one flow share a width (the index is measured once).
    # ... and the index pages' columns, which may be narrower than the first page's.
    items = r.index_items(min(min(b.w for b in first), r.index_columns()[1]), atlas=False)
    r.flow_index(c, items, first, lambda: r.continuation_page(c))


def _two_columns(r: Renderer, c, blocks, strip: Rect, gap: float) -> list:
    """Draw panel blocks down two columns of ``strip``; return the blocks that did not fit."""
    col_w = (strip.w - gap) / 2
    col, y_top = 0, strip.y1
    for i, (h, fn) in enumerate(blocks):
        if y_top - h < strip.y and y_top < strip.y1:  # next column (or the next page)
            col, y_top = col + 1, strip.y1
        if col > 1 or h > strip.h:
            return blocks[i:]
        fn(c, strip.x + col * (col_w + gap), y_top)
        y_top -= h + 4
    return []
