"""Spreadsheets municipalities publish: ``.xlsx``, ``.xls`` and ``.ods``.

Many 自治体 publish only Excel: a title and notes above the header, the header
split over two rows with merged cells, several sheets (the list, a legend, a
change log), and dates shown in 和暦. The files are read by pandas' own readers
(openpyxl, xlrd, odfpy), never parsed by hand; this module only chooses the
sheet, finds the header (:mod:`civicmap.sources._header`) and passes the rows
to the table pipeline every tabular source shares
(:func:`civicmap.sources._table.table_result`).

A workbook is untrusted input: before a reader opens it, a .xlsx/.ods file
must pass the zip limits KMZ files have (a zip bomb is refused) and a budget
of rows and cells (``settings.max_sheet_rows``, ``settings.max_sheet_cells``),
counted from its XML without building it (:func:`check_workbook`).

Layer-file options, besides those of CSV sources: ``sheet`` (a sheet name, or
its number counting from 1; default the first sheet holding a usable table,
reported), ``header_row`` (the row of the column names, counting from 1 in the
sheet, when the guess is wrong).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any
from xml.parsers import expat

import pandas as pd

from civicmap import settings
from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import SourceResult
from civicmap.sources import layouts
from civicmap.sources._guard import check_input_file, check_zip
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


def _cannot_read(path: Path, exc: Exception) -> SourceError:
    return SourceError(
        _(
            "%(path)s: cannot read as a %(suffix)s spreadsheet (%(kind)s: %(exc)s); open "
            "it in a spreadsheet program and save it again, or save the sheet as CSV"
        )
        % {"path": path, "suffix": path.suffix, "kind": type(exc).__name__, "exc": exc}
    )


def _column_number(letters: str) -> int:
    """``A`` → 1, ``Z`` → 26, ``AA`` → 27 (any length: a hostile ref gives a huge number)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


def _repeat(value: str | None) -> int:
    return int(value) if value and value.isascii() and value.isdigit() else 1


class _Budget:
    """What pandas would build from a workbook, counted from its XML as it streams by.

    Why: the readers (openpyxl, odfpy) build the whole workbook in memory,
    odfpy at about 2.5 kB per cell, and pandas then pads every sheet to a full
    grid, repeating the cells an .ods marks as repeated. A small file can so
    ask for gigabytes (a 1 MB .ods for a 200,000-row sheet). Counting here
    uses no tree: a few hundred kB whatever the file holds. The counts follow
    pandas: rows up to the last one with a value, columns up to the last cell
    with a value in any row.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.max_rows = int(settings.max_sheet_rows)
        self.max_cells = int(settings.max_sheet_cells)
        # a cell is a few XML elements (cell, value, text); anything far beyond is not a table
        self.max_elements = 4 * self.max_cells + 100_000
        self.elements = 0
        self.cells_done = 0  # cells of the sheets already counted
        self.member = ""

    def element(self) -> None:
        self.elements += 1
        if self.elements > self.max_elements:
            raise SourceError(
                _(
                    "%(path)s: %(member)s holds more than %(n)s XML elements, more than a "
                    "workbook within the budget of %(limit)s cells needs; save the sheet you "
                    "need as CSV (UTF-8) and give the .csv file instead"
                )
                % {
                    "path": self.path,
                    "member": self.member,
                    "n": f"{self.max_elements:,}",
                    "limit": f"{self.max_cells:,}",
                }
            )

    def check(self, sheet: str, rows: int, cols: int) -> None:
        if rows > self.max_rows:
            raise SourceError(
                _(
                    "%(path)s: sheet %(sheet)r has more than %(limit)s rows (the limit, "
                    "civicmap.settings.max_sheet_rows); a table this large reads with far less "
                    "memory as CSV: save the sheet as CSV (UTF-8) and give the .csv file "
                    "instead, or raise the limit"
                )
                % {"path": self.path, "sheet": sheet, "limit": f"{self.max_rows:,}"}
            )
        if self.cells_done + rows * cols > self.max_cells:
            raise SourceError(
                _(
                    "%(path)s: the workbook holds more than %(limit)s cells (the limit, "
                    "civicmap.settings.max_sheet_cells; sheet %(sheet)r alone: %(rows)s rows × "
                    "%(cols)s columns); save the sheet you need as CSV (UTF-8) and give the "
                    ".csv file instead, or raise the limit"
                )
                % {
                    "path": self.path,
                    "limit": f"{self.max_cells:,}",
                    "sheet": sheet,
                    "rows": f"{rows:,}",
                    "cols": f"{cols:,}",
                }
            )

    def parse(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, start: Any, end: Any) -> None:
        """Stream one XML member through expat, calling ``start(local, attrs)``/``end(local)``."""
        self.member = info.filename
        parser = expat.ParserCreate(namespace_separator=" ")

        def on_start(tag: str, attrs: dict[str, str]) -> None:
            self.element()
            start(tag.rpartition(" ")[2], attrs)

        parser.StartElementHandler = on_start
        parser.EndElementHandler = lambda tag: end(tag.rpartition(" ")[2])
        with zf.open(info) as f:
            while chunk := f.read(1 << 20):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)

    def xlsx_names(self, zf: zipfile.ZipFile) -> dict[str, str]:
        """Worksheet part (``xl/worksheets/sheet1.xml``) → the sheet's name, for messages."""
        names: dict[str, str] = {}  # relationship id → sheet name
        targets: dict[str, str] = {}  # relationship id → part

        def sheet(tag: str, attrs: dict[str, str]) -> None:
            if tag == "sheet":
                rid = next((v for k, v in attrs.items() if k.endswith(" id")), "")
                names[rid] = attrs.get("name", "")

        def rel(tag: str, attrs: dict[str, str]) -> None:
            if tag == "Relationship":
                target = attrs.get("Target", "")
                targets[attrs.get("Id", "")] = (
                    target.lstrip("/") if target.startswith("/") else "xl/" + target
                )

        for part, start in (("xl/workbook.xml", sheet), ("xl/_rels/workbook.xml.rels", rel)):
            try:
                info = zf.getinfo(part)
            except KeyError:
                continue
            self.parse(zf, info, start, lambda tag: None)
        return {targets[rid].lower(): name for rid, name in names.items() if rid in targets}

    def xlsx_sheet(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, sheet: str) -> None:
        """One worksheet part: rows × columns of the cells that hold a value (as openpyxl)."""
        st = {"row": 0, "col": 0, "in_c": False, "value": False, "row_has": False}
        box = [0, 0]  # rows, columns

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == "row":
                r = attrs.get("r", "")
                st.update(row=int(r) if r.isascii() and r.isdigit() else st["row"] + 1, col=0)
                st["row_has"] = False
            elif tag == "c":
                letters = attrs.get("r", "").rstrip("0123456789")
                col = _column_number(letters) if letters.isascii() and letters.isalpha() else 0
                st.update(col=col or st["col"] + 1, in_c=True, value=False)
            elif tag in ("v", "is") and st["in_c"]:
                st["value"] = True

        def end(tag: str) -> None:
            if tag == "c":
                st["in_c"] = False
                if st["value"]:
                    box[1] = max(box[1], st["col"])
                    st["row_has"] = True
            elif tag == "row" and st["row_has"]:
                box[0] = max(box[0], st["row"])
                self.check(sheet, *box)

        self.parse(zf, info, start, end)
        self.check(sheet, *box)
        self.cells_done += box[0] * box[1]

    def ods_content(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        """``content.xml``: each table's rows × columns as pandas' odf reader builds them."""
        table, office = _ODS_TABLE_NS + " ", _ODS_OFFICE_NS + " "
        sheets: list[dict[str, Any]] = []

        def start(tag: str, attrs: dict[str, str]) -> None:
            if tag == "table":
                sheets.append({"name": attrs.get(table + "name", ""), "rows": 0, "cols": 0,
                               "empty_rows": 0, "row": None})  # fmt: skip
            elif not sheets:
                return
            elif tag == "table-row":
                repeat = _repeat(attrs.get(table + "number-rows-repeated"))
                sheets[-1]["row"] = [repeat, 0, 0]  # repeat, length, empty cells queued
            elif tag in ("table-cell", "covered-table-cell") and sheets[-1]["row"] is not None:
                row = sheets[-1]["row"]
                repeat = _repeat(attrs.get(table + "number-columns-repeated"))
                if tag == "table-cell" and office + "value-type" in attrs:
                    row[1] += row[2] + repeat
                    row[2] = 0
                else:
                    row[2] += repeat

        def end(tag: str) -> None:
            if not sheets:
                return
            sh = sheets[-1]
            if tag == "table-row" and sh["row"] is not None:
                repeat, length, _empty = sh["row"]
                sh["row"] = None
                if length == 0:
                    sh["empty_rows"] += repeat
                else:
                    sh["rows"] += sh["empty_rows"] + repeat
                    sh["empty_rows"] = 0
                    sh["cols"] = max(sh["cols"], length)
                    self.check(sh["name"], sh["rows"], sh["cols"])
            elif tag == "table":
                sheets.pop()
                self.cells_done += sh["rows"] * sh["cols"]

        self.parse(zf, info, start, end)


#: Namespaces of an .ods file's tables and cell values.
_ODS_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODS_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def check_workbook(path: Path) -> None:
    """Refuse a .xlsx/.ods workbook over the zip limits or the row/cell budget, unopened.

    The zip limits are those of KMZ (:func:`civicmap.sources._guard.check_zip`);
    the budget is ``settings.max_sheet_rows`` rows per sheet and
    ``settings.max_sheet_cells`` cells in all, counted from the XML as it
    streams (:class:`_Budget`). Both run before pandas, openpyxl or odfpy
    open the file, so a zip bomb or a sheet of a million rows is refused in
    about a second with little memory, the message naming the file, the
    limit and the way out (CSV). A file that is not a zip at all is left to
    the reader, which names the problem.

    Raises
    ------
    SourceError
        Naming the file and the limit.
    """
    check_input_file(path, what=_("spreadsheet"))
    if not zipfile.is_zipfile(path):
        return  # not a workbook at all: the reader says so in its own words
    check_zip(path, what=_("spreadsheet"))
    budget = _Budget(path)
    try:
        with zipfile.ZipFile(path) as zf:
            ods = path.suffix.lower() == ".ods"
            sheets = {} if ods else budget.xlsx_names(zf)
            for info in zf.infolist():
                name = info.filename.lower()
                if ods and name == "content.xml":
                    budget.ods_content(zf, info)
                elif not ods and re.fullmatch(r"xl/worksheets/[^/]+\.xml", name):
                    budget.xlsx_sheet(zf, info, sheets.get(name) or name.rsplit("/", 1)[-1])
                elif name.endswith((".xml", ".rels")):  # shared strings, styles: elements only
                    budget.parse(zf, info, lambda tag, attrs: None, lambda tag: None)
    except SourceError:
        raise
    except (expat.ExpatError, zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise _cannot_read(path, exc) from None


def load_sheets(path: Path) -> dict[str, list[list[str]]]:
    """Every sheet of the workbook as rows of text cells, in workbook order.

    A .xlsx/.ods workbook is checked first (:func:`check_workbook`): zip
    limits and the row/cell budget, before any reader opens it.

    Raises
    ------
    SourceError
        Naming the file when the reader cannot open it (any reader exception),
        or when the workbook is over a limit.
    """
    engine = ENGINES.get(path.suffix.lower())
    if engine is None:
        raise SourceError(
            _("%(path)s: got %(suffix)r, expected one of %(value)s")
            % {"path": path, "suffix": path.suffix, "value": ", ".join(ENGINES)}
        )
    if engine in ("openpyxl", "odf"):
        check_workbook(path)
    else:
        check_input_file(path, what=_("spreadsheet"))
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
        raise _cannot_read(path, exc) from None
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
