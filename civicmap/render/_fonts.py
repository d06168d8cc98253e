"""The Japanese font the paper map embeds: IPAex Gothic from matplotlib-fontja.

The font ships inside a wheel (no system font needed), covers JIS X 0208 kanji
and kana, and reportlab embeds only the glyphs used (a subset with a ToUnicode
map), so the PDF stays small and its text stays selectable and searchable.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from civicmap.errors import CivicMapError
from civicmap.i18n import _

log = logging.getLogger(__name__)

#: The name the font is registered under in reportlab.
FONT = "IPAexGothic"


def font_path() -> Path:
    """Where ``ipaexg.ttf`` is, inside the installed matplotlib-fontja package.

    Raises
    ------
    CivicMapError
        When matplotlib-fontja is missing or ships no ``ipaexg.ttf``.
    """
    try:
        root = resources.files("matplotlib_fontja") / "fonts" / "ipaexg.ttf"
    except ModuleNotFoundError as exc:
        raise CivicMapError(
            _(
                "the paper map needs the IPAex Gothic font from matplotlib-fontja; install it "
                "with: pip install matplotlib-fontja"
            )
        ) from exc
    path = Path(str(root))
    if not path.is_file():
        raise CivicMapError(
            _(
                "font file not found: %(path)s; reinstall matplotlib-fontja (pip install -U "
                "matplotlib-fontja)"
            )
            % {"path": path}
        )
    return path


@cache
def register() -> str:
    """Register IPAex Gothic with reportlab once; return its font name."""
    pdfmetrics.registerFont(TTFont(FONT, str(font_path())))
    log.debug("registered %s from %s", FONT, font_path())
    return FONT


def text_width(text: str, size: float) -> float:
    """Width of ``text`` in points at ``size`` in the map font."""
    return pdfmetrics.stringWidth(text, register(), size)


def draw_text(
    c,
    x: float,
    y: float,
    text: str,
    size: float,
    *,
    anchor: str = "start",
    halo: float = 0.0,
    bold: bool = False,
    color=None,
) -> None:
    """Draw one line of text, optionally with a white halo so it reads over map lines.

    IPAex Gothic has no bold face, so ``bold`` strokes the glyph outlines too
    (text render mode 2), which survives photocopying better than a thin face.
    """
    from reportlab.lib import colors

    font = register()
    w = text_width(text, size)
    x0 = x - w / 2 if anchor == "middle" else (x - w if anchor == "end" else x)
    c.saveState()
    if halo > 0:
        # Its own graphics state: the text render mode (Tr) outlives the text object.
        c.saveState()
        t = c.beginText(x0, y)
        t.setFont(font, size)
        t.setTextRenderMode(1)
        c.setStrokeColor(colors.white)
        c.setLineWidth(halo)
        c.setLineJoin(1)
        t.textOut(text)
        c.drawText(t)
        c.restoreState()
    t = c.beginText(x0, y)
    t.setFont(font, size)
    fill = color if color is not None else colors.black
    c.setFillColor(fill)
    if bold:
        c.setStrokeColor(fill)
        c.setLineWidth(size * 0.04)
        t.setTextRenderMode(2)
    t.textOut(text)
    c.drawText(t)
    c.restoreState()
