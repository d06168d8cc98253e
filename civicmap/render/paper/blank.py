"""A canvas that draws nothing, for layouts that are only measured.

The paper layouts decide where everything goes while they draw it (number
boxes avoid the labels already drawn, the index flows into columns as it is
written). A layout drawn on :class:`BlankCanvas` makes every one of those
decisions exactly as on a real canvas, because no drawing call returns
anything a layout reads, but writes no PDF: what a count of index pages or a
trial layout (``civicmap init``) needs, without the cost of the PDF.
"""

from __future__ import annotations

from typing import Any


class BlankCanvas:
    """Takes every canvas, path and text-object call, and draws nothing.

    Drawing calls return the canvas itself, so ``c.beginPath()`` and
    ``c.beginText()`` give objects that take their own calls too.
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self.__dict__[name] = self._nothing  # found directly next time (layouts call often)
        return self._nothing

    def _nothing(self, *args: Any, **kwargs: Any) -> BlankCanvas:
        return self
