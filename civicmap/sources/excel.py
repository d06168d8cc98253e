"""Spreadsheets municipalities publish: ``.xlsx``, ``.xls`` and ``.ods``.

Many 自治体 publish only Excel: a title and notes above the header, the header
split over two rows with merged cells, several sheets (the list, a legend, a
change log), and dates shown in 和暦. The files are read by pandas' own readers
(openpyxl, xlrd, odfpy), never parsed by hand; this module only chooses the
sheet, finds the header (:mod:`civicmap.sources._header`) and passes the rows
to the table pipeline every tabular source shares
(:func:`civicmap.sources._table.table_result`).

Layer-file options, besides those of CSV sources: ``sheet`` (a sheet name, or
its number counting from 1; default the first sheet holding a usable table,
reported), ``header_row`` (the row of the column names, counting from 1 in the
sheet, when the guess is wrong).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import SourceResult
from civicmap.sources import layouts
from civicmap.sources._header import find_header, table_from_records
from civicmap.sources._table import table_result

log = logging.getLogger(__name__)

#: Suffix → the pandas engine that reads it.
ENGINES = {".xlsx": "openpyxl", ".xlsm": "openpyxl", ".xls": "xlrd", ".ods": "odf"}


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text the publisher sees.

    Dates become ISO dates (Excel stores 和暦-formatted dates as dates too),
    whole numbers lose the ``.0`` the reader adds, empty cells are ``""``.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, pd.Timestamp | dt.datetime):
        if pd.isna(value):
            return ""
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.strftime("%Y-%m-%d")
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def load_sheets(path: Path) -> dict[str, list[list[str]]]:
    """Every sheet of the workbook as rows of text cells, in workbook order.

    Raises
    ------
    SourceError
        Naming the file when the reader cannot open it (any reader exception).
    """
    engine = ENGINES.get(path.suffix.lower())
    if engine is None:
        raise SourceError(
            _("%(path)s: got %(suffix)r, expected one of %(value)s")
            % {"path": path, "suffix": path.suffix, "value": ", ".join(ENGINES)}
        )
    try:
        with warnings.catch_warnings():
            # pandas 3 marks its xlrd engine deprecated (in favour of calamine);
            # xlrd still reads .xls correctly, and users cannot act on the warning
            warnings.filterwarnings("ignore", message=".*xlrd engine is deprecated.*")
            frames = pd.read_excel(path, sheet_name=None, header=None, dtype=object, engine=engine)
    except ImportError as exc:
        raise SourceError(
            _(
                "%(path)s: the %(engine)s library is needed to read %(suffix)s files "
                "(%(exc)s); reinstall civicmap with its dependencies"
            )
            % {"path": path, "engine": engine, "suffix": path.suffix, "exc": exc}
        ) from None
    except Exception as exc:  # readers raise many types for damaged or mislabelled files
        raise SourceError(
            _(
                "%(path)s: cannot read as a %(suffix)s spreadsheet (%(kind)s: %(exc)s); open "
                "it in a spreadsheet program and save it again, or save the sheet as CSV"
            )
            % {"path": path, "suffix": path.suffix, "kind": type(exc).__name__, "exc": exc}
        ) from None
    sheets: dict[str, list[list[str]]] = {}
    for sheet, frame in frames.items():
        rows = [[cell_text(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        while rows and not any(c.strip() for c in rows[-1]):
            rows.pop()
        sheets[str(sheet)] = rows
    return sheets


def describe_sheets(sheets: dict[str, list[list[str]]]) -> dict[str, dict[str, Any]]:
    """What each sheet holds: rows, the header row found and how many names it recognised."""
    out: dict[str, dict[str, Any]] = {}
    for sheet, rows in sheets.items():
        if not rows:
            out[sheet] = {"rows": 0, "header_row": None, "known_columns": 0}
            continue
        found = find_header(rows, layouts.KNOWN_HEADERS)
        out[sheet] = {
            "rows": len(rows),
            "header_row": found.last + 1 if found.known else None,
            "known_columns": found.known,
        }
    return out


def choose_sheet(sheets: dict[str, list[list[str]]], wanted: Any, *, name: str) -> tuple[str, str]:
    """The sheet to read and why: the one named by ``sheet:``, else the first usable one."""
    names = list(sheets)
    if wanted is not None:
        if isinstance(wanted, int) and not isinstance(wanted, bool):
            if 1 <= wanted <= len(names):
                return names[wanted - 1], f"sheet: {wanted}"
        elif str(wanted) in sheets:
            return str(wanted), f"sheet: {wanted!r}"
        raise SourceError(
            _(
                "%(name)s: sheet: got %(wanted)r; expected a sheet name (%(items)s) or a "
                "number 1–%(n)s"
            )
            % {
                "name": name,
                "wanted": wanted,
                "items": ", ".join(repr(n) for n in names),
                "n": len(names),
            }
        )
    seen = describe_sheets(sheets)
    for sheet in names:
        if seen[sheet]["known_columns"] >= 2:
            return sheet, "the first sheet with a table of places"
    if not names:
        raise SourceError(_("%(name)s: the workbook has no sheets") % {"name": name})
    return names[0], "no sheet has recognised column names; the first sheet was read"


def read_excel(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a spreadsheet of places into the common schema (see the module docstring)."""
    options = dict(options or {})
    path = Path(path)
    if options.get("encoding"):
        raise SourceError(
            _(
                "%(path_name)s: encoding: does not apply to a spreadsheet (the file says its "
                "own); remove it from the layer file"
            )
            % {"path_name": path.name}
        )
    sheets = load_sheets(path)
    sheet, why = choose_sheet(sheets, options.get("sheet"), name=path.name)
    table = table_from_records(
        sheets[sheet],
        layouts.KNOWN_HEADERS,
        forced=options.get("header_row"),
        name=f"{path.name} [{sheet}]",
    )
    info: dict[str, Any] = {
        "encoding": f"{path.suffix.lstrip('.')} spreadsheet",
        "file_repairs": [],
        "sheet": sheet,
        "sheet_chosen_because": why,
        "sheets": describe_sheets(sheets),
    }
    log.debug("%s: reading sheet %r (%s)", path.name, sheet, why)
    return table_result(table, path=path, layer=layer, options=options, info=info)
