"""Filters the web map's viewers set on the page: the values each place is filtered by.

Parents do not browse 159 nurseries: they look for the ones that take a 0-year-old, have
一時保育 or stay open until 19:00. A layer file declares what its places can be filtered
by (``filters:``, :class:`civicmap.spec.layers.FilterSpec`); here the build reads those
columns once into plain values, column-wise (one list per filter, one entry per row of
the layer, in row order: a feature's ``i`` in the page's payload), so the page's script
(``assets/civicmap-filters.js``) only compares numbers and never parses data. Values reach
the page as JSON in the payload, never as script or HTML.

What a cell means:

- ``flag``: yes when the cell is a yes (Y, ○, 有, あり, 1 …) or any other text that is not a
  no (無, なし, ×, N, 0 …): ``一時保育（空き利用型）あり`` and ``19:15まで`` say yes.
- ``ages``: the first and last age a place accepts, each read from text such as ``生後8週``,
  ``生後6か月``, ``0歳（3ヶ月）``, ``1歳児``, ``2歳クラスまで``, ``3`` or ``就学前`` (= 5);
  an empty last age after a known first age reads as 就学前, as papamama lists leave it.
  One column with both (``0歳〜5歳``, ``57日～2歳``) is split at the 〜; one age alone in it
  (``57日``, a 入園可能月齢 column) is the first age. A place whose first age cannot be
  read has no ages (hidden once an age is checked).
- ``number``: the first number in the cell (``約100人`` → 100); ``time``: a time of day
  in minutes (``7:30``, ``19時``, ``26:00:00`` and ``翌3:00`` past midnight).
- ``disasters``: the ``serves_<type>`` columns (:data:`civicmap.schema.DISASTER_TYPES`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd

from civicmap import fields
from civicmap.fields import flag_to_bool
from civicmap.i18n import _
from civicmap.mapdata import LayerData
from civicmap.schema import DISASTER_TYPES, serves_column
from civicmap.spec.layers import FilterSpec

log = logging.getLogger(__name__)

#: The page's filter script, loaded after ``civicmap.js`` (single-file page and site).
SCRIPT = Path(__file__).with_name("assets") / "civicmap-filters.js"

#: The age 就学前 (before school) stands for: the 5歳児 class is the last before school.
SCHOOL_AGE = 5

_AGE_YEARS = re.compile(r"(\d+)\s*歳")
_AGE_MONTHS = re.compile(r"(\d+)\s*[かヶケカヵ箇个]?\s*月")
_AGE_DAYS = re.compile(r"(\d+)\s*(?:週|日)")
_AGE_BARE = re.compile(r"\d+")
_BEFORE_SCHOOL = ("就学前", "就学まで", "小学校入学前", "未就学")
_AGE_SPLIT = re.compile(r"[〜~～\-－ー―]|から")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_TIME = re.compile(r"(\d{1,2})\s*(?::|時)\s*(\d{1,2})?")
_TAG = re.compile(r"<[^>]*>")


def _clean(value: Any) -> str:
    """A cell as NFKC text without markup (``<BR>``); "" for missing values."""
    text = fields.text(value)
    return _TAG.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def age_of(value: Any, *, last: bool) -> int | None:
    """The age (whole years) a cell says: a first age (``last=False``) or a last one.

    ``生後8週`` and ``57日`` are 0, ``生後12か月`` is 1, ``1歳児`` and ``2歳クラスまで`` their
    number, a bare ``3`` (papamama's AgeS) 3; ``就学前`` is :data:`SCHOOL_AGE` as a last age.
    None when the cell says no age (empty, ``離乳食完了後``).
    """
    text = _clean(value)
    if not text:
        return None
    if last and any(word in text for word in _BEFORE_SCHOOL):
        return SCHOOL_AGE
    m = _AGE_YEARS.search(text)
    if m:
        return int(m.group(1))
    m = _AGE_MONTHS.search(text)
    if m:
        return int(m.group(1)) // 12
    m = _AGE_DAYS.search(text)
    if m:
        return 0
    if _AGE_BARE.fullmatch(text):
        return int(text)
    return None


def age_range(first: Any, last: Any) -> tuple[int, int] | None:
    """``(first, last)`` ages from two cells; an empty last age is 就学前; None if unknown."""
    start = age_of(first, last=False)
    if start is None:
        return None
    end = age_of(last, last=True)
    if end is None and not _clean(last):
        end = max(SCHOOL_AGE, start)
    if end is None or end < start:
        return None
    return start, end


def age_range_text(value: Any) -> tuple[int, int] | None:
    """Ages from one cell: ``0歳〜5歳``, ``57日～2歳``, ``生後57日〜就学前``, ``3か月``.

    One age alone (``57日``, ``1歳以上``: a 入園可能月齢 column) is the first age accepted,
    up to 就学前.
    """
    text = _clean(value)
    if not text:
        return None
    parts = _AGE_SPLIT.split(text, maxsplit=1)
    if len(parts) == 2 and parts[1].strip():
        return age_range(parts[0], parts[1])
    return age_range(parts[0], "")


def number_of(value: Any) -> float | int | None:
    """The first number of a cell (``約100人`` → 100, ``1,200`` → 1200), None if there is none."""
    text = _clean(value).replace(",", "")
    m = _NUMBER.search(text)
    if not m:
        return None
    number = float(m.group(0))
    return int(number) if number.is_integer() else number


def minutes_of(value: Any) -> int | None:
    """A time of day in minutes after midnight: ``7:30`` → 450, ``翌3:00`` → 1620."""
    text = _clean(value)
    m = _TIME.search(text)
    if not m:
        return None
    hours, minutes = int(m.group(1)), int(m.group(2) or 0)
    if minutes >= 60 or hours > 48:
        return None
    if "翌" in text[: m.start()] and hours < 24:
        hours += 24
    return hours * 60 + minutes


def time_label(minutes: int) -> str:
    """``H:MM`` of minutes after midnight (past 24:00 as the data says it, e.g. 26:00)."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def flag_of(value: Any) -> int:
    """1 when a cell says yes (a yes mark, or text that is not a no), else 0."""
    text = _clean(value)
    if not text:
        return 0
    return 0 if flag_to_bool(text) is False else 1


def _column(features: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` the features have with any value (width and case ignored)."""
    by_norm: dict[str, str] = {}
    for col in features.columns:
        by_norm.setdefault(unicodedata.normalize("NFKC", str(col)).casefold(), str(col))
    for name in names:
        col = name if name in features.columns else None
        col = col or by_norm.get(unicodedata.normalize("NFKC", name).casefold())
        if col is not None and any(_clean(v) for v in features[col].tolist()):
            return col
    return None


def _disaster_title(key: str, language: str) -> str:
    return DISASTER_TYPES[key] if language == "ja" else key.replace("_", " ")


def filter_item(
    layer: LayerData, spec: FilterSpec, position: int, *, language: str, texts: dict[str, str]
) -> dict[str, Any] | None:
    """One filter as the page sets it: kind, heading, options and per-row values (or None).

    None when the layer's data has nothing to filter by (no such column, one category).
    """
    feats = layer.features
    item: dict[str, Any] = {"n": position, "kind": spec.kind}
    title = spec.title_in(language)
    if spec.kind == "category":
        cats = {fields.text(c) for c in feats["category"]} if "category" in feats.columns else set()
        if len(cats) < 2:
            return None
        item["title"] = title or texts["category"]
        return item
    if spec.kind == "disasters":
        keys = [
            key
            for key in DISASTER_TYPES
            if serves_column(key) in feats.columns
            and any(v is True or v == 1 for v in feats[serves_column(key)].tolist())
        ]
        if not keys:
            return None
        item["title"] = title or texts["disasters"]
        item["options"] = [[key, _disaster_title(key, language)] for key in keys]
        values = [0] * len(feats)
        for bit, key in enumerate(keys):
            for row, v in enumerate(feats[serves_column(key)].tolist()):
                if v is True or v == 1:
                    values[row] |= 1 << bit
        item["v"] = values
        return item
    if spec.kind == "ages":
        return _ages_item(feats, spec, item, title or texts["filter_ages"])
    column = _column(feats, spec.columns)
    if column is None:
        return None
    item["title"] = title or fields.label(
        column, language, given=layer.spec.column_label(column, language)
    )
    cells = feats[column].tolist()
    if spec.kind == "flag":
        item["v"] = [flag_of(v) for v in cells]
        return item if any(item["v"]) else None
    read = number_of if spec.kind == "number" else minutes_of
    values = [read(v) for v in cells]
    known = sorted({v for v in values if v is not None})
    if not known:
        return None
    item["v"] = values
    if spec.kind == "number":
        item["range"] = [known[0], known[-1]]
    else:
        item["options"] = [[m, time_label(m)] for m in known]
    return item


def _ages_item(
    feats: pd.DataFrame, spec: FilterSpec, item: dict[str, Any], title: str
) -> dict[str, Any] | None:
    """The ``ages`` filter: per row a bit mask of the offered ages it accepts (None: unknown)."""
    first, last = spec.ages
    start = _column(feats, spec.from_columns) if spec.from_columns else None
    ranges: list[tuple[int, int] | None]
    if start is not None:
        end = _column(feats, spec.to_columns) if spec.to_columns else None
        ends = feats[end].tolist() if end is not None else [None] * len(feats)
        ranges = [age_range(a, b) for a, b in zip(feats[start].tolist(), ends, strict=True)]
    else:
        column = _column(feats, spec.columns) if spec.columns else None
        if column is None:
            return None
        ranges = [age_range_text(v) for v in feats[column].tolist()]
    values: list[int | None] = []
    for r in ranges:
        if r is None:
            values.append(None)
            continue
        mask = 0
        for bit, age in enumerate(range(first, last + 1)):
            if r[0] <= age <= r[1]:
                mask |= 1 << bit
        values.append(mask)
    if all(v is None for v in values):
        return None
    item["title"] = title
    item["ages"] = list(range(first, last + 1))
    item["v"] = values
    return item


def filters_payload(
    layer: LayerData, *, language: str, texts: dict[str, str]
) -> list[dict[str, Any]]:
    """The layer's filters the page shows (those its data can answer), in declared order."""
    items = []
    for position, spec in enumerate(layer.spec.filters):
        item = filter_item(layer, spec, position, language=language, texts=texts)
        if item is None:
            # a built-in layer declares filters for many kinds of lists: quiet about those
            level = logging.DEBUG if layer.spec.builtin else logging.INFO
            log.log(
                level,
                _(
                    "layer %(layer)s: filter %(kind)s (filters[%(n)d]) not shown: the data "
                    "has no values for it (columns %(columns)s)"
                ),
                {
                    "layer": layer.spec.id,
                    "kind": spec.kind,
                    "n": position,
                    "columns": ", ".join(spec.columns + spec.from_columns) or "-",
                },
            )
            continue
        items.append(item)
    return items


__all__ = ["SCRIPT", "age_of", "age_range", "filters_payload", "minutes_of", "number_of"]
