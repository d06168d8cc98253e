"""Number placement: each marker's number beside it, or away from it on a leader line.

Pure arithmetic on page points (no drawing), so tests can check that no two
numbers overlap without reading a PDF.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from civicmap.render.paper.geometry import BoxIndex, Rect

#: Rings of candidate spots tried around a marker before a number is placed
#: beside it anyway. Ring k is k × 1.1 box heights out: ring 16 is ~5 cm at
#: 6.5 pt, already too far to match a number with its marker.
MAX_RINGS = 16


@dataclass(frozen=True)
class NumberLabel:
    """A marker's number placed on the page; ``leader`` when it sits away from its marker."""

    number: int
    marker: tuple[float, float]
    box: Rect
    leader: bool


def place_numbers(
    markers: list[tuple[int, float, float]],
    *,
    marker_size: float,
    box_w,
    box_h: float,
    bounds: Rect,
    avoid: BoxIndex | None = None,
) -> list[NumberLabel]:
    """Place each marker's number next to it without two numbers overlapping.

    A number goes beside its marker when there is room; where markers crowd it
    moves outward on rings of growing radius and gets a leader line. Numbers
    never overlap each other; they avoid markers and ``avoid`` boxes when they can.

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
    out: list[NumberLabel] = []
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
    step = box_h * 1.1
    # Ring offsets, computed once: (dx, dy) of each candidate centre on ring k.
    rings = {
        ring: [
            ((half + ring * step) * math.cos(2 * math.pi * a / (8 + ring * 4)),
             (half + ring * step) * math.sin(2 * math.pi * a / (8 + ring * 4)))
            for a in range(8 + ring * 4)
        ]
        for ring in range(2, MAX_RINGS)
    }  # fmt: skip

    def free(x0: float, y0: float, x1: float, y1: float, strict: bool, own) -> bool:
        # Relaxed: inside the frame, clear of other numbers and of ``avoid``
        # boxes (north arrow, neighbour boxes, scale bar: text a number must
        # never hide). Strict: also clear of markers (except the label's own).
        if x0 < bx0 or y0 < by0 or x1 > bx1 or y1 > by1:
            return False
        if placed.hits_xy(x0, y0, x1, y1) or (avoid and avoid.hits_xy(x0, y0, x1, y1)):
            return False
        return not strict or not marker_boxes.hits_xy(x0, y0, x1, y1, skip=own)

    def spots(x: float, y: float, w: float, h: float, strict: bool, near_only: bool = False):
        """Candidate boxes, (x0, y0, leader): beside the marker, then on rings outward."""
        for sx, sy in (
            (x + half + gap, y - h / 2), (x - half - gap - w, y - h / 2),
            (x - w / 2, y + half + gap), (x - w / 2, y - half - gap - h),
            (x + half, y + half), (x - half - w, y + half),
            (x + half, y - half - h), (x - half - w, y - half - h),
        ):  # fmt: skip
            yield sx, sy, False
        # The strict pass (also keeping clear of markers) looks only nearby:
        # on a crowded page searching every ring twice made placement slow.
        if near_only:
            return
        for ring in range(2, 12 if strict else MAX_RINGS):
            for dx, dy in rings[ring]:
                yield x + dx - w / 2, y + dy - h / 2, True

    # After this many numbers in a row found no free spot, the page is full:
    # the rest try only the spots beside their marker (the readability
    # warning reports the overlaps), so a hopeless page stays fast.
    saturated_after = 50
    misses = 0
    for number, x, y in order:
        w, h = box_w(number), box_h
        own = (x - half, y - half, x - half + marker_size, y - half + marker_size)
        chosen: tuple[float, float, bool] | None = None
        for strict in (True, False):
            for sx, sy, leader in spots(x, y, w, h, strict, misses >= saturated_after):
                # Beside the marker its own box does not count; away from it
                # (with a leader) the label must not cover its own marker either.
                if free(sx, sy, sx + w, sy + h, strict, None if leader else own):
                    chosen = (sx, sy, leader)
                    break
            if chosen:
                break
        if chosen is None:  # a frame too full to place this number apart: keep it, beside,
            # on a side clear of ``avoid`` boxes (neighbour boxes, scale bar) where there is one.
            chosen = (x + half, y - h / 2, False)
            for sx, sy, _ in spots(x, y, w, h, False, True):
                inside = sx >= bx0 and sy >= by0 and sx + w <= bx1 and sy + h <= by1
                if inside and not (avoid and avoid.hits_xy(sx, sy, sx + w, sy + h)):
                    chosen = (sx, sy, False)
                    break
            misses += 1
        else:
            misses = 0
        box = Rect(chosen[0], chosen[1], w, h)
        placed.add_xy(box.x, box.y, box.x + w, box.y + h)
        out.append(NumberLabel(number, (x, y), box, chosen[2]))
    return sorted(out, key=lambda n: n.number)
