"""Place names as a reader of the map's language reads them, with the Japanese name kept.

A Vietnamese or Brazilian neighbour cannot read 戸山第一子ども園 aloud, and cannot ask the
way to it either unless the Japanese name is there to show. So a map in a Latin-script
language names a place by its OSM ``name:xx`` (or a file's 名称_英字, read as ``name:en``)
where one exists, else by its reading in Latin letters followed by the Japanese name:
``Toyama Daiichi Kodomoen (戸山第一子ども園)``.

The reading is the one the paper index sorts by: janome's dictionary (IPADIC), word by
word, written in Hepburn as Japanese road signs write it (長音 left out: Tokyo, Okubo).
Maps in Chinese, Korean and Nepali keep the Japanese name unless OSM has theirs.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata

import pandas as pd

from civicmap import wording
from civicmap.render.paper.index_keys import _tokenizer  # the index's own analyser, loaded once

log = logging.getLogger(__name__)

#: The OSM name keys of each map language, first found wins.
OSM_NAME_KEYS: dict[str, tuple[str, ...]] = {
    "en": ("name:en",),
    "vi": ("name:vi", "name:en"),
    "pt": ("name:pt", "name:en"),
    "tl": ("name:tl", "name:en"),
    "zh-Hans": ("name:zh-Hans", "name:zh"),
    "zh-Hant": ("name:zh-Hant", "name:zh"),
    "ko": ("name:ko",),
    "ne": ("name:ne",),
}

_MONO = dict(
    zip(
        "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわゐゑをん"
        "がぎぐげござじずぜぞだぢづでどばびぶべぼぱぴぷぺぽゔ",
        "a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no ha hi fu he "
        "ho ma mi mu me mo ya yu yo ra ri ru re ro wa i e o n ga gi gu ge go za ji zu ze zo da ji "
        "zu de do ba bi bu be bo pa pi pu pe po vu".split(),
        strict=True,
    )
)
_SMALL_Y = {"ゃ": "a", "ゅ": "u", "ょ": "o"}
_SMALL_VOWEL = {"ぁ": "a", "ぃ": "i", "ぅ": "u", "ぇ": "e", "ぉ": "o"}


def kana_to_romaji(kana: str) -> str:
    """Hiragana or katakana in Hepburn, long vowels left out (とうきょう → tokyo)."""
    s = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in kana)
    out = ""
    double = False
    for ch in s:
        if ch == "っ":
            double = True
            continue
        if ch == "ー":
            continue
        if ch in _SMALL_Y and out and out[-1] == "i":
            stem = out[:-1]
            # しゃ sha, ちゃ cha, じゃ ja; other rows add a y: きゃ kya
            out = stem + ("" if stem.endswith(("sh", "ch", "j")) else "y") + _SMALL_Y[ch]
            continue
        if ch in _SMALL_VOWEL and out and out[-1] in "aiueo":
            out = out[:-1] + _SMALL_VOWEL[ch]  # ファ fa, ティ ti
            continue
        roman = _MONO.get(ch)
        if roman is None:
            out += ch
            double = False
            continue
        if double:
            out += "t" if roman.startswith("ch") else roman[0]
            double = False
        out += roman
    for long, short in (("ou", "o"), ("oo", "o"), ("uu", "u")):
        out = out.replace(long, short)
    return out


_HIRAGANA = re.compile(r"^[\u3041-\u309fー]+$")
_KANA = re.compile(r"^[\u3041-\u30ffー]+$")


@functools.lru_cache(maxsize=4096)
def romaji(name: str) -> str:
    """``name`` read by the dictionary and written in Latin letters, word by word.

    The analyser's pieces are joined back into words a reader would say as one: a
    suffix (園, 者) or okurigana stays with its word, a run of kana the dictionary cut
    (に・じ・いろ) is one word, 第 goes with its number. Words the dictionary cannot
    read keep their spelling (Latin letters and digits do).
    """
    words: list[str] = []
    glue = False  # the next piece belongs to the word before it
    prev = ""
    for tok in _tokenizer().tokenize(unicodedata.normalize("NFKC", name)):
        surface = tok.surface
        reading = tok.reading if tok.reading and tok.reading != "*" else surface
        piece = kana_to_romaji(reading).strip()
        if not piece or all(unicodedata.category(c)[0] in "PZ" for c in piece):
            glue = False
            prev = ""
            continue
        joins = words and (
            glue
            or tok.part_of_speech.startswith("名詞,接尾")
            or (_HIRAGANA.match(surface) and len(surface) <= 2 and prev and not _KANA.match(prev))
            or (_KANA.match(surface) and _KANA.match(prev) and prev)
        )
        if joins:
            words[-1] += piece.lower() if words[-1][-1:].isalpha() else piece
        else:
            words.append(piece.capitalize() if piece.isascii() and piece.islower() else piece)
        glue = surface == "第"
        prev = surface
    return " ".join(words)


def _japanese(text: str) -> bool:
    return any("\u3040" <= c <= "\u30ff" or "\u3400" <= c <= "\u9fff" or c in "々〆" for c in text)


def place_name(row: pd.Series, name: str, language: str) -> str:
    """What a map in ``language`` calls the place ``row`` Japanese-named ``name``.

    OSM ``name:xx`` (or the file's ``name:en``) where present; else, in Latin-script
    languages, the romanised reading with the Japanese name beside it; else ``name``.
    A bilingual sheet (``ja+vi``) prints the Japanese name first, its name or reading in
    the second language beside it: ``戸山小学校（Toyama Shogakko）``.
    """
    if wording.is_pair(language):
        other = _reading(row, name, wording.parts(language)[-1])
        return name + wording.paren(language, other) if other and other != name else name
    if language in wording.JAPANESE:
        return name
    other = _reading(row, name, language)
    if not other:
        return name
    if language in wording.LATIN and _japanese(name) and not _own_name(row, language):
        return other + wording.paren(language, name)
    return other


def _own_name(row: pd.Series, language: str) -> str:
    """The place's own name in ``language`` (OSM ``name:xx``, a file's ``name:en``), or ""."""
    for key in OSM_NAME_KEYS.get(language, ()):
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _reading(row: pd.Series, name: str, language: str) -> str:
    """The place's name for a reader of ``language``: its own, else (Latin-script
    languages) the Japanese name's reading in Latin letters, else ""."""
    own = _own_name(row, language)
    if own or language not in wording.LATIN or not name or not _japanese(name):
        return own
    latin = romaji(name)
    return latin if latin and not _japanese(latin) else ""
