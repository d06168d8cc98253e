"""The web page's languages: the switch to the same map in another language, and furigana.

A map file with ``language: [ja, ja-easy, en, vi]`` gets one page per language
(``map.html``, ``map.ja-easy.html`` …). Each page carries the list of its siblings; the
page script (``assets/languages.js``) shows them as links that carry the view and the
open popup in the address's ``#`` part, so a neighbour who switches to やさしい日本語 sees
the same street and the same shelter's popup.

やさしい日本語 pages also carry every fixed text of the glossary as a pattern with its
readings; the script sets ``<ruby>`` on each text of the page that is one of them
(data such as names and addresses are left as they are).
"""

from __future__ import annotations

import logging
import re
import string
from typing import Any

from civicmap import wording
from civicmap.mapdata import MapData

log = logging.getLogger(__name__)

#: The texts of the page that are written with readings (the web's words and the words
#: the page shows from other sections: categories, disasters, layer titles, hazards).
RUBY_SECTIONS = (
    "web.", "category.", "disaster.", "layer.", "hazard", "field.", "value.", "banner.",
    "credit.", "route.", "language.",
)  # fmt: skip


def ruby_patterns(language: str) -> list[dict[str, Any]]:
    """Each fixed text with kanji as ``{"re": regex source, "parts": [...]}`` for the script.

    ``parts`` are ``[base, reading]`` pairs for the text and ``[null, n]`` for the n-th
    placeholder (what the page put there, e.g. a count, kept as it is); ``inner``: the
    text may also stand inside a longer one (a credit line's 日付がわかりません). Only the
    glossary's words go in: no data ever becomes a pattern.
    """
    if language != "ja-easy":
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for key, entry in wording.glossary(language).entries.items():
        if not key.startswith(RUBY_SECTIONS) or not wording.KANJI.search(entry.text):
            continue
        parts: list[list[Any]] = []
        regex = ""
        n = 0
        for literal, field, _spec, _conv in string.Formatter().parse(entry.text):
            for base, reading in wording.ruby(literal):
                parts.append([base, reading])
                regex += re.escape(base)
            if field is not None:
                parts.append([None, n])
                regex += "(.+?)"
                n += 1
        if regex in seen:
            continue
        seen.add(regex)
        out.append(
            {"re": regex, "parts": parts, "inner": n == 0 and len(wording.plain(entry.text)) >= 3}
        )
    # the longest first: 避難所までの道 before 道
    out.sort(key=lambda p: -len(p["re"]))
    return out


def language_payload(data: MapData) -> dict[str, Any]:
    """What ``assets/languages.js`` needs: the sibling pages and the ruby patterns."""
    spec = data.spec
    words = wording.words(spec.language)
    pages = [
        {
            "lang": wording.BCP47.get(lang, lang),
            "file": file,
            "name": wording.glossary(lang).name,
            # the language's name in this page's language (the link's tooltip)
            "title": words.get(f"language.{lang}", ""),
        }
        for lang, file in spec.web_pages()
    ]
    current = wording.BCP47.get(spec.language, spec.language)
    return {"current": current, "pages": pages, "ruby": ruby_patterns(spec.language)}
