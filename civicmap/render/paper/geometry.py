"""Paper geometry: page sizes, scale, map frames, grid, scale bar, atlas pages, box index.

Everything here is pure arithmetic in points (1/72 inch) and projected metres,
so the tests can check the layout (a scale bar's length, an atlas's page
count, that two boxes overlap) without reading a PDF.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

#: Points per millimetre.
MM = 72.0 / 25.4

#: Paper sizes in millimetres (width, height in portrait). B4/B5 are JIS B,
#: the sizes Japanese copiers and convenience-store printers use, not ISO B.
PAPER_MM: dict[str, tuple[float, float]] = {
    "A4": (210.0, 297.0),
    "A3": (297.0, 420.0),
    "B4": (257.0, 364.0),
    "B5": (182.0, 257.0),
}

#: Margin kept clear on every side: home inkjets and convenience-store
#: multifunction printers leave up to about 5 mm unprinted.
MARGIN_MM = 10.0

#: Scales a fitted map is rounded up to, so the printed 1:N is a round number.
NICE_SCALES = (
    500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 7500, 8000,
    10000, 12500, 15000, 20000, 25000, 30000, 40000, 50000, 75000, 100000, 150000, 200000,
)  # fmt: skip

#: Ground lengths a scale bar may show, in metres.
NICE_DISTANCES = (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000)


def page_size(size: str, orientation: str) -> tuple[float, float]:
    """Page width and height in points for a paper size and orientation."""
    w, h = PAPER_MM[size.upper()]
    if orientation == "landscape":
        w, h = h, w
    return w * MM, h * MM


def pt_per_metre(scale: float) -> float:
    """Points on paper for one metre on the ground at 1:``scale``."""
    return 1000.0 / scale * MM


def fit_scale(ground_w: float, ground_h: float, frame_w: float, frame_h: float) -> int:
    """The smallest round scale at which ``ground_w`` × ``ground_h`` metres fit the frame (points)."""
    need = max(ground_w / (frame_w / MM / 1000.0), ground_h / (frame_h / MM / 1000.0))
    for s in NICE_SCALES:
        if s >= need:
            return s
    return int(math.ceil(need / 10000.0) * 10000)


@dataclass(frozen=True)
class Rect:
    """An axis-aligned box on the page, in points (x, y = lower left)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def x1(self) -> float:
        return self.x + self.w

    @property
    def y1(self) -> float:
        return self.y + self.h

    def intersects(self, other: Rect) -> bool:
        return self.x < other.x1 and other.x < self.x1 and self.y < other.y1 and other.y < self.y1

    def inside(self, other: Rect) -> bool:
        return (
            self.x >= other.x and self.y >= other.y and self.x1 <= other.x1 and self.y1 <= other.y1
        )


@dataclass(frozen=True)
class MapFrame:
    """Where a piece of the ground is drawn on a page, at a true scale.

    Attributes
    ----------
    rect : Rect
        The frame on the page, in points.
    cx, cy : float
        The projected coordinates (metres) at the frame's centre.
    scale : int
        The map scale 1:``scale`` on the ground (what the scale bar and the
        printed ratio say).
    k : float
        The projection's point scale factor at the centre (UTM: about 0.9996);
        projected metres are divided by it so the printed scale is true on the ground.
    """

    rect: Rect
    cx: float
    cy: float
    scale: int
    k: float = 1.0

    @property
    def pt_per_unit(self) -> float:
        """Points per projected metre."""
        return pt_per_metre(self.scale) / self.k

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """The projected bounds (minx, miny, maxx, maxy) the frame shows."""
        hw = self.rect.w / 2 / self.pt_per_unit
        hh = self.rect.h / 2 / self.pt_per_unit
        return self.cx - hw, self.cy - hh, self.cx + hw, self.cy + hh

    def to_page(self, x: float, y: float) -> tuple[float, float]:
        s = self.pt_per_unit
        return (
            self.rect.x + self.rect.w / 2 + (x - self.cx) * s,
            self.rect.y + self.rect.h / 2 + (y - self.cy) * s,
        )

    def transform(self, xy):
        """Vectorised :meth:`to_page` for an (n, 2) array (for ``shapely.transform``)."""
        s = self.pt_per_unit
        out = (xy - (self.cx, self.cy)) * s
        out[:, 0] += self.rect.x + self.rect.w / 2
        out[:, 1] += self.rect.y + self.rect.h / 2
        return out


@dataclass(frozen=True)
class Grid:
    """Grid references on a frame: letters across (A, B, ...), numbers down (1, 2, ...)."""

    rect: Rect
    cols: int
    rows: int

    @staticmethod
    def for_frame(rect: Rect, *, cell_mm: float = 40.0) -> Grid:
        cols = max(2, round(rect.w / (cell_mm * MM)))
        rows = max(2, round(rect.h / (cell_mm * MM)))
        return Grid(rect, min(cols, 26), rows)

    def col_label(self, i: int) -> str:
        return chr(ord("A") + i)

    def cell(self, x: float, y: float) -> str:
        """The reference ("B3") of the cell holding page point (x, y)."""
        i = int((x - self.rect.x) / (self.rect.w / self.cols))
        j = int((self.rect.y1 - y) / (self.rect.h / self.rows))
        i = min(max(i, 0), self.cols - 1)
        j = min(max(j, 0), self.rows - 1)
        return f"{self.col_label(i)}{j + 1}"


@dataclass(frozen=True)
class ScaleBar:
    """A scale bar: ``metres`` on the ground drawn ``length`` points long."""

    metres: float
    length: float
    ticks: tuple[float, ...]  # ground metres at each labelled tick
    unit: str  # "m" or "km"

    def tick_label(self, metres: float) -> str:
        v = metres / 1000.0 if self.unit == "km" else metres
        return f"{v:g}"


def scale_bar(scale: int, *, target_mm: float = 35.0) -> ScaleBar:
    """The round ground length closest to ``target_mm`` on paper at 1:``scale``."""
    target = target_mm / 1000.0 * scale
    metres = min(NICE_DISTANCES, key=lambda d: abs(math.log(d / target)))
    length = metres * pt_per_metre(scale)
    unit = "km" if metres >= 1000 else "m"
    return ScaleBar(metres, length, (0.0, metres / 2, float(metres)), unit)


#: Row and column steps to each neighbour of an atlas page.
_DIRS = {"N": (-1, 0), "S": (1, 0), "W": (0, -1), "E": (0, 1),
         "NW": (-1, -1), "NE": (-1, 1), "SW": (1, -1), "SE": (1, 1)}  # fmt: skip


@dataclass(frozen=True)
class AtlasPage:
    """One atlas page: its number, the projected extent its frame shows, and its neighbours."""

    number: int
    col: int
    row: int
    center: tuple[float, float]
    neighbours: dict[str, int] = field(default_factory=dict)


def atlas_pages(
    bounds: tuple[float, float, float, float],
    frame_ground: tuple[float, float],
    *,
    overlap: float,
    covers=None,
) -> list[AtlasPage]:
    """Cut ``bounds`` (projected metres) into overlapping frames of ``frame_ground`` metres.

    Neighbouring frames share ``overlap`` (a fraction of the frame) so a place on
    a page edge is whole on one of them. Pages are numbered row by row from the
    top left; ``covers(minx, miny, maxx, maxy)`` may drop pages that miss the area
    (an L-shaped ward needs no page over the next ward).
    """
    minx, miny, maxx, maxy = bounds
    fw, fh = frame_ground
    step_x, step_y = fw * (1 - overlap), fh * (1 - overlap)
    nx = 1 if maxx - minx <= fw else math.ceil((maxx - minx - fw) / step_x) + 1
    ny = 1 if maxy - miny <= fh else math.ceil((maxy - miny - fh) / step_y) + 1
    total_w = fw + (nx - 1) * step_x
    total_h = fh + (ny - 1) * step_y
    x0 = (minx + maxx) / 2 - total_w / 2 + fw / 2
    y0 = (miny + maxy) / 2 + total_h / 2 - fh / 2
    cells: dict[tuple[int, int], tuple[float, float]] = {}
    for r in range(ny):
        for c in range(nx):
            cx, cy = x0 + c * step_x, y0 - r * step_y
            if covers is None or covers(cx - fw / 2, cy - fh / 2, cx + fw / 2, cy + fh / 2):
                cells[(r, c)] = (cx, cy)
    numbers = {rc: i + 1 for i, rc in enumerate(sorted(cells))}
    pages = []
    for (r, c), center in sorted(cells.items()):
        nb = {
            d: numbers[(r + dr, c + dc)]
            for d, (dr, dc) in _DIRS.items()
            if (r + dr, c + dc) in numbers
        }
        pages.append(AtlasPage(numbers[(r, c)], c, r, center, nb))
    return pages


def keep_pages(pages: list[AtlasPage], keep: set[int], *, first: int = 1) -> list[AtlasPage]:
    """The pages whose numbers are in ``keep``, renumbered from ``first`` in the same order.

    Neighbours are recomputed among the kept pages only, so a page never points
    at a sheet that was left out (an empty sheet of a grid atlas).
    """
    kept = [pg for pg in pages if pg.number in keep]
    numbers = {(pg.row, pg.col): first + i for i, pg in enumerate(kept)}
    out = []
    for pg in kept:
        nb = {
            d: numbers[(pg.row + dr, pg.col + dc)]
            for d, (dr, dc) in _DIRS.items()
            if (pg.row + dr, pg.col + dc) in numbers
        }
        out.append(AtlasPage(numbers[(pg.row, pg.col)], pg.col, pg.row, pg.center, nb))
    return out


class BoxIndex:
    """Boxes already placed on a page, bucketed so overlap checks stay fast on dense maps.

    Boxes are kept as plain (x0, y0, x1, y1) tuples: number placement asks
    millions of "is this spot free?" questions on a dense page, and attribute
    access on :class:`Rect` was most of their cost.
    """

    def __init__(self, cell: float = 24.0):
        self.cell = cell
        self.buckets: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}

    def _keys(self, r: Rect) -> Iterable[tuple[int, int]]:
        c = self.cell
        for i in range(int(r.x // c), int(r.x1 // c) + 1):
            for j in range(int(r.y // c), int(r.y1 // c) + 1):
                yield i, j

    def add(self, r: Rect) -> None:
        self.add_xy(r.x, r.y, r.x + r.w, r.y + r.h)

    def add_xy(self, x0: float, y0: float, x1: float, y1: float) -> None:
        c = self.cell
        box = (x0, y0, x1, y1)
        buckets = self.buckets
        for i in range(int(x0 // c), int(x1 // c) + 1):
            for j in range(int(y0 // c), int(y1 // c) + 1):
                b = buckets.get((i, j))
                if b is None:
                    buckets[(i, j)] = [box]
                else:
                    b.append(box)

    def boxes(self) -> set[tuple[float, float, float, float]]:
        """Every box added, once (a box spanning several buckets is stored in each)."""
        return {b for bucket in self.buckets.values() for b in bucket}

    def hits(self, r: Rect, *, skip: Rect | None = None) -> bool:
        """Whether ``r`` overlaps a placed box (other than those equal to ``skip``)."""
        s = None if skip is None else (skip.x, skip.y, skip.x + skip.w, skip.y + skip.h)
        return self.hits_xy(r.x, r.y, r.x + r.w, r.y + r.h, skip=s)

    def hits_xy(
        self, x0: float, y0: float, x1: float, y1: float, *, skip: tuple | None = None
    ) -> bool:
        """:meth:`hits` on plain coordinates (strict overlap: touching edges do not count)."""
        c = self.cell
        buckets = self.buckets
        for i in range(int(x0 // c), int(x1 // c) + 1):
            for j in range(int(y0 // c), int(y1 // c) + 1):
                for o in buckets.get((i, j), ()):
                    if o[0] < x1 and x0 < o[2] and o[1] < y1 and y0 < o[3] and o != skip:
                        return True
        return False
