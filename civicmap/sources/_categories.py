"""Categories: the publisher's text for display, a folded key for matching.

A category is shown (legend, popup, index, exports) and compared (one colour
and one legend entry per category, ``category.values`` renames, ``filter:``).
Lists write one category two ways within a file or across files (``３歳児`` and
``3歳児``, ``（地方裁量型）`` and ``(地方裁量型)``, a full-width space or none).
Folding the text itself (NFKC) would make them equal but would rewrite what the
publisher wrote; so the text stays as published and only :func:`category_key`
is folded. :func:`unify_spellings` then shows every row of one key with one of
the publisher's own spellings (the most used), so every later step that
compares category text (legend, colours, sorting) sees one category.
"""

from __future__ import annotations

import logging
import unicodedata
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pandas as pd

from civicmap.i18n import _

log = logging.getLogger(__name__)


def category_key(text: Any) -> str:
    """The key categories are matched by: NFKC, no spaces of any width, case-folded.

    Keeps brackets and punctuation (after NFKC ``（`` is ``(``): ``認可外（その他）``
    and ``認可外その他`` may be different categories in a list.
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).casefold()


def rename_by_key(values: pd.Series, renames: Mapping[Any, Any]) -> pd.Series:
    """Apply a layer file's ``category.values`` renames, matching the file's value by key.

    ``{認可外（ベビーホテル）: ベビーホテル}`` in a layer file renames cells written
    ``認可外(ベビーホテル)`` too; values not named stay as published.
    """
    by_key = {category_key(k): str(v) for k, v in renames.items()}
    return values.map(lambda v: by_key.get(category_key(v), v))


def unify_spellings(categories: pd.Series) -> tuple[pd.Series, dict[str, list[str]]]:
    """One spelling per category key: the one the publisher used most (first on a tie).

    Returns the categories and, for the report, each spelling kept with the
    other spellings it stands for (empty when every key has one spelling).
    """
    texts = categories.astype(object).where(categories.notna(), "").map(str)
    counts: dict[str, Counter[str]] = {}
    for t in texts:
        if t:
            counts.setdefault(category_key(t), Counter())[t] += 1
    chosen: dict[str, str] = {}
    merged: dict[str, list[str]] = {}
    for key, spellings in counts.items():
        # Counter keeps first-seen order, and most_common is stable on ties
        best = spellings.most_common(1)[0][0]
        chosen[key] = best
        if len(spellings) > 1:
            merged[best] = [s for s in spellings if s != best]
    if not merged:
        return texts, {}
    log.info(
        _("categories written more than one way, shown as one: %(merged)s"), {"merged": merged}
    )
    return texts.map(lambda t: chosen.get(category_key(t), t) if t else t), merged


def unify_layer_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`unify_spellings` over all the file sources of one layer.

    Each source is unified when read; a layer that takes two files (one writing
    ``0歳（2ヶ月）``, the other ``0歳(2ヶ月)``) would still show two legend
    entries without this step. Returns a copy; a frame without categories is
    returned as it is.
    """
    if frame.empty or "category" not in frame.columns:
        return frame
    categories, merged = unify_spellings(frame["category"])
    if not merged:
        return frame
    out = frame.copy()
    out["category"] = categories.to_numpy()
    return out
