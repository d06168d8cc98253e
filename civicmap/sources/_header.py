"""Where the header of a table is, and what its columns are called.

Japanese municipal tables often start with a title, a date and notes (a real
ward file has its header on line 25), and spreadsheets split a header over two
rows with merged cells (``位置`` over ``緯度 | 経度``, ``災害種別`` over ``洪水 |
津波``). This module finds the header row by the column names it recognises
and joins a two-row header into one name per column. Shared by the CSV and
spreadsheet readers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.sources._csvtext import Table, norm_header, unique_headers
from civicmap.sources._guess import address_header, name_header, reads_as_address

#: How many records from the top are searched for the header.
SEARCH_ROWS = 60
_NUMBER = re.compile(r"^[+-]?[0-9.,]+$")


@dataclass
class HeaderFound:
    """The header's position: records ``first``..``last`` (0-based, inclusive)."""

    first: int
    last: int
    known: int  # recognised column names in the header


#: Latitude / longitude ranges of Japan (with its remote islands), for telling a
#: line that is already a place from a header or title line.
_JP_LAT = (20.0, 46.0)
_JP_LON = (122.0, 154.0)


def _number(cell: object) -> float | None:
    s = unicodedata.normalize("NFKC", str(cell)).strip()
    if not _NUMBER.match(s) or s.count(".") > 1:
        return None
    try:
        return float(s.replace(",", ""))
    except ValueError:
        return None


def looks_like_place(record: list[str]) -> bool:
    """A record that is a place, not a header: two cells read as a latitude and longitude in Japan.

    Header and title lines hold words and dates, never a pair such as
    ``35.70, 139.70``; a line that has one is data, whatever words it holds.
    """
    nums = [_number(c) for c in record]
    lats = {j for j, n in enumerate(nums) if n is not None and _JP_LAT[0] <= n <= _JP_LAT[1]}
    lons = {j for j, n in enumerate(nums) if n is not None and _JP_LON[0] <= n <= _JP_LON[1]}
    return bool(lats) and bool(lons) and bool(lats | lons) and len(lats | lons) >= 2


def looks_like_listed_place(record: list[str]) -> bool:
    """A record that is a place without coordinates: three or more cells, one an address.

    Lists converted from PDFs or spreadsheets (厚生労働省's 医療機関 lists, as
    turned into CSV) can carry their first page of places above the header;
    those lines hold a name, a postal code and an address, never a pair of
    coordinates. Titles and notes are one cell; header rows hold no address.
    """
    cells = [str(c).strip() for c in record if str(c).strip()]
    return len(cells) >= 3 and any(reads_as_address(c) for c in cells)


def _places_above(records: list[list[str]], first: int) -> tuple[list[int], list[int]]:
    """The 1-based lines above the header that are places, and those known by address only."""
    by_coords = [i + 1 for i in range(first) if looks_like_place(records[i])]
    by_address = [
        i + 1
        for i in range(first)
        if i + 1 not in by_coords and looks_like_listed_place(records[i])
    ]
    return sorted(by_coords + by_address), by_address


def is_headerless(records: list[list[str]], known: set[str]) -> bool:
    """True when the first record is already a place (the file has no header row).

    A header needs at least two recognised column names; a first line with a
    coordinate pair and fewer names is the first place, and must be read. A
    list of addresses only (デジタル庁's abr-geocoder ships such lists, one
    quoted address a line) has no coordinates: its first line is a place when
    it holds an address in the same column as the line below it and no line
    near the top reads as a header, else that first address became the
    column's name and was lost.
    """
    if not records:
        return False
    if looks_like_place(records[0]) and _score(records[0], known) < 2:
        return True
    return _address_list(records, known)


def _address_list(records: list[list[str]], known: set[str]) -> bool:
    """True when line 1 and the next line hold an address in the same column, under no header."""
    rest = [r for r in records[1:] if any(str(c).strip() for c in r)]
    if not rest:
        return False
    first, below = records[0], rest[0]
    same = [
        j
        for j, cell in enumerate(first)
        if reads_as_address(str(cell).strip())
        and j < len(below)
        and reads_as_address(str(below[j]).strip())
    ]
    if not same:
        return False
    return not any(_score(r, known) + _meaning_score(r) >= 2 for r in records[:SEARCH_ROWS])


def _score(record: list[str], known: set[str]) -> int:
    return sum(1 for c in record if norm_header(c) in known)


def _meaning_score(record: list[str]) -> int:
    """1 each for a name header and an address header found by meaning (text records only).

    A header that the alias table does not know (``薬局名``, ``薬局所在地（市郡区以降）``
    in 厚生労働省's lists) still reads as a header to a person; a data row holds
    numbers (postal codes, telephone numbers, coordinates) and never scores.
    """
    cells = [str(c) for c in record if str(c).strip()]
    if len(cells) < 3 or not _texty(record):
        return 0
    return int(name_header(cells) is not None) + int(address_header(cells) is not None)


def _texty(record: list[str]) -> bool:
    """A record that could be part of a header: some text, no numbers."""
    cells = [str(c).strip() for c in record if str(c).strip()]
    return bool(cells) and not any(_NUMBER.match(c) for c in cells)


def find_header(records: list[list[str]], known: set[str], *, forced: int | None = None,
                name: str = "file") -> HeaderFound:  # fmt: skip
    """The header rows: the record with the most recognised names (or ``header_row:``).

    The record just above is part of the header when it holds only text and
    names a group over cells the header leaves empty or over sub-headings
    (merged cells): it is joined, e.g. ``災害種別`` + ``洪水`` → ``災害種別_洪水``.
    """
    if forced is not None:
        if (
            not isinstance(forced, int)
            or isinstance(forced, bool)
            or not (1 <= forced <= len(records))
        ):
            raise SourceError(
                _(
                    "%(name)s: header_row: got %(forced)r; expected a line number 1–%(n)s (the row "
                    "holding the column names, counting from 1)"
                )
                % {"name": name, "forced": forced, "n": len(records)}
            )
        best = forced - 1
        best_score = _score(records[best], known)
    else:
        best, best_score = 0, 0
        for i, rec in enumerate(records[:SEARCH_ROWS]):
            s = _score(rec, known)
            if s > best_score and len([c for c in rec if str(c).strip()]) > 1:
                best, best_score = i, s
        if best_score < 2:
            # no record has two known names: the one whose headers say name and address
            for i, rec in enumerate(records[:SEARCH_ROWS]):
                s = _score(rec, known) + _meaning_score(rec)
                if s >= 2 and s > best_score:
                    best, best_score = i, s
    first = best
    if best > 0 and (best_score or forced is not None):
        above, here = records[best - 1], records[best]
        width = max(len(above), len(here))
        above = list(above) + [""] * (width - len(above))
        here = list(here) + [""] * (width - len(here))
        groups = [
            j
            for j in range(width)
            if str(above[j]).strip() and str(here[j]).strip()
            and not (j + 1 < width and str(above[j + 1]).strip())
            and j + 1 < width and str(here[j + 1]).strip()
        ]  # fmt: skip
        fills = [j for j in range(width) if str(above[j]).strip() and not str(here[j]).strip()]
        filled = sum(1 for c in above if str(c).strip())
        if (
            _texty(above)
            and filled >= 2  # a title line is one cell; a group row has several
            and (groups or fills)
            and (forced is not None or _score(above, known) <= best_score)
        ):
            first = best - 1
    last = best
    if (
        first == best
        and best + 1 < len(records)
        and (best_score or forced)
        and _sub_header(records[best], records[best + 1])
    ):
        last = best + 1
    return HeaderFound(
        first, last, max(best_score, _score(records[last], known), _score(records[first], known))
    )


def _sub_header(here: list[str], below: list[str]) -> bool:
    """True when ``below`` is a second header row: sub-headings under merged group cells.

    (位置 over 緯度 | 経度, 対象とする災害 over the eight disaster names): text only,
    and only in cells the header row leaves empty or right under a group name
    whose right neighbours are empty.
    """
    here, below = list(here), list(below)
    width = max(len(here), len(below))
    here += [""] * (width - len(here))
    below += [""] * (width - len(below))
    under = [j for j in range(width) if str(below[j]).strip()]
    fits = all(
        not str(here[j]).strip() or (j + 1 < width and not str(here[j + 1]).strip()) for j in under
    )
    return bool(under) and _texty(below) and fits and any(not str(here[j]).strip() for j in under)


def join_header(records: list[list[str]], found: HeaderFound, known: set[str]) -> list[str]:
    """One name per column from the header rows (merged group names carried right)."""
    if found.first == found.last:
        return [str(c) for c in records[found.last]]
    top, bottom = list(records[found.first]), list(records[found.last])
    width = max(len(top), len(bottom))
    top += [""] * (width - len(top))
    bottom += [""] * (width - len(bottom))
    carried: list[str] = []
    group = ""
    for j in range(width):
        t, b = str(top[j]).strip(), str(bottom[j]).strip()
        if t:
            group = t if b else ""
        elif not b:
            group = ""
        carried.append(t or (group if b else ""))
    out = []
    for t, b in zip(carried, bottom, strict=True):
        b = str(b).strip()
        if t and b:
            out.append(b if norm_header(b) in known else f"{t}_{b}")
        else:
            out.append(t or b)
    return out


def table_from_records(
    records: list[list[str]], known: set[str], *, forced: int | None = None, name: str = "file"
) -> Table:
    """A :class:`Table` from raw records: header found, joined, made unique; rows below it."""
    if not records:
        raise SourceError(
            _("%(name)s: the table is empty; expected a header row and data rows") % {"name": name}
        )
    if forced is None and is_headerless(records, known):
        return headerless_table(records)
    found = find_header(records, known, forced=forced, name=name)
    headers, renamed = unique_headers(join_header(records, found, known))
    places, by_address = _places_above(records, found.first)
    return Table(
        headers=headers,
        rows=[list(map(str, r)) for r in records[found.last + 1 :]],
        header_row=found.last + 1,
        preamble=[",".join(map(str, r)).strip(",") for r in records[: found.first]],
        renamed=renamed,
        skipped_places=places,
        skipped_by_address=by_address,
    )


#: Why the columns of a file without a header row are called column_1, column_2 …
NO_HEADER = "no header row in the file"


def headerless_table(records: list[list[str]]) -> Table:
    """A table for a file whose first line is already a place: every record is a row.

    The columns are named ``column_1`` … and found by their values
    (see :func:`civicmap.sources._guess.guess_columns`).
    """
    width = max(len(r) for r in records)
    headers = [f"column_{j}" for j in range(1, width + 1)]
    return Table(
        headers=headers,
        rows=[list(map(str, r)) for r in records],
        header_row=0,
        renamed=dict.fromkeys(headers, NO_HEADER),
        headerless=True,
    )


def rehead(
    table: Table, known: set[str], *, forced: int | None = None, name: str = "file"
) -> Table:
    """Search a parsed CSV table again for its header, deeper than the parser looks.

    The CSV parser looks at the first ten records; title and notes rows can
    run much longer. The records are put back together (the preamble is only
    titles, so splitting it again on commas is harmless) and searched afresh.
    """
    raw_header = ["" if table.renamed.get(h) == "empty header" else h for h in table.headers]
    records = [p.split(",") for p in table.preamble] + [raw_header] + table.rows
    if forced is None and is_headerless(records, known):
        return headerless_table(records)
    if forced is None and _score(raw_header, known) >= 2:
        if table.rows and _sub_header(raw_header, table.rows[0]):
            # a second header row under this one (a group cell over sub-headings)
            return table_from_records(records, known, forced=len(table.preamble) + 1, name=name)
        table.skipped_places, table.skipped_by_address = _places_above(records, len(table.preamble))
        return table
    return table_from_records(records, known, forced=forced, name=name)


#: LinkData.org's table format (municipal files published through linkdata.org,
#: e.g. 福井市): ``#`` lines above the header (``#LINK``, ``#license`` ...), the
#: header in the row whose first cell is ``#property``, and ``#`` lines right under
#: it that type the columns (``#object_type_xsd``, ``#property_context``).
LINKDATA_HEADER = "#property"


def split_annotations(table: Table, known: set[str] | None = None) -> Table:
    """Move the rows under the header that describe its columns out of the places.

    LinkData's ``#`` lines under a ``#property`` header (``float``,
    ``Assertion``), and a row of column descriptions right under an English
    header, as papamama-style lists have (``施設ID, 名称, …, 緯度, 経度`` under
    ``HID, Name, …, Y, X``): read as places each would be rejected for
    unreadable coordinates, though nothing needs fixing. They are reported as
    ``header_annotations`` instead. Other tables are returned unchanged.
    """
    if not table.headers:
        return table
    if str(table.headers[0]).strip().lower() == LINKDATA_HEADER:
        n = 0
        while n < len(table.rows) and table.rows[n] and str(table.rows[n][0]).startswith("#"):
            n += 1
        if n:
            table.annotations = [",".join(map(str, r)).rstrip(",") for r in table.rows[:n]]
            table.rows = table.rows[n:]
        return table
    if known and table.rows and not table.headerless:
        first = table.rows[0]
        if (
            _texty(first)
            and not looks_like_place(first)
            and _score(first, known) >= 2
            and _score(first, known) >= _score(table.headers, known) // 2
        ):
            table.annotations = [",".join(map(str, first)).rstrip(",")]
            table.rows = table.rows[1:]
    return table
