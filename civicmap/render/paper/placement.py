"""Number placement: each marker's number beside it, or in the nearest free space on a leader.

Pure arithmetic on page points (no drawing), so tests can check that no two
numbers overlap without reading a PDF.

A number goes beside its marker when one of eight spots there is free. When
none is, it goes to the nearest free spot of the frame, found on an occupancy
raster of the frame (every placed number, ``avoid`` box and marker marked on
cells of a quarter box height) with a summed-area table: one numpy pass per
number over the cells within reach, so a dense page stays linear in its
places instead of trying millions of candidate boxes. A number with no free
spot within :data:`MAX_LEADER_MM` of its marker is not printed on the map at
all (never on top of another text): it is returned in
:attr:`Placement.unplaced` and the page lists it apart, by grid cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from civicmap.render.paper.geometry import MM, BoxIndex, Rect

#: The longest leader line (mm, marker centre to number box centre). A number
#: farther away cannot be matched with its marker (lines cross into a hairball),
#: so it is listed apart instead.
MAX_LEADER_MM = 20.0

#: Raster cells per box height: finer finds tighter spots, coarser is faster.
CELLS_PER_BOX = 4


@dataclass(frozen=True)
class NumberLabel:
    """A marker's number placed on the page; ``leader`` when it sits away from its marker."""

    number: int
    marker: tuple[float, float]
    box: Rect
    leader: bool


@dataclass
class Placement:
    """The numbers placed on one frame, and those that found no room on it.

    Attributes
    ----------
    labels : list of NumberLabel
        Placed numbers, by number; no two boxes overlap.
    unplaced : list of (number, x, y)
        Markers whose number has no free spot within :data:`MAX_LEADER_MM`:
        their symbol is on the map, their number is listed apart.
    """

    labels: list[NumberLabel] = field(default_factory=list)
    unplaced: list[tuple[int, float, float]] = field(default_factory=list)


class _Raster:
    """Occupied cells of the frame: a cell is occupied if any box touches it (conservative)."""

    def __init__(self, bounds: Rect, cell: float):
        self.x0, self.y0, self.c = bounds.x, bounds.y, cell
        self.nx = max(1, int(bounds.w // cell))
        self.ny = max(1, int(bounds.h // cell))
        self.hard = np.zeros((self.ny, self.nx), dtype=np.uint8)  # numbers and avoid boxes
        self.marks = np.zeros((self.ny, self.nx), dtype=np.uint8)  # markers

    def mark(self, grid: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> None:
        """Mark the cells under a box grown by a quarter point, so two boxes never touch."""
        c = self.c
        x0, y0, x1, y1 = x0 - 0.25, y0 - 0.25, x1 + 0.25, y1 + 0.25
        i0 = max(0, math.floor((x0 - self.x0) / c))
        i1 = min(self.nx, math.ceil((x1 - self.x0) / c))
        j0 = max(0, math.floor((y0 - self.y0) / c))
        j1 = min(self.ny, math.ceil((y1 - self.y0) / c))
        if i0 < i1 and j0 < j1:
            grid[j0:j1, i0:i1] = 1

    def nearest(
        self, x: float, y: float, w: float, h: float, reach: float, *, strict: bool, own: tuple
    ) -> tuple[float, float] | None:
        """Lower left of the free ``w`` × ``h`` box whose centre is nearest (x, y), within ``reach``.

        Free means no occupied cell under it (``strict``: no marker cell either);
        it never covers the marker's own box ``own``.
        """
        c = self.c
        kw, kh = math.ceil((w + 0.25) / c), math.ceil((h + 0.25) / c)
        r = math.ceil((reach + max(w, h)) / c)
        ci, cj = int((x - self.x0) / c), int((y - self.y0) / c)
        i0, i1 = max(0, ci - r), min(self.nx, ci + r + 1)
        j0, j1 = max(0, cj - r), min(self.ny, cj + r + 1)
        if i1 - i0 < kw or j1 - j0 < kh:
            return None
        occ = self.hard[j0:j1, i0:i1]
        if strict:
            occ = occ | self.marks[j0:j1, i0:i1]
        sat = np.zeros((occ.shape[0] + 1, occ.shape[1] + 1), dtype=np.int32)
        np.cumsum(np.cumsum(occ, axis=0, dtype=np.int32), axis=1, out=sat[1:, 1:])
        busy = sat[kh:, kw:] - sat[:-kh, kw:] - sat[kh:, :-kw] + sat[:-kh, :-kw]
        ox = self.x0 + (i0 + np.arange(busy.shape[1])) * c  # box origins
        oy = self.y0 + (j0 + np.arange(busy.shape[0])) * c
        d2 = (oy[:, None] + h / 2 - y) ** 2 + (ox[None, :] + w / 2 - x) ** 2
        bad = (busy > 0) | (d2 > reach * reach)
        # Never on its own marker (the leader would point into the number).
        bad |= (
            (ox[None, :] < own[2])
            & (own[0] < ox[None, :] + w)
            & ((oy[:, None] < own[3]) & (own[1] < oy[:, None] + h))
        )
        d2 = np.where(bad, np.inf, d2)
        k = int(np.argmin(d2))
        jj, ii = divmod(k, d2.shape[1])
        if not np.isfinite(d2[jj, ii]):
            return None
        return float(ox[ii]), float(oy[jj])


def place_numbers(
    markers: list[tuple[int, float, float]],
    *,
    marker_size: float,
    box_w,
    box_h: float,
    bounds: Rect,
    avoid: BoxIndex | None = None,
    max_leader: float = MAX_LEADER_MM * MM,
) -> Placement:
    """Place each marker's number next to it, or nearby on a leader, never over another text.

    Numbers never overlap each other nor ``avoid`` boxes (north arrow, scale
    bar, neighbour boxes, home label) and stay inside ``bounds``; they keep off
    other markers when they can. A number with no room within ``max_leader``
    points of its marker is left off the map (see :class:`Placement`), because
    a number printed over another one, or at the end of a line across the
    map, reads as the wrong place.

    Parameters
    ----------
    markers : list of (number, x, y)
        Marker centres on the page.
    box_w : callable
        ``box_w(number)`` → the label box width in points.
    """
    half = marker_size / 2
    marker_boxes = BoxIndex()
    for _, x, y in markers:
        marker_boxes.add(Rect(x - half, y - half, marker_size, marker_size))
    placed = BoxIndex()
    # Crowded markers first, so they get the close spots. Neighbours are counted
    # on a grid of 3 × box_h cells (the 3 × 3 block around a marker), which keeps
    # this linear where a pairwise count made dense pages quadratic.
    cell = 3 * box_h
    counts: dict[tuple[int, int], int] = {}
    for _, x, y in markers:
        key = (int(x // cell), int(y // cell))
        counts[key] = counts.get(key, 0) + 1

    def crowding(m: tuple[int, float, float]) -> int:
        i, j = int(m[1] // cell), int(m[2] // cell)
        return sum(counts.get((i + di, j + dj), 0) for di in (-1, 0, 1) for dj in (-1, 0, 1))

    order = sorted(markers, key=lambda m: -crowding(m))
    gap = 0.8
    bx0, by0, bx1, by1 = bounds.x, bounds.y, bounds.x1, bounds.y1
    raster: _Raster | None = None  # built when the first number needs a leader

    def free(x0: float, y0: float, x1: float, y1: float, strict: bool, own) -> bool:
        # Relaxed: inside the frame, clear of other numbers and of ``avoid``
        # boxes. Strict: also clear of markers (except the label's own).
        if x0 < bx0 or y0 < by0 or x1 > bx1 or y1 > by1:
            return False
        if placed.hits_xy(x0, y0, x1, y1) or (avoid and avoid.hits_xy(x0, y0, x1, y1)):
            return False
        return not strict or not marker_boxes.hits_xy(x0, y0, x1, y1, skip=own)

    out = Placement()
    for number, x, y in order:
        w, h = box_w(number), box_h
        own = (x - half, y - half, x - half + marker_size, y - half + marker_size)
        beside = (
            (x + half + gap, y - h / 2), (x - half - gap - w, y - h / 2),
            (x - w / 2, y + half + gap), (x - w / 2, y - half - gap - h),
            (x + half, y + half), (x - half - w, y + half),
            (x + half, y - half - h), (x - half - w, y - half - h),
        )  # fmt: skip
        chosen: tuple[float, float, bool] | None = None
        for strict in (True, False):
            spot = next(((sx, sy) for sx, sy in beside
                         if free(sx, sy, sx + w, sy + h, strict, own)), None)  # fmt: skip
            if spot is not None:
                chosen = (spot[0], spot[1], False)
                break
            if raster is None:
                raster = _Raster(bounds, box_h / CELLS_PER_BOX)
                for b in avoid.boxes() if avoid else ():
                    raster.mark(raster.hard, *b)
                for b in placed.boxes():
                    raster.mark(raster.hard, *b)
                for b in marker_boxes.boxes():
                    raster.mark(raster.marks, *b)
            spot = raster.nearest(x, y, w, h, max_leader, strict=strict, own=own)
            if spot is not None:
                chosen = (spot[0], spot[1], True)
                break
        if chosen is None:
            out.unplaced.append((number, x, y))
            continue
        box = Rect(chosen[0], chosen[1], w, h)
        placed.add_xy(box.x, box.y, box.x1, box.y1)
        if raster is not None:
            raster.mark(raster.hard, box.x, box.y, box.x1, box.y1)
        out.labels.append(NumberLabel(number, (x, y), box, chosen[2]))
    out.labels.sort(key=lambda n: n.number)
    out.unplaced.sort()
    return out
