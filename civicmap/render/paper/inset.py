"""The 拡大図 (inset): the densest part of a crowded sheet, magnified 2–4× on the same page.

A municipal 防災マップ that cannot print its city centre at the city's scale
does not print a starburst of leader lines: it draws the centre again, larger,
in a corner of the sheet, boxed and labelled 「拡大図A」 on the main map. This
module does the same for a single sheet that fails the readability check:

- :func:`inset_candidates` finds the window of the main map that holds most of
  the trouble (numbers listed apart or far from their marker, markers in an
  over-full square of paper), for each magnification and panel size, and a
  corner of the frame where the panel hides no place;
- :func:`draw_map` draws the main frame with those places' numbers left to the
  inset, outlines the window with its label, then draws the inset itself:
  the same basemap, markers and numbers at the larger scale, with its own grid
  in lower case (a–d, 1–4) so its cells never read as the main map's.

Numbering stays one numbering (the index's); the index refers a place inside
the window to the inset's cell (拡大A b2).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from reportlab.lib import colors

from civicmap import wording
from civicmap.i18n import _
from civicmap.render._fonts import draw_text, text_width
from civicmap.render.paper.geometry import MM, NICE_SCALES, Grid, MapFrame, Rect, scale_bar
from civicmap.render.paper.readability import CELL_MM, MAX_PER_CELL, far_numbers

log = logging.getLogger(__name__)

#: The words an inset prints, in the map's language (short: they sit in the index's cell column).
INSET_TEXT = wording.Table("inset")
#: Magnifications an inset may have (the main scale over the inset's).
MIN_ZOOM, MAX_ZOOM = 2.0, 4.0
#: Panel sizes tried, as a fraction of the main frame's width and height.
PANEL_FRACTIONS = (0.5, 0.44, 0.38)
#: Step (points) of the window search over the main frame.
SEARCH_STEP = 4.0
#: Clearance (points) kept between the panel and any marker it would hide, and the window.
CLEAR = 3.0


@dataclass
class InsetPlan:
    """One inset: where its window is on the main map, where its panel is, at what scale.

    Attributes
    ----------
    label
        「A」, 「B」…: 拡大図A on the main map, 拡大A b2 in the index.
    window
        The magnified part of the main frame, in page points.
    panel
        The inset's own map frame on the page (under its title band).
    box
        Panel and title band: everything the inset covers of the main map.
    scale
        The inset's scale number (1:N).
    centre
        The projected point (metres) at the window's centre.
    covered
        Trouble markers of the main sheet the window takes over (how it was chosen).
    frame
        The inset's :class:`~civicmap.render.paper.plan.FramePlan`, once drawn.
    numbers
        The entries numbered in the inset (and so not on the main map).
    """

    label: str
    window: Rect
    panel: Rect
    box: Rect
    scale: int
    centre: tuple[float, float]
    covered: int = 0
    frame: Any = None
    numbers: frozenset[int] = frozenset()

    @property
    def zoom(self) -> float:
        """How many times larger the inset draws the ground than the main map."""
        return self.panel.w / self.window.w


@dataclass(frozen=True)
class InsetGrid(Grid):
    """The inset's grid: lower-case columns (a, b, …) and references that name the inset."""

    label: str = "A"
    lang: str = "ja"

    def col_label(self, i: int) -> str:
        return chr(ord("a") + i)

    def cell(self, x: float, y: float) -> str:
        """The index reference of page point (x, y): 「拡大A b2」."""
        return INSET_TEXT[self.lang]["ref"].format(label=self.label, cell=super().cell(x, y))

    def draw_inside(self, c, fs: float) -> list[Rect]:
        """Grid lines, and labels inside the frame's top and left edges (the main map is outside).

        Returns the label boxes, so numbers keep off them.
        """
        r = self.rect
        c.saveState()
        c.setStrokeColor(colors.Color(0.25, 0.25, 0.25, alpha=0.55))
        c.setLineWidth(0.35)
        c.setDash([3, 2])
        for i in range(1, self.cols):
            x = r.x + r.w * i / self.cols
            c.line(x, r.y, x, r.y1)
        for j in range(1, self.rows):
            y = r.y + r.h * j / self.rows
            c.line(r.x, y, r.x1, y)
        c.restoreState()
        boxes = []
        for box, text in self.labels(fs):
            c.saveState()
            c.setFillColor(colors.white)
            c.setStrokeColor(colors.Color(0.3, 0.3, 0.3))
            c.setLineWidth(0.4)
            c.rect(box.x, box.y, box.w, box.h, stroke=1, fill=1)
            c.restoreState()
            draw_text(c, box.x + box.w / 2, box.y + fs * 0.28, text, fs, anchor="middle",
                      bold=True)  # fmt: skip
            boxes.append(box)
        return boxes

    def labels(self, fs: float) -> list[tuple[Rect, str]]:
        """The label tabs (box, text): a–d along the top edge, 1–4 down the left, inside."""
        r = self.rect
        h = fs * 1.25
        out = []
        for i in range(self.cols):
            text = self.col_label(i)
            w = text_width(text, fs) + 3
            out.append((Rect(r.x + r.w * (i + 0.5) / self.cols - w / 2, r.y1 - h, w, h), text))
        for j in range(self.rows):
            text = str(j + 1)
            w = text_width(text, fs) + 3
            out.append((Rect(r.x, r.y1 - r.h * (j + 0.5) / self.rows - h / 2, w, h), text))
        return out


def inset_grid(panel: Rect, *, label: str, lang: str) -> InsetGrid:
    """Four columns (a–d) and as many square-ish rows as the panel's shape gives."""
    rows = max(2, min(6, round(4 * panel.h / panel.w)))
    return InsetGrid(panel, 4, rows, label=label, lang=lang)


def shown_in(entries, frame: MapFrame, marker: float) -> list:
    """The entries whose whole marker fits inside ``frame`` (none is cut by its edge).

    The one rule for what a frame shows: the inset numbers exactly these, and
    the main map leaves exactly these to it.
    """
    minx, miny, maxx, maxy = frame.extent
    m = marker * 0.6 / frame.pt_per_unit
    return [
        e for e in entries if minx + m <= e.xy[0] <= maxx - m and miny + m <= e.xy[1] <= maxy - m
    ]


def title_band(r) -> float:
    """Height (points) of the band over the inset's panel that names it and its scale."""
    return r.fs(8) * 1.7


def inset_candidates(
    r, fp, *, label: str = "A", limit: int = 4, taken: list[InsetPlan] | tuple = ()
) -> list[InsetPlan]:
    """Insets that may make the sheet of frame plan ``fp`` readable, most promising first.

    For each inset scale (a round scale 2–4× larger than the sheet's) and panel
    size, the window is put where it covers most trouble markers (numbers listed
    apart or more than 15 mm from their marker, markers of an over-full square),
    and the panel in a free corner of the frame (not the north arrow's): one
    that hides no marker, nor the home point, nor the window. A window whose
    markers would still be over-full at the inset's scale is not proposed.
    """
    frame: MapFrame = fp.frame
    fr = frame.rect
    band = title_band(r)
    pts = np.array([frame.to_page(*e.xy) for e in r.entries if e.ref], dtype=float).reshape(-1, 2)
    if r.home is not None:
        pts = np.vstack([pts, np.array([frame.to_page(*r.home)])])
    trouble = _trouble(fp)
    if not len(trouble):
        return []
    t = np.array(trouble, dtype=float)
    out: list[InsetPlan] = []
    scales = [s for s in NICE_SCALES if MIN_ZOOM <= frame.scale / s <= MAX_ZOOM]
    for scale in sorted(scales, key=lambda s: frame.scale / s):  # least magnified first
        zoom = frame.scale / scale
        for frac in PANEL_FRACTIONS:
            pw, ph = fr.w * frac, fr.h * frac - band
            ww, wh = pw / zoom, ph / zoom
            for count, window in _best_windows(t, fr, ww, wh):
                if count == 0:
                    break
                if _peak(pts, window, CELL_MM * MM / zoom) > MAX_PER_CELL or _hits(window, taken):
                    continue
                box = _corner(fr, pw, ph + band, window, pts, r.marker)
                if box is not None and _hits(box, taken):
                    box = None
                if box is None:
                    continue
                panel = Rect(box.x, box.y, pw, ph)
                out.append(
                    InsetPlan(label, window, panel, box, scale, _centre(frame, window), count)
                )
                break
    # Most trouble taken over first; then the least magnified (the most ground shown).
    out.sort(key=lambda i: (-i.covered, i.zoom, -i.panel.w))
    # No free corner good enough: the index's place beside the panel (the index moves on).
    slot: Rect | None = getattr(r, "inset_slot", None)
    beside: list[InsetPlan] = []
    if slot is not None and not any(t.box == slot for t in taken):
        pw, ph = slot.w, slot.h - band
        for scale in sorted(scales, key=lambda s: frame.scale / s):
            zoom = frame.scale / scale
            for count, window in _best_windows(t, fr, pw / zoom, ph / zoom):
                if count == 0:
                    break
                if _peak(pts, window, CELL_MM * MM / zoom) > MAX_PER_CELL or _hits(window, taken):
                    continue
                panel = Rect(slot.x, slot.y, pw, ph)
                beside.append(InsetPlan(label, window, panel, slot, scale,
                                        _centre(frame, window), count))  # fmt: skip
                break
        beside.sort(key=lambda i: (-i.covered, i.zoom))
    return out[:limit] + beside[:limit]


def _hits(rect: Rect, taken) -> bool:
    """Whether ``rect`` touches another inset's window, panel or their clearance."""
    pad = CLEAR * 3
    return any(
        rect.intersects(Rect(b.x - pad, b.y - pad, b.w + 2 * pad, b.h + 2 * pad))
        for t in taken
        for b in (t.window, t.box)
    )


def _centre(frame: MapFrame, window: Rect) -> tuple[float, float]:
    """The projected point at the centre of ``window`` (page points on ``frame``)."""
    fr = frame.rect
    return (
        frame.cx + (window.x + window.w / 2 - (fr.x + fr.w / 2)) / frame.pt_per_unit,
        frame.cy + (window.y + window.h / 2 - (fr.y + fr.h / 2)) / frame.pt_per_unit,
    )


def _trouble(fp) -> list[tuple[float, float]]:
    """Markers the sheet cannot number well: listed apart, far from their number, over-full."""
    far = {lab.number for lab in far_numbers(fp)}
    out = [xy for _n, _cell, xy in fp.unplaced]
    out += [lab.marker for lab in fp.numbers if lab.number in far]
    cell = CELL_MM * MM
    counts: dict[tuple[int, int], list] = {}
    for xy in [lab.marker for lab in fp.numbers] + [xy for _n, _c, xy in fp.unplaced]:
        counts.setdefault((int(xy[0] // cell), int(xy[1] // cell)), []).append(xy)
    for members in counts.values():
        if len(members) > MAX_PER_CELL:
            out += members
    return list(dict.fromkeys(out))


def _best_windows(t: np.ndarray, fr: Rect, ww: float, wh: float):
    """Windows of ww × wh inside ``fr`` holding the most points of ``t``, best first (up to 5)."""
    if ww > fr.w or wh > fr.h:
        return []
    xs = np.arange(fr.x, fr.x1 - ww + 1e-6, SEARCH_STEP)
    ys = np.arange(fr.y, fr.y1 - wh + 1e-6, SEARCH_STEP)
    inx = (t[:, 0][None, :] >= xs[:, None]) & (t[:, 0][None, :] <= xs[:, None] + ww)
    iny = (t[:, 1][None, :] >= ys[:, None]) & (t[:, 1][None, :] <= ys[:, None] + wh)
    counts = iny.astype(np.int32) @ inx.T.astype(np.int32)  # (len(ys), len(xs))
    order = np.argsort(-counts, axis=None, kind="stable")[:400]
    out: list[tuple[int, Rect]] = []
    for k in order:
        j, i = divmod(int(k), counts.shape[1])
        w = Rect(float(xs[i]), float(ys[j]), ww, wh)
        # distinct windows only (a step aside is the same window)
        if all(abs(w.x - o.x) > ww / 3 or abs(w.y - o.y) > wh / 3 for _c, o in out):
            out.append((int(counts[j, i]), w))
        if len(out) == 5:
            break
    return out


def _peak(pts: np.ndarray, window: Rect, cell: float) -> int:
    """Most markers of ``window`` in one square of ``cell`` points (the inset's 20 mm square)."""
    inside = pts[
        (pts[:, 0] >= window.x)
        & (pts[:, 0] <= window.x1)
        & (pts[:, 1] >= window.y)
        & (pts[:, 1] <= window.y1)
    ]
    if not len(inside):
        return 0
    keys = np.floor((inside - (window.x, window.y)) / cell).astype(np.int64)
    _u, n = np.unique(keys, axis=0, return_counts=True)
    return int(n.max())


def _corner(
    fr: Rect, w: float, h: float, window: Rect, pts: np.ndarray, marker: float
) -> Rect | None:
    """A corner box of w × h in frame ``fr`` hiding no point and clear of the window, or None.

    The top right corner holds the north arrow: it is never used.
    """
    corners = [Rect(fr.x, fr.y, w, h), Rect(fr.x1 - w, fr.y, w, h), Rect(fr.x, fr.y1 - h, w, h)]
    grown = Rect(window.x - CLEAR * 3, window.y - CLEAR * 3, window.w + CLEAR * 6,
                 window.h + CLEAR * 6)  # fmt: skip
    pad = marker / 2 + CLEAR
    for box in corners:
        if box.intersects(grown):
            continue
        hidden = (
            (pts[:, 0] > box.x - pad)
            & (pts[:, 0] < box.x1 + pad)
            & (pts[:, 1] > box.y - pad)
            & (pts[:, 1] < box.y1 + pad)
        )
        if not hidden.any():
            return box
    return None


def inset_frame(r, ins: InsetPlan) -> MapFrame:
    """The inset's map frame: its panel, centred on the window, at its own scale."""
    return MapFrame(ins.panel, ins.centre[0], ins.centre[1], ins.scale, r.k)


def draw_map(r, c, frame: MapFrame, insets: list[InsetPlan] | tuple = ()) -> None:
    """Draw the sheet's map frame and its insets (none: the frame alone, as always).

    The main frame draws every marker but leaves the numbers of the places an
    inset shows to the inset; its numbers keep off the windows and the panels.
    """
    if not insets:
        r.draw_frame(c, frame)
        return
    for ins in insets:
        ins.numbers = frozenset(
            e.number for e in shown_in(r.entries, inset_frame(r, ins), r.marker)
        )
    fs = r.fs(8)
    labels = [_window_label(r, ins, frame.rect, fs) for ins in insets]
    reserved = tuple(b for ins, lab in zip(insets, labels, strict=True)
                     for b in (ins.box, ins.window, lab))  # fmt: skip
    elsewhere = frozenset().union(*(ins.numbers for ins in insets))
    r.draw_frame(c, frame, reserved=reserved, elsewhere=elsewhere)
    for ins, lab in zip(insets, labels, strict=True):
        _outline(c, ins.window, lab, INSET_TEXT[r.lang]["title"].format(label=ins.label), fs)
        grid = inset_grid(ins.panel, label=ins.label, lang=r.lang)
        tabs = tuple(box for box, _text in grid.labels(r.fs(7.5)))  # the notes keep off them
        ins.frame = r.draw_frame(c, inset_frame(r, ins), grid=grid, north=False,
                                 reserved=tabs + _corner_pins(ins.panel))  # fmt: skip
        _title(c, r, ins, fs)
    r.plan.insets = list(insets)


def _corner_pins(panel: Rect) -> tuple[Rect, ...]:
    """A point reserved in each corner a background note may take: the inset prints none.

    The main map on the same page carries the note (the outline background's credit);
    repeated in the inset it would only cover places.
    """
    return tuple(
        Rect(x, y, 1.0, 1.0)
        for x, y in ((panel.x + 3, panel.y + 3), (panel.x + 3, panel.y1 - 4),
                     (panel.x1 - 4, panel.y + 3), (panel.x1 - 4, panel.y1 - 4))
    )  # fmt: skip


def _window_label(r, ins: InsetPlan, main: Rect, fs: float) -> Rect:
    """Where the window's 「拡大図A」 tab goes: over its top left corner, else under its bottom."""
    text = INSET_TEXT[r.lang]["title"].format(label=ins.label)
    w, h = text_width(text, fs) + 4, fs * 1.4
    y = ins.window.y1 if ins.window.y1 + h <= main.y1 else ins.window.y - h
    return Rect(ins.window.x, y, w, h)


def _outline(c, window: Rect, tab: Rect, text: str, fs: float) -> None:
    """The window on the main map: a bold box and its label tab, white under black."""
    c.saveState()
    c.setStrokeColor(colors.white)
    c.setLineWidth(3.2)
    c.rect(window.x, window.y, window.w, window.h, stroke=1, fill=0)
    c.setStrokeColor(colors.black)
    c.setLineWidth(1.6)
    c.rect(window.x, window.y, window.w, window.h, stroke=1, fill=0)
    c.setFillColor(colors.black)
    c.rect(tab.x, tab.y, tab.w, tab.h, stroke=0, fill=1)
    c.restoreState()
    draw_text(c, tab.x + 2, tab.y + fs * 0.38, text, fs, bold=True, color=colors.white)


def _title(c, r, ins: InsetPlan, fs: float) -> None:
    """The band over the panel: 「拡大図A　1:50,000（4倍）」, and a bold border round it all."""
    box, band = ins.box, ins.box.h - ins.panel.h
    c.saveState()
    c.setFillColor(colors.black)
    c.rect(box.x, ins.panel.y1, box.w, band, stroke=0, fill=1)
    c.restoreState()
    words = INSET_TEXT[r.lang]
    name = words["title"].format(label=ins.label)
    zoom = ins.zoom
    times = f"{zoom:g}" if abs(zoom - round(zoom, 1)) < 1e-9 else f"{zoom:.1f}"
    ratio = f"1:{ins.scale:,}" + words["zoom"].format(times=times)
    title = f"{name}  {ratio}"
    draw_text(c, box.x + 4, ins.panel.y1 + band * 0.3, title, fs, bold=True, color=colors.white)
    # Its own scale bar at the band's right, when it fits beside the title: 0 ━━ 1 km.
    bar = scale_bar(ins.scale, target_mm=12)
    label = f"{bar.tick_label(bar.metres)} {bar.unit}"
    x1 = box.x1 - 5 - text_width(label, fs) - 3
    x0 = x1 - bar.length
    if x0 - text_width("0", fs) - 3 > box.x + 4 + text_width(title, fs) + 6:
        y = ins.panel.y1 + band * 0.5
        c.saveState()
        c.setStrokeColor(colors.white)
        c.setLineWidth(1.6)
        c.line(x0, y, x1, y)
        c.setLineWidth(0.8)
        for x in (x0, x1):
            c.line(x, y - 2.5, x, y + 2.5)
        c.restoreState()
        draw_text(c, x0 - 3, ins.panel.y1 + band * 0.3, "0", fs, anchor="end", color=colors.white)
        draw_text(c, x1 + 3, ins.panel.y1 + band * 0.3, label, fs, color=colors.white)
    c.saveState()
    c.setStrokeColor(colors.black)
    c.setLineWidth(1.6)
    c.rect(box.x, box.y, box.w, box.h, stroke=1, fill=0)
    c.restoreState()


def describe(insets: list[InsetPlan]) -> str:
    """「拡大図A 1:50,000（4倍、63か所）」 for the log and the batch manifest (run's language)."""
    return _(", ").join(
        _("inset %(label)s at 1:%(scale)s (%(zoom)s times, %(n)d places)")
        % {"label": i.label, "scale": f"{i.scale:,}", "zoom": f"{i.zoom:.3g}", "n": len(i.numbers)}
        for i in insets
    )
