"""Fixed text of the paper map in each language, the index's column aliases, line breaking
and 五十音 sort keys."""

from __future__ import annotations

import logging
import re
import unicodedata

from civicmap.schema import DISASTER_TYPES

log = logging.getLogger(__name__)


TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "scale": "縮尺",
        "legend": "凡例",
        "index": "索引",
        "index_cont": "索引（続き）",
        "cont": "（続き）",
        "notes": "メモ・連絡先",
        "printed": "印刷日",
        "sources": "出典・データの日付",
        "no_date": "日付不明",
        "approx": "位置は概略（住所から推定）",
        "approx_short": "位置は概略",
        "off_map": "地図の範囲外",
        "unplaced": "位置を示せない番号",
        "unplaced_note": "地図が混み合い、記号のそばに番号を置けませんでした。"
        "記号は地図の（　）のマス目にあります：",
        "edge": "灰色の部分は地図データ（道路・建物）の範囲外です",
        "edge_legend": "地図データの範囲外",
        "qr": "Web版の地図",
        "page": "ページ",
        "overview": "全体図（各ページの範囲）",
        "serves": "対応",
        "phone": "TEL",
        "capacity": "定員",
        "number": "番号",
        "grid_note": "マス目は地図の枠の記号（A, B, …）と数字（1, 2, …）",
        "north": "北",
        "road_major": "主要道路",
        "road_minor": "道路",
        "path": "歩道・小道",
        "railway": "鉄道",
        "station": "駅",
        "building": "建物",
        "park": "公園・緑地",
        "school": "学校",
        "water": "水面・川",
        "landuse": "土地利用",
        "home": "自宅",
        "routes": "避難所までの道のり",
        "route_walk": "徒歩 {m} m・{min}分",
        "route_straight": "直線 {m} m",
        "route_no_walk": "直線距離・道順ではありません",
        "route_speed": "徒歩は分速 {speed:g} m で計算。太い実線が徒歩で最も近い避難所",
        "route_speed_straight": "点線は直線（直線距離・道順ではありません）",
        "reading_note": "五十音順は名前の読みで、市立・県立・自治体名・【】などを除いて並べています。"
        "読みのない名前は辞書で推定した読みです",
        "area": "地区",
        "latin": "英数字",
        "other": "その他",
        "shelter_both": "指定緊急避難場所と指定避難所を兼ねる場所",
        "strip_legend": "索引の○×：その災害の避難先に指定されているか"
        "（洪水・土砂災害・高潮・地震・津波・大規模な火事・内水氾濫・火山現象）",
    },
    "en": {
        "scale": "Scale",
        "legend": "Legend",
        "index": "Index",
        "index_cont": "Index (continued)",
        "cont": " (cont.)",
        "notes": "Notes and contacts",
        "printed": "Printed",
        "sources": "Sources and data dates",
        "no_date": "date unknown",
        "approx": "Approximate location (from the address)",
        "approx_short": "approx. location",
        "off_map": "off this map",
        "unplaced": "Numbers not printed on the map",
        "unplaced_note": "Too crowded to print these numbers by their symbols; "
        "each symbol is on the map in the grid cell in brackets:",
        "edge": "Grey: outside the map data (roads, buildings)",
        "edge_legend": "Outside the map data",
        "qr": "Web map",
        "page": "page",
        "overview": "Overview (area of each page)",
        "serves": "Serves",
        "phone": "Tel",
        "capacity": "Capacity",
        "number": "No.",
        "grid_note": "Grid: letters (A, B, ...) and numbers (1, 2, ...) on the frame",
        "north": "N",
        "road_major": "Main road",
        "road_minor": "Road",
        "path": "Footpath",
        "railway": "Railway",
        "station": "Station",
        "building": "Building",
        "park": "Park, green",
        "school": "School",
        "water": "Water",
        "landuse": "Land use",
        "home": "Home",
        "routes": "Walking to shelters",
        "route_walk": "walk {m} m, {min} min",
        "route_straight": "straight line {m} m",
        "route_no_walk": "no walking route",
        "route_speed": "Minutes at {speed:g} m per minute. Solid line: nearest shelter on foot",
        "route_speed_straight": "Dotted: straight line (no route computed)",
        "reading_note": "Sorted by the Japanese reading (五十音) of each name without 市立, 県立, "
        "municipality names or 【】 tags; readings not given by the list are from a dictionary",
        "area": "Area",
        "latin": "A-Z, 0-9",
        "other": "Other",
        "shelter_both": "Both an evacuation site and a shelter",
        "strip_legend": "○/× in the index: designated for that disaster or not (flood, "
        "landslide, storm surge, earthquake, tsunami, large fire, inland flooding, volcano)",
    },
}

#: Index column names that stand for several source columns (first non-empty wins).
INDEX_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "TEL", "電話番号", "contact:phone", "tel", "電話"),
    "capacity": ("capacity", "定員", "Capall", "想定収容人数", "収容人数"),
}
DISASTER_EN = {k: k.replace("_", " ") for k in DISASTER_TYPES}


#: The ○/× strip's short names, in DISASTER_TYPES order.
STRIP = {
    "ja": ("洪水", "土砂", "高潮", "地震", "津波", "火事", "内水", "火山"),
    "en": ("Flood", "Slide", "Surge", "Quake", "Tsunami", "Fire", "Inland", "Volcano"),
}


STRIP_STARTS = tuple(v[0] for v in STRIP.values())


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
    return ("" if lang == "ja" else " ").join(
        f"{name}{'○' if v else '×'}" for name, v in zip(STRIP[lang], values, strict=True)
    )


def strip_lines(text: str, width: float, measure) -> list[str] | None:
    """A ○/× strip broken between its items (never 火山 / ×), or None for other text."""
    items = re.findall(r"\s*[^○×\s]+[○×]", text)
    if not items or "".join(items) != text or not text.startswith(STRIP_STARTS):
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
        tokens = _glued(_tokens(para))
        for tok in tokens:
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


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    cur = ""
    for ch in text:
        if ch.isascii() and not ch.isspace():
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
