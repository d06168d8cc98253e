"""Marker shapes and THE style table shared by the paper and web maps.

:func:`category_looks` decides each category's colour and symbol once; the
web map's legend and markers and the paper map's markers, legend and index
all read it, so a category looks the same everywhere.

Each symbol is a list of polygons (vertex lists) on the unit square, x to the
right and y *down* (SVG convention), centred on (0.5, 0.5). ``circle`` is the
one curve: it is given as a 32-gon so every renderer can draw any symbol as
polygons, and :func:`svg_path` turns it into a true SVG circle path.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from typing import Any

from civicmap.spec.layers import SYMBOLS, CategoryStyle, LayerSpec, derived_colour

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

#: Safety green (安全緑, JIS Z 9103) of the evacuation pictograms.
SAFETY_GREEN = "#00935a"


def _hole(poly: list[Vertex]) -> list[Vertex]:
    """A polygon wound the other way: a hole under the non-zero rule (SVG's default) too."""
    return list(reversed(poly))


_PLATE = [(0.04, 0.04), (0.96, 0.04), (0.96, 0.96), (0.04, 0.96)]
#: Evacuation symbols after JIS Z 8210 (避難場所, 避難所（建物）) and GSI's map symbols
#: (緊急避難場所 / 避難所 / 兼用), drawn as our own shapes, not copied artwork: a safety-green
#: plate with a white figure cut out. Told apart by the figure, so also in greyscale:
#: an open ring (open ground to flee to), a house (a building to stay in), and for a
#: site that is both the house standing on a band of open ground.
PICTOGRAMS: dict[str, list[list[Vertex]]] = {
    "shelter_open": [
        _PLATE,
        _hole(_regular(32, r=0.33)),
        _regular(32, r=0.17),
    ],
    "shelter_building": [
        _PLATE,
        _hole([(0.5, 0.14), (0.84, 0.46), (0.84, 0.84), (0.16, 0.84), (0.16, 0.46)]),
    ],
    "shelter_both": [
        _PLATE,
        _hole([(0.5, 0.1), (0.8, 0.38), (0.8, 0.64), (0.2, 0.64), (0.2, 0.38)]),
        _hole([(0.1, 0.74), (0.9, 0.74), (0.9, 0.88), (0.1, 0.88)]),
    ],
}
SHAPES.update(PICTOGRAMS)
assert set(SYMBOLS) <= set(SHAPES), "every layer symbol needs a shape"


def shelter_symbol(*designations: str) -> str | None:
    """The evacuation pictogram of a category or a site's designations, None if neither.

    指定緊急避難場所 (a place to flee to) → ``shelter_open``; 指定避難所 (a place to stay,
    a building) → ``shelter_building``; a site carrying both → ``shelter_both``.
    """
    text = unicodedata.normalize("NFKC", "・".join(d for d in designations if d))
    site = "避難場所" in text or "assembly" in text.lower()
    stay = "避難所" in text.replace("避難場所", "") or "shelter" in text.lower()
    if site and stay:
        return "shelter_both"
    if site:
        return "shelter_open"
    if stay:
        return "shelter_building"
    return None


def layer_categories(features: Any) -> list[str]:
    """Category names of a layer's features in first-appearance order (\"\" when none)."""
    if "category" not in features.columns or features.empty:
        return [""] if len(features) else []
    seen: dict[str, None] = {}
    for v in features["category"]:
        seen.setdefault(_text(v), None)
    return list(seen)


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    s = str(v).strip()
    return "" if s in ("nan", "<NA>", "None") else s


def taken_symbols(specs: Iterable[LayerSpec], *, but: str) -> frozenset[str]:
    """The symbols the other layers of a map use (their own and their categories' explicit ones)."""
    out: set[str] = set()
    for spec in specs:
        if spec.id == but:
            continue
        out.add(spec.style.symbol)
        out.update(sym for _n, _c, sym in spec.style.category_overrides if sym)
    return frozenset(out)


def category_looks(
    spec: LayerSpec,
    names: list[str],
    *,
    taken: frozenset[str] = frozenset(),
    present: Iterable[str] | None = None,
) -> list[CategoryStyle]:
    """THE style table: colour and symbol of each category in ``names`` (display order).

    A category the layer file styles keeps that style. In a ``role: shelter``
    layer, 指定緊急避難場所 and 指定避難所 get the evacuation pictograms in safety
    green. Other categories get derived ones by position: the layer's own symbol
    first, then symbols that no other layer of the map uses (``taken``), so a
    derived category never looks like another layer. A layer with one category
    (of those ``present`` on the map) keeps the layer's own look.
    """
    single = len(set(present) if present is not None else set(names)) == 1
    given = {n: (c, s) for n, c, s in spec.style.category_overrides}
    base = spec.style.symbol
    free = [s for s in SYMBOLS if s != base and s not in taken] or [s for s in SYMBOLS if s != base]
    out: list[CategoryStyle] = []
    for i, name in enumerate(names):
        c, s = given.get(name, ("", ""))
        pict = shelter_symbol(name) if spec.role == "shelter" else None
        if pict and not s:
            out.append(CategoryStyle(name=name, color=c or SAFETY_GREEN, symbol=pict))
            continue
        if single:
            out.append(CategoryStyle(name=name, color=c or spec.style.color, symbol=s or base))
            continue
        out.append(
            CategoryStyle(
                name=name,
                color=c or derived_colour(spec.style.color, i),
                symbol=s or (base if i == 0 else free[(i - 1) % len(free)]),
            )
        )
    return out


def place_look(
    spec: LayerSpec,
    looks: dict[str, CategoryStyle],
    category: str,
    designations: str = "",
) -> CategoryStyle:
    """One place's colour and symbol: its category's, or the combined pictogram for a
    shelter site that is both 指定緊急避難場所 and 指定避難所."""
    look = looks.get(category) or CategoryStyle(category, spec.style.color, spec.style.symbol)
    if spec.role == "shelter" and look.symbol in PICTOGRAMS and designations:
        both = shelter_symbol(category, designations)
        if both == "shelter_both":
            return CategoryStyle(look.name, look.color, both)
    return look


#: The column holding a feature's own colour (a uMap feature's style, a KML placemark's).
OWN_COLOUR = "style_color"


def own_colour(row: Any, look: CategoryStyle) -> CategoryStyle:
    """``look`` in the feature's own colour when its file gives it one (it wins over the
    category's, as in uMap and My Maps); else ``look`` itself."""
    colour = _text(row.get(OWN_COLOUR)) if hasattr(row, "get") else ""
    if colour and colour != look.color:
        return CategoryStyle(look.name, colour, look.symbol)
    return look


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
