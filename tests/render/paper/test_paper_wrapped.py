"""The index's lines, wrapped once per text and width, still follow the map's fonts.

A crowded sheet is laid out several times (insets, atlas) and wraps the same index
lines at each try, so the wrapped lines are remembered. A Vietnamese map measures its
Latin text in Noto Sans, a Japanese one in IPAex Gothic: the same words then break
differently at the same width, and a remembered line must never cross from one to the other.
"""

from __future__ import annotations

import contextvars

from civicmap.render._fonts import register, text_width
from civicmap.render.paper.texts import wrap, wrapped

WORDS = "Nhà văn hóa cộng đồng Okubo"  # a community hall's Vietnamese name


def _lines_in(language: str) -> tuple[list[str], list[str]]:
    register(language)  # the fonts of a map in that language, as each paper map does first
    return wrapped(WORDS, 30.5, 7.0), wrap(WORDS, 30.5, lambda s: text_width(s, 7.0))


def test_wrapped_lines_are_those_of_the_fonts_of_the_map_being_drawn():
    lines = {}
    for language in ("ja", "vi", "ja"):  # in a context of its own: no font order left behind
        remembered, measured = contextvars.copy_context().run(_lines_in, language)
        assert remembered == measured
        lines[language] = remembered
    # the widths differ, so the breaks do: the check above would miss a shared line
    assert lines["ja"] == ["Nhà văn", "hóa cộng", "đồng", "Okubo"]
    assert lines["vi"] == ["Nhà văn", "hóa", "cộng", "đồng", "Okubo"]
