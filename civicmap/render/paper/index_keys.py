"""How the paper index finds a place: reading-order keys, 五十音 headings, one entry per site.

A reader looks up 森本小学校 under も, not under か because the list wrote
「金沢市立森本小学校」. So the sort key is the *reading* of the name *without*
the words that say who runs it or where the municipality is: 【…】 tags,
社会福祉法人…, prefecture and municipality names (of the map's own area, from
the bundled N03 boundaries), 市立/県立/私立/…. A name with a カナ column is
sorted by that (with the same prefixes' readings taken off); other names are
read by a morphological analyser with a dictionary (janome, IPADIC), which
reads place names such as 愛宕・大久保・呉羽 as residents do.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from civicmap.area import municipalities_in
from civicmap.i18n import _
from civicmap.mapdata import MapData
from civicmap.names import match_key
from civicmap.render.paper.texts import kana_key
from civicmap.spec.paper import PaperOptions

log = logging.getLogger(__name__)

#: Two entries whose names match after the prefixes are left out, closer than
#: this (metres), are one site printed once (#21 金沢市芳斎公民館 and #41
#: 芳斎公民館 stood 79 m apart: the prefecture's list and GSI's place it apart).
SAME_SITE_M = 100.0

#: A tag in brackets at the start: 【地域型保育事業】, ［分園］, （仮称）.
_BRACKET = re.compile(r"^[【\[［〔(（〈《「『][^】\]］〕)）〉》」』]{0,20}[】\]］〕)）〉》」』]\s*")
#: Who runs it: the legal-entity word and the entity's name, up to a space or its 会/園.
_ENTITY = re.compile(
    r"^(?:社会福祉法人|学校法人|宗教法人|医療法人|一般社団法人|公益社団法人|一般財団法人|"
    r"公益財団法人|特定非営利活動法人|NPO法人|株式会社|有限会社|合同会社)"
    r"[\s\u3000]*(?:\S{1,20}?(?:[\s\u3000]+|会(?=\S{2})))?"
)
#: Owner words at the start: 市立, 県立, 私立, 都立 ... (after a municipality name too).
_OWNER = re.compile(r"^(?:[都道府県市区町村国私公]|組合|市町村)[立営]")
#: What may follow a municipality name when it is part of the place's own name
#: (金沢市民芸術村, 金沢市役所, 富山市場): then it stays.
_NOT_A_PREFIX = tuple("民役場内議長章政街")


def prefecture_names() -> tuple[str, ...]:
    """The 47 prefecture names (a name's leading 石川県 says where, not what)."""
    return tuple(
        "北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 "
        "東京都 神奈川県 新潟県 富山県 石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 "
        "滋賀県 京都府 大阪府 兵庫県 奈良県 和歌山県 鳥取県 島根県 岡山県 広島県 山口県 徳島県 "
        "香川県 愛媛県 高知県 福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 鹿児島県 沖縄県".split()
    )


@dataclass(frozen=True)
class Prefixes:
    """The words left out of the sort key: municipality names and the user's own."""

    municipalities: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    enabled: bool = True


_SPLIT_NAME = re.compile(r"^(.+?[郡市])(.+[市区町村])$")


@functools.lru_cache(maxsize=16)
def _municipality_names(bounds: tuple[float, float, float, float]) -> tuple[str, ...]:
    names: set[str] = set()
    for _code, name, _geom in municipalities_in(bounds):
        names.add(name)
        m = _SPLIT_NAME.match(name)
        if m:  # 石川郡野々市町 → 石川郡, 野々市町; 札幌市中央区 → 札幌市, 中央区
            names.update(m.groups())
    return tuple(sorted(names))


def index_prefixes(data: MapData, opts: PaperOptions) -> Prefixes:
    """The prefixes of this map: its area's municipality names (bundled N03) and the options'."""
    names = {data.area.name} if data.area.name else set()
    if opts.index_prefixes:
        names.update(_municipality_names(tuple(round(v, 5) for v in data.area.geometry.bounds)))
    return Prefixes(
        municipalities=tuple(
            sorted(n for n in names if n.endswith(("市", "区", "町", "村", "郡")))
        ),
        extra=opts.index_ignore,
        enabled=opts.index_prefixes,
    )


@functools.lru_cache(maxsize=64)
def _prefix_words(prefixes: Prefixes) -> tuple[list[str], list[str]]:
    """(place names, the user's words) of ``prefixes``, longest first (sorted once, not per name)."""
    places = sorted(set(prefecture_names()) | set(prefixes.municipalities), key=len, reverse=True)
    extra = sorted(
        {unicodedata.normalize("NFKC", w) for w in prefixes.extra}, key=len, reverse=True
    )
    return places, extra


@functools.lru_cache(maxsize=8192)
def strip_prefixes(name: str, prefixes: Prefixes) -> tuple[str, str]:
    """``(what was taken off, the rest)`` of ``name``; the rest keeps at least two characters.

    Remembered: a sheet's layout is tried more than once (readability, insets, check
    and build), and each try sorts and folds every name again.
    """
    text = unicodedata.normalize("NFKC", str(name)).strip()
    if not prefixes.enabled:
        return "", text
    places, extra = _prefix_words(prefixes)
    rest = text
    for _round in range(8):
        before = rest
        for word in extra:
            if word and rest.startswith(word) and len(rest) - len(word) >= 2:
                rest = rest[len(word) :].lstrip()
                break
        for pat in (_BRACKET, _ENTITY, _OWNER):
            m = pat.match(rest)
            if m and len(rest) - m.end() >= 2:
                rest = rest[m.end() :].lstrip()
        for place in places:
            if rest.startswith(place) and len(rest) - len(place) >= 2:
                tail = rest[len(place) :]
                if tail.startswith(("立", "営")) and len(tail) >= 3:
                    rest = tail[1:].lstrip()  # 金沢市立, 石川県立, 金沢市営
                elif not tail.startswith(_NOT_A_PREFIX):
                    rest = tail.lstrip()
                break
        if rest == before:
            break
    return text[: len(text) - len(rest)], rest


@functools.lru_cache(maxsize=1)
def _tokenizer() -> Any:
    """janome's tokenizer, built once (0.6 s, its dictionary); imported here, not at the
    top, because loading the dictionary module costs 0.3 s that only names without a
    カナ column need."""
    from janome.tokenizer import Tokenizer

    return Tokenizer()


@functools.lru_cache(maxsize=4096)
def reading(text: str) -> str:
    """The reading of ``text`` in hiragana, from janome's dictionary (IPADIC).

    Words the dictionary does not know keep their spelling, so they sort after
    every read name (under その他) instead of at a random place.
    """
    out = []
    for tok in _tokenizer().tokenize(unicodedata.normalize("NFKC", text)):
        r = tok.reading
        out.append(r if r and r != "*" else tok.surface)
    return kana_key("".join(out))


_SPACE = re.compile(r"[\s\u3000]+")
_KANA_CHARS = re.compile(r"^[\u3041-\u309f\u30a0-\u30ffー・\s\u3000]+$")


@functools.lru_cache(maxsize=8192)
def sort_reading(name: str, kana: str, prefixes: Prefixes) -> tuple[str, bool]:
    """``(reading used for the 五十音 order, derived?)`` of one place.

    A カナ column wins; the reading of the prefixes taken off the name is
    taken off it too (カナザワシホウサイ… → ほうさい…). ``derived`` is True when
    the analyser read a name with kanji (the index says so once).
    """
    head, rest = strip_prefixes(name, prefixes)
    kana = kana_key(kana)
    if kana:
        if head:
            h = reading(head)
            if kana.startswith(h) and len(kana) > len(h):
                kana = kana[len(h) :]
        return _SPACE.sub("", kana), False
    if _KANA_CHARS.match(rest) or not any(_is_kanji(c) for c in rest):
        return _SPACE.sub("", kana_key(rest)), False
    return _SPACE.sub("", reading(rest)), True


def _is_kanji(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" or c in "々〆ヵヶ"


#: 五十音 rows (the heading is the row's first kana).
_ROWS = (
    ("あ", "ぁあぃいぅうぇえぉおゔ"),
    ("か", "かがきぎくぐけげこごゕゖ"),
    ("さ", "さざしじすずせぜそぞ"),
    ("た", "ただちぢっつづてでとど"),
    ("な", "なにぬねの"),
    ("は", "はばぱひびぴふぶぷへべぺほぼぽ"),
    ("ま", "まみむめも"),
    ("や", "ゃやゅゆょよ"),
    ("ら", "らりるれろ"),
    ("わ", "ゎわゐゑをん"),
)
_ROW_OF = {ch: head for head, chars in _ROWS for ch in chars}
#: The heading of names that start with a Latin letter or a digit, and of unread names.
LATIN = "英数字"
OTHER = "その他"


def heading(key: str) -> str:
    """The 五十音 heading (あ か さ … わ, 英数字, その他) a sort key files under."""
    s = unicodedata.normalize("NFKC", key).lstrip("・ー \u3000")
    if not s:
        return OTHER
    c = s[0]
    if c in _ROW_OF:
        return _ROW_OF[c]
    if c.isascii() and c.isalnum():
        return LATIN
    return OTHER


def site_key(name: str, prefixes: Prefixes) -> str:
    """The key two names of one site share: the name without prefixes, folded for matching."""
    return match_key(strip_prefixes(name, prefixes)[1])


def same_sites(
    items: Iterable[tuple[str, tuple[float, float]]],
    prefixes: Prefixes,
    *,
    max_m: float = SAME_SITE_M,
) -> dict[int, int]:
    """``{duplicate position: position of the entry it joins}`` for names of one site.

    ``items`` are (name, projected xy in metres) in index order; the earlier of
    two matching names within ``max_m`` keeps the entry.
    """
    seen: dict[str, list[tuple[int, tuple[float, float]]]] = {}
    out: dict[int, int] = {}
    for i, (name, xy) in enumerate(items):
        key = site_key(name, prefixes)
        if len(key) < 2:
            continue
        for j, other in seen.get(key, []):
            if math.dist(xy, other) <= max_m:
                out[i] = j
                break
        else:
            seen.setdefault(key, []).append((i, xy))
    return out


def log_same_sites(pairs: list[tuple[str, str, float]]) -> None:
    """Say on the console (a warning: printed by default) which rows print as one entry.

    ``pairs`` are (kept name, folded name, metres apart); the first five are named.
    """
    if not pairs:
        return
    shown = "、".join(f"{b} → {a} ({m:.0f} m)" for a, b, m in pairs[:5])
    more = len(pairs) - 5
    log.warning(
        _(
            "index: %(n)d place(s) have the name of a place within %(max)d m and print as one "
            "entry with it: %(pairs)s%(more)s"
        )
        % {
            "n": len(pairs),
            "max": round(SAME_SITE_M),
            "pairs": shown,
            "more": (_(" and %(n)d more") % {"n": more}) if more > 0 else "",
        }
    )
