"""Colours as uMap and KML files write them → ``#rrggbb``.

uMap stores CSS colour names (``DarkGreen``) or hex, and colours its Categorized
layers from ColorBrewer schemes; KML writes ``aabbggrr``. The tables come from
``civicmap/data/umap_colours.json`` (uMap 3.7.3's ``colorbrewer.js`` and
``Utils.COLORS``, and the CSS colour names), read once.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

_HEX = re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


@functools.cache
def _tables() -> dict[str, Any]:
    text = resources.files("civicmap.data").joinpath("umap_colours.json").read_text("utf-8")
    return json.loads(text)


def css_hex(value: Any) -> str:
    """``#rrggbb`` of a CSS colour (hex or a name such as ``DarkGreen``), ``""`` if not one.

    ``rgb()``/``hsl()`` forms and ``{property}`` templates are not colours here:
    callers resolve templates first and report what stays unreadable.
    """
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if _HEX.match(text):
        h = text[1:].lower()
        return "#" + ("".join(c * 2 for c in h) if len(h) == 3 else h)
    return _tables()["css"].get(text.lower(), "")


def brewer(scheme: Any, classes: int) -> list[str]:
    """uMap's colours for ``classes`` categories of a Categorized layer (``Categorized.compute``).

    The ColorBrewer ``scheme`` when it has that many classes, else ``Accent``'s, else
    uMap's fallback list of CSS names (``Utils.COLORS``), as uMap 3.7.3 does.
    """
    brew = _tables()["colorbrewer"]
    key = str(classes)
    if isinstance(scheme, str) and key in brew.get(scheme, {}):
        return list(brew[scheme][key])
    if key in brew["Accent"]:
        return list(brew["Accent"][key])
    return [css_hex(c) for c in _tables()["umap_colors"]]


def kml_hex(value: Any) -> str:
    """``#rrggbb`` of a KML colour (``aabbggrr``, as Google My Maps writes it), ``""`` if not one."""
    text = str(value or "").strip().lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{8}", text):
        return ""
    bb, gg, rr = text[2:4], text[4:6], text[6:8]
    return f"#{rr}{gg}{bb}".lower()


def kml_alpha(value: Any) -> float | None:
    """The opacity (0–1) of a KML ``aabbggrr`` colour, None if not one."""
    text = str(value or "").strip().lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{8}", text):
        return None
    return round(int(text[0:2], 16) / 255, 2)
