"""The paper renderer: one object holding a map's page context and its drawing parts.

Its own module, below the layouts (``single_page``, ``atlas``, ``area_atlas``,
``overview``): they take a :class:`Renderer` and import it from here, while
:mod:`civicmap.render.paper.render` chooses the layout and writes the files. So a
layout never imports the module that dispatches to it.
"""

from __future__ import annotations

from civicmap.render.paper.frame import FrameDrawing
from civicmap.render.paper.index import IndexFlow
from civicmap.render.paper.page import PageContext
from civicmap.render.paper.panel import PanelBlocks


class Renderer(PageContext, FrameDrawing, PanelBlocks, IndexFlow):
    """Draws one paper map: the page context plus the frame, panel and index parts."""


__all__ = ["Renderer"]
