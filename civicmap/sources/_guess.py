"""Which column is the name, the address, the category: by meaning, then by values.

The alias table (:mod:`civicmap.sources.aliases`) lists spellings seen in real
files; publishers keep inventing new ones (``避難所名称``, ``【施設名】``,
``店舗名（正式）``, ``USER_学校名``). A person reads such a header by its meaning:
a word for a kind of place joined to 名称 or 名. This module does the same,
and when no header says it, looks at the values: the column of short, mostly
unique Japanese texts that are neither addresses nor codes holds the names.
国土数値情報 files name their columns by code (``P20_002``); their official
schemas are in :data:`KSJ_SCHEMAS`. Every choice comes with the reason that
``civicmap check`` prints.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import pandas as pd

from civicmap.i18n import _
from civicmap.sources._csvtext import norm_header

#: 国土数値情報 point (and school-district) datasets: code → (dataset, role → columns).
#: Several columns per role where the schema changed between versions (A27-16 names the
#: school in A27_003, A27-21 in A27_004 after a 学校コード); the values decide among them.
KSJ_SCHEMAS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "P29": ("学校", {"name": ("P29_004", "P29_005"), "address": ("P29_005", "P29_006")}),
    "P20": ("避難施設", {"name": ("P20_002",), "address": ("P20_003",), "category": ("P20_004",)}),
    "P04": ("医療機関", {"name": ("P04_002",), "address": ("P04_003",)}),
    "P14": ("福祉施設", {"name": ("P14_008", "P14_007"), "address": ("P14_009", "P14_008")}),
    "P02": ("公共施設", {"name": ("P02_004",), "address": ("P02_005",)}),
    "P05": ("市町村役場等", {"name": ("P05_003",), "address": ("P05_004",)}),
    "P13": ("都市公園", {"name": ("P13_003",), "category": ("P13_004",)}),
    "P17": ("消防署", {"name": ("P17_004", "P17_003"), "address": ("P17_005", "P17_004")}),
    "P18": ("警察署", {"name": ("P18_004", "P18_003"), "address": ("P18_005", "P18_004")}),
    "A27": ("小学校区", {"name": ("A27_004", "A27_003"), "address": ("A27_005", "A27_004")}),
    "A32": ("中学校区", {"name": ("A32_004", "A32_003"), "address": ("A32_005", "A32_004")}),
}
#: Why a 国土数値情報 column was taken, per role (called late so the language is the user's).
_KSJ_REASON = {
    "name": lambda: _("国土数値情報 %(code)s %(dataset)s: %(column)s is the name in its schema"),
    "address": lambda: _(
        "国土数値情報 %(code)s %(dataset)s: %(column)s is the address in its schema"
    ),
    "category": lambda: _(
        "国土数値情報 %(code)s %(dataset)s: %(column)s is the kind of place in its schema"
    ),
}
_KSJ_CODE = re.compile(r"^([A-Z][0-9]{2})[a-z]?_[0-9]{3}$")

_BRACKETS = re.compile(r"[(\[【「『<（［〈《〔][^)\]】」』>）］〉》〕]*[)\]】」』>）］〉》〕]")
#: A header holding one of these is about another thing than the place's name.
_NOT_NAME = (
    "カナ", "かな", "ｶﾅ", "ふりがな", "フリガナ", "よみ", "ヨミ", "読み", "ローマ字", "英語", "英字",
    "english", "romaji", "kana", "yomi", "市区町村", "都道府県", "自治体", "法人", "事業者", "設置者",
    "運営", "経営", "代表者", "管理者", "担当", "開設者", "氏名", "者名", "路線", "町名", "郡名", "地区名",
    "校区名", "学区名", "団体名", "会社名", "所属", "診療科", "種別", "分類", "区分", "種類", "ジャンル",
    "ファイル", "画像", "写真", "url", "別名", "旧名", "通称", "略称", "コード", "code", "番号",
    "所在地", "住所", "課名", "部署", "所管", "医師", "長名", "品名", "商品",
)  # fmt: skip
#: English ``…_NAME`` columns naming the prefecture, city, district or file (e-Stat ``KEN_NAME``).
_NOT_ASCII_NAME = (
    "ken", "pref", "city", "sity", "gst", "css", "muni", "ward", "town", "file", "kana", "en_",
    "owner", "operator", "company", "layer", "field",
)  # fmt: skip
_NOT_ADDRESS = (
    "郵便",
    "メール",
    "mail",
    "url",
    "ホームページ",
    "コード",
    "code",
    "カナ",
    "かな",
    "英語",
)
#: 区分 alone is too wide (有料区分, 開設区分); only 施設区分 names the kind of place.
_CATEGORY_END = ("種別", "分類", "施設区分", "種類", "カテゴリ", "カテゴリー", "ジャンル", "業種")
_NOT_CATEGORY = ("災害", "コード", "code", "番号", "カナ")

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
#: An address: a municipality or district word, then a number (or 丁目/番地).
_ADDRESS = re.compile(
    r"[都道府県].{0,6}[市区町村郡]|[市区町村郡].*(?:[0-9]|丁目|番地|番|号|地内|地先|字)"
)
_CODE = re.compile(r"^[A-Za-z0-9_\-./:]+$")
#: Markup (``<strong>所在地:</strong> …<br />``): a popup description, never an address.
_MARKUP = re.compile(r"<[A-Za-z/!][^>]*>")
#: Longer than any address: a description or a note.
_ADDRESS_MAX = 100
_DATE = re.compile(r"^(?:[0-9]{2,4}[-/年.][0-9]{1,2}|[明大昭平令][0-9元]{1,2}[.年])")


def _core(header: str) -> str:
    """A header reduced to its meaning: NFKC, lower case, no brackets, prefix or trailing ``_``."""
    s = norm_header(header)
    outside = _BRACKETS.sub("", s).strip("_:：・-")
    # 【施設名】: the whole header is bracketed; keep its words, drop the brackets
    s = outside or re.sub(r"[()\[\]【】「」『』<>（）［］〈〉《》〔〕]", "", s).strip("_:：・-")
    for prefix in ("user_", "ic:", "schema:"):
        s = s.removeprefix(prefix)
    return s


def name_header(headers: list[str]) -> tuple[str, str] | None:
    """The name column by the meaning of its header, and why; None when no header says it.

    Order of preference: a header ending in 名称, then one ending in 名, then one
    holding 名称, then an English ``…name``; headers about something else
    (kana, the operator, the municipality, a code) never count.
    """
    classes: list[list[str]] = [[], [], [], []]
    for h in headers:
        full = norm_header(h)
        if any(w in full for w in _NOT_NAME):
            continue
        core = _core(h)
        if not core:
            continue
        if core.endswith("名称"):
            classes[0].append(h)
        elif core.endswith("名") or core in ("名前", "なまえ"):
            classes[1].append(h)
        elif "名称" in core:
            classes[2].append(h)
        elif core.endswith("name") and core.isascii() and not core.startswith(_NOT_ASCII_NAME):
            classes[3].append(h)
    why = (
        _("its header ends in 名称"),
        _("its header ends in 名"),
        _("its header holds 名称"),
        _("its header ends in name"),
    )
    for found, reason in zip(classes, why, strict=True):
        if found:
            return found[0], reason
    return None


def address_header(headers: list[str]) -> tuple[str, str] | None:
    """The address column by the meaning of its header (住所 / 所在地 in it), and why."""
    for h in headers:
        full = norm_header(h)
        if any(w in full for w in _NOT_ADDRESS):
            continue
        if "住所" in full or "所在地" in full or full.endswith("address"):
            return h, _("its header holds 住所 or 所在地")
    return None


def category_header(headers: list[str]) -> tuple[str, str] | None:
    """The category column by the meaning of its header (…種別, …分類, …区分), and why."""
    for h in headers:
        full = norm_header(h)
        if any(w in full for w in _NOT_CATEGORY):
            continue
        if _core(h).endswith(_CATEGORY_END):
            return h, _("its header ends in 種別, 分類, 種類 or a word like them")
    return None


def _texts(series: pd.Series) -> list[str]:
    obj = series.astype(object).where(series.notna(), "")
    return [unicodedata.normalize("NFKC", str(v)).strip() for v in obj.tolist()]


def name_score(series: pd.Series) -> float:
    """How much a column's values look like place names (0 = not at all, 1 = surely).

    Names are filled in, mostly unique, short, Japanese, and neither
    addresses, codes, numbers nor dates.
    """
    values = _texts(series)
    filled = [v for v in values if v]
    if not values or len(filled) < 0.7 * len(values):
        return 0.0
    n = len(filled)
    unique = len(set(filled)) / n
    cjk = sum(1 for v in filled if _CJK.search(v)) / n
    short = sum(1 for v in filled if 2 <= len(v) <= 40) / n
    address = sum(1 for v in filled if _ADDRESS.search(v)) / n
    code = sum(1 for v in filled if _CODE.match(v) or _DATE.match(v)) / n
    if unique < 0.6 or cjk < 0.6 or short < 0.8 or address > 0.3 or code > 0.2:
        return 0.0
    return unique * cjk * short * (1 - address)


def reads_as_address(value: str) -> bool:
    """One cell reads as an address: a place word and a number, short, and no markup.

    A column of HTML popup descriptions (uMap, geojson.io ``description``) names the
    municipality and a 番地 inside a table of other fields; taken as the address it
    would print that markup on the sheet.
    """
    return (
        len(value) <= _ADDRESS_MAX
        and not _MARKUP.search(value)
        and bool(_ADDRESS.search(value) and _CJK.search(value))
    )


def address_score(series: pd.Series) -> float:
    """The share of a column's filled values that read as addresses (0 when few are filled)."""
    values = _texts(series)
    filled = [v for v in values if v]
    if not values or len(filled) < 0.5 * len(values):
        return 0.0
    share = sum(1 for v in filled if reads_as_address(v)) / len(filled)
    return share if share >= 0.6 else 0.0


def _coordinate_share(series: pd.Series, low: float, high: float) -> float:
    values = [v for v in _texts(series) if v]
    if not values:
        return 0.0
    hits = 0
    for v in values:
        try:
            x = float(v)
        except ValueError:
            continue
        hits += low <= x <= high and "." in v
    return hits / len(values)


def coordinates_by_values(df: pd.DataFrame, headers: list[str]) -> tuple[str, str] | None:
    """The latitude and longitude columns of a table without usable headers, by their numbers."""
    lat = [h for h in headers if _coordinate_share(df[h], 20.0, 46.0) >= 0.8]
    lon = [h for h in headers if _coordinate_share(df[h], 122.0, 154.0) >= 0.8]
    if lat and lon:
        return lat[0], lon[0]
    return None


def ksj_dataset(headers: list[str]) -> str | None:
    """The 国土数値情報 dataset code (``P20``) when most columns are its code names."""
    codes = [m.group(1) for h in headers if (m := _KSJ_CODE.match(str(h)))]
    if not codes:
        return None
    top = max(set(codes), key=codes.count)
    return top if codes.count(top) >= 2 else None


def guess_columns(
    df: pd.DataFrame | None,
    headers: list[str],
    cols: dict[str, object],
    given: Mapping[str, object],
) -> dict[str, str]:
    """Fill the name, address and category roles the alias table left empty; return the reasons.

    ``cols`` is changed in place. Roles named in the layer file (``given``)
    are never touched. A role found by the alias table gets its reason too.
    """
    reasons: dict[str, str] = {}
    for role in ("lat", "lon", "name", "address", "category"):
        if given.get(role):
            reasons[role] = _("named in the layer file (columns:)")
        elif cols.get(role):
            reasons[role] = _("its header is a known spelling")
    taken = {str(v) for v in cols.values() if isinstance(v, str)}
    code = ksj_dataset(headers)
    if code in KSJ_SCHEMAS:
        dataset, roles = KSJ_SCHEMAS[code]
        for role, candidates in roles.items():
            if given.get(role):
                continue
            scorer = name_score if role == "name" else address_score if role == "address" else None
            for c in candidates:
                if c not in headers or c in taken:
                    continue
                if df is not None and scorer is not None and len(df) and not scorer(df[c]):
                    continue
                cols[role] = c
                taken.add(c)
                reasons[role] = _KSJ_REASON[role]() % {
                    "code": code,
                    "dataset": dataset,
                    "column": c,
                }
                break
    finders = {"name": name_header, "address": address_header, "category": category_header}
    for role, finder in finders.items():
        if cols.get(role) or given.get(role):
            continue
        found = finder([h for h in headers if h not in taken])
        if found and (df is None or not len(df) or _texts(df[found[0]]) != [""] * len(df)):
            cols[role], reasons[role] = found
            taken.add(found[0])
    if df is None or not len(df):
        return reasons
    free = [h for h in headers if h not in taken and h in df.columns]
    if not cols.get("address") and not given.get("address"):
        scored = [(address_score(df[h]), h) for h in free]
        best = max(scored, default=(0.0, ""), key=lambda t: t[0])
        if best[0]:
            cols["address"] = best[1]
            reasons["address"] = _("its values read as addresses (%(share)d%%)") % {
                "share": round(best[0] * 100)
            }
            taken.add(best[1])
            free.remove(best[1])
    if not cols.get("name") and not given.get("name"):
        scored = [(name_score(df[h]), h) for h in free]
        best = max(scored, default=(0.0, ""), key=lambda t: t[0])
        if best[0]:
            cols["name"] = best[1]
            reasons["name"] = _(
                "its values look like names (mostly unique, short, Japanese, not addresses or codes)"
            )
    return reasons


def place_counts(features: pd.DataFrame) -> dict[str, int]:
    """How many mapped places got a name, an address and a category (what ``check`` prints).

    A user sees at once when a name column was missed: 120 places, 0 named.
    """

    def filled(col: str) -> int:
        if col not in features.columns or not len(features):
            return 0
        cells = features[col].astype(object).where(features[col].notna(), "")
        return int(cells.map(lambda v: bool(str(v).strip())).sum())

    return {
        "places": len(features),
        "named": filled("name"),
        "with_address": filled("address"),
        "with_category": filled("category"),
    }
