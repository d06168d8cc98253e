"""Field shortcuts and display labels for columns, shared by popups, labels and indexes.

Data files name the same thing many ways: a telephone number is ``phone`` in OSM,
``TEL`` or ``電話番号`` in municipal CSVs, ``contact:phone`` elsewhere. A layer file
can list the shortcut (``phone``) and get whichever column the data has, or name one
column and still see it labelled ``電話番号`` rather than ``TEL``. Keeping the table
here means the web popup, the marker label and the printed index agree.

Pure functions: row in, text out; nothing here reads files.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from civicmap import wording

#: Shortcuts: a name that stands for several source columns (first non-empty wins).
ALIASES: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "TEL", "電話番号", "contact:phone", "tel", "電話", "Tel"),
    "capacity": ("capacity", "定員", "Capall", "想定収容人数", "収容人数"),
    "email": ("email", "contact:email", "メールアドレス", "E-mail", "Email", "mail"),
    "website": ("website", "contact:website", "url", "URL", "ホームページ", "Website"),
}

#: Built-in display labels, by shortcut or column (a layer file's ``labels:`` wins).
LABELS: dict[str, Mapping[str, str]] = {
    key: wording.Names(f"field.{key}")
    for key in (
        "name", "category", "address", "phone", "capacity", "email", "website", "disasters",
        "opening_hours", "description", "wheelchair", "fee", "indoor", "toilets", "emergency",
        "healthcare:speciality", "defibrillator:location", "shelter_type:ja", "想定収容人数",
        "受入対象者", "備考", "designations", "other_names",
    )
}  # fmt: skip

#: OSM yes/no values as words a reader understands (``value.*`` of the glossaries).
_YES_NO = wording.Table("value")
_YES_NO_COLUMNS = {"wheelchair", "fee", "indoor", "toilets", "emergency"}

#: What a yes/no cell says (after NFKC and lower case): lists mark yes with ○, 有, 可 …
_TRUE = {"1", "○", "◯", "〇", "●", "true", "yes", "y", "有", "あり", "対象", "可", "t"}
_FALSE = {"", "0", "×", "✕", "false", "no", "n", "無", "なし", "対象外", "不可", "-", "−", "―", "f"}
_UPSTAIRS = re.compile(r"[0-9]+階以上(?:可|のみ可|使用可|利用可)?")


def text(value: Any) -> str:
    """A cell as display text; empty for missing values (``1.0`` shows as ``1``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value).strip()


def flag_to_bool(value: object) -> bool | None:
    """A yes/no cell as True / False, or None when it says something else.

    One reading for the readers (a list's disaster flags, ``serves_<type>``) and the
    web map's ``flag`` filters, so a cell means the same on both. Spreadsheets turn ``1`` into ``1.0``; lists mark yes with ○, ◯, 可, 有 and
    flood shelters usable upstairs with ``2階以上可``.
    """
    s = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip().lower()
    if s in ("nan", "none"):
        s = ""
    if s in _TRUE or _UPSTAIRS.fullmatch(s):
        return True
    if s in _FALSE:
        return False
    try:
        number = float(s)
    except ValueError:
        return None
    return True if number == 1 else False if number == 0 else None


def shortcut_of(column: str) -> str | None:
    """The shortcut ``column`` is, or belongs to (``TEL`` → ``phone``); None if neither."""
    if column in ALIASES:
        return column
    for key, names in ALIASES.items():
        if column in names:
            return key
    return None


def field_value(row: pd.Series | dict, column: str) -> str:
    """The text of ``column`` in ``row``; a shortcut takes its first non-empty column."""
    if column in ALIASES:
        names = ALIASES[column]
    else:
        names = (column,)
    for n in names:
        v = text(row.get(n))
        if v:
            return v
    return ""


def label(column: str, language: str, *, given: str = "") -> str:
    """The display label of ``column``: the layer file's, a built-in one, or the column."""
    if given:
        return given
    key = column if column in LABELS else (shortcut_of(column) or column)
    lab = LABELS.get(key)
    if lab:
        return lab.get(language) or lab["ja"]
    return column


def display_value(column: str, value: str, language: str) -> str:
    """``yes``/``no`` of OSM yes/no keys as words (あり/なし); other values unchanged."""
    if column in _YES_NO_COLUMNS:
        return _YES_NO[language].get(value, value)
    return value


_PHONE = re.compile(r"^\+?[0-9()\- ]{6,20}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")


def link_for(column: str, value: str) -> str:
    """A safe link target for a value, or ``""``.

    Only ``https:``/``http:`` web addresses, ``tel:`` for telephone numbers and
    ``mailto:`` for e-mail addresses: a ``javascript:``/``data:`` value (or anything
    else) never becomes a link. The page checks the scheme again before using it.
    """
    v = value.strip()
    if not v or any(c in v for c in "\"'<>\\`\n\r\t"):
        return ""
    low = v.lower()
    if low.startswith(("http://", "https://")):
        parts = urlsplit(v)
        if parts.scheme.lower() in ("http", "https") and parts.netloc and " " not in v:
            return v
        return ""
    kind = shortcut_of(column)
    if kind == "email" or (kind is None and _EMAIL.match(v)):
        return f"mailto:{v}" if _EMAIL.match(v) else ""
    if kind == "phone" and _PHONE.match(v):
        digits = re.sub(r"[^0-9+]", "", v)
        return f"tel:{digits}" if len(digits) >= 6 else ""
    return ""
