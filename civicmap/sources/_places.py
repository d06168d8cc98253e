"""Coordinates of table rows: parse, convert from the ``crs:`` given, geocode or reject.

The steps of :func:`civicmap.sources._table.table_result` that decide where a
row goes on the map, and why a row that cannot be placed is rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from civicmap.i18n import _
from civicmap.schema import RowProblem
from civicmap.sources import _coords, _crs, geocode
from civicmap.sources._csvtext import norm_header
from civicmap.sources._extent import inside


def cells_name(df: pd.DataFrame, cols: dict[str, Any], pos: int) -> str:
    """The row's name, for messages."""
    return str(df[cols["name"]].iat[pos]).strip() if cols.get("name") else ""


def parse_coordinates(
    df: pd.DataFrame, cols: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, _coords.ParsedColumn, _coords.ParsedColumn]:
    """Numbers from the lat/lon columns, with each cell's repair note or error."""
    if cols["lat"] and cols["lon"]:
        latp = _coords.parse_column(df[cols["lat"]])
        lonp = _coords.parse_column(df[cols["lon"]])
        return latp.values.copy(), lonp.values.copy(), latp, lonp
    empty = _coords.ParsedColumn(np.full(len(df), np.nan), {}, {})
    return np.full(len(df), np.nan), np.full(len(df), np.nan), empty, empty


def project(
    lat: np.ndarray,
    lon: np.ndarray,
    *,
    options: Mapping[str, Any],
    cols: Mapping[str, Any],
    addresses: pd.Series,
    name: str,
    box: tuple[float, float, float, float],
    info: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """Convert projected or non-WGS84 coordinates to longitude/latitude (``crs:`` option).

    Plane-rectangular metres come in two axis conventions: surveying's (and
    the 平面直角座標系 definition's) X = north, Y = east, and GIS's x = east.
    Columns given in ``columns: {x, y}`` are taken as x = east, y = north.
    Columns found by their names X/Y follow the survey convention. Either way,
    when the other reading puts strictly more points inside the extent, it
    wins; ``info["crs_axes"]`` says which was used.
    """
    given_crs = options.get("crs")
    if given_crs is None:
        if not _crs.looks_metric(lon, lat):
            return lat, lon
        named = _crs.zone_in_text(
            [str(cols.get("lat") or ""), str(cols.get("lon") or ""), *info.get("_preamble", [])]
        )
        if named is None:
            raise _crs.metres_error(name, addresses.tolist())
        given_crs = named[0]
        info.setdefault("warnings", []).append(
            {
                "row": "",
                "column": "crs",
                "value": named[0],
                "reason": _(
                    "coordinates in metres; 平面直角座標系 第%(zone)s系 taken from %(column)r; give crs: in the "
                    "layer file if that is wrong"
                )
                % {"zone": named[0], "column": named[1]},
            }
        )
    crs = _crs.parse_crs(given_crs, name=name)
    info["crs"] = _crs.label(crs)
    if _crs.is_wgs84_like(crs):
        return lat, lon
    tr = _crs.transformer(crs)
    if not crs.is_projected:
        x, y = tr.transform(lon, lat)
        return np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    given = options.get("columns") or {}
    named_xy = (
        not any(k in given for k in ("lat", "lon", "x", "y"))
        and norm_header(str(cols.get("lat") or "")).startswith("y")
        and norm_header(str(cols.get("lon") or "")).startswith("x")
    )
    # reading 1: the lat/y column is north; reading 2: the lon/X column is north
    e1, n1 = tr.transform(lon, lat)
    e2, n2 = tr.transform(lat, lon)
    a = int(inside(np.asarray(n1), np.asarray(e1), box).sum())
    b = int(inside(np.asarray(n2), np.asarray(e2), box).sum())
    survey = b > a or (b == a and named_xy)
    if survey:
        info["crs_axes"] = (
            f"{cols.get('lon')} is north, {cols.get('lat')} is east (survey convention: "
            "平面直角座標系 X = north); if the map is wrong, give columns: {x: EAST, y: NORTH}"
        )
        return np.asarray(n2, dtype=float), np.asarray(e2, dtype=float)
    info["crs_axes"] = f"{cols.get('lat')} is north, {cols.get('lon')} is east"
    return np.asarray(n1, dtype=float), np.asarray(e1, dtype=float)


def reject_unplaced(
    df: pd.DataFrame,
    pos: int,
    *,
    cols: dict[str, Any],
    lat: np.ndarray,
    lon: np.ndarray,
    zero: np.ndarray,
    latp: _coords.ParsedColumn,
    lonp: _coords.ParsedColumn,
    name: str,
    reason_outside: str,
) -> RowProblem:
    """Why a row with no usable coordinates (and no address to geocode) was left out."""
    row = int(df.index[pos])
    la_raw = df[cols["lat"]].iat[pos] if cols["lat"] else ""
    lo_raw = df[cols["lon"]].iat[pos] if cols["lon"] else ""
    if not (np.isnan(lat[pos]) or np.isnan(lon[pos])):
        return RowProblem(
            name,
            row,
            _("%(lat)s=%(la)r, %(lon)s=%(lo)r: %(why)s")
            % {"lat": cols["lat"], "la": la_raw, "lon": cols["lon"], "lo": lo_raw,
               "why": reason_outside},
            code="outside_extent",
        )  # fmt: skip
    err = latp.errors.get(pos) or lonp.errors.get(pos)
    if err:
        col = cols["lat"] if pos in latp.errors else cols["lon"]
        return RowProblem(
            name,
            row,
            _(
                "unreadable coordinate in %(column)s: %(error)s; expected decimal degrees "
                "(e.g. 35.6895) or degrees-minutes-seconds: fix the cell in the file"
            )
            % {"column": col, "error": err},
            code="unreadable_coordinate",
        )
    filled = [(c, str(v).strip()) for c, v in df.iloc[pos].items() if str(v).strip()]
    if (
        len(filled) == 1
        and filled[0][0] != cols.get("name")
        and not (str(la_raw).strip() or str(lo_raw).strip())
    ):
        # spreadsheets put a section title (都心地域, 公共交通機関) on a row of its own; a lone
        # text in the name column is a place whose coordinates are missing, and is said so
        return RowProblem(
            name,
            row,
            _("a heading row (only %(text)r, in %(column)s), not a place: left out")
            % {"text": filled[0][1], "column": filled[0][0]},
        )
    what = (
        _("coordinates are 0 (unknown)")
        if zero[pos]
        else _("incomplete coordinates")
        if str(la_raw).strip() or str(lo_raw).strip()
        else _("no coordinates")
    )
    where = (
        _(" (%(lat)s=%(la)r, %(lon)s=%(lo)r)")
        % {"lat": cols["lat"], "la": la_raw, "lon": cols["lon"], "lo": lo_raw}
        if cols["lat"] and cols["lon"]
        else _(" (the file has no coordinate columns)")
    )
    return RowProblem(
        name,
        row,
        _("%(what)s%(where)s and no address to geocode") % {"what": what, "where": where}
        + (_("; name %(name)r") % {"name": cells_name(df, cols, pos)} if cols["name"] else ""),
        code="no_coordinates",
    )


def geocode_rows(
    to_geocode: list[int],
    *,
    df: pd.DataFrame,
    addresses: pd.Series,
    options: Mapping[str, Any],
    name: str,
    lat: np.ndarray,
    lon: np.ndarray,
    ok: np.ndarray,
    approximate: np.ndarray,
    box: tuple[float, float, float, float],
    rejected: list[RowProblem],
    repaired: list[RowProblem],
) -> None:
    """Place address-only rows with the geocoder (``geocode: true``) or reject them saying how."""
    if not to_geocode:
        return
    if not options.get("geocode"):
        for pos in to_geocode:
            rejected.append(
                RowProblem(
                    name,
                    int(df.index[pos]),
                    _(
                        "address only, no coordinates: %(address)r; set geocode: true in the "
                        "layer file to place it approximately"
                    )
                    % {"address": addresses.iat[pos]},
                    code="address_only",
                )
            )
        return

    results = geocode.geocode_many(
        [addresses.iat[p] for p in to_geocode], offline=options.get("_offline")
    )
    for pos in to_geocode:
        point, title = results[geocode.normalise_address(addresses.iat[pos])]
        row = int(df.index[pos])
        if point is None or not inside(np.array([point[1]]), np.array([point[0]]), box)[0]:
            rejected.append(
                RowProblem(
                    name,
                    row,
                    title
                    if point is None
                    else _("geocoded outside the extent: %(address)r → %(point)s")
                    % {"address": addresses.iat[pos], "point": point},
                    code="geocode_failed",
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
                _("geocoded from address %(address)r (matched %(title)r); approximate")
                % {"address": addresses.iat[pos], "title": title},
                code="geocoded",
            )
        )
