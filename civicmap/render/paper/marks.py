"""Small drawn marks: layer markers, number boxes, the home point, routes, the north arrow, grid."""

from __future__ import annotations

import logging

from reportlab.lib import colors
from reportlab.pdfgen.canvas import FILL_EVEN_ODD

from civicmap.render._fonts import draw_text
from civicmap.render.paper.geometry import Grid, Rect
from civicmap.render.paper.placement import NumberLabel
from civicmap.render.symbols import PICTOGRAMS, SHAPES

log = logging.getLogger(__name__)


def draw_route(c, pts: list[tuple[float, float]], *, nearest: bool, walk: bool) -> None:
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


def draw_home(c, x: float, y: float, size: float) -> None:
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
    """A marker shape at (x, y), filled with ``color``, black outline.

    An evacuation pictogram is a plate in ``color`` with its figure cut out
    white (drawn over a white square, so the figure stays white on any basemap).
    """
    c.saveState()
    p = c.beginPath()
    pict = symbol in PICTOGRAMS
    for poly in SHAPES.get(symbol, SHAPES["circle"]):
        (vx, vy), *rest = poly
        p.moveTo(x + (vx - 0.5) * size, y - (vy - 0.5) * size)
        for vx, vy in rest:
            p.lineTo(x + (vx - 0.5) * size, y - (vy - 0.5) * size)
        p.close()
    c.setLineJoin(1)
    if pict:
        plate = SHAPES[symbol][0]
        (x0, y0), (x1, y1) = plate[0], plate[2]
        rx, ry = x + (x0 - 0.5) * size, y - (y1 - 0.5) * size
        c.setFillColor(colors.white)
        c.setStrokeColor(colors.black)
        c.setLineWidth(max(0.5, size * 0.06))
        c.rect(rx, ry, (x1 - x0) * size, (y1 - y0) * size, stroke=1, fill=1)
        c.setFillColor(colors.HexColor(color))
        c.drawPath(p, stroke=0, fill=1, fillMode=FILL_EVEN_ODD)  # the figure is a hole
    else:
        c.setFillColor(colors.HexColor(color))
        c.setStrokeColor(colors.black)
        c.setLineWidth(max(0.6, size * 0.08))
        c.drawPath(p, stroke=1, fill=1)
    if approximate:
        c.setDash([1.5, 1.2])
        c.setLineWidth(0.6)
        c.circle(x, y, size * 0.85, stroke=1, fill=0)
    c.restoreState()


def draw_place_marker(c, e, x: float, y: float, size: float) -> None:
    """One place's marker; a place several layers share shows every layer's symbol.

    The symbols are stacked: the others peek out up and to the right, smaller,
    behind the first layer's symbol, so a 指定避難所 that is also a 指定緊急避難場所
    reads as both at a glance while keeping one marker and one number. Colours and
    symbols come from the style table (``e.look``), as on the web map.
    """
    for k, other in reversed(list(enumerate(e.also, start=1))):
        st = other.spec.style
        off = size * 0.42 * k
        draw_marker(c, st.symbol, x + off, y + off, size * 0.85, st.color)
    look = e.look or e.layer.spec.style
    draw_marker(c, look.symbol, x, y, size, look.color, approximate=e.approximate)


def leader_line(c, label: NumberLabel) -> None:
    """The line from a marker to its number placed away from it (nothing when beside it)."""
    if not label.leader:
        return
    b = label.box
    mx, my = label.marker
    c.saveState()
    c.setStrokeColor(colors.black)
    c.setLineWidth(0.45)
    c.line(mx, my, min(max(mx, b.x), b.x1), min(max(my, b.y), b.y1))
    c.restoreState()


def number_box(c, label: NumberLabel, fs: float, *, leader: bool = True) -> None:
    """A number in its white box; with its leader line unless ``leader`` is False."""
    if leader:
        leader_line(c, label)
    b = label.box
    c.saveState()
    c.setFillColor(colors.white)
    c.setStrokeColor(colors.black)
    c.setLineWidth(0.4)
    c.roundRect(b.x, b.y, b.w, b.h, 1.2, stroke=1, fill=1)
    c.restoreState()
    draw_text(c, b.x + b.w / 2, b.y + b.h * 0.22, str(label.number), fs, anchor="middle", bold=True)


def north_arrow(c, x: float, y: float, size: float, angle: float, label: str) -> Rect:
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


def draw_grid(c, g: Grid, fs: float) -> None:
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
