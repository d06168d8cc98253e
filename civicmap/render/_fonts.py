"""The fonts the paper map embeds: IPAex Gothic, and for other scripts OFL fonts from Debian.

IPAex Gothic ships inside a wheel (matplotlib-fontja, no system font needed) and
covers JIS X 0208 kanji and kana. Hangul, Devanagari, Vietnamese diacritics and
Chinese characters outside JIS are drawn in the fonts of :data:`EXTRA` (Debian's
fonts-noto-core, fonts-nanum, fonts-lxgw-wenkai, installed by .ci/run), character
by character in the first font of the map language's order that has the glyph.
reportlab embeds only the glyphs used (a subset with a ToUnicode map), so the PDF
stays small and its text stays selectable and searchable.
"""

from __future__ import annotations

import logging
import unicodedata
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.util import find_spec
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import ShapedStr, TTFont, shapeStr

from civicmap import wording
from civicmap.errors import CivicMapError
from civicmap.i18n import _
from civicmap.render import _ruby

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
    # The package's folder, found without running it: importing matplotlib_fontja imports
    # matplotlib (0.2-0.6 s a process), and the paper map only needs the font file.
    spec = find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        raise CivicMapError(
            _(
                "the paper map needs the IPAex Gothic font from matplotlib-fontja; install it "
                "with: pip install matplotlib-fontja"
            )
        )
    path = Path(spec.submodule_search_locations[0]) / "fonts" / "ipaexg.ttf"
    if not path.is_file():
        raise CivicMapError(
            _(
                "font file not found: %(path)s; reinstall matplotlib-fontja (pip install -U "
                "matplotlib-fontja)"
            )
            % {"path": path}
        )
    return path


#: Debian's folder of TrueType fonts (the packages .ci/run installs).
FONT_DIR = Path("/usr/share/fonts/truetype")


@dataclass(frozen=True)
class ExtraFont:
    """A TrueType font for scripts IPAex Gothic lacks, from a Debian package (SIL OFL)."""

    name: str
    file: Path
    package: str
    #: Shaped with HarfBuzz (conjuncts, vowel signs placed before their consonant).
    shaped: bool = False


#: The other scripts' fonts, all SIL Open Font License, all TrueType outlines (reportlab
#: embeds no CFF/OpenType outlines, so Noto Sans CJK cannot be used): Noto Sans for Latin
#: with Vietnamese diacritics, Nanum Gothic for Hangul, LXGW WenKai for 简体/繁體 (the one
#: OFL TrueType Chinese font Debian ships; it also has Hangul and Vietnamese), Noto Sans
#: Devanagari for Nepali.
EXTRA: dict[str, ExtraFont] = {
    f.name: f
    for f in (
        ExtraFont("NotoSans", FONT_DIR / "noto" / "NotoSans-Regular.ttf", "fonts-noto-core"),
        ExtraFont("NanumGothic", FONT_DIR / "nanum" / "NanumGothic.ttf", "fonts-nanum"),
        ExtraFont(
            "LXGWWenKai", FONT_DIR / "lxgw-wenkai" / "LXGWWenKai-Regular.ttf", "fonts-lxgw-wenkai"
        ),
        ExtraFont(
            "NotoSansDevanagari",
            FONT_DIR / "noto" / "NotoSansDevanagari-Regular.ttf",
            "fonts-noto-core",
            shaped=True,
        ),
    )
}

#: Per map language, the fonts a character is looked up in, in order: the first that has
#: it draws it. The language's own font comes first where its letters differ from the
#: Japanese ones (Vietnamese diacritics, Chinese glyph forms, Devanagari); Japanese place
#: names fall through to IPAex Gothic. Fonts after the first are used when installed.
FONT_ORDER: dict[str, tuple[str, ...]] = {
    "ja": (FONT, "NotoSans", "NanumGothic", "LXGWWenKai", "NotoSansDevanagari"),
    "ja-easy": (FONT, "NotoSans", "NanumGothic", "LXGWWenKai", "NotoSansDevanagari"),
    "en": (FONT, "NotoSans", "NanumGothic", "LXGWWenKai", "NotoSansDevanagari"),
    "pt": ("NotoSans", FONT, "NanumGothic", "LXGWWenKai"),
    "tl": ("NotoSans", FONT, "NanumGothic", "LXGWWenKai"),
    "vi": ("NotoSans", FONT, "NanumGothic", "LXGWWenKai"),
    "zh-Hans": ("LXGWWenKai", FONT, "NotoSans", "NanumGothic"),
    "zh-Hant": ("LXGWWenKai", FONT, "NotoSans", "NanumGothic"),
    "ko": (FONT, "NanumGothic", "NotoSans", "LXGWWenKai"),
    "ne": ("NotoSansDevanagari", FONT, "NotoSans"),
}
#: The fonts a language cannot be printed without (its fixed texts would be tofu).
NEEDED: dict[str, tuple[str, ...]] = {
    "pt": ("NotoSans",),
    "tl": ("NotoSans",),
    "vi": ("NotoSans",),
    "zh-Hans": ("LXGWWenKai",),
    "zh-Hant": ("LXGWWenKai",),
    "ko": ("NanumGothic",),
    "ne": ("NotoSansDevanagari",),
}

#: The fonts of the map being drawn (set by :func:`register`, one paper map at a time).
_order: ContextVar[tuple[str, ...]] = ContextVar("font_order", default=(FONT,))


@cache
def _register_ipaex() -> str:
    pdfmetrics.registerFont(TTFont(FONT, str(font_path())))
    log.debug("registered %s from %s", FONT, font_path())
    return FONT


@cache
def _register_extra(name: str) -> bool:
    """Register one of :data:`EXTRA` with reportlab; False when its file is not installed."""
    font = EXTRA[name]
    if not font.file.is_file():
        return False
    tt = TTFont(name, str(font.file), shapable=font.shaped)
    # The sheet's line spacing is laid out for IPAex Gothic (ascent 0.88, descent 0.12 em):
    # the other fonts declare those lines too, so a PDF reader's word boxes (Noto Sans says
    # 1.07 / 0.29 for accents and descenders it rarely has) match the lines as laid out.
    ipaex = pdfmetrics.getFont(_register_ipaex()).face
    tt.face.ascent, tt.face.descent = ipaex.ascent, ipaex.descent
    pdfmetrics.registerFont(tt)
    log.debug("registered %s from %s", name, font.file)
    return True


@cache
def _cmap(name: str) -> frozenset[int]:
    """The characters font ``name`` has; an extra font is read (and registered) here.

    Reading a TrueType file costs 40–80 ms (LXGW WenKai: 20 MB). A Japanese sheet
    whose every character is in IPAex Gothic never asks for the other fonts of its
    order, so a build reads only the fonts a character of its text needs.
    """
    if name != FONT:
        _register_extra(name)
    return frozenset(pdfmetrics.getFont(name).face.charToGlyph)


def register(language: str = "ja") -> str:
    """Register the fonts of a map in ``language`` with reportlab; return the main font's name.

    Every later :func:`text_width` and :func:`draw_text` uses that language's fonts
    (:data:`FONT_ORDER`) until the next call: each paper map calls this first. A
    bilingual sheet (``ja+vi``) needs the fonts of both and looks characters up in the
    second language's order (Japanese falls through to IPAex Gothic in every order), so
    a Vietnamese word is never drawn half in IPAex Gothic's Latin letters.

    Raises
    ------
    CivicMapError
        When a font the language needs (:data:`NEEDED`) is not installed.
    """
    _register_ipaex()
    langs = wording.parts(language)
    for lang, name in [(one, n) for one in langs for n in NEEDED.get(one, ())]:
        if not _register_extra(name):
            font = EXTRA[name]
            raise CivicMapError(
                _(
                    "the paper map in %(lang)s needs the font %(file)s; install it with: "
                    "apt-get install %(package)s"
                )
                % {"lang": lang, "file": font.file, "package": font.package}
            )
    lookup = FONT_ORDER.get(langs[-1], (FONT,))
    # installed fonts only; each is read on first use (:func:`_cmap`)
    order = tuple(n for n in lookup if n == FONT or EXTRA[n].file.is_file())
    _order.set(order)
    _ruby.use(language)
    return order[0]


def runs(text: str) -> list[tuple[str, str]]:
    """``text`` cut into (font, piece) runs: each character in the first font that has it.

    Spaces and marks that every font has stay with the run before them, so a Latin
    phrase is one run; a character no font has goes to the first font (drawn as its
    blank glyph, and found by the tests that read the PDF back).
    """
    order = _order.get()
    out: list[tuple[str, str]] = []
    for ch in text:
        cp = ord(ch)
        if out and (ch.isspace() or unicodedata.category(ch).startswith("M")):
            if cp in _cmap(out[-1][0]):
                out[-1] = (out[-1][0], out[-1][1] + ch)
                continue
        font = next((n for n in order if cp in _cmap(n)), order[0])
        if out and out[-1][0] == font:
            out[-1] = (font, out[-1][1] + ch)
        else:
            out.append((font, ch))
    return out


def _is_shaped(font: str) -> bool:
    """Whether ``font``'s text is shaped by HarfBuzz (Devanagari)."""
    extra = EXTRA.get(font)
    return extra is not None and extra.shaped and pdfmetrics.getFont(font).shapable


def _shaped(font: str, piece: str, size: float):
    """``piece`` shaped by HarfBuzz for a font that needs it (else as it is)."""
    if _is_shaped(font):
        return shapeStr(piece, font, size)
    return piece


def _has_shaped_run(text: str) -> bool:
    """Whether a line of ``text`` draws a run shaped by HarfBuzz."""
    single = _one_font(text)
    return any(_is_shaped(font) for font in ([single] if single else [f for f, _ in runs(text)]))


def _actual_text(text: str) -> str:
    """``text`` as the PDF text string of a marked-content span's ``/ActualText``.

    Hex, UTF-16BE with its byte-order mark: any text (data included) is written as
    digits only, so nothing in it can end the string or add an operator.
    """
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _width(font: str, piece: str, size: float) -> float:
    text = _shaped(font, piece, size)
    if isinstance(text, ShapedStr):
        return sum(d.x_advance for d in text.__shapeData__) * size / 1000
    return pdfmetrics.stringWidth(piece, font, size)


def _one_font(text: str) -> str | None:
    """The map's first font when it has every character of ``text`` (the usual case)."""
    first = _order.get()[0]
    return first if frozenset(map(ord, text)) <= _cmap(first) else None


def font_order() -> tuple[str, ...]:
    """The fonts of the map being drawn, in the order :func:`text_width` tries them."""
    return _order.get()


def text_width(text: str, size: float) -> float:
    """Width of ``text`` in points at ``size`` in the map's fonts."""
    return _measured(_order.get(), text, size)


@lru_cache(maxsize=1 << 16)
def _measured(order: tuple[str, ...], text: str, size: float) -> float:
    """:func:`text_width`, remembered per font order: layout loops measure the same texts again.

    ``order`` is the current :data:`_order` (what :func:`_one_font` and :func:`runs`
    read); it is in the key so that a map in another language never gets a width
    measured in the fonts of the one before.
    """
    font = _one_font(text)
    if font is not None:  # one font: reportlab's C measure, as fast as before (layout loops)
        return _width(font, text, size)
    return sum(_width(font, piece, size) for font, piece in runs(text))


def _text_out(t, text: str, size: float) -> None:
    single = _one_font(text)
    for font, piece in [(single, text)] if single is not None else runs(text):
        t.setFont(font, size)
        t.textOut(_shaped(font, piece, size))


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
    Each character is drawn in the first of the map's fonts that has it (:func:`runs`).
    """
    from reportlab.lib import colors

    readings = _ruby.spans(text)
    if readings:  # furigana (やさしい日本語): base and reading share the line's height
        size *= _ruby.BASE_SCALE
    w = text_width(text, size)
    x0 = x - w / 2 if anchor == "middle" else (x - w if anchor == "end" else x)
    c.saveState()
    # Shaped Devanagari is drawn as glyphs: conjuncts that have no character of their own
    # (reportlab gives them private-use codes in the font's ToUnicode map) and the vowel
    # sign ि drawn before its consonant. The line's own text as /ActualText makes a PDF
    # reader copy, search and read aloud (pdftotext too) the words as written.
    actual = _has_shaped_run(text)
    if actual:
        c.addLiteral(f"/Span <</ActualText {_actual_text(text)}>> BDC")
    if halo > 0:
        # Its own graphics state: the text render mode (Tr) outlives the text object.
        c.saveState()
        t = c.beginText(x0, y)
        t.setTextRenderMode(1)
        c.setStrokeColor(colors.white)
        c.setLineWidth(halo)
        c.setLineJoin(1)
        _text_out(t, text, size)
        c.drawText(t)
        c.restoreState()
    t = c.beginText(x0, y)
    fill = color if color is not None else colors.black
    c.setFillColor(fill)
    if bold:
        c.setStrokeColor(fill)
        c.setLineWidth(size * 0.04)
        t.setTextRenderMode(2)
    _text_out(t, text, size)
    c.drawText(t)
    if readings:
        _draw_ruby(c, x0, y, text, size, readings, halo=halo)
    if actual:
        c.addLiteral("EMC")
    c.restoreState()


def _draw_ruby(c, x0: float, y: float, text: str, size: float, readings, *, halo: float) -> None:
    """Each reading centred over its base, half the base's size, sat on the base's top.

    A reading wider than its base is set smaller (down to 0.36 of the base) rather than
    spread over the next word's reading.
    """
    from reportlab.lib import colors

    top = y + size * 0.88  # the base's em top (IPAex ascent)
    for start, end, reading in readings:
        bx = x0 + text_width(text[:start], size)
        bw = text_width(text[start:end], size)
        rs = size * _ruby.RUBY_SCALE / _ruby.BASE_SCALE
        rw = text_width(reading, rs)
        if rw > bw:
            rs = max(rs * bw / rw, size * 0.36)
            rw = text_width(reading, rs)
        rx = bx + (bw - rw) / 2
        ry = top + rs * 0.12  # the reading's descent sits on the base's top
        if halo > 0:
            c.saveState()
            t = c.beginText(rx, ry)
            t.setTextRenderMode(1)
            c.setStrokeColor(colors.white)
            c.setLineWidth(halo * 0.6)
            _text_out(t, reading, rs)
            c.drawText(t)
            c.restoreState()
        t = c.beginText(rx, ry)
        _text_out(t, reading, rs)
        c.drawText(t)
