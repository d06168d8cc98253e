"""The map frame: basemap, data edge, routes, markers, numbers and labels clipped to one rectangle.

The basemap is drawn in exactly one place, :meth:`FrameDrawing.draw_basemap_layer`,
so a raster (tile) basemap can replace or join the vector one there.
"""

from __future__ import annotations

import logging
from typing import Any

import shapely
from reportlab.lib import colors

from civicmap import wording
from civicmap.render import basemap as bm
from civicmap.render._fonts import draw_text, text_width
from civicmap.render._routes import draw_paper_route
from civicmap.render.background import draw_paper_background
from civicmap.render.paper.geometry import AtlasPage, BoxIndex, Grid, MapFrame, Rect
from civicmap.render.paper.hazards import draw_hazard_zones
from civicmap.render.paper.inset import InsetGrid, shown_in
from civicmap.render.paper.marks import (
    draw_grid,
    draw_home,
    draw_place_marker,
    leader_line,
    north_arrow,
    number_box,
)
from civicmap.render.paper.placement import place_numbers
from civicmap.render.paper.plan import FramePlan
from civicmap.render.paper.shapes import draw_shapes

log = logging.getLogger(__name__)


class FrameDrawing:
    """Mixin of the renderer: draws one map frame and the atlas neighbours around it."""

    # ---- map frame
    def draw_frame(
        self,
        c,
        frame: MapFrame,
        *,
        atlas: AtlasPage | None = None,
        numbered: bool = True,
        focus: Any = None,
        reserved: tuple[Rect, ...] = (),
        grid: Grid | None = None,
        north: bool = True,
        elsewhere: frozenset[int] = frozenset(),
    ) -> FramePlan:
        """Draw one map frame; ``focus`` (a projected polygon) is outlined, the rest dimmed.

        An inset (拡大図) passes its own ``grid`` (labels inside, lower case) and no
        ``north`` arrow; the main map under it passes the places the inset numbers
        as ``elsewhere`` (drawn here, numbered there).
        """
        r = frame.rect
        grid = grid or Grid.for_frame(r, cell_mm=55 if self.f > 1 else 40)
        c.saveState()
        p = c.beginPath()
        p.rect(r.x, r.y, r.w, r.h)
        c.clipPath(p, stroke=0, fill=0)
        c.setFillColor(colors.white)
        c.rect(r.x, r.y, r.w, r.h, stroke=0, fill=1)
        background_labels: list[Rect] = []
        tiled = self.draw_basemap_layer(c, frame, avoid=reserved, drawn=background_labels)
        draw_hazard_zones(c, self, frame)  # hazard zones: over the basemap, under our symbols
        draw_shapes(c, self, frame)  # the layers' own lines and areas (routes, zones)
        if focus is not None:
            self.draw_focus(c, frame, focus)
        # The grey veil covers only where our OSM basemap is missing; tiles there show the streets.
        edge_here = bm.draw_data_edge(c, self.edge, frame, note="", size=self.fs(7), veil=not tiled)
        self.edge_drawn = self.edge_drawn or edge_here
        for leg in sorted(self.routes, key=lambda g: g.nearest):  # the nearest on top
            draw_paper_route(c, [frame.to_page(x, y) for x, y in leg.coords],
                        nearest=leg.nearest, walk=leg.walk)  # fmt: skip
        c.restoreState()
        avoid = BoxIndex()
        if isinstance(grid, InsetGrid):
            for box in grid.draw_inside(c, self.fs(7.5)):
                avoid.add(box)
        else:
            draw_grid(c, grid, self.fs(7.5))
        for box in reserved:  # drawn later on top of the frame (an atlas page's scale bar)
            avoid.add(box)
        for box in background_labels:  # municipality names of the no-background outline map
            avoid.add(box)
        # North arrow in the top right corner of the frame.
        # 「北」 is drawn at 0.32 × the arrow's size: sized so it meets the type floor.
        na = max(14 * self.f, self.min_fs / 0.32)
        if north:
            avoid.add(
                north_arrow(c, r.x1 - na, r.y1 - na * 1.05, na, self.north_angle, self.t["north"])
            )
        fplan = FramePlan(self.page_no, frame, grid, atlas)
        minx, miny, maxx, maxy = frame.extent
        # Only markers whose whole symbol fits inside the frame: none is cut by it
        # (an atlas shows a place near a sheet's edge whole on the next sheet).
        shown = shown_in(self.entries, frame, self.marker)
        if atlas is not None:
            markers = BoxIndex()
            s = self.marker * (1.0 + 0.45 * max((len(e.also) for e in shown), default=0))
            for e in shown:
                x, y = frame.to_page(*e.xy)
                markers.add(Rect(x - s / 2, y - s / 2, s, s))
            fplan.neighbour_boxes = self._neighbours(c, frame, atlas, avoid, reserved, markers)
        marks = []
        for e in shown:
            x, y = frame.to_page(*e.xy)
            draw_place_marker(c, e, x, y, self.marker)
            if focus is not None and atlas is not None and e.page != atlas.number:
                # An area page numbers only its own area's places; the others (numbered
                # on their own pages) stay visible, faded, for orientation.
                c.saveState()
                c.setFillColor(colors.Color(1, 1, 1, alpha=0.6))
                c.circle(x, y, self.marker * 0.62, stroke=0, fill=1)
                c.restoreState()
                continue
            if e.number in elsewhere:  # numbered in an inset (拡大図) of this sheet
                continue
            marks.append((e.number, x, y))
            if atlas is None:
                e.ref = grid.cell(x, y)
        first_home = next((leg.home for leg in self.routes if leg.home), "")
        homes = [(first_home, self.home)] if self.home is not None else []
        for name, xy in [*homes, *getattr(self, "other_homes", [])]:
            if not (minx <= xy[0] <= maxx and miny <= xy[1] <= maxy):
                continue
            hx, hy = frame.to_page(*xy)
            hs = self.marker * 1.4
            draw_home(c, hx, hy, hs)
            label = name or self.t["home"]
            lw = text_width(label, self.fs(7.5))
            draw_text(c, hx + hs * 0.6, hy - self.fs(7.5) * 0.35, label, self.fs(7.5),
                      halo=2, bold=True)  # fmt: skip
            avoid.add(Rect(hx - hs / 2, hy - hs / 2, hs * 1.1 + lw, hs))
        if numbered:
            h = self.num_fs * 1.3
            placement = place_numbers(
                marks,
                marker_size=self.marker,
                box_w=lambda n: text_width(str(n), self.num_fs) + 2.6,
                box_h=h,
                bounds=r,
                avoid=avoid,
            )
            fplan.numbers = placement.labels
            fplan.unplaced = [(n, grid.cell(x, y), (x, y)) for n, x, y in placement.unplaced]
            for lab in fplan.numbers:  # every leader first, so no line crosses a number
                leader_line(c, lab)
            for lab in fplan.numbers:
                number_box(c, lab, self.num_fs, leader=False)
                avoid.add(lab.box)
        # Basemap labels last, where they cover no number.
        c.saveState()
        p = c.beginPath()
        p.rect(r.x, r.y, r.w, r.h)
        c.clipPath(p, stroke=0, fill=0)
        for _, x, y in marks:
            avoid.add(Rect(x - self.marker / 2, y - self.marker / 2, self.marker, self.marker))
        if edge_here:  # the grey strip's note, clear of every box and marker
            bm.data_edge_note(c, self.edge, frame, note=self.t["edge"], size=self.fs(7),
                              avoid=avoid)  # fmt: skip
        bm.draw_labels(c, self.basemap, frame, avoid=avoid, size=self.fs(6.3),
                       name_column="name_en" if self.lang == "en" else "name")  # fmt: skip
        c.restoreState()
        c.saveState()
        c.setStrokeColor(colors.black)
        c.setLineWidth(0.9)
        c.rect(r.x, r.y, r.w, r.h, stroke=1, fill=0)
        c.restoreState()
        self.plan.frames.append(fplan)
        return fplan

    def draw_basemap_layer(
        self, c, frame: MapFrame, *, avoid: tuple = (), drawn: list | None = None
    ) -> bool:
        """THE place where the basemap goes into a frame (already clipped to it).

        First the background (tiles, or the bundled N03 outlines when there is no
        background map: :mod:`civicmap.render.background`), then the vector OSM
        basemap over it; the data edge, routes and markers come after. Returns
        whether tiles were drawn.
        """
        info = draw_paper_background(c, self.data, frame, self.crs, avoid=avoid, drawn=drawn,
                                     note_pt=self.fs(7))  # fmt: skip
        bm.draw_basemap(c, self.basemap, frame, weight=1.15 if self.f > 1 else 1.0)
        return info is not None

    def draw_focus(self, c, frame: MapFrame, focus: Any) -> None:
        """Dim everything outside ``focus`` (an area atlas page's area) and outline the area."""
        r = frame.rect
        outside = shapely.box(*frame.extent).difference(focus)
        c.saveState()
        c.setFillColor(colors.Color(0.55, 0.55, 0.55, alpha=0.35))
        _fill_polygons(c, frame, outside)
        c.setStrokeColor(colors.black)
        c.setLineWidth(2.2)
        c.setDash([7, 2.5, 1.5, 2.5])
        clipped = focus.intersection(shapely.box(*frame.extent).buffer(r.w / frame.pt_per_unit))
        _stroke_boundary(c, frame, clipped)
        c.restoreState()

    def _neighbours(
        self,
        c,
        frame: MapFrame,
        page: AtlasPage,
        avoid: BoxIndex,
        reserved=(),
        markers: BoxIndex | None = None,
    ) -> list[Rect]:
        """Name the neighbouring atlas pages at the frame's edges, never over a marker.

        A box that would cover a marker (or another box) slides along its edge
        to the nearest free spot; past every spot it keeps its place.
        """
        r = frame.rect
        fs = self.fs(7.5)
        word = self.t["page"]
        arrows = {"N": "↑", "S": "↓", "W": "←", "E": "→"}
        boxes: list[Rect] = []
        for d, n in page.neighbours.items():
            if isinstance(n, str):  # an area atlas names the neighbouring area and its page
                text = f"{arrows.get(d, '')}{n}"
            elif wording.base(self.lang) not in wording.JAPANESE:
                text = f"{arrows.get(d, '')} {word} {n}".strip()
            else:
                text = f"{arrows.get(d, '')}{n}{word}"
            w = text_width(text, fs) + 4
            h = fs * 1.5
            x = {"W": r.x + 2, "E": r.x1 - w - 2}.get(d[-1], r.x + r.w / 2 - w / 2)
            y = {"N": r.y1 - h - 2, "S": r.y + 2}.get(d[0], r.y + r.h / 2 - h / 2)
            if d in ("NE",):
                x -= 40 * self.f  # keep clear of the north arrow
            for box in reserved:  # and of the scale bar
                if Rect(x, y, w, h).intersects(box):
                    x = box.x1 + 3 if d[-1] == "W" else box.x - w - 3
            x, y = _slide(Rect(x, y, w, h), r, d, avoid, markers)
            c.saveState()
            c.setFillColor(colors.white)
            c.setStrokeColor(colors.black)
            c.setLineWidth(0.5)
            c.rect(x, y, w, h, stroke=1, fill=1)
            c.restoreState()
            draw_text(c, x + w / 2, y + h * 0.3, text, fs, anchor="middle", bold=True)
            avoid.add(Rect(x, y, w, h))
            boxes.append(Rect(x, y, w, h))
        return boxes


def _slide(box: Rect, frame: Rect, d: str, avoid: BoxIndex, markers: BoxIndex | None):
    """Move a neighbour box along its frame edge (x for N/S, y for E/W) off markers and boxes."""

    def free(b: Rect) -> bool:
        return b.inside(frame) and not avoid.hits(b) and not (markers and markers.hits(b))

    if free(box):
        return box.x, box.y
    along_x = d in ("N", "S")
    step = 3.0
    for k in range(1, 200):
        for sign in (1, -1):
            dx, dy = (sign * k * step, 0.0) if along_x else (0.0, sign * k * step)
            cand = Rect(box.x + dx, box.y + dy, box.w, box.h)
            if free(cand):
                return cand.x, cand.y
    return box.x, box.y


def _rings(geom) -> list:
    polys = getattr(geom, "geoms", [geom])
    out = []
    for poly in polys:
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        out.append(list(poly.exterior.coords))
        out.extend(list(i.coords) for i in poly.interiors)
    return out


def _fill_polygons(c, frame: MapFrame, geom) -> None:
    """Fill a projected (multi)polygon, holes left open (even-odd)."""
    rings = _rings(geom)
    if not rings:
        return
    p = c.beginPath()
    for ring in rings:
        pts = [frame.to_page(x, y) for x, y in ring]
        p.moveTo(*pts[0])
        for xy in pts[1:]:
            p.lineTo(*xy)
        p.close()
    c.drawPath(p, stroke=0, fill=1, fillMode=0)


def _stroke_boundary(c, frame: MapFrame, geom) -> None:
    for ring in _rings(geom):
        pts = [frame.to_page(x, y) for x, y in ring]
        p = c.beginPath()
        p.moveTo(*pts[0])
        for xy in pts[1:]:
            p.lineTo(*xy)
        p.close()
        c.drawPath(p, stroke=1, fill=0)
