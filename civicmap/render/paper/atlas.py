"""A grid atlas: an overview page, one page per sheet with places, and one index.

Sheets are cut on a regular grid over the map's area; a sheet with no place on
it is left out (the overview shows it faint and unnumbered). The number printed
on a sheet is its PDF page number (the overview is page 1), so "print page 26"
prints the sheet labelled 26. More than ``max_pages`` pages stops the build
with a message naming the count and what would make fewer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from reportlab.lib import colors

from civicmap.errors import ConfigError, Problem
from civicmap.i18n import _
from civicmap.render._fonts import draw_text, text_width
from civicmap.render.background import map_credits, shown_credit
from civicmap.render.paper.blank import BlankCanvas
from civicmap.render.paper.geometry import (
    MM,
    NICE_SCALES,
    AtlasPage,
    MapFrame,
    Rect,
    atlas_pages,
    keep_pages,
    scale_bar,
)
from civicmap.render.paper.inset import shown_in
from civicmap.render.paper.overview import OverviewShape, draw_overview
from civicmap.render.paper.panel import draw_scale_bar, scale_bar_width
from civicmap.render.paper.readability import peak_density
from civicmap.render.paper.renderer import Renderer
from civicmap.render.paper.texts import wrap

if TYPE_CHECKING:
    from civicmap.render.paper.plan import Entry

log = logging.getLogger(__name__)


def sheet_credit_lines(r: Renderer) -> list[str]:
    """The credit line(s) every atlas map page prints under its frame.

    Pages of an atlas get photocopied and handed out one by one: each names
    its sources (and the 承認番号 sentence) itself. Wrapped to the page width,
    never set smaller than the sheet's type floor.
    """
    shown = (shown_credit(cr, language=r.data.language) for cr in map_credits(r.data))
    text = "／".join(dict.fromkeys(t for t in shown if t))
    if not text:
        return []
    fs = r.fs(7)
    return wrap(text, r.pw - 2 * 10 * MM, lambda s: text_width(s, fs))


def _credit_extra(r: Renderer) -> float:
    """How far the credit lines reach above the bottom margin (the frame gives up that much).

    The lines sit in the page's bottom margin down to 5 mm from the paper's
    edge (what printers print); only what does not fit there takes map room.
    """
    credit_h = len(sheet_credit_lines(r)) * r.fs(7) * 1.25
    return max(0.0, credit_h - (10 * MM - 5 * MM))


def sheet_frame_rect(r: Renderer) -> Rect:
    """The map frame of an atlas page: a small header, the frame fills the rest.

    The credit lines go in the bottom margin (:func:`_credit_extra`).
    """
    m = 10 * MM
    gut = 5.5 * MM * (1.3 if r.f > 1 else 1.0)
    header_h = r.fs(15) + 5
    extra = _credit_extra(r)
    return Rect(m + gut, m + gut + extra, r.pw - 2 * m - 2 * gut,
                r.ph - 2 * m - header_h - 2 * gut - extra)  # fmt: skip


def _cells(r: Renderer, scale: int) -> tuple[list[AtlasPage], tuple[float, float]]:
    """Every grid sheet over the area at ``scale`` and the ground size of one sheet."""
    frame_rect = sheet_frame_rect(r)
    probe = MapFrame(frame_rect, 0, 0, scale, r.k)
    fg = (frame_rect.w / probe.pt_per_unit, frame_rect.h / probe.pt_per_unit)
    area = r.area

    def covers(x0, y0, x1, y1):
        return area.intersects(shapely.box(x0, y0, x1, y1))

    return atlas_pages(area.bounds, fg, overlap=r.opts.overlap, covers=covers), fg


def _owners(entries: list[Entry], cells: list[AtlasPage], fg, inset: float = 0.0) -> np.ndarray:
    """For each place, the index into ``cells`` of the sheet where it sits farthest from
    an edge (-1: on no sheet). Vectorised: places × sheets distances in one array."""
    if not entries or not cells:
        return np.full(len(entries), -1)
    xy = np.array([e.xy for e in entries])
    cc = np.array([pg.center for pg in cells])
    owners = np.full(len(entries), -1)
    best = np.full(len(entries), -np.inf)
    for start in range(0, len(cc), 512):  # bounded memory for thousands of sheets
        part = cc[start : start + 512]
        d = np.minimum(
            fg[0] / 2 - np.abs(xy[:, None, 0] - part[None, :, 0]),
            fg[1] / 2 - np.abs(xy[:, None, 1] - part[None, :, 1]),
        )
        i = d.argmax(axis=1)
        v = d[np.arange(len(xy)), i]
        better = v > best
        owners[better] = start + i[better]
        best[better] = v[better]
    owners[best < inset] = -1  # a marker must sit whole inside its sheet's frame
    return owners


def _sheets(r: Renderer, scale: int):
    cells, fg = _cells(r, scale)
    inset = r.marker * 0.6 / MapFrame(sheet_frame_rect(r), 0, 0, scale, r.k).pt_per_unit
    owners = _owners(r.entries, cells, fg, inset)
    used = {cells[i].number for i in set(owners.tolist()) if i >= 0}
    skip = r.opts.atlas.skip_empty if r.opts.atlas.skip_empty is not None else True
    keep = used if skip else {pg.number for pg in cells}
    return cells, fg, owners, keep


def index_pages_needed(r: Renderer) -> int:
    """How many index pages the atlas's index will take (measured before drawing).

    The page guard counts them with the map sheets: a 金沢 A3 large print has
    nine. The index is flowed once onto a scratch canvas that is thrown away,
    with the same items and columns as the real pages, so the count is the
    index as it will be drawn, less any "numbers not printed" list a crowded
    sheet may add later. The scratch canvas draws nothing (:class:`BlankCanvas`).
    """
    if not r.entries:
        return 0
    m = 10 * MM
    ncol, col_w = r.index_columns()
    head = r.header(None, title=r.data.spec.title, subtitle="", right=r.t["index"])
    boxes = [Rect(m + i * (col_w + 5 * MM), m, col_w, r.ph - 2 * m - head) for i in range(ncol)]
    pages = [1]

    def next_page() -> list[Rect]:
        pages[0] += 1
        return list(boxes)

    scratch = BlankCanvas()  # every measure of a real page, no PDF
    r.flow_index(
        scratch,
        r.index_items(col_w, atlas=True, compact=r.opts.index == "compact"),
        list(boxes),
        next_page,
    )
    return pages[0]


@dataclass(frozen=True)
class AtlasOutline:
    """A grid atlas at one scale as planned, before anything is drawn.

    Attributes
    ----------
    sheets
        Map sheets with places on them (the pages after the overview).
    peak_density
        Most markers in one square of any sheet, as the readability check
        counts them on the drawn pages.
    """

    sheets: int
    peak_density: int


def atlas_outline(r: Renderer, scale: int) -> AtlasOutline:
    """How many sheets a grid atlas at ``scale`` has and how crowded its fullest one is.

    The same sheets :func:`draw_atlas` draws and the same markers each frame
    shows (:func:`~civicmap.render.paper.inset.shown_in`), without drawing: a
    caller that tries several scales (``civicmap init``) needs no drawing to
    know that an atlas is over ``max_pages`` (with :func:`index_pages_needed`)
    or too crowded to read (``peak_density`` over the check's limit), and
    draws only the scales these leave open.
    """
    cells, _fg, _owners, keep = _sheets(r, scale)
    frame_rect = sheet_frame_rect(r)
    peak = 0
    for pg in keep_pages(cells, keep, first=2):
        frame = MapFrame(frame_rect, pg.center[0], pg.center[1], scale, r.k)
        shown = shown_in(r.entries, frame, r.marker)
        peak = max(peak, peak_density(frame.to_page(*e.xy) for e in shown))
    return AtlasOutline(len(keep), peak)


def _too_many(r: Renderer, pages: int, scale: int, index_pages: int) -> ConfigError:
    """The error for an atlas over ``max_pages``: the count and settings that make fewer."""
    o = r.opts
    ways = []
    for s in NICE_SCALES:
        if s > scale:
            n = len(_sheets(r, s)[3]) + 1 + index_pages
            if n <= o.max_pages:
                ways.append(_("scale: %(scale)d (%(n)d pages)") % {"scale": s, "n": n})
                break
    ways.append(_("atlas: {areas: FILE, name: FIELD} (one page per 町丁目 or school district)"))
    if o.size in ("A4", "B5", "B4"):
        ways.append(_("size: A3 (more map per page)"))
    ways.append(_("a smaller area, or fewer layers"))
    ways.append(_("max_pages: %(pages)d to print them all anyway") % {"pages": pages})
    msg = _(
        "the atlas would have %(pages)d pages at 1:%(scale)s (%(sheets)d map sheets with places, "
        "an overview and %(index)d index pages), more than the %(max)d allowed; use %(ways)s"
    ) % {
        "pages": pages,
        "scale": f"{scale:,}",
        "sheets": pages - 1 - index_pages,
        "index": index_pages,
        "max": o.max_pages,
        "ways": _("; or ").join(ways),
    }
    return ConfigError([Problem(str(r.data.spec.file), "outputs.paper.atlas", msg)])


def draw_atlas(r: Renderer, c) -> None:
    """Overview, one page per sheet with places, then the index."""
    o = r.opts
    scale = int(o.scale)
    r.plan.scale = scale
    cells, fg, owners, keep = _sheets(r, scale)
    index_pages = index_pages_needed(r)  # every page counts: overview, sheets and index
    if len(keep) + 1 + index_pages > o.max_pages:
        raise _too_many(r, len(keep) + 1 + index_pages, scale, index_pages)
    # Sheet numbers are PDF page numbers: the overview is page 1.
    pages = keep_pages(cells, keep, first=2)
    renumber = {}
    kept_cells = [pg for pg in cells if pg.number in keep]
    for old, new in zip(kept_cells, pages, strict=True):
        renumber[old.number] = new.number
    for e, i in zip(r.entries, owners.tolist(), strict=True):
        e.page = renumber.get(cells[i].number) if i >= 0 else None
    left_out = len(cells) - len(pages)
    if not pages:
        log.warning(
            _(
                "%(file)s: no place lies on any atlas sheet; the PDF has only the overview "
                "(check the layers, or the map's area:)"
            ),
            {"file": r.data.spec.file},
        )
    if left_out:
        log.info(
            _("atlas: %(left_out)d of %(n)d sheets have no place on them and are left out"),
            {"left_out": left_out, "n": len(cells)},
        )
    r.plan.atlas_pages = pages
    r.plan.atlas_left_out = left_out
    half = (fg[0] / 2, fg[1] / 2)
    shapes = [
        OverviewShape(
            shapely.box(
                pg.center[0] - half[0],
                pg.center[1] - half[1],
                pg.center[0] + half[0],
                pg.center[1] + half[1],
            ),
            renumber.get(pg.number),
        )
        for pg in cells
    ]
    draw_overview(r, c, shapes, sheet_scale=scale)
    frame_rect = sheet_frame_rect(r)
    for pg in pages:
        frame = MapFrame(frame_rect, pg.center[0], pg.center[1], scale, r.k)
        draw_sheet(r, c, frame, pg, scale=scale, title=r.data.spec.title)
    cols = r.continuation_page(c, first=True)
    items = r.index_items(cols[0].w, atlas=True, compact=r.opts.index == "compact")
    r.flow_index(c, items, cols, lambda: r.continuation_page(c))


def draw_sheet(
    r: Renderer, c, frame: MapFrame, pg: AtlasPage, *, scale: int, title: str, focus=None
) -> None:
    """One atlas page: header with its page number, the frame, a boxed scale bar.

    Places whose ``page`` is this page get their index reference (page and grid cell).
    """
    c.showPage()
    c.setPageSize((r.pw, r.ph))
    r.page_no += 1
    assert r.page_no == pg.number, (r.page_no, pg.number)
    r.header(c, title=title, subtitle="", right=f"{r.t['page']} {pg.number}  1:{scale:,}")
    frame_rect = frame.rect
    bar = scale_bar(scale)
    bx = frame_rect.x + 6
    bar_box = Rect(bx - 3, frame_rect.y + 3, scale_bar_width(bar, r.fs(7)) + 8, r.fs(7) * 4.6)
    fplan = r.draw_frame(c, frame, atlas=pg, focus=focus, reserved=(bar_box,))
    inset = r.marker * 0.6
    inner = Rect(frame_rect.x + inset, frame_rect.y + inset,
                 frame_rect.w - 2 * inset, frame_rect.h - 2 * inset)  # fmt: skip
    for e in r.entries:
        if e.page == pg.number:
            x, y = frame.to_page(*e.xy)
            if inner.x <= x <= inner.x1 and inner.y <= y <= inner.y1:  # else: off this page
                e.ref = f"p{pg.number} {fplan.grid.cell(x, y)}"
    c.saveState()
    c.setFillColor(colors.white)
    c.setStrokeColor(colors.black)
    c.setLineWidth(0.4)
    c.rect(bar_box.x, bar_box.y, bar_box.w, bar_box.h, stroke=1, fill=1)
    c.restoreState()
    draw_scale_bar(c, bx, frame_rect.y + 6, bar, scale, r.fs(7), r.lang)
    fs = r.fs(7)
    top = 10 * MM + _credit_extra(r)  # under the grid letters, in the bottom margin
    for i, line in enumerate(sheet_credit_lines(r)):
        draw_text(c, 10 * MM, top - fs - i * fs * 1.25, line, fs)
