"""One sheet: map frame, side or bottom panel, and the index flowing onto extra pages if needed.

A portrait sheet puts the panel and the index in columns under the map and
gives them the least height that holds them, so the map keeps the largest
scale the page allows (a 24-place map on one A4, like a municipal 紙マップ).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from civicmap.i18n import _
from civicmap.render._fonts import draw_text
from civicmap.render.paper.geometry import MM, NICE_SCALES, MapFrame, Rect, fit_scale
from civicmap.render.paper.inset import InsetPlan, draw_map
from civicmap.render.paper.renderer import Renderer

log = logging.getLogger(__name__)

#: Columns under a portrait map are about this wide (mm): three on A4, four on A3.
COLUMN_MM = 60.0
#: The strip under the map takes this share of the sheet's content at least and at most.
STRIP_MIN, STRIP_MAX = 0.3, 0.55
#: Space between panel blocks (points), as :meth:`PanelBlocks.draw_blocks` leaves.
BLOCK_GAP = 4.0


class _OverflowError(Exception):
    """A trial layout's index ran past its columns."""


@dataclass
class _Strip:
    """The strip under a portrait map: its height, the panel blocks' places, the index columns."""

    height: float
    compact: bool
    col_w: float
    panel: list[tuple[float, float]]  # (x, y top) of each panel block, in order
    boxes: list[Rect]  # the index columns (under the index title)


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
    strip: _Strip | None = None
    if large_portrait:
        # Large print keeps the normal sheet's map (same frame, same scale): its
        # bigger panel takes the whole strip under the map in two columns, and
        # the index (and any block that does not fit) moves on to the next pages.
        with r.normal_sizes():
            normal_hh = r.header(None, title=r.data.spec.title, subtitle=r.data.spec.subtitle)
            normal_content = Rect(m, m, r.pw - 2 * m, r.ph - 2 * m - normal_hh)
            normal = _strip_layout(r, normal_content, gap=gap, gut=5.5 * MM, ground=ground)
            normal_h = r.blocks_height(r.panel_blocks(panel_w, 5000))
            r.plan.scale_bar = None
        normal_content_h = normal_content.h
        bottom = (
            normal.height
            if normal is not None
            else min(max(normal_h, normal_content_h * STRIP_MIN), normal_content_h * STRIP_MAX)
        )
        gut_n = 5.5 * MM
        frame_h = normal_content_h - bottom - gap - 2 * gut_n
        frame_rect = Rect(content.x + gut_n, content.y1 - gut_n - frame_h,
                          content.w - 2 * gut_n, frame_h)  # fmt: skip
        bottom = frame_rect.y - gut - gap - content.y
        panel_w = (content.w - gap) / 2
        panel = Rect(content.x, content.y, content.w, bottom)
        idx_area = Rect(content.x, content.y, 0, 0)
        ncol = 1
    elif portrait and (strip := _strip_layout(r, content, gap=gap, gut=gut, ground=ground)):
        frame_rect = Rect(content.x + gut, content.y + strip.height + gap + gut,
                          content.w - 2 * gut, content.h - strip.height - gap - 2 * gut)  # fmt: skip
        panel = idx_area = Rect(content.x, content.y, content.w, strip.height)
        ncol = len(strip.boxes)
    elif portrait:
        bottom = min(max(panel_h, content.h * STRIP_MIN), content.h * STRIP_MAX)
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
    # Centred on the middle of the area's bounds, so a fitted frame holds all of it: an
    # L-shaped 町丁目's centroid lies off that middle, and a frame centred there cut off
    # the far arm with its places ("outside the frame"). Only an area larger than a
    # fixed-scale sheet is centred on its heart (the centroid) instead.
    middle = ((minx + maxx) / 2, (miny + maxy) / 2)
    frame = MapFrame(frame_rect, middle[0], middle[1], scale, r.k)
    fx0, fy0, fx1, fy1 = frame.extent
    if o.scale != "fit" and (fx0 > minx or fy0 > miny or fx1 < maxx or fy1 < maxy):
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
        rest, free = _two_columns(r, c, r.panel_blocks(panel_w, scale), panel, gap)
        width = min(free.w, r.index_columns()[1])
        if not rest and free.h - r.fs(12) > 20 * MM:
            # the index starts under the panel's right-hand column, and goes on overleaf
            box = Rect(free.x, free.y, free.w, free.h - r.fs(12))
            items = r.index_items(width, atlas=False, compact=_compact(r, [box], width))
            _index_title(r, c, box)
            r.flow_index(c, items, [box], lambda: r.continuation_page(c))
            return
        first = r.continuation_page(c, first=True)
        if rest:  # what did not fit under the map heads the first index column
            r.draw_blocks(c, rest, first[0].x, first[0].y1)
            first[0] = Rect(first[0].x, first[0].y, first[0].w,
                            first[0].h - r.blocks_height(rest))  # fmt: skip
        width = min(min(b.w for b in first), r.index_columns()[1])
        items = r.index_items(width, atlas=False, compact=_compact(r, first, width))
        r.flow_index(c, items, first, lambda: r.continuation_page(c))
        return
    if strip is not None:
        blocks = r.panel_blocks(strip.col_w, scale)
        for (_h, fn), (x, y_top) in zip(blocks, strip.panel, strict=True):
            fn(c, x, y_top)
        _index_title(r, c, strip.boxes[0])
        items = r.index_items(min(strip.col_w, r.index_columns()[1]), atlas=False,
                              compact=strip.compact)  # fmt: skip
        r.flow_index(c, items, strip.boxes, lambda: r.continuation_page(c))
        return
    blocks = r.panel_blocks(panel.w, scale)
    shown = _fitting(blocks, panel.y1 - content.y)
    r.draw_blocks(c, blocks[:shown], panel.x, panel.y1)
    # blocks past the sheet's foot (a bilingual sheet's longer legend pushes the notes and
    # credits down) head the first index page instead of being cut off the paper
    overleaf = len(blocks) - shown

    def next_page(*, first_page: bool = False) -> list[Rect]:
        nonlocal overleaf
        boxes = r.continuation_page(c, first=first_page)
        if overleaf:
            rest = r.panel_blocks(boxes[0].w, scale)[-overleaf:]
            r.draw_blocks(c, rest, boxes[0].x, boxes[0].y1)
            top = boxes[0]
            boxes[0] = Rect(top.x, top.y, top.w, top.h - r.blocks_height(rest))
            overleaf = 0
        return boxes

    cw = (idx_area.w - gap * (ncol - 1)) / ncol
    first = (
        [Rect(idx_area.x + i * (cw + gap), idx_area.y, cw, idx_area.h) for i in range(ncol)]
        if idx_area.h > 40 and not slot_used
        else []
    )
    if first:
        first = [Rect(b.x, b.y, b.w, b.h - r.fs(12)) for b in first]
        _index_title(r, c, first[0])
    # All columns of one flow share a width (the index is measured once).
    # ... and the index pages' columns, which may be narrower than the first page's.
    width = min(min((b.w for b in first), default=math.inf), r.index_columns()[1])
    compact = _compact(r, first, width)
    if not first:
        first = next_page(first_page=True)
    items = r.index_items(width, atlas=False, compact=compact)
    r.flow_index(c, items, first, next_page)
    if overleaf:  # the index fitted on the sheet: the panel's last blocks on a page of their own
        next_page()


def _fitting(blocks: list[tuple[float, Callable]], room: float) -> int:
    """How many of the panel's ``blocks``, from the first, fit in ``room`` points of height."""
    used = 0.0
    for k, (h, _draw) in enumerate(blocks):
        if used + h > room + 0.01:
            return k
        used += h + BLOCK_GAP
    return len(blocks)


def _compact(r: Renderer, first: list[Rect], width: float) -> bool:
    """Whether an index that goes on to index pages is the compact one.

    ``index: auto`` keeps the full index (addresses, phones) unless the compact
    one takes fewer pages: a page of paper for the last few entries is not worth
    their addresses.
    """
    if r.opts.index != "auto":
        return r.opts.index == "compact"
    pages = {}
    for compact in (False, True):
        count = [0]

        def next_page(count=count) -> list[Rect]:
            count[0] += 1
            return _index_page_boxes(r)

        boxes = list(first) or next_page()
        r.flow_index(None, r.index_items(width, atlas=False, compact=compact), boxes, next_page)
        pages[compact] = count[0]
    return pages[True] < pages[False]


def _index_page_boxes(r: Renderer) -> list[Rect]:
    """The columns of an index page, as :meth:`IndexFlow.continuation_page` lays them out."""
    m = 10 * MM
    ncol, w = r.index_columns()
    h = r.header(None, title=r.data.spec.title, subtitle="", right=r.t["index_cont"])
    return [Rect(m + i * (w + 5 * MM), m, w, r.ph - 2 * m - h) for i in range(ncol)]


def _index_title(r: Renderer, c, box: Rect) -> None:
    """「索引」 over the first index column (the box's top is above the column, by the title)."""
    if not r.entries:  # nothing numbered: no heading over an empty column
        return
    draw_text(c, box.x, box.y1 + r.fs(12) - r.fs(8), r.t["index"], r.fs(8.5), bold=True)


def _strip_layout(
    r: Renderer, content: Rect, *, gap: float, gut: float, ground: tuple[float, float]
) -> _Strip | None:
    """Panel and index in columns under a portrait map, in the least height that holds both.

    The panel (scale, legend, notes, credits) stacks down the right-hand column
    and, when taller, ends at the foot of the column to its left; the index flows
    down the other columns. The strip is as low as the page allows (never under
    30 % of the sheet, never over 55 %), so the map is as large as it can be.
    ``index: auto`` takes the full index (addresses, phones) when it fits at the
    same scale as the compact one, else the compact one. None: the index does not
    fit on the sheet at all (the caller lays the sheet out with index pages).
    """
    o = r.opts
    ncol = max(2, int((content.w + gap) / (COLUMN_MM * MM * r.f + gap)))
    col_w = (content.w - gap * (ncol - 1)) / ncol
    blocks = [h for h, _ in r.panel_blocks(col_w, 5000)]
    r.plan.scale_bar = None
    title_h = r.fs(12)
    item_w = min(col_w, r.index_columns()[1])
    modes = {"compact": [True], "full": [False]}.get(o.index, [False, True])
    found: dict[bool, _Strip] = {}
    lo, hi = content.h * STRIP_MIN, content.h * STRIP_MAX
    frame_w = content.w - 2 * gut

    def strip_for(scale: int) -> float:
        """The highest strip that leaves the map its whole area at 1:``scale``."""
        need = ground[1] * 1000 / scale * MM
        return content.h - gap - 2 * gut - need - 0.5  # not a hair under (rounding)

    for compact in modes:
        items = r.index_items(item_w, atlas=False, compact=compact)

        def pack(h: float, compact=compact, items=items) -> _Strip | None:
            return _pack(r, content, h, ncol, col_w, gap, blocks, items, title_h, compact)

        if pack(hi) is None:
            continue
        if o.scale == "fit":
            # the largest scale whose map leaves room for the strip; the strip then takes
            # all the height that scale leaves (the index gets the room, not a blank band)
            best = fit_scale(*ground, frame_w, content.h - hi - gap - 2 * gut)
            smallest = fit_scale(*ground, frame_w, content.h - lo - gap - 2 * gut)
            for s in (n for n in NICE_SCALES if smallest <= n < best):
                h = min(hi, strip_for(s))
                if h >= lo and (found_strip := pack(h)) is not None:
                    found[compact] = found_strip
                    break
            else:
                found[compact] = pack(hi)
            continue
        while hi - lo > 0.5 * MM:  # a fixed scale: the least height that holds the strip
            mid = (lo + hi) / 2
            if pack(mid):
                hi = mid
            else:
                lo = mid
        found[compact] = pack(hi)
        lo, hi = content.h * STRIP_MIN, content.h * STRIP_MAX
    if not found:
        return None
    if len(found) == 1:
        return next(iter(found.values()))
    full, compact = found[False], found[True]

    def scale_of(st: _Strip) -> int:
        frame_h = content.h - st.height - gap - 2 * gut
        return o.scale if o.scale != "fit" else fit_scale(*ground, content.w - 2 * gut, frame_h)

    # the addresses are worth a smaller strip only when they cost the map neither its
    # scale nor more than a tenth of its height
    same = scale_of(full) == scale_of(compact)
    near = content.h - full.height >= 0.9 * (content.h - compact.height)
    return full if same and near else compact


def _pack(
    r: Renderer,
    content: Rect,
    height: float,
    ncol: int,
    col_w: float,
    gap: float,
    blocks: list[float],
    items: list,
    title_h: float,
    compact: bool,
) -> _Strip | None:
    """The strip of ``height``: where each panel block goes and the index columns, or None."""
    top, bottom = content.y + height, content.y
    x_of: Callable[[int], float] = lambda i: content.x + i * (col_w + gap)  # noqa: E731
    panel: list[tuple[float, float]] = []
    y = top
    k = 0
    while k < len(blocks) and y - blocks[k] >= bottom:
        panel.append((x_of(ncol - 1), y))
        y -= blocks[k] + BLOCK_GAP
        k += 1
    rest = blocks[k:]
    rest_h = sum(rest) + BLOCK_GAP * max(0, len(rest) - 1)
    if rest and (ncol < 3 or rest_h > height - 20 * MM):
        return None  # the panel needs more than its column and the foot of the next
    y = bottom + rest_h
    for h in rest:  # the rest at the foot of the column to the left
        panel.append((x_of(ncol - 2), y))
        y -= h + BLOCK_GAP
    boxes = [Rect(x_of(i), bottom, col_w, height - title_h) for i in range(ncol - 1)]
    if rest:
        last = boxes[-1]
        boxes[-1] = Rect(last.x, bottom + rest_h + 2 * MM, col_w, last.h - rest_h - 2 * MM)

    def overflow() -> list[Rect]:
        raise _OverflowError

    try:
        r.flow_index(None, items, list(boxes), overflow)
    except _OverflowError:
        return None
    return _Strip(height=height, compact=compact, col_w=col_w, panel=panel, boxes=boxes)


def _two_columns(r: Renderer, c, blocks, strip: Rect, gap: float) -> tuple[list, Rect]:
    """Draw panel blocks down two columns of ``strip``.

    Returns the blocks that did not fit, and the free part of the right-hand
    column under the blocks (where the index may start).
    """
    col_w = (strip.w - gap) / 2
    col, y_top = 0, strip.y1
    for i, (h, fn) in enumerate(blocks):
        if y_top - h < strip.y and y_top < strip.y1:  # next column (or the next page)
            col, y_top = col + 1, strip.y1
        if col > 1 or h > strip.h:
            return blocks[i:], Rect(strip.x + col_w + gap, strip.y, col_w, 0)
        fn(c, strip.x + col * (col_w + gap), y_top)
        y_top -= h + 4
    if col == 0:
        y_top = strip.y1
    return [], Rect(strip.x + col_w + gap, strip.y, col_w, max(0.0, y_top - gap - strip.y))
