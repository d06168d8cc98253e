"""Every script of every map language has a glyph in the paper map's fonts (no tofu).

The fonts come from Debian's OFL packages that .ci/run installs (render/_fonts.py); a
character no font of the language's order has would print as an empty box.
"""

from __future__ import annotations

import sys

import pytest

from civicmap import wording
from civicmap.errors import CivicMapError
from civicmap.render import _fonts


def _installed(lang: str) -> bool:
    return all(_fonts.EXTRA[n].file.is_file() for n in _fonts.NEEDED.get(lang, ()))


@pytest.mark.parametrize("lang", wording.LANGUAGES)
def test_every_character_of_the_glossary_has_a_glyph(lang):
    if not _installed(lang):
        pytest.skip(f"the fonts of {lang} are not installed (.ci/run installs them)")
    _fonts.register(lang)
    order = _fonts._order.get()
    missing = {
        ch
        for text in wording.words(lang).values()
        for ch in text
        if not ch.isspace() and not any(ord(ch) in _fonts._cmap(f) for f in order)
    }
    assert not missing, (lang, sorted(missing))
    # and each character is drawn by a font that has it
    runs = _fonts.runs(wording.text(lang, "paper.strip_legend"))
    assert all(all(ord(c) in _fonts._cmap(f) for c in piece) for f, piece in runs)
    _fonts.register("ja")


def test_a_missing_font_names_the_package_to_install(monkeypatch, tmp_path):
    gone = _fonts.ExtraFont("Gone", tmp_path / "gone.ttf", "fonts-gone")
    monkeypatch.setitem(_fonts.EXTRA, "Gone", gone)
    monkeypatch.setitem(_fonts.NEEDED, "ko", ("Gone",))
    with pytest.raises(CivicMapError, match="apt-get install fonts-gone"):
        _fonts.register("ko")
    _fonts.register("ja")


def test_the_japanese_font_is_found_without_importing_matplotlib(monkeypatch):
    """The font file is all the paper map needs from matplotlib-fontja: running the package
    would import matplotlib, a fifth to half a second in every process that prints."""
    for name in [n for n in sys.modules if n.split(".")[0] == "matplotlib_fontja"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # any import of it now fails
    path = _fonts.font_path()
    assert path.name == "ipaexg.ttf" and path.is_file()


def test_without_matplotlib_fontja_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib_fontja", None)  # as if not installed
    with pytest.raises(CivicMapError, match="pip install matplotlib-fontja"):
        _fonts.font_path()
