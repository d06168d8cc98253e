"""Marker shapes shared by the paper and web maps, so both show the same symbol per layer.

Each symbol is a list of polygons (vertex lists) on the unit square, x to the
right and y *down* (SVG convention), centred on (0.5, 0.5). ``circle`` is the
one curve: it is given as a 32-gon so every renderer can draw any symbol as
polygons, and :func:`svg_path` turns it into a true SVG circle path.
"""

from __future__ import annotations

import math

from civicmap.spec.layers import SYMBOLS

Vertex = tuple[float, float]


def _regular(n: int, *, r: float = 0.46, start: float = -90.0) -> list[Vertex]:
    out = []
    for i in range(n):
        a = math.radians(start + 360.0 * i / n)
        out.append((round(0.5 + r * math.cos(a), 4), round(0.5 + r * math.sin(a), 4)))
    return out


def _star(*, r: float = 0.48, inner: float = 0.2) -> list[Vertex]:
    out = []
    for i in range(10):
        a = math.radians(-90.0 + 36.0 * i)
        rr = r if i % 2 == 0 else inner
        out.append((round(0.5 + rr * math.cos(a), 4), round(0.5 + rr * math.sin(a), 4)))
    return out


_ARM = 0.14  # half-width of the cross arms
SHAPES: dict[str, list[list[Vertex]]] = {
    "circle": [_regular(32, r=0.45)],
    "square": [[(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)]],
    "triangle": [[(0.5, 0.06), (0.96, 0.88), (0.04, 0.88)]],
    "diamond": [[(0.5, 0.02), (0.98, 0.5), (0.5, 0.98), (0.02, 0.5)]],
    "star": [_star()],
    "hexagon": [_regular(6, r=0.47, start=0.0)],
    "cross": [
        [
            (0.5 - _ARM, 0.06),
            (0.5 + _ARM, 0.06),
            (0.5 + _ARM, 0.5 - _ARM),
            (0.94, 0.5 - _ARM),
            (0.94, 0.5 + _ARM),
            (0.5 + _ARM, 0.5 + _ARM),
            (0.5 + _ARM, 0.94),
            (0.5 - _ARM, 0.94),
            (0.5 - _ARM, 0.5 + _ARM),
            (0.06, 0.5 + _ARM),
            (0.06, 0.5 - _ARM),
            (0.5 - _ARM, 0.5 - _ARM),
        ]
    ],
    "pentagon": [_regular(5, r=0.48)],
    "triangle_down": [[(0.04, 0.12), (0.96, 0.12), (0.5, 0.94)]],
}
assert set(SHAPES) == set(SYMBOLS), "every layer symbol needs a shape"


def svg_path(symbol: str, *, size: float = 1.0) -> str:
    """The SVG path ``d`` of ``symbol`` scaled to a ``size`` × ``size`` box.

    Raises
    ------
    KeyError
        For a symbol that is not in :data:`SHAPES` (layer validation stops
        those earlier, naming the allowed symbols).
    """
    if symbol == "circle":
        r = 0.45 * size
        c = 0.5 * size
        return f"M{c - r:g},{c:g}a{r:g},{r:g} 0 1,0 {2 * r:g},0a{r:g},{r:g} 0 1,0 {-2 * r:g},0Z"
    parts = []
    for poly in SHAPES[symbol]:
        pts = " ".join(f"{x * size:g},{y * size:g}" for x, y in poly)
        parts.append(f"M{pts}Z")
    return "".join(parts)
