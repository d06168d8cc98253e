"""Place-name keys for matching: the same place written two ways gets one key.

Display names always stay as published; these keys are only compared.
Japanese lists and OSM disagree on width (half-width katakana), spaces,
brackets, legal-entity words (株式会社, 社会福祉法人), （仮称）, 第ニ/第2 for
第二, owner prefixes (東京都立, 新宿区立) and branch words (分園). Shared by
:mod:`civicmap.clean` (deduplication) and :mod:`civicmap.join` (conflation),
which must not import each other.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"[\s\u3000]+")
#: Words that say who runs a place, not which place it is; lists add or drop them.
_ENTITY_WORDS = re.compile(
    r"社会福祉法人|学校法人|宗教法人|医療法人|株式会社|有限会社|合同会社|一般社団法人|"
    r"公益社団法人|一般財団法人|公益財団法人|特定非営利活動法人|NPO法人|"
    r"\((?:株|有|福|学|社福|財|社)\)"
)
#: "Provisional name" marks on planned facilities.
_PROVISIONAL = re.compile(r"\(仮称\)|\(仮\)|仮称")
#: 第ニ (katakana ニ) and 第1 are common typos/variants of 第二 / 第一.
_ORDINAL = re.compile(r"第([0-9]+|[ニ二])")
_KANJI_DIGITS = "〇一二三四五六七八九"
#: Brackets and punctuation that lists use inconsistently (after NFKC).
_PUNCT = re.compile(r"[()\[\]{}「」『』【】〈〉《》・･.,、。'\"`~\-‐－―ー\u30fc/]")
#: An owner prefix: 東京都立, 新宿区立, 都立, 区立, 私立, 国立 ... (conflation only).
_OWNER_PREFIX = re.compile(r"^\S{0,6}?[都道府県市区町村国私公]立")
#: Branch words: 分園 and 本園 are different places, so only the loose key drops them.
_BRANCH = re.compile(r"分園|本園|分室|分館|分所|本館")


def normalise_text(text: object) -> str:
    """NFKC (full-width digits and half-width katakana fold) and collapse spaces."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", str(text))).strip()


def _ordinal(m: re.Match) -> str:
    s = m.group(1)
    if s in "ニ二":
        return "第二"
    if len(s) == 1:
        return "第" + _KANJI_DIGITS[int(s)]
    return "第" + s


def match_key(name: object) -> str:
    """A key for comparing names within a layer: same place, same key.

    Folds width (NFKC, so half-width katakana become full-width), spaces,
    brackets and punctuation, case, legal-entity words (株式会社, 社会福祉法人 ...),
    （仮称）, and ordinal variants (第ニ, 第2 → 第二). Keeps branch words like
    分園/本園 because a 分園 and its 本園 are two places to map.
    """
    text = normalise_text(name)
    text = _PROVISIONAL.sub("", text)
    text = _ENTITY_WORDS.sub("", text)
    text = _ORDINAL.sub(_ordinal, text)
    text = _PUNCT.sub("", text.replace(" ", ""))
    return text.lower()


def loose_key(name: object) -> str:
    """A looser key for matching an official list against OSM.

    On top of :func:`match_key` drops owner prefixes (東京都立, 新宿区立, 私立)
    and branch words (分園, 本園): official lists and OSM mappers write these
    differently, while the location decides which branch is which.
    """
    key = match_key(name)
    stripped = _OWNER_PREFIX.sub("", key)
    if len(stripped) >= 2:
        key = stripped
    stripped = _BRANCH.sub("", key)
    return stripped if len(stripped) >= 2 else key


def kana_key(text: object) -> str:
    """A reading folded for comparison: katakana → hiragana, no spaces or marks."""
    out = []
    for ch in normalise_text(text):
        code = ord(ch)
        if 0x30A1 <= code <= 0x30F6:  # katakana ァ..ヶ → hiragana
            ch = chr(code - 0x60)
        out.append(ch)
    text = _PUNCT.sub("", "".join(out).replace(" ", ""))
    text = re.sub(r"(ぶんえん|ほんえん)", "", text)
    return text.lower()
