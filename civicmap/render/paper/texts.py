"""Fixed text of the paper map in each language, the index's column aliases, line breaking
and 五十音 sort keys."""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Iterator, Mapping

from civicmap import wording
from civicmap.render import _ruby
from civicmap.render._fonts import font_order, text_width
from civicmap.schema import DISASTER_TYPES

log = logging.getLogger(__name__)


#: ``TEXT[language][key]``: the paper map's fixed words, from the glossaries
#: (civicmap/wording/<language>.yaml, keys ``paper.*``).
TEXT = wording.Table("paper")


def other_title(language: str, *, kinds: int, places: int) -> str:
    """The legend row and index heading of a layer's categories past the paper budget
    (「その他（5種類・6件）」), in both languages of a bilingual sheet."""
    return wording.both(
        language,
        lambda one: wording.text(one, "legend.other").format(kinds=kinds, places=places),
    )


#: Index column names that stand for several source columns (first non-empty wins).
INDEX_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "TEL", "電話番号", "contact:phone", "tel", "電話"),
    "capacity": ("capacity", "定員", "Capall", "想定収容人数", "収容人数"),
}
#: ``DISASTER[language][key]``: disaster names (keys of DISASTER_TYPES), from the glossaries.
DISASTER = wording.Table("disaster")


class _Strip(Mapping[str, tuple[str, ...]]):
    """``STRIP[language]``: the ○/× strip's short names, in DISASTER_TYPES order."""

    def __getitem__(self, language: str) -> tuple[str, ...]:
        words = wording.Table("strip")[language]
        return tuple(words[k] for k in DISASTER_TYPES)

    def __iter__(self) -> Iterator[str]:
        return iter(wording.LANGUAGES)

    def __len__(self) -> int:
        return len(wording.LANGUAGES)


STRIP = _Strip()


def disaster_strip(flags: dict[str, bool | None], lang: str) -> str:
    """``洪水○土砂×高潮×地震○…``: which disasters a shelter site is designated for.

    Official lists mark the disasters a site serves and leave the others empty,
    so once a site says anything, an empty flag prints as ×; a site that says
    nothing gets no strip (unknown is not "no").
    """
    values = [flags.get(k) for k in DISASTER_TYPES]
    if all(v is None for v in values):
        return ""
    # ja: the ○/× after each two-kanji name separates them, so the strip stays one line
    return ("" if wording.base(lang) in wording.JAPANESE else " ").join(
        f"{name}{'○' if v else '×'}" for name, v in zip(STRIP[lang], values, strict=True)
    )


def is_strip(text: str) -> bool:
    """Whether a detail line is a ○/× strip (one item per disaster), in any language."""
    items = re.findall(r"[^○×]+[○×]", text)
    return len(items) == len(DISASTER_TYPES) and "".join(items) == text


def strip_lines(text: str, width: float, measure) -> list[str] | None:
    """A ○/× strip broken between its items (never 火山 / ×), or None for other text."""
    # one item per disaster, in any language (Vietnamese names have spaces: Động đất○)
    items = re.findall(r"[^○×]+[○×]", text)
    if len(items) != len(DISASTER_TYPES) or "".join(items) != text:
        return None
    lines = [""]
    for item in items:
        if lines[-1] and measure(lines[-1] + item) > width:
            lines.append(item.lstrip())
        else:
            lines[-1] += item
    return lines


#: 行頭禁則: characters a line never starts with (closing brackets, punctuation,
#: the long-vowel mark, small kana, iteration marks; JIS X 4051 classes 2–7, 11).
NO_LINE_START = frozenset(
    "」』）］｝〕〉》】〙〗｠»’”、。，．,.・：；:;？！?!)]}ーぁぃぅぇぉっゃゅょゎゕゖ"
    "ァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ々〻‐゠–〜～…‥％%"
)
#: 行末禁則: characters a line never ends with (opening brackets).
NO_LINE_END = frozenset("「『（［｛〔〈《【〘〖｟«‘“([{")


def wrap(text: str, width: float, measure) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (``measure(s)`` → points).

    Japanese has no spaces, so lines break between any two characters, but a
    Latin word is kept whole when it fits on a line, and the breaks follow
    禁則処理: no line starts with a closing bracket, 、。, ー, ・ or a small kana
    (:data:`NO_LINE_START`), none ends with an opening bracket
    (:data:`NO_LINE_END`): such characters are glued to their neighbour and
    move to the next line with it (追い出し).
    """
    lines: list[str] = []
    for para in str(text).split("\n"):
        line = ""
        for tok in _para_tokens(para, _ruby.bases()):
            if measure(line + tok) <= width or not line:
                if measure(tok) > width and not line:
                    for piece in _split_long(tok, width, measure):
                        if line and measure(line + piece) > width:
                            lines.append(line)
                            line = ""
                        line += piece
                else:
                    line += tok
            else:
                lines.append(line.rstrip())
                line = tok.lstrip()
        lines.append(line.rstrip())
    return lines or [""]


def wrapped(text: str, width: float, size: float) -> list[str]:
    """:func:`wrap` measured in the map's fonts at ``size``, remembered.

    A sheet is laid out several times (with an inset, as an atlas, to count an
    atlas's index pages) and its index wraps the same names and details at the same
    widths at every try: most of the time of a crowded sheet's layout went there.
    The key holds the map's fonts and reading-marked words, on which the lines depend.
    """
    return list(_wrapped(text, width, size, font_order(), _ruby.bases()))


@functools.lru_cache(maxsize=1 << 15)
def _wrapped(
    text: str, width: float, size: float, order: tuple[str, ...], glued: tuple[str, ...]
) -> tuple[str, ...]:
    return tuple(wrap(text, width, lambda s: text_width(s, size)))


@functools.lru_cache(maxsize=16384)
def _para_tokens(para: str, glued: tuple[str, ...]) -> tuple[str, ...]:
    """The tokens :func:`wrap` breaks ``para`` between, 禁則 characters glued on.

    やさしい日本語: a word with furigana (one of ``glued``) is one token, never broken.
    Remembered per paragraph and reading-marked words (``glued``, the sheet's ruby
    state): a sheet's layout wraps the same names and addresses at every try.
    """
    return tuple(_glued(_ruby_tokens(para, glued) if glued else _plain_tokens(para)))


def _glued(tokens: list[str]) -> list[str]:
    """Tokens with 禁則 characters joined to the token they must stay with."""
    out: list[str] = []
    for tok in tokens:
        if out and (tok[0] in NO_LINE_START or out[-1][-1] in NO_LINE_END):
            out[-1] += tok
        else:
            out.append(tok)
    return out


def _split_long(tok: str, width: float, measure) -> list[str]:
    """A token wider than a line in pieces, never cutting before a 行頭禁則 character."""
    pieces: list[str] = []
    for ch in tok:
        if pieces and (ch in NO_LINE_START or pieces[-1][-1:] in NO_LINE_END):
            pieces[-1] += ch
        else:
            pieces.append(ch)
    return pieces


#: Scripts written without spaces: each character may start a line (kana, kanji, CJK
#: punctuation, full-width forms).
_NO_SPACES = re.compile(r"[\u2e80-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _word_char(ch: str) -> bool:
    """A character of a word that stays whole: ASCII, or a letter or mark of a spaced script.

    Vietnamese ``giải``, Korean ``대피소`` and Nepali ``आश्रयस्थल`` break at spaces, like
    English; a Devanagari vowel sign is never cut from its consonant.
    """
    if ch.isspace():
        return False
    if ch.isascii():
        return True
    return unicodedata.category(ch)[0] in "LM" and not _NO_SPACES.match(ch)


def _ruby_tokens(text: str, glued: tuple[str, ...]) -> list[str]:
    """:func:`_tokens` with each word that carries a reading kept as one token."""
    out: list[str] = []
    i = 0
    while i < len(text):
        word = next((b for b in glued if text.startswith(b, i)), None)
        if word:
            out.append(word)
            i += len(word)
            continue
        j = i + 1
        while j < len(text) and not any(text.startswith(b, j) for b in glued):
            j += 1
        out += _plain_tokens(text[i:j])
        i = j
    return out


def _plain_tokens(text: str) -> list[str]:
    out: list[str] = []
    cur = ""
    for ch in text:
        if _word_char(ch):
            cur += ch
        else:
            if cur:
                out.append(cur)
                cur = ""
            out.append(ch)
    if cur:
        out.append(cur)
    return out


def kana_key(text: str) -> str:
    """A sort key that puts readings in 五十音 order (katakana folded to hiragana)."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in s)
