"""Furigana for the paper map in やさしい日本語: which characters of a line get which reading.

reportlab has no ruby, so :func:`civicmap.render._fonts.draw_text` sets it itself: a line
that is (or holds, or is a wrapped piece of) a fixed text of the ``ja-easy`` glossary gets
the glossary's readings over its kanji. Data (names, addresses) is never read here: only
the glossary's own words carry readings, so a place name is printed as written.

Room: the sheet's line spacing is laid out for text without ruby (1.1–1.3 × the size), so a
line with ruby draws its base text at :data:`BASE_SCALE` of the size and the reading at
:data:`RUBY_SCALE` (half the base, as ruby is set) inside the line's own height; the
readings then never reach the line above (``tests/render/paper/test_paper_ruby.py``).
"""

from __future__ import annotations

import functools
import logging
import re
import string
from contextvars import ContextVar

from civicmap import wording

log = logging.getLogger(__name__)

#: The base text of a line with ruby, as a share of the line's size.
BASE_SCALE = 0.7
#: The reading, as a share of the line's size (half the base).
RUBY_SCALE = 0.35

_language: ContextVar[str] = ContextVar("ruby_language", default="")


def use(language: str) -> None:
    """Set ruby for the paper map being drawn (only ``ja-easy`` has readings)."""
    _language.set(language if language == "ja-easy" else "")


@functools.cache
def _entries(language: str) -> tuple[list, list]:
    """(full-line patterns, literal texts) of the glossary, each with its (base, reading) parts."""
    full = []
    literal = []
    for entry in wording.glossary(language).entries.values():
        if not wording.KANJI.search(entry.text):
            continue
        parts: list[tuple[str | None, str]] = []
        regex = ""
        for lit, field, _spec, _conv in string.Formatter().parse(entry.text):
            pieces = wording.ruby(lit)
            parts += pieces
            regex += "".join(re.escape(b) for b, _r in pieces)
            if pieces:
                literal.append(pieces)
            if field is not None:
                parts.append((None, ""))
                regex += "(.+?)"
        full.append((re.compile(r"^([^\u3400-\u9fff]*?)" + regex + r"([^\u3400-\u9fff]*)$"), parts))
    literal.sort(key=lambda ps: -sum(len(b) for b, _r in ps))
    return full, literal


def bases() -> tuple[str, ...]:
    """The words that carry a reading (kept whole when a line is broken), longest first."""
    lang = _language.get()
    return _bases(lang) if lang else ()


@functools.cache
def _bases(language: str) -> tuple[str, ...]:
    found = {b for e in wording.glossary(language).entries.values()
             for b, r in wording.ruby(e.text) if r}  # fmt: skip
    return tuple(sorted(found, key=len, reverse=True))


def spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, reading)`` of each ruby base in one printed line ([] without ruby)."""
    lang = _language.get()
    if not lang or not wording.KANJI.search(text):
        return []
    return _spans(lang, text)


def _from_parts(parts, start: int) -> list[tuple[int, int, str]]:
    out = []
    pos = start
    for base, reading in parts:
        if reading:
            out.append((pos, pos + len(base), reading))
        pos += len(base)
    return out


@functools.lru_cache(maxsize=8192)
def _spans(language: str, text: str) -> list[tuple[int, int, str]]:
    full, literal = _entries(language)
    for regex, parts in full:  # the whole line is one fixed text (its values kept)
        m = regex.match(text)
        if m:
            out = []
            pos = m.end(1)
            groups = iter(m.groups()[1:-1])
            for base, reading in parts:
                if base is None:
                    pos += len(next(groups))
                    continue
                if reading:
                    out.append((pos, pos + len(base), reading))
                pos += len(base)
            return out
    out: list[tuple[int, int, str]] = []
    taken = [False] * len(text)
    for pieces in literal:
        plain = "".join(b for b, _r in pieces)
        # a wrapped piece of a fixed text: the line lies inside it
        if len(text.strip()) >= 2 and text.strip() in plain and not out:
            lead = len(text) - len(text.lstrip())
            at = plain.find(text.strip())
            pos = 0
            for base, reading in pieces:
                s, e = pos - at + lead, pos - at + lead + len(base)
                if reading and s >= lead and e <= lead + len(text.strip()):
                    out.append((s, e, reading))
                pos += len(base)
            if out:
                return out
        # a fixed text inside a longer line (■ a category, a title with its count)
        if len(plain) < 2:
            continue
        start = text.find(plain)
        while start >= 0:
            if not any(taken[start : start + len(plain)]):
                out += _from_parts(pieces, start)
                for i in range(start, start + len(plain)):
                    taken[i] = True
            start = text.find(plain, start + 1)
        # a data line that ends with the first part of a fixed text, or starts with its
        # last part (a credit's 「日付がわか / りません」 broken over two lines)
        for k in range(len(plain) - 1, 1, -1):
            head, tail = plain[:k], plain[-k:]
            if text.endswith(head) and not any(taken[len(text) - k :]):
                found = [sp for sp in _from_parts(pieces, len(text) - k) if sp[1] <= len(text)]
                out += found
                for i in range(len(text) - k, len(text)):
                    taken[i] = True
                break
            if text.startswith(tail) and not any(taken[:k]):
                found = [sp for sp in _from_parts(pieces, k - len(plain)) if sp[0] >= 0]
                out += found
                for i in range(k):
                    taken[i] = True
                break
    return sorted(out)
