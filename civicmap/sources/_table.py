"""Any table → the common schema: the steps every table-like reader shares.

CSV, Excel, GeoJSON properties, KML ExtendedData and uMap features all end as a
table of text cells plus one geometry per row. What happens next is the same
for all of them, so it lives here once: which column is the name, address,
category (:func:`resolve_columns`); the ``join:`` and ``filter:`` options
(:func:`join_and_filter`); one Japan-extent check with a per-row reason
(:func:`outside_extent`); and filling the schema columns, disaster flags and
capacity (:func:`finish_frame`). Readers only turn their format into rows.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from civicmap._validate import COLUMN_HINT_CUTOFF, did_you_mean
from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import APPROXIMATE, CRS, Credit, RowProblem, SourceResult, conform
from civicmap.sources import _categories, _coords, _dates, _guard, _guess, layouts
from civicmap.sources._csvtext import Table, read_table
from civicmap.sources._extent import extent_of, extent_reason, inside, to_wgs84_in_extent
from civicmap.sources._header import split_annotations
from civicmap.sources._places import (
    geocode_rows,
    parse_coordinates,
    project,
    reject_unplaced,
)

log = logging.getLogger(__name__)

#: Keys allowed under ``columns:``.
COLUMN_KEYS = ("lat", "lon", "x", "y", "name", "name_kana", "name_en", "address", "category")
_EMPTYISH = {"", "-", "―", "ー", "－", "—"}


def table_frame(table: Table) -> pd.DataFrame:
    """The table's rows as a DataFrame of text (short rows padded, long rows widened)."""
    width = (
        max([len(table.headers), *(len(r) for r in table.rows)])
        if table.rows
        else len(table.headers)
    )
    headers = list(table.headers)
    for j in range(len(headers) + 1, width + 1):
        headers.append(f"column_{j}")
        table.renamed[f"column_{j}"] = "cells beyond the header row"
    table.headers = headers
    rows = [r + [""] * (width - len(r)) if len(r) < width else r for r in table.rows]
    return (
        pd.DataFrame(rows, columns=headers, dtype=object)
        if rows
        else pd.DataFrame({h: pd.Series(dtype=object) for h in headers})
    )


def _published(value: Any, headers: list[str]) -> Any:
    """The file's own header for a name the layer file typed with other widths or spaces.

    Headers are kept as published (``緯度：北緯（…）``); a layer file may type
    ``緯度:北緯(…)``: only the matching keys are folded.
    """
    if not isinstance(value, str) or value in headers:
        return value
    same = [h for h in headers if layouts.norm_header(h) == layouts.norm_header(value)]
    return same[0] if len(same) == 1 else value


def resolve_columns(
    headers: list[str],
    options: Mapping[str, Any],
    *,
    name: str,
    need_coords: bool = True,
    df: pd.DataFrame | None = None,
    reasons: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Detected (or overridden) lat, lon, name, name_kana, address and category columns.

    The alias table first, then the meaning of the headers and the values in
    ``df`` (:func:`civicmap.sources._guess.guess_columns`); why each column was
    taken is put in ``reasons``.

    Raises
    ------
    SourceError
        When an override names a column the file does not have, or no
        coordinate columns can be found and no address to geocode either.
    """
    over = dict(options.get("columns") or {})
    for key, value in over.items():
        if key not in COLUMN_KEYS:
            raise SourceError(
                _("%(name)s: columns.%(key)s: unknown key; expected one of %(value)s")
                % {"name": name, "key": key, "value": ", ".join(COLUMN_KEYS)}
            )
        values = value if isinstance(value, list) else [value]
        values = [_published(v, headers) for v in values]
        over[key] = values if isinstance(value, list) else values[0]
        for v in values:
            if v not in headers:
                raise SourceError(
                    _(
                        "%(name)s: columns.%(key)s: got %(v)r, expected one of the file's "
                        "columns%(hint)s: %(items)s"
                    )
                    % {
                        "name": name,
                        "key": key,
                        "v": v,
                        "hint": did_you_mean(v, headers, cutoff=COLUMN_HINT_CUTOFF),
                        "items": ", ".join(headers[:40]),
                    }
                )
    lat_guess, lon_guess = layouts.find_coordinates(headers)
    if {"layer", "source_ref", "name"} <= set(headers):
        # A file civicmap wrote (export or convert) is already in the common
        # schema: its own columns win over the original 名称/Name columns it keeps.
        for key in ("name", "name_kana", "address", "category"):
            if key in headers:
                over.setdefault(key, key)
    cols: dict[str, Any] = {
        "lat": over.get("lat") or over.get("y") or lat_guess,
        "lon": over.get("lon") or over.get("x") or lon_guess,
        "name": over.get("name") or layouts.find_column(headers, layouts.NAME_NAMES),
        "name_kana": over.get("name_kana") or layouts.find_column(headers, layouts.KANA_NAMES),
        # the name in Latin letters (名称_英字 of the 自治体標準オープンデータセット)
        "name_en": over.get("name_en") or layouts.find_column(headers, layouts.LATIN_NAMES),
        "address": over.get("address") or layouts.find_address(headers),
        "category": over.get("category") or layouts.find_column(headers, layouts.CATEGORY_NAMES),
    }
    if cols["name"] == cols["name_kana"]:
        cols["name_kana"] = None
    by_values = None
    if df is not None and not (cols["lat"] and cols["lon"]) and not ("lat" in over or "y" in over):
        by_values = _guess.coordinates_by_values(df, headers)
        if by_values:
            cols["lat"], cols["lon"] = by_values
    why = _guess.guess_columns(df, headers, cols, over)
    if by_values:
        why["lat"] = why["lon"] = _("its numbers are latitudes and longitudes in Japan")
    if options.get("_name_reason") and cols.get("name") == "name":
        why["name"] = str(options["_name_reason"])
    if reasons is not None:
        reasons.update(why)
    if need_coords and (not cols["lat"] or not cols["lon"]) and not cols["address"]:
        raise SourceError(
            _(
                "%(name)s: no coordinate columns found in %(value)s; expected headers like "
                "緯度/経度, 北緯/東経, Y/X or lat/lon, or give columns: {lat: ..., lon: ...} in the "
                "layer file (or an address column and geocode: true)"
            )
            % {"name": name, "value": headers[:15]}
        )
    return cols


def _display(series: pd.Series) -> pd.Series:
    """Cells as the publisher wrote them (only surrounding spaces removed).

    Used for the schema's display columns (name, name_kana, address, category).
    Display names keep full-width brackets and digits (（２階） stays （２階）);
    width is folded only in the keys used for matching and sorting
    (:func:`civicmap.names.match_key`). The one exception is half-width
    katakana (ﾊﾞｲﾊﾟｽ), a legacy-encoding form of the same letters that paper
    fonts render badly: it becomes バイパス.
    """
    return (
        series.astype(object)
        .where(series.notna(), "")
        .map(lambda s: _HALFWIDTH_KANA.sub(_fold_kana, str(s)).strip())
    )


_HALFWIDTH_KANA = re.compile(r"[\uff61-\uff9f]+")


def _fold_kana(m: re.Match) -> str:
    return unicodedata.normalize("NFKC", m.group(0))


def address_of(df: pd.DataFrame, col: str | list[str] | None) -> pd.Series:
    """One-line addresses: a column, or several columns joined."""
    if not col:
        return pd.Series([""] * len(df), index=df.index, dtype=object)
    if isinstance(col, list):
        parts = [df[c].astype(object).where(df[c].notna(), "").astype(str).str.strip() for c in col]
        out = parts[0]
        for p in parts[1:]:
            out = out + p
        return out.astype(object)
    return df[col].astype(object).where(df[col].notna(), "").astype(str).str.strip().astype(object)


def finish_frame(
    df: pd.DataFrame,
    geometry: list,
    *,
    source: str,
    layer: str,
    options: Mapping[str, Any],
    headers: list[str],
    cols: dict[str, Any],
    layout: str,
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Fill the common-schema columns and the layout extras; return the frame and notes.

    Shared by every table-like source (CSV, GeoJSON properties, KML
    ExtendedData): name (NFKC), name_kana, address, category, ``serves_*``
    disaster flags and a numeric ``capacity``.
    """
    notes: dict[str, Any] = {}
    df = df.copy()
    if "source" in df.columns and cols.get("name") != "source":
        # the file's own "source" column (e.g. 出典) must not overwrite the schema's
        # source (this file); it is kept, under another name
        df = df.rename(columns={"source": "source (in file)"})
        notes["renamed_source_column"] = "source (in file)"
    df["name"] = _display(df[cols["name"]]) if cols.get("name") else ""
    df["name_kana"] = _display(df[cols["name_kana"]]) if cols.get("name_kana") else ""
    if cols.get("name_en") and cols["name_en"] != "name:en":
        df["name:en"] = _display(df[cols["name_en"]])  # as OSM's name:en: maps in Latin letters
    if cols.get("address") and cols["address"] != "address":
        df["address"] = address_of(df, cols["address"])
    elif "address" not in df.columns:
        df["address"] = ""
    # shown like the name (長谷川ﾋﾞﾙ → 長谷川ビル); the file's own column stays as published
    df["address"] = _display(df["address"])
    cat = options.get("category")
    default = layouts.default_category(layout, headers)
    if isinstance(cat, Mapping):
        ccol = cat.get("column")
        if ccol not in df.columns:
            raise SourceError(
                _(
                    "%(source)s: category.column: got %(ccol)r, expected one of the columns: "
                    "%(items)s"
                )
                % {"source": source, "ccol": ccol, "items": ", ".join(headers[:40])}
            )
        df["category"] = _display(df[ccol])
        values = cat.get("values") or {}
        if not isinstance(values, Mapping):
            raise SourceError(
                _(
                    "%(source)s: category.values: got %(values)r, expected a mapping of value in "
                    "the file → category shown (e.g. {認可: 認可保育所})"
                )
                % {"source": source, "values": values}
            )
        if values:
            # rename the file's own values (e.g. 認可 → 認可保育所); others stay as published
            df["category"] = _categories.rename_by_key(df["category"], values)
        notes["category"] = ccol
    elif isinstance(cat, str):
        default = cat
        if "category" in df.columns and cols.get("category") != "category":
            df = df.drop(columns=["category"])
    elif cols.get("category"):
        df["category"] = _display(df[cols["category"]])
        notes["category"] = cols["category"]
    if "category" in df.columns:
        # shown as published; two spellings of one category become one (see _categories)
        df["category"], merged = _categories.unify_spellings(df["category"])
        if merged:
            notes["category_spellings"] = merged
    flags = layouts.add_disaster_flags(df, headers)
    if flags:
        notes["disaster_flags"] = {f"serves_{k}": h for k, h in flags.items()}
    capacity = layouts.extract_capacity(df, headers)
    if capacity:
        notes["capacity_from"] = capacity
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geometry, index=df.index, crs=CRS), crs=CRS)
    out = conform(gdf, layer=layer, source=source, category=default)
    notes["layout"] = layout
    return out, notes


def _join(
    df: pd.DataFrame, spec: Any, *, name: str, rejected: list[RowProblem]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Attach a coordinate-less table by a shared name column (``join: {path, on, columns}``)."""
    if not isinstance(spec, Mapping) or "path" not in spec or "on" not in spec:
        raise SourceError(
            _("%(name)s: join: got %(spec)r, expected {path: FILE, on: COLUMN, columns: [...]}")
            % {"name": name, "spec": spec}
        )
    jpath = Path(str(spec["path"]))
    if not jpath.exists():
        raise SourceError(
            _("%(name)s: join.path: file not found: %(jpath)s") % {"name": name, "jpath": jpath}
        )
    on = spec["on"]
    left_on, right_on = (on, on) if isinstance(on, str) else (on[0], on[1])
    table, decoded = read_table(jpath, encoding=spec.get("encoding"), known=layouts.KNOWN_HEADERS)
    right = table_frame(table)
    if left_on not in df.columns:
        raise SourceError(
            _("%(name)s: join.on: got %(left_on)r, expected one of this file's columns: %(items)s")
            % {"name": name, "left_on": left_on, "items": ", ".join(df.columns[:40])}
        )
    if right_on not in right.columns:
        raise SourceError(
            _("%(jpath_name)s: join.on: got %(right_on)r, expected one of its columns: %(items)s")
            % {
                "jpath_name": jpath.name,
                "right_on": right_on,
                "items": ", ".join(right.columns[:40]),
            }
        )
    wanted = spec.get("columns")
    if wanted is None:
        wanted = [c for c in right.columns if c != right_on and c not in df.columns]
    for c in wanted:
        if c not in right.columns:
            raise SourceError(
                _("%(jpath_name)s: join.columns: got %(c)r, expected one of its columns: %(items)s")
                % {"jpath_name": jpath.name, "c": c, "items": ", ".join(right.columns[:40])}
            )

    def key(v: Any) -> str:
        return "".join(unicodedata.normalize("NFKC", str(v)).split())

    lookup: dict[str, int] = {}
    for j, v in enumerate(right[right_on].tolist()):
        k = key(v)
        if not k:
            if any(str(c).strip() for c in right.iloc[j].tolist()):
                rejected.append(
                    RowProblem(
                        jpath.name,
                        j + 1,
                        _("join: empty %(column)s, cannot match") % {"column": right_on},
                    )
                )
            else:
                rejected.append(RowProblem(jpath.name, j + 1, _("join: empty row")))
            continue
        if k in lookup:
            rejected.append(
                RowProblem(
                    jpath.name,
                    j + 1,
                    _("join: duplicate %(column)s %(value)r (row %(row)d used)")
                    % {"column": right_on, "value": v, "row": lookup[k] + 1},
                )
            )
            continue
        lookup[k] = j
    left_keys = [key(v) for v in df[left_on].tolist()]
    matched_right = set()
    positions = []
    for k in left_keys:
        j = lookup.get(k)
        positions.append(j)
        if j is not None:
            matched_right.add(j)
    for j in lookup.values():
        if j not in matched_right:
            rejected.append(
                RowProblem(
                    jpath.name,
                    j + 1,
                    _("join: no row in %(file)s with %(column)s = %(value)r")
                    % {"file": name, "column": left_on, "value": right[right_on].iat[j]},
                )
            )
    df = df.copy()
    for c in wanted:
        target = c if c not in df.columns else f"{c} ({jpath.stem})"
        vals = right[c].tolist()
        df[target] = [vals[j] if j is not None else "" for j in positions]
    info = {
        "path": str(jpath),
        "encoding": decoded.encoding,
        "on": on,
        "columns": list(wanted),
        "rows": len(right),
        "matched": len(matched_right),
        "left_unmatched": sum(1 for j in positions if j is None),
    }
    return df, info


def join_and_filter(
    df: pd.DataFrame,
    options: Mapping[str, Any],
    *,
    name: str,
    rejected: list[RowProblem],
    warnings: list[dict[str, Any]],
    info: dict[str, Any],
) -> pd.DataFrame:
    """Apply the ``join:`` and ``filter:`` options of any table-like source.

    Unusable rows of a joined table go to ``rejected``; rows left out by the
    filter are counted in ``info["filtered_out"]`` and in one warning, so a
    build report says why the layer holds fewer places than the file.
    """
    if options.get("join") is not None:
        df, info["join"] = _join(df, options["join"], name=name, rejected=rejected)
    if options.get("filter") is not None:
        df, info["filtered_out"] = _apply_filter(df, options["filter"], name=name)
        if info["filtered_out"]:
            warnings.append(
                {
                    "row": "",
                    "column": ", ".join(map(str, options["filter"])),
                    "value": info["filtered_out"],
                    "reason": _(
                        "filter: %(filtered_out)s of %(total)s rows left out (filter: %(filter)s); they "
                        "are not on the map"
                    )
                    % {
                        "filtered_out": info["filtered_out"],
                        "total": len(df) + info["filtered_out"],
                        "filter": dict(options["filter"]),
                    },
                }
            )
    return df


def _apply_filter(df: pd.DataFrame, spec: Any, *, name: str) -> tuple[pd.DataFrame, int]:
    if not isinstance(spec, Mapping):
        raise SourceError(
            _("%(name)s: filter: got %(spec)r, expected {column: value or [values]}")
            % {"name": name, "spec": spec}
        )
    mask = pd.Series(True, index=df.index)
    for col, want in spec.items():
        if col not in df.columns:
            raise SourceError(
                _("%(name)s: filter.%(col)s: no such column; columns are: %(items)s")
                % {"name": name, "col": col, "items": ", ".join(df.columns[:40])}
            )
        values = {_categories.category_key(v) for v in (want if isinstance(want, list) else [want])}
        mask &= df[col].map(_categories.category_key).isin(values)
    return df[mask], int((~mask).sum())


def credit_of(credit: Any, path: Path) -> Credit:
    if isinstance(credit, Mapping):
        return Credit(
            source=str(credit.get("source", path.name)),
            credit=str(credit.get("credit", credit.get("source", path.name))),
            licence=str(credit.get("licence", "")),
            date=str(credit.get("date", "")),
            url=str(credit.get("url", "")),
        )
    if isinstance(credit, str):
        return Credit(source=path.name, credit=credit)
    return Credit(source=path.name, credit=path.name, stated=False)


# --- the table pipeline: CSV and Excel rows → SourceResult ------------------


#: Row-number columns (normalised headers) that templates pre-fill: 高松市's ``#property``
#: sheets number rows 1…10 and leave the rest empty (tests/test_real_municipal_files.py).
_ROW_NUMBER_HEADERS = {"#property", "property", "no", "no.", "№", "番号", "連番"}
_RUNNING_NUMBER = re.compile(r"[0-9]{1,6}")


def blank_rows(df: pd.DataFrame, headers: list[str]) -> np.ndarray:
    """Mask of rows with nothing in any cell (or only ``-``/``―`` placeholders).

    Such rows are the blank lines at the end of a spreadsheet export or an
    unfilled template row: skipped and counted, not reported as rejected places.
    A template row whose only content is its running number in a row-number
    column (``#property``, ``NO``, ``番号`` …) is unfilled too.
    """
    if not len(df):
        return np.zeros(0, dtype=bool)
    cells = df[headers].astype(object).where(df[headers].notna(), "")
    empty = cells.map(lambda c: str(c).strip() in _EMPTYISH)
    numbers = [h for h in headers if layouts.norm_header(h) in _ROW_NUMBER_HEADERS]
    if numbers and len(numbers) < len(headers):
        others = empty.drop(columns=numbers).all(axis=1)
        numbered = cells[numbers].map(
            lambda c: str(c).strip() in _EMPTYISH or bool(_RUNNING_NUMBER.fullmatch(str(c).strip()))
        )
        return (empty.all(axis=1) | (others & numbered.all(axis=1))).to_numpy()
    return empty.all(axis=1).to_numpy()


def _spreadsheet_warnings(df: pd.DataFrame, headers: list[str]) -> list[dict[str, Any]]:
    out = []
    for h in headers:
        for pos in _coords.excel_damaged(df[h]):
            out.append(
                {
                    "row": int(df.index[pos]),
                    "column": h,
                    "value": str(df[h].iat[pos]),
                    "reason": _(
                        "%(column)s = %(value)r was turned into exponent form by a spreadsheet; the lost "
                        "digits cannot be recovered, kept as text: fix it in the source file"
                    )
                    % {"column": h, "value": df[h].iat[pos]},
                }
            )
    return out


_LOST = re.compile(
    r"[\u3000-\u30ff\u4e00-\u9fff\uff01-\uffef]\?+[\u3000-\u30ff\u4e00-\u9fff\uff01-\uffef]"
)


def lost_characters(df: pd.DataFrame, headers: list[str]) -> list[dict[str, Any]]:
    """Cells of a repaired (mojibake) file where a character had already become ``?``.

    The program that first mangled the file wrote ``?`` for bytes it could not
    map (``幸町１２?１`` was ``幸町１２－１``); that character cannot be recovered
    from the file. The text is kept exactly as it is and each row is reported,
    so a volunteer can fix it at the source rather than trust a guess.
    """
    out = []
    for h in headers:
        for row, value in df[h].items():
            text = str(value)
            if "?" in text and _LOST.search(text):
                out.append(
                    {
                        "row": int(row),
                        "column": h,
                        "value": text,
                        "reason": _(
                            "%(column)s = %(text)r: a character was already lost as '?' in the file before "
                            "civicmap read it (mojibake saved by another program); kept as is: fix it in "
                            "the source file"
                        )
                        % {"column": h, "text": text},
                    }
                )
    return out


#: A cell this short is a mark (◎, ○, ●, 1), not a place's name.
_MARK_LEN = 2


def name_beside_marks(
    df: pd.DataFrame,
    headers: list[str],
    cols: Mapping[str, Any],
    renamed: Mapping[str, str],
    *,
    options: Mapping[str, Any],
) -> str | None:
    """The column that really holds the names when the name header spans two columns.

    Japanese spreadsheets merge a header cell over a mark column and the name
    column (神戸市's こうべ・だれでもトイレ一覧: ``施　設　名`` over ``◎`` |
    ``三宮バスターミナル``); read cell by cell, the header names the marks and the
    names sit under an empty header. Returns that column when the named one
    holds only marks and the unnamed one right of it holds longer texts; None
    otherwise, or when the layer file names the column itself.
    """
    col = cols.get("name")
    given = options.get("columns")
    if not col or (isinstance(given, Mapping) and given.get("name")) or col not in headers:
        return None
    i = headers.index(col)
    if i + 1 >= len(headers) or renamed.get(headers[i + 1]) != "empty header":
        return None
    here = [str(v).strip() for v in df[col] if str(v).strip()]
    there = [str(v).strip() for v in df[headers[i + 1]] if str(v).strip()]
    if not here or len(there) < 0.9 * len(here):  # a heading row may fill only the first
        return None
    marks = sum(len(v) <= _MARK_LEN for v in here) / len(here)
    texts = sum(len(v) > _MARK_LEN for v in there) / len(there)
    return headers[i + 1] if marks >= 0.9 and texts >= 0.9 else None


def table_result(
    table: Table,
    *,
    path: Path,
    layer: str,
    options: Mapping[str, Any],
    info: dict[str, Any],
) -> SourceResult:
    """Turn a parsed table (CSV or spreadsheet) into a SourceResult.

    The steps, each its own function: frame the rows; skip blank rows (counted
    in ``info["skipped_blank"]``); find the columns; join and filter; read the
    coordinates, convert them from the ``crs:`` given; check them against the
    extent (swapped pairs put back); geocode or reject the rest; fill the
    schema. Every data row is mapped, rejected or counted as blank.
    """
    name = path.name
    table = split_annotations(table, layouts.KNOWN_HEADERS)
    df = table_frame(table)
    headers = list(table.headers)
    n_rows = len(df)
    df.index = pd.RangeIndex(1, n_rows + 1)  # data row numbers (1 = first row under the header)
    blank = blank_rows(df, headers)
    skipped = [int(r) for r in df.index[blank]]
    df = df[~blank]
    layout = layouts.choose_layout(headers, options.get("layout"), name=name)
    reasons: dict[str, str] = {}
    cols = resolve_columns(
        headers,
        options,
        name=name,
        need_coords=options.get("_require_coordinates", True),
        df=df,
        reasons=reasons,
    )
    if table.headerless:
        info.setdefault("warnings", []).append(
            {
                "row": "",
                "column": "",
                "value": "",
                "reason": _(
                    "no header row: line 1 is already a place, so every line is read as a place "
                    "and the columns are found by their values; give header_row: in the layer "
                    "file if the file has a header"
                ),
            }
        )
    beside = name_beside_marks(df, headers, cols, table.renamed, options=options)
    if beside:
        info["name_column_note"] = _(
            "names taken from %(beside)r, the unnamed column right of %(named)r (a merged "
            "header cell over both); %(named)r holds only marks such as ◎/○ and is kept "
            "as a column"
        ) % {"beside": beside, "named": cols["name"]}
        cols["name"] = beside
        reasons["name"] = info["name_column_note"]
    above = {"n": len(table.skipped_places), "header": table.header_row}
    rejected: list[RowProblem] = [
        RowProblem(
            name,
            _("above the header, line %(line)d") % {"line": line},
            (
                _(
                    "%(n)d lines above the header (line %(header)d) look like places (this one "
                    "has an address) and are not read; is there a header? give header_row: in "
                    "the layer file"
                )
                if line in table.skipped_by_address
                else _(
                    "%(n)d lines above the header (line %(header)d) look like places (this one "
                    "has coordinates in Japan) and are not read; is there a header? give "
                    "header_row: in the layer file"
                )
            )
            % above,
            code="skipped_above_header",
        )
        for line in table.skipped_places
    ]
    repaired: list[RowProblem] = []
    warnings: list[dict[str, Any]] = info.setdefault("warnings", [])
    df = join_and_filter(df, options, name=name, rejected=rejected, warnings=warnings, info=info)
    df, converted = _dates.convert_date_columns(df, headers)
    if converted:
        info["dates_converted"] = converted
    warnings.extend(_spreadsheet_warnings(df, headers))
    if info.get("file_repairs"):
        warnings.extend(lost_characters(df, headers))
    box = extent_of(options, name=name)
    info["_preamble"] = list(table.preamble)
    addresses = address_of(df, cols["address"])
    lat, lon, latp, lonp = parse_coordinates(df, cols)
    lat, lon = project(
        lat, lon, options=options, cols=cols, addresses=addresses, name=name, box=box, info=info
    )
    info.pop("_preamble", None)
    zero = (lat == 0) | (lon == 0)
    lat[zero] = np.nan
    lon[zero] = np.nan
    ok = inside(lat, lon, box)
    swapped = ~ok & inside(lon, lat, box)
    lat[swapped], lon[swapped] = lon[swapped].copy(), lat[swapped].copy()
    ok = ok | swapped
    approximate = np.zeros(len(df), dtype=bool)
    to_geocode: list[int] = []
    reason_outside = extent_reason(box, custom=options.get("extent") is not None)
    for pos in np.flatnonzero(~ok):
        has_coords = not (np.isnan(lat[pos]) or np.isnan(lon[pos]))
        if not has_coords and not (latp.errors.get(pos) or lonp.errors.get(pos)):
            if addresses.iat[pos]:
                to_geocode.append(int(pos))
                continue
        rejected.append(
            reject_unplaced(
                df,
                int(pos),
                cols=cols,
                lat=lat,
                lon=lon,
                zero=zero,
                latp=latp,
                lonp=lonp,
                name=name,
                reason_outside=reason_outside,
            )
        )
    geocode_rows(
        to_geocode,
        df=df,
        addresses=addresses,
        options=options,
        name=name,
        lat=lat,
        lon=lon,
        ok=ok,
        approximate=approximate,
        box=box,
        rejected=rejected,
        repaired=repaired,
    )
    for pos in np.flatnonzero(ok):
        how = [n for n in (latp.notes.get(pos), lonp.notes.get(pos)) if n]
        if swapped[pos]:
            how.append(
                _("latitude and longitude swapped (%(lat)s=%(la)r, %(lon)s=%(lo)r); swapped back")
                % {"lat": cols["lat"], "la": df[cols["lat"]].iat[pos],
                   "lon": cols["lon"], "lo": df[cols["lon"]].iat[pos]}
            )  # fmt: skip
        if how:
            repaired.append(RowProblem(name, int(df.index[pos]), "; ".join(dict.fromkeys(how))))
    repaired.sort(key=lambda p: p.row if isinstance(p.row, int) else 0)
    rejected.sort(key=lambda p: (p.source != name, p.row if isinstance(p.row, int) else 0))

    keep = df[ok].copy()
    keep["source_ref"] = [f"{name}:{r}" for r in keep.index]
    keep[APPROXIMATE] = approximate[ok]
    out, notes = finish_frame(
        keep,
        gpd.points_from_xy(lon[ok], lat[ok]),
        source=name,
        layer=layer,
        options=options,
        headers=headers,
        cols=cols,
        layout=layout,
    )
    out = out.reset_index(drop=True)
    info.update(
        {
            "layout": layout,
            "columns": dict(cols),
            "column_reasons": reasons,
            "header_row": table.header_row,
            "preamble": table.preamble,
            **({"header_annotations": table.annotations} if table.annotations else {}),
            "renamed_columns": dict(table.renamed),
            "rows": n_rows + len(table.skipped_places),
            "mapped": len(out),
            "skipped_blank": len(skipped),
            "blank_rows": skipped,
            **notes,
        }
    )
    return SourceResult(
        features=out,
        credit=credit_of(options.get("credit"), path),
        rejected=rejected,
        repaired=repaired,
        info=info,
    )


#: CSV-only options: accepted in every file source, but with nothing to do here.
_CSV_ONLY = {
    "encoding": "the encoding of GeoJSON, KML and .umap files is read from the file itself",
    "geocode": "every feature of a GeoJSON, KML or .umap file already has its geometry",
}


#: Geometry further than this from the file's own 緯度/経度 columns is a wrong CRS, not rounding.
DRIFT_KM = 1.0


def _drift_from_own_columns(
    frame: gpd.GeoDataFrame, headers: list[str]
) -> tuple[int, float, list[str]] | None:
    """(features compared, median distance in km, columns) when points sit far from their own 緯度/経度.

    A ``.prj`` or ``crs`` member that names the wrong datum or zone moves every
    point (by hundreds of metres to tens of kilometres) while the attribute table
    still holds the published latitude and longitude: comparing the two shows it.
    """
    lat_h, lon_h = layouts.find_coordinates(headers)
    if not lat_h or not lon_h or lat_h not in frame.columns or lon_h not in frame.columns:
        return None
    points = frame.geometry.geom_type == "Point"
    if not points.any():
        return None
    lat = _coords.parse_column(frame.loc[points, lat_h].astype(object)).values
    lon = _coords.parse_column(frame.loc[points, lon_h].astype(object)).values
    gx = frame.geometry[points].x.to_numpy()
    gy = frame.geometry[points].y.to_numpy()
    ok = ~(np.isnan(lat) | np.isnan(lon))
    if ok.sum() < 1:
        return None
    dy = (gy[ok] - lat[ok]) * 110.57
    dx = (gx[ok] - lon[ok]) * 111.32 * np.cos(np.radians(lat[ok]))
    km = float(np.median(np.hypot(dx, dy)))
    return (int(ok.sum()), km, [lat_h, lon_h]) if km > DRIFT_KM else None


def records_result(
    records: list[dict[str, Any]],
    geometries: list,
    refs: list[int],
    *,
    path: Path,
    layer: str,
    options: Mapping[str, Any],
    rejected: list[RowProblem],
    info: dict[str, Any],
    rows: int,
    category_from_container: bool = False,
    crs: Any = None,
) -> SourceResult:
    """Turn property records + geometries into a SourceResult via the CSV column logic.

    ``category_from_container``: the records' ``category`` was filled from the
    KML folder or uMap datalayer, so it is the category column. ``crs``: the
    CRS the file declared (GeoJSON ``crs`` member, ``.prj``), which the layer's
    ``crs:`` overrides; geometries are converted to EPSG:4326 and then
    checked against the extent (Japan unless the layer gives ``extent:``)
    like CSV rows, each one outside rejected with the same reason.
    """
    name = path.name
    if not records and category_from_container and not (rows == 0 and info.get("umap_remote")):
        # KML / .umap with nothing to draw: say why instead of failing later (a .umap
        # whose only layers load remote data is reported with their URLs instead)
        _guard.no_usable_feature(path, rows=rows, rejected=rejected)
    warnings: list[dict[str, Any]] = info.setdefault("warnings", [])
    for key, why in _CSV_ONLY.items():
        if options.get(key):
            warnings.append(
                {
                    "row": "",
                    "column": key,
                    "value": options[key],
                    "reason": _(
                        "%(key)s: ignored for %(name)s (%(why)s); remove it from the layer file"
                    )
                    % {"key": key, "name": name, "why": why},
                }
            )
    records, geometries, refs = to_wgs84_in_extent(
        records,
        geometries,
        refs,
        options=options,
        declared=crs,
        name=name,
        rejected=rejected,
        info=info,
    )
    outside = sum(1 for p in rejected if p.code == "outside_extent")
    if info.get("crs") and rows and outside * 2 > rows:
        warnings.append(
            {
                "row": "",
                "column": "crs",
                "value": info["crs"],
                "reason": _(
                    "%(n)d of %(rows)d features fall outside the extent after converting from "
                    "%(crs)s, the coordinate system the file declares (.prj or crs member); if "
                    "that declaration is wrong, give the right one with crs: in the layer file"
                )
                % {"n": outside, "rows": rows, "crs": info["crs"]},
            }
        )
    if category_from_container and not any(str(r.get("category") or "").strip() for r in records):
        # no folder or layer names a kind of place: look for the category among the columns
        records = [{k: v for k, v in r.items() if k != "category"} for r in records]
        category_from_container = False
    df = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    df = df.astype(object) if len(df.columns) else df
    df.index = pd.RangeIndex(len(df))  # positions in records / geometries / refs
    headers = [str(c) for c in df.columns]
    df.columns = headers
    reasons: dict[str, str] = {}
    if not headers:
        # every feature was outside the extent (each one rejected above) or the file holds
        # none: there are no columns to name, and none to complain about
        options = {k: v for k, v in options.items() if k != "columns"}
        category_from_container = False
    cols = resolve_columns(headers, options, name=name, need_coords=False, df=df, reasons=reasons)
    cols["lat"] = cols["lon"] = None
    reasons.pop("lat", None)
    reasons.pop("lon", None)
    if category_from_container:
        cols["category"] = "category"
        reasons["category"] = _("the folder or layer the place is in")
    layout = layouts.choose_layout(headers, options.get("layout"), name=name)
    df = join_and_filter(df, options, name=name, rejected=rejected, warnings=warnings, info=info)
    df["source_ref"] = [f"{name}:{refs[i]}" for i in df.index]
    out, notes = finish_frame(
        df,
        [geometries[i] for i in df.index],
        source=name,
        layer=layer,
        options=options,
        headers=headers,
        cols=cols,
        layout=layout,
    )
    drift = _drift_from_own_columns(out, headers)
    if drift:
        warnings.append(
            {
                "row": "",
                "column": ", ".join(drift[2]),
                "value": round(drift[1], 1),
                "reason": _(
                    "the geometry of %(n)d features lies a median %(km).1f km from the file's own "
                    "%(columns)s columns; the declared coordinate system (%(crs)s) is probably "
                    "wrong: give the right one with crs: in the layer file, or check the file"
                )
                % {
                    "n": drift[0],
                    "km": drift[1],
                    "columns": "/".join(drift[2]),
                    "crs": info.get("crs") or "EPSG:4326",
                },
            }
        )
    info.update(
        {
            "encoding": info.get("encoding", "utf-8"),
            "layout": layout,
            "columns": cols,
            "column_reasons": reasons,
            "rows": rows,
            "mapped": len(out),
            **notes,
        }
    )
    return SourceResult(
        features=out.reset_index(drop=True),
        credit=credit_of(options.get("credit"), path),
        rejected=rejected,
        repaired=info.pop("_repaired", []),
        info=info,
    )
