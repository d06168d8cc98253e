"""Japanese open-data CSV files: what municipalities actually publish.

Municipal lists come in UTF-8 with or without BOM, Shift_JIS/cp932, UTF-16,
sometimes as mojibake; with 緯度/経度, 北緯/東経, Y/X or lat/lon headers (full-width,
spaced, split over two lines); with full-width digits, degrees-minutes-seconds,
swapped columns, zeros and blanks. This reader finds all of that without being
told, repairs what it can prove, and reports every row it changed or could not
place (with the data row number, 1 = the first row under the header). Code and
ID columns stay text, so leading zeros survive.

Layer-file options (``FILE_SOURCE_KEYS`` in :mod:`civicmap.layers`): ``columns``
overrides any guess (``address`` may be a list of columns to join), ``encoding``
and ``layout`` force what is otherwise detected, ``geocode: true`` places rows
that only have an address (flagged ``approximate``), ``join: {path, on,
columns}`` attaches a table without coordinates by name, ``filter`` keeps only
matching rows.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from civicmap.errors import SourceError
from civicmap.schema import APPROXIMATE, CRS, Credit, RowProblem, SourceResult, conform
from civicmap.sources import _coords, layouts
from civicmap.sources._csvtext import Table, norm_header, read_table

log = logging.getLogger(__name__)

# Kept for callers that imported them from here.
LAT_NAMES = layouts.LAT_NAMES
LON_NAMES = layouts.LON_NAMES
NAME_NAMES = layouts.NAME_NAMES
KANA_NAMES = layouts.KANA_NAMES
ADDRESS_NAMES = layouts.ADDRESS_NAMES

#: Keys allowed under ``columns:``.
COLUMN_KEYS = ("lat", "lon", "x", "y", "name", "name_kana", "address", "category")
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


def resolve_columns(
    headers: list[str], options: Mapping[str, Any], *, name: str, need_coords: bool = True
) -> dict[str, Any]:
    """Detected (or overridden) lat, lon, name, name_kana, address and category columns.

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
                f"{name}: columns.{key}: unknown key; expected one of {', '.join(COLUMN_KEYS)}"
            )
        values = value if isinstance(value, list) else [value]
        for v in values:
            if v not in headers:
                raise SourceError(
                    f"{name}: columns.{key}: got {v!r}, expected one of the file's columns: "
                    + ", ".join(headers[:40])
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
        "address": over.get("address") or layouts.find_address(headers),
        "category": over.get("category") or layouts.find_column(headers, layouts.CATEGORY_NAMES),
    }
    if cols["name"] == cols["name_kana"]:
        cols["name_kana"] = None
    if need_coords and (not cols["lat"] or not cols["lon"]) and not cols["address"]:
        raise SourceError(
            f"{name}: no coordinate columns found in {headers[:15]}; expected headers like "
            "緯度/経度, 北緯/東経, Y/X or lat/lon, or give columns: {lat: ..., lon: ...} in the "
            "layer file (or an address column and geocode: true)"
        )
    return cols


def _text(series: pd.Series) -> pd.Series:
    return (
        series.astype(object)
        .where(series.notna(), "")
        .map(lambda s: unicodedata.normalize("NFKC", str(s)).strip())
    )


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
    df["name"] = _text(df[cols["name"]]) if cols.get("name") else ""
    df["name_kana"] = _text(df[cols["name_kana"]]) if cols.get("name_kana") else ""
    if cols.get("address") and cols["address"] != "address":
        df["address"] = address_of(df, cols["address"])
    elif "address" not in df.columns:
        df["address"] = ""
    cat = options.get("category")
    default = layouts.default_category(layout, headers)
    if isinstance(cat, Mapping):
        ccol = cat.get("column")
        if ccol not in df.columns:
            raise SourceError(
                f"{source}: category.column: got {ccol!r}, expected one of the columns: "
                + ", ".join(headers[:40])
            )
        df["category"] = _text(df[ccol])
        values = cat.get("values") or {}
        if not isinstance(values, Mapping):
            raise SourceError(
                f"{source}: category.values: got {values!r}, expected a mapping of "
                "value in the file → category shown (e.g. {認可: 認可保育所})"
            )
        if values:
            # rename the file's own values (e.g. 認可 → 認可保育所); others stay as published
            df["category"] = df["category"].map(lambda v: str(values.get(v, v)))
        notes["category"] = ccol
    elif isinstance(cat, str):
        default = cat
        if "category" in df.columns and cols.get("category") != "category":
            df = df.drop(columns=["category"])
    elif cols.get("category"):
        df["category"] = _text(df[cols["category"]])
        notes["category"] = cols["category"]
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
            f"{name}: join: got {spec!r}, expected {{path: FILE, on: COLUMN, columns: [...]}}"
        )
    jpath = Path(str(spec["path"]))
    if not jpath.exists():
        raise SourceError(f"{name}: join.path: file not found: {jpath}")
    on = spec["on"]
    left_on, right_on = (on, on) if isinstance(on, str) else (on[0], on[1])
    table, decoded = read_table(jpath, encoding=spec.get("encoding"), known=layouts.KNOWN_HEADERS)
    right = table_frame(table)
    if left_on not in df.columns:
        raise SourceError(
            f"{name}: join.on: got {left_on!r}, expected one of this file's columns: "
            + ", ".join(df.columns[:40])
        )
    if right_on not in right.columns:
        raise SourceError(
            f"{jpath.name}: join.on: got {right_on!r}, expected one of its columns: "
            + ", ".join(right.columns[:40])
        )
    wanted = spec.get("columns")
    if wanted is None:
        wanted = [c for c in right.columns if c != right_on and c not in df.columns]
    for c in wanted:
        if c not in right.columns:
            raise SourceError(
                f"{jpath.name}: join.columns: got {c!r}, expected one of its columns: "
                + ", ".join(right.columns[:40])
            )

    def key(v: Any) -> str:
        return "".join(unicodedata.normalize("NFKC", str(v)).split())

    lookup: dict[str, int] = {}
    for j, v in enumerate(right[right_on].tolist()):
        k = key(v)
        if not k:
            if any(str(c).strip() for c in right.iloc[j].tolist()):
                rejected.append(
                    RowProblem(jpath.name, j + 1, f"join: empty {right_on}, cannot match")
                )
            else:
                rejected.append(RowProblem(jpath.name, j + 1, "join: empty row"))
            continue
        if k in lookup:
            rejected.append(
                RowProblem(
                    jpath.name,
                    j + 1,
                    f"join: duplicate {right_on} {v!r} (row {lookup[k] + 1} used)",
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
                    f"join: no row in {name} with {left_on} = {right[right_on].iat[j]!r}",
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
                    "reason": f"filter: {info['filtered_out']} of {len(df) + info['filtered_out']} "
                    f"rows left out (filter: {dict(options['filter'])}); they are not on the map",
                }
            )
    return df


def _apply_filter(df: pd.DataFrame, spec: Any, *, name: str) -> tuple[pd.DataFrame, int]:
    if not isinstance(spec, Mapping):
        raise SourceError(f"{name}: filter: got {spec!r}, expected {{column: value or [values]}}")
    mask = pd.Series(True, index=df.index)
    for col, want in spec.items():
        if col not in df.columns:
            raise SourceError(
                f"{name}: filter.{col}: no such column; columns are: " + ", ".join(df.columns[:40])
            )
        values = {str(v) for v in (want if isinstance(want, list) else [want])}
        mask &= _text(df[col]).isin(values)
    return df[mask], int((~mask).sum())


def read_csv(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a CSV of places into the common schema.

    Every row ends up on the map, in ``repaired`` as well (with how), or in
    ``rejected`` with its row number and the reason; ``info`` holds what
    ``civicmap check`` prints (encoding, layout, columns, rows, mapped).
    """
    options = dict(options or {})
    path = Path(path)
    name = path.name
    table, decoded = read_table(path, encoding=options.get("encoding"), known=layouts.KNOWN_HEADERS)
    df = table_frame(table)
    headers = list(table.headers)
    n_rows = len(df)
    df.index = pd.RangeIndex(1, n_rows + 1)  # data row numbers
    layout = layouts.choose_layout(headers, options.get("layout"), name=name)
    cols = resolve_columns(
        headers, options, name=name, need_coords=options.get("_require_coordinates", True)
    )
    rejected: list[RowProblem] = []
    repaired: list[RowProblem] = []
    repaired += [RowProblem(name, f"line {n}", how) for n, how in decoded.line_repairs]
    warnings: list[dict[str, Any]] = []
    info: dict[str, Any] = {}
    df = join_and_filter(df, options, name=name, rejected=rejected, warnings=warnings, info=info)

    for h in headers:
        for pos in _coords.excel_damaged(df[h]):
            row = int(df.index[pos])
            warnings.append(
                {
                    "row": row,
                    "column": h,
                    "value": str(df[h].iat[pos]),
                    "reason": f"{h} = {df[h].iat[pos]!r} was turned into exponent form by a spreadsheet; "
                    "the lost digits cannot be recovered, kept as text: fix it in the source file",
                }
            )

    if cols["lat"] and cols["lon"]:
        latp = _coords.parse_column(df[cols["lat"]])
        lonp = _coords.parse_column(df[cols["lon"]])
        lat, lon = latp.values.copy(), lonp.values.copy()
    else:
        latp = lonp = _coords.ParsedColumn(np.full(len(df), np.nan), {}, {})
        lat, lon = np.full(len(df), np.nan), np.full(len(df), np.nan)
    zero = (lat == 0) | (lon == 0)
    lat[zero] = np.nan
    lon[zero] = np.nan
    ok = _coords.in_japan(lat, lon)
    swapped = ~ok & _coords.in_japan(lon, lat)
    lat[swapped], lon[swapped] = lon[swapped].copy(), lat[swapped].copy()
    ok = ok | swapped
    addresses = address_of(df, cols["address"])
    approximate = np.zeros(len(df), dtype=bool)
    to_geocode: list[int] = []
    positions = np.arange(len(df))
    for pos in positions[~ok]:
        row = int(df.index[pos])
        la_raw = df[cols["lat"]].iat[pos] if cols["lat"] else ""
        lo_raw = df[cols["lon"]].iat[pos] if cols["lon"] else ""
        err = latp.errors.get(pos) or lonp.errors.get(pos)
        has_coords = not (np.isnan(lat[pos]) or np.isnan(lon[pos]))
        if has_coords:
            rejected.append(
                RowProblem(
                    name,
                    row,
                    (
                        f"outside Japan: {cols['lat']}={la_raw!r}, {cols['lon']}={lo_raw!r}; expected latitude "
                        f"{_coords.JAPAN_LAT[0]:g}–{_coords.JAPAN_LAT[1]:g} and longitude "
                        f"{_coords.JAPAN_LON[0]:g}–{_coords.JAPAN_LON[1]:g} (a missing decimal point? metres?)"
                    ),
                )
            )
            continue
        if err:
            col = cols["lat"] if pos in latp.errors else cols["lon"]
            rejected.append(
                RowProblem(
                    name,
                    row,
                    f"unreadable coordinate in {col}: {err}; expected decimal degrees "
                    "(e.g. 35.6895) or degrees-minutes-seconds: fix the cell in the file",
                )
            )
            continue
        if addresses.iat[pos]:
            to_geocode.append(pos)
            continue
        cells = [str(c).strip() for c in df.iloc[pos, : len(headers)].tolist()]
        if all(c in _EMPTYISH for c in cells):
            rejected.append(RowProblem(name, row, "empty row"))
        else:
            what = (
                "coordinates are 0 (unknown)"
                if zero[pos]
                else "incomplete coordinates"
                if str(la_raw).strip() or str(lo_raw).strip()
                else "no coordinates"
            )
            where = (
                f" ({cols['lat']}={la_raw!r}, {cols['lon']}={lo_raw!r})"
                if cols["lat"] and cols["lon"]
                else " (the file has no coordinate columns)"
            )
            rejected.append(
                RowProblem(
                    name,
                    row,
                    f"{what}{where} and no address to geocode"
                    + (f"; name {cells_name(df, cols, pos)!r}" if cols["name"] else ""),
                )
            )
    if to_geocode:
        if options.get("geocode"):
            from civicmap.sources import geocode

            results = geocode.geocode_many([addresses.iat[p] for p in to_geocode])
            for pos in to_geocode:
                point, title = results[geocode.normalise_address(addresses.iat[pos])]
                row = int(df.index[pos])
                if (
                    point is None
                    or not _coords.in_japan(np.array([point[1]]), np.array([point[0]]))[0]
                ):
                    rejected.append(
                        RowProblem(
                            name,
                            row,
                            title
                            if point is None
                            else f"geocoded outside Japan: {addresses.iat[pos]!r} → {point}",
                        )
                    )
                    continue
                lon[pos], lat[pos] = point
                ok[pos] = True
                approximate[pos] = True
                repaired.append(
                    RowProblem(
                        name,
                        row,
                        f"geocoded from address {addresses.iat[pos]!r} (matched {title!r}); approximate",
                    )
                )
        else:
            for pos in to_geocode:
                rejected.append(
                    RowProblem(
                        name,
                        int(df.index[pos]),
                        f"address only, no coordinates: {addresses.iat[pos]!r}; set geocode: true in the "
                        "layer file to place it approximately",
                    )
                )
    for pos in positions[ok]:
        how = [n for n in (latp.notes.get(pos), lonp.notes.get(pos)) if n]
        if swapped[pos]:
            how.append(
                f"latitude and longitude swapped ({cols['lat']}={df[cols['lat']].iat[pos]!r}, "
                f"{cols['lon']}={df[cols['lon']].iat[pos]!r}); swapped back"
            )
        if how:
            repaired.append(RowProblem(name, int(df.index[pos]), "; ".join(dict.fromkeys(how))))
    repaired.sort(key=lambda p: p.row if isinstance(p.row, int) else 0)
    rejected.sort(key=lambda p: (p.source != name, p.row if isinstance(p.row, int) else 0))

    keep = df[ok].copy()
    keep["source_ref"] = [f"{name}:{r}" for r in keep.index]
    keep[APPROXIMATE] = approximate[ok]
    geometry = gpd.points_from_xy(lon[ok], lat[ok])
    out, notes = finish_frame(
        keep,
        geometry,
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
            "encoding": decoded.encoding,
            "file_repairs": list(decoded.repairs),
            "layout": layout,
            "columns": {k: v for k, v in cols.items()},
            "header_row": table.header_row,
            "preamble": table.preamble,
            "renamed_columns": dict(table.renamed),
            "rows": n_rows,
            "mapped": len(out),
            "warnings": warnings,
            **notes,
        }
    )
    return SourceResult(
        features=out,
        credit=_credit(options.get("credit"), path),
        rejected=rejected,
        repaired=repaired,
        info=info,
    )


def cells_name(df: pd.DataFrame, cols: dict[str, Any], pos: int) -> str:
    """The row's name, for messages."""
    return str(df[cols["name"]].iat[pos]).strip() if cols.get("name") else ""


def _credit(credit: Any, path: Path) -> Credit:
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
    return Credit(source=path.name, credit=path.name)


__all__ = ["finish_frame", "norm_header", "read_csv", "resolve_columns", "table_frame"]
