"""The printable paper map: a vector PDF (and PNG) a volunteer can print at a convenience store.

One page (or a multi-page atlas) with the basemap, numbered markers whose shape
differs per layer, grid references on the frame, an index of every place in
五十音 order, a scale bar that is true on paper, a north arrow, a legend, notes,
dates, credits and an optional QR code to the web map. The IPAex Gothic font is
embedded as a subset, so Japanese text prints everywhere and stays selectable.

:func:`render_paper` lays out and draws into memory and returns the
:class:`PaperPlan` it used (tests check its geometry against the PDF);
:func:`write_paper` writes the PDF, and the PNG when asked, atomically.

Where things are (one module per part, each small enough to read at once):

- ``texts``: fixed wording in Japanese and English.
- ``plan``: numbered places and routes, the plan tests read back (no drawing).
- ``page``: what every page shares (projection, text sizes, header).
- ``marks``: markers, number boxes, home, routes, north arrow, grid.
- ``frame``: one map frame (basemap, data edge, markers, numbers, labels).
- ``panel``: scale bar, legend, routes, notes, QR and credits blocks.
- ``index``: the index, flowed into columns and pages.
- ``single_page`` and ``atlas``: the two layouts.
- ``renderer``: the :class:`Renderer` the layouts draw with (below them).
- ``render``: choose the layout, render in memory, write atomically.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names are loaded on first use, so importing the package does not import reportlab.
# The options (``outputs.paper``) are what a map file says: :mod:`civicmap.spec.paper`.
_WHERE = {
    "TEXT": "texts",
    "Entry": "plan",
    "FramePlan": "plan",
    "PaperPlan": "plan",
    "RouteLeg": "plan",
    "draw_marker": "marks",
    "pdf_to_png": "render",
    "render_paper": "render",
    "write_paper": "render",
    "write_paper_sections": "render",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
