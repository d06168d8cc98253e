"""The home routes in the order both maps list them (shared by web and paper)."""

from __future__ import annotations

import math

import geopandas as gpd
from reportlab.lib import colors
from reportlab.pdfgen.pathobject import PDFPathObject

#: The routes' colour on paper and on the web: CUD 推奨配色セット ver.4 紫 (153, 0, 153),
#: reserved for routes: no built-in layer uses it (tests/test_colours.py checks).
ROUTE_COLOUR = "#990099"


def ordered_routes(routes: gpd.GeoDataFrame | None, crs) -> gpd.GeoDataFrame | None:
    """The routes in ``crs``, nearest on foot first; None when there are none.

    Walked routes come first by walking distance, then straight-line fallbacks
    (no street route known) by straight distance. Two columns are added:
    ``walked`` (a walked route with a walking distance) and ``nearest`` (the
    first walked route, which both maps draw emphasised).
    """
    if routes is None or routes.empty:
        return None
    frame = routes.to_crs(crs)
    walked = frame["walk_m"].notna() & (frame["route"] == "walk")
    # several homes (``homes:``): each home's routes together, in the homes' order
    home_order = {ref: i for i, ref in enumerate(dict.fromkeys(frame.get("place_ref", [])))}
    home = frame["place_ref"].map(home_order) if "place_ref" in frame.columns else 0
    frame = frame.assign(walked=walked, _home=home).sort_values(
        ["_home", "walked", "walk_m", "straight_m"],
        ascending=[True, False, True, True],
        na_position="last",
        kind="stable",
    )
    first = frame["walked"].to_numpy() & ~frame["_home"].duplicated().to_numpy()
    return frame.drop(columns="_home").assign(nearest=first)


def draw_paper_route(
    c, pts: list[tuple[float, float]], *, nearest: bool, walk: bool, arrow: bool = True
) -> None:
    """A route on paper: white casing, the reserved colour, an arrowhead at the shelter.

    Solid for the nearest on foot, dashed for the others, dotted for a straight
    line; the casing keeps it apart from roads and railways in greyscale, the
    colour (no layer has it) apart from every marker, the arrow says which end
    is the shelter. ``pts`` run from the home to the shelter.
    """
    if len(pts) < 2:
        return
    width = 2.6 if nearest else 1.6
    p = c.beginPath()
    p.moveTo(*pts[0])
    for xy in pts[1:]:
        p.lineTo(*xy)
    head = _arrowhead(pts, max(7.0, width * 3.2)) if arrow else None
    c.saveState()
    c.setLineJoin(1)
    c.setLineCap(1)
    c.setStrokeColor(colors.white)
    c.setFillColor(colors.white)
    c.setLineWidth(width + 2.2)
    c.drawPath(p, stroke=1, fill=0)
    if head is not None:
        c.drawPath(head, stroke=1, fill=1)
    route = colors.HexColor(ROUTE_COLOUR)
    c.setStrokeColor(route)
    c.setFillColor(route)
    c.setLineWidth(width)
    if not walk:
        c.setDash([0.1, 3.2])  # dotted: round caps make dots
    elif not nearest:
        c.setDash([5, 2.5])
    c.drawPath(p, stroke=1, fill=0)
    if head is not None:
        c.setDash([])
        c.setLineWidth(0.5)
        c.drawPath(head, stroke=1, fill=1)
    c.restoreState()


def _arrowhead(pts: list[tuple[float, float]], size: float):
    """A path of a filled arrowhead at the last point, pointing along the last segment."""
    (x0, y0), (x1, y1) = pts[-2], pts[-1]
    i = len(pts) - 2
    while math.hypot(x1 - x0, y1 - y0) < 1e-6 and i > 0:
        i -= 1
        x0, y0 = pts[i]
    d = math.hypot(x1 - x0, y1 - y0)
    if d < 1e-6:
        return None
    ux, uy = (x1 - x0) / d, (y1 - y0) / d
    bx, by = x1 - ux * size, y1 - uy * size
    p = PDFPathObject()
    p.moveTo(x1, y1)
    p.lineTo(bx - uy * size * 0.45, by + ux * size * 0.45)
    p.lineTo(bx + uy * size * 0.45, by - ux * size * 0.45)
    p.close()
    return p
