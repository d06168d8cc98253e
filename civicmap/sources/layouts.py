"""Which column is which: header names and the known Japanese open-data layouts.

Known layouts (detected from the headers, or forced with ``layout:``):

- ``standard_evacuation`` — 自治体標準オープンデータセット 指定緊急避難場所一覧
  (名称, 所在地_連結表記, 緯度, 経度, 災害種別_洪水 … 災害種別_火山現象, 想定収容人数)
- ``standard_childcare`` — 自治体標準オープンデータセット 子育て施設一覧 (種別 gives the category)
- ``standard`` — any other 自治体標準 list (全国地方公共団体コード, ID, 名称, 所在地_連結表記, …)
- ``recommended`` — the older 推奨データセット (市区町村コード, NO, 名称, 住所, …; disaster
  flags without the 災害種別_ prefix)
- ``gsi`` — 国土地理院 指定緊急避難場所データ (共通ID, 施設・場所名, 住所, 洪水 … 火山現象)
- ``free`` — anything else (e.g. 珠洲市's ジャンル/サブジャンル lists); columns found by name.

Disaster flags become boolean ``serves_<key>`` columns (see
:data:`civicmap.schema.DISASTER_TYPES`) so the join step can pick the nearest
shelter that serves a given disaster.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from civicmap.errors import SourceError
from civicmap.fields import flag_to_bool
from civicmap.i18n import _
from civicmap.schema import DISASTER_TYPES, serves_column
from civicmap.sources._csvtext import norm_header
from civicmap.sources.aliases import ALIASES, DISASTER_ALIASES

# The names live in one documented table (:mod:`civicmap.sources.aliases`).
LAT_NAMES = ALIASES["lat"]
LON_NAMES = ALIASES["lon"]
NAME_NAMES = ALIASES["name"]
KANA_NAMES = ALIASES["name_kana"]
LATIN_NAMES = ALIASES["name_en"]
ADDRESS_NAMES = ALIASES["address"]
CATEGORY_NAMES = ALIASES["category"]
#: Headers that mark a row as a header (used to skip title lines above it).
KNOWN_HEADERS = {
    norm_header(n)
    for n in (*LAT_NAMES, *LON_NAMES, *NAME_NAMES, *KANA_NAMES, *ADDRESS_NAMES, *CATEGORY_NAMES)
    if len(n) > 1
} | {"x", "y", "id", "no"}

#: Category for rows of a layout that names its own kind (when the layer gives none).
DEFAULT_CATEGORY = {"standard_evacuation": "指定緊急避難場所"}

LAYOUTS = ("standard_evacuation", "standard_childcare", "standard", "recommended", "gsi", "free")

_PREFIXABLE = {"緯度", "経度", "北緯", "東経"}
_CAPACITY = re.compile(r"(?:想定)?収容(?:人数|人員|可能人数)?\s*[:：]?\s*(?:約)?\s*([0-9,]+)\s*人?")


def find_column(headers: list[str], names: tuple[str, ...]) -> str | None:
    """The first header matching one of ``names`` (ignoring width, case and spaces).

    Exact matches win; then a header that starts with a Japanese candidate
    (``緯度(世界測地系)`` matches ``緯度``).
    """
    normed: dict[str, str] = {}
    for h in headers:
        normed.setdefault(norm_header(h), h)
    for n in names:
        if norm_header(n) in normed:
            return normed[norm_header(n)]
    for n in names:
        nn = norm_header(n)
        if nn in _PREFIXABLE:
            for key, h in normed.items():
                if key.startswith(nn):
                    return h
    return None


#: Coordinate header pairs, tried in order before single-column guesses, so a
#: file with both ``Y座標/X座標`` and a stray ``lng`` takes the matching pair.
COORD_PAIRS = (
    ("緯度", "経度"),
    ("北緯", "東経"),
    ("lat", "lon"),
    ("lat", "lng"),
    ("latitude", "longitude"),
    ("lat", "long"),
    ("y座標", "x座標"),
    ("y", "x"),
)


def find_coordinates(headers: list[str]) -> tuple[str | None, str | None]:
    """The latitude and longitude columns, as a matching pair when there is one."""
    for la, lo in COORD_PAIRS:
        lat, lon = find_column(headers, (la,)), find_column(headers, (lo,))
        if lat and lon:
            return lat, lon
    return find_column(headers, LAT_NAMES), find_column(headers, LON_NAMES)


def find_address(headers: list[str]) -> str | list[str] | None:
    """The address column, or the Add1/Add2 pair that papamama-style lists split it into."""
    col = find_column(headers, ADDRESS_NAMES)
    if col:
        return col
    a1, a2 = find_column(headers, ("add1",)), find_column(headers, ("add2",))
    if a1 and a2:
        return [a1, a2]
    return a1


def disaster_columns(headers: list[str]) -> dict[str, str]:
    """Disaster key → header for every disaster flag column present.

    The official names (``災害種別_洪水``) and the short forms in
    :data:`civicmap.sources.aliases.DISASTER_ALIASES` (土砂, 内水, …) are recognised.
    """
    out: dict[str, str] = {}
    stripped: dict[str, str] = {}
    for h in headers:
        n = norm_header(h).removeprefix("災害種別_").removeprefix("災害種別")
        stripped.setdefault(n, h)
    for h in headers:
        # a two-row header joins a group cell to each name (対象とする災害_洪水)
        if "_" in norm_header(h):
            stripped.setdefault(norm_header(h).rsplit("_", 1)[1], h)
    for key, ja in DISASTER_TYPES.items():
        # the aliases' order is the preference (flood_L2 before flood_L1), not the file's
        for name in (ja, *DISASTER_ALIASES.get(key, ())):
            h = stripped.get(norm_header(name))
            if h is not None and h not in out.values():
                out[key] = h
                break
    return out


def detect_layout(headers: list[str]) -> str:
    """Name the layout of a table from its headers (see the module docstring)."""
    normed = {norm_header(h) for h in headers}
    flags = disaster_columns(headers)
    if "共通id" in normed and "施設・場所名" in normed:
        return "gsi"
    standard = "全国地方公共団体コード" in normed and ("名称" in normed or "id" in normed)
    if standard and any(norm_header(h).startswith("災害種別_") for h in headers):
        return "standard_evacuation"
    if standard and "種別" in normed:
        return "standard_childcare"
    if standard:
        return "standard"
    if (
        "市区町村コード" in normed or "都道府県コード又は市区町村コード" in normed
    ) and "no" in normed:
        return "recommended"
    if len(flags) >= 4 and "no" in normed:
        return "recommended"
    return "free"


def choose_layout(headers: list[str], forced: object, *, name: str) -> str:
    """The layout forced with ``layout:``, or the one detected from the headers.

    Raises
    ------
    SourceError
        When ``layout:`` names no known layout.
    """
    layout = forced or detect_layout(headers)
    if layout not in LAYOUTS:
        raise SourceError(
            _(
                "%(name)s: layout: got %(layout)r, expected one of %(value)s (or remove "
                "layout: to let civicmap detect it)"
            )
            % {"name": name, "layout": layout, "value": ", ".join(LAYOUTS)}
        )
    return str(layout)


def default_category(layout: str, headers: list[str]) -> str | None:
    """The category a layout gives its rows when the layer names none.

    GSI data comes as two files with the same columns except one 住所同一
    flag naming the other list, which tells which of the two a file is.
    """
    if layout == "gsi":
        normed = {norm_header(h) for h in headers}
        if "指定避難所との住所同一" in normed:
            return "指定緊急避難場所"
        if "指定緊急避難場所との住所同一" in normed:
            return "指定避難所"
        return None
    return DEFAULT_CATEGORY.get(layout)


def add_disaster_flags(df: pd.DataFrame, headers: list[str]) -> dict[str, str]:
    """Add ``serves_<key>`` boolean columns for the flag columns present.

    Returns key → source header. Cells that are neither yes nor no stay None
    (unknown), never guessed.
    """
    cols = {
        key: h
        for key, h in disaster_columns(headers).items()
        if h in df.columns and _reads_as_flags(df[h])
    }
    for key, h in cols.items():
        df[serves_column(key)] = pd.Series(
            [flag_to_bool(v) for v in df[h].tolist()], index=df.index, dtype="object"
        )
    if not cols:
        listed = disaster_list_column(df, headers)
        if listed:
            for key, flags in split_disaster_list(df[listed]).items():
                df[serves_column(key)] = flags
                cols[key] = listed
    return cols


def _reads_as_flags(series: pd.Series) -> bool:
    """Whether a column named after a disaster holds yes/no marks.

    A column can be named after a disaster and say something else: 和歌山県's
    two-row header puts 風水害 | 津波 under 緊急避難先レベル and rates each site ☆ to
    ☆☆☆ there, while the disasters it serves are listed in 災害区分. Such a column
    (most filled cells neither yes nor no) stays a plain attribute.
    """
    cells = [v for v in _as_text(series).tolist() if v.strip()]
    readable = sum(1 for v in cells if flag_to_bool(v) is not None)
    return readable >= 0.5 * len(cells)


_LIST_SEPARATORS = re.compile(r"[\s、,，・/／;；]+")

#: Official names that hold a list separator themselves (崖崩れ、土石流及び地滑り), also
#: written with ・ (和歌山県: ``洪水　崖崩れ・土石流及び地滑り　地震``): read as one name.
_COMPOUND_NAMES = [
    (re.compile(re.escape(ja).replace("、", r"\s*[、,，・/／]\s*")), key)
    for key, ja in DISASTER_TYPES.items()
    if "、" in ja
]


def _list_tokens(cell: str) -> list[str]:
    """The disaster names in one cell, compound official names kept whole."""
    text = str(cell).strip()
    for pattern, key in _COMPOUND_NAMES:
        text = pattern.sub(f" {key} ", text)
    return [t for t in _LIST_SEPARATORS.split(text) if t]


def _disaster_key(token: str) -> str | None:
    t = norm_header(token).removeprefix("災害種別_")
    for key, ja in DISASTER_TYPES.items():
        if t in {norm_header(n) for n in (ja, *DISASTER_ALIASES.get(key, ()))}:
            return key
    return None


def disaster_list_column(df: pd.DataFrame, headers: list[str]) -> str | None:
    """A column listing the disasters in one cell (``洪水 土砂 地震``, ``洪水、津波``), or None.

    Its header speaks of 災害 and most filled cells split into known disaster names.
    """
    for h in headers:
        if "災害" not in norm_header(h) or h not in df.columns:
            continue
        cells = [str(v).strip() for v in _as_text(df[h]).tolist() if str(v).strip()]
        if not cells:
            continue
        known = sum(1 for c in cells if all(_disaster_key(t) for t in _list_tokens(c)))
        if known >= 0.8 * len(cells):
            return h
    return None


def split_disaster_list(series: pd.Series) -> dict[str, pd.Series]:
    """One ``serves_*`` column per disaster from a one-cell list: listed → True, else False.

    An empty cell says nothing: every flag stays None (unknown) for that row.
    """
    keys_per_row = []
    for cell in _as_text(series).tolist():
        tokens = _list_tokens(cell)
        keys_per_row.append({_disaster_key(t) for t in tokens} - {None} if tokens else None)
    return {
        key: pd.Series(
            [None if ks is None else key in ks for ks in keys_per_row],
            index=series.index,
            dtype="object",
        )
        for key in DISASTER_TYPES
    }


def _as_text(series: pd.Series) -> pd.Series:
    """Cells as NFKC text, missing values as empty strings (pandas 3 keeps NaN in astype(str))."""
    obj = series.astype(object)
    return (
        obj.where(obj.notna(), "")
        .map(lambda v: unicodedata.normalize("NFKC", str(v)))
        .astype(object)
    )


def _figures(series: pd.Series) -> pd.Series:
    return pd.to_numeric(
        _as_text(series).str.replace(",", "", regex=False).str.extract(r"([0-9]+)")[0],
        errors="coerce",
    )


def extract_capacity(df: pd.DataFrame, headers: list[str]) -> str | None:
    """Add a numeric ``capacity`` column from 想定収容人数 or ``収容人数:310`` in 備考.

    Returns the header the numbers came from, or None.
    """
    names = ("想定収容人数", "収容人数", "収容人員", "定員", "capacity")
    direct = find_column(headers, names)
    if direct:
        nums = _figures(df[direct])
        if nums.notna().any():
            others = [
                h
                for h in headers
                if h != direct
                and h in df.columns
                and ("収容" in norm_header(h) or norm_header(h) in {norm_header(n) for n in names})
            ]
            for h in others:
                # an empty or 0 cell here while another capacity column gives a figure
                # is "no figure in this column", not a capacity of 0: unknown
                there = _figures(df[h])
                nums = nums.mask(((nums == 0) | nums.isna()) & (there > 0))
            df["capacity"] = nums.astype("Int64")
            return direct
    for h in headers:
        if not norm_header(h).startswith(("備考", "概要", "memo", "note")):
            continue
        text = _as_text(df[h])
        got = text.str.extract(_CAPACITY)[0]
        if got.notna().any():
            df["capacity"] = pd.to_numeric(
                got.str.replace(",", "", regex=False), errors="coerce"
            ).astype("Int64")
            return h
    return None
