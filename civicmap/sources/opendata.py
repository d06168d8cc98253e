"""Japanese open-data CSV files: what municipalities actually publish.

Municipal lists come in UTF-8 with or without BOM, Shift_JIS/cp932, UTF-16,
sometimes as mojibake; with 緯度/経度, 北緯/東経, Y/X or lat/lon headers (full-width,
spaced, split over two lines); with full-width digits, degrees-minutes-seconds,
swapped columns, zeros and blanks. This reader finds all of that without being
told, repairs what it can prove, and reports every row it changed or could not
place (with the data row number, 1 = the first row under the header). Code and
ID columns stay text, so leading zeros survive.

Layer-file options (``FILE_SOURCE_KEYS`` in :mod:`civicmap.spec.layers`): ``columns``
overrides any guess (``address`` may be a list of columns to join), ``encoding``
and ``layout`` force what is otherwise detected, ``geocode: true`` places rows
that only have an address (flagged ``approximate``), ``join: {path, on,
columns}`` attaches a table without coordinates by name, ``filter`` keeps only
matching rows; ``header_row`` says where the column names are, ``crs`` what
coordinate system the numbers are in, ``extent`` where places may lie (see
:mod:`civicmap.sources._table`, which does the work for every tabular source).
"""

from __future__ import annotations

import logging
from pathlib import Path

from civicmap.i18n import _
from civicmap.schema import RowProblem, SourceResult
from civicmap.sources import layouts
from civicmap.sources._csvtext import norm_header, read_table
from civicmap.sources._header import rehead
from civicmap.sources._places import cells_name
from civicmap.sources._table import (
    COLUMN_KEYS,
    address_of,
    credit_of,
    finish_frame,
    join_and_filter,
    resolve_columns,
    table_frame,
    table_result,
)

log = logging.getLogger(__name__)

# Kept for callers that imported them from here.
LAT_NAMES = layouts.LAT_NAMES
LON_NAMES = layouts.LON_NAMES
NAME_NAMES = layouts.NAME_NAMES
KANA_NAMES = layouts.KANA_NAMES
ADDRESS_NAMES = layouts.ADDRESS_NAMES
_credit = credit_of


def read_csv(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a CSV of places into the common schema.

    Two steps: decode the bytes and find the header row (:func:`read_table`),
    then the table pipeline every tabular source shares
    (:func:`civicmap.sources._table.table_result`). Every row ends up on the
    map, in ``repaired`` as well (with how), in ``rejected`` with its row
    number and the reason, or counted as a blank line; ``info`` holds what
    ``civicmap check`` prints (encoding, layout, columns, rows, mapped).
    """
    options = dict(options or {})
    path = Path(path)
    table, decoded = read_table(path, encoding=options.get("encoding"), known=layouts.KNOWN_HEADERS)
    table = rehead(table, layouts.KNOWN_HEADERS, forced=options.get("header_row"), name=path.name)
    info = {"encoding": decoded.encoding, "file_repairs": list(decoded.repairs)}
    result = table_result(table, path=path, layer=layer, options=options, info=info)
    # Lines of another encoding than the rest of the file (decoded one by one) are reported.
    result.repaired[:0] = [
        RowProblem(path.name, _("line %(line)d") % {"line": n}, how)
        for n, how in decoded.line_repairs
    ]
    return result


__all__ = [
    "COLUMN_KEYS",
    "address_of",
    "cells_name",
    "finish_frame",
    "join_and_filter",
    "norm_header",
    "read_csv",
    "resolve_columns",
    "table_frame",
]
