"""A frame's rows as plain dicts: what ``DataFrame.iterrows`` gives, without a Series per row.

``iterrows`` builds a pandas Series for every feature, and every ``row.get`` on it goes
through pandas' indexing. On a map of a few hundred places that is most of the time the
web page, the paper index and the exports spend on their rows, in every build. The
values are taken once for the whole frame (``frame.values``, exactly as ``iterrows``
takes them, so every value is the same object of the same type) and each row is a dict
with the three Series attributes the renderers use (``name``, ``index``, ``geometry``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd


class Row(dict):
    """One feature's values by column, with the row label as ``name`` (as a Series has).

    ``row.get(col)``, ``row[col]``, ``col in row`` and ``row.items()`` behave as on the
    Series ``iterrows`` yields; iterating a row gives its columns, not its values.
    """

    __slots__ = ("geometry", "name")

    @property
    def index(self):
        return self.keys()


def frame_rows(frame: pd.DataFrame) -> Iterator[tuple[Any, Row]]:
    """``(label, row)`` of every row of ``frame``, as ``frame.iterrows()`` gives them."""
    columns = list(frame.columns)
    for label, values in zip(frame.index, frame.values, strict=True):
        row = Row(zip(columns, values, strict=True))
        row.geometry = row.get("geometry")
        row.name = label
        yield label, row
