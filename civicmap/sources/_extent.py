"""Where places may lie, and geometries brought into EPSG:4326 first (every format).

One extent check for CSV, spreadsheets, GeoJSON, KML, uMap and shapefiles:
Japan by default, the layer's ``extent:`` when given, with the same per-row
reason whatever the format, so a pin dropped at longitude 103 in a My Maps
export is reported exactly like a CSV row missing its decimal point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely

from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import RowProblem
from civicmap.sources import _coords, _crs, layouts


def extent_of(options: Mapping[str, Any], *, name: str) -> tuple[float, float, float, float]:
    """The (south, north, west, east) box points must fall in: Japan, or the layer's ``extent:``.

    ``extent: [west, south, east, north]`` widens it for a map outside Japan;
    ``extent: world`` accepts any longitude/latitude.
    """
    spec = options.get("extent")
    if spec is None:
        return (*_coords.JAPAN_LAT, *_coords.JAPAN_LON)
    if spec == "world":
        return (-90.0, 90.0, -180.0, 180.0)
    try:
        west, south, east, north = (float(v) for v in spec)
    except (TypeError, ValueError):
        raise SourceError(
            _(
                "%(name)s: extent: got %(spec)r; expected [west, south, east, north] in "
                "degrees (e.g. [100, 0, 160, 50]) or world"
            )
            % {"name": name, "spec": spec}
        ) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise SourceError(
            _(
                "%(name)s: extent: got %(spec)r; expected west < east within ±180 and south < "
                "north within ±90"
            )
            % {"name": name, "spec": spec}
        )
    return (south, north, west, east)


def inside(lat: np.ndarray, lon: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Boolean mask: the points lie inside ``box`` (south, north, west, east)."""
    with np.errstate(invalid="ignore"):
        return (lat >= box[0]) & (lat <= box[1]) & (lon >= box[2]) & (lon <= box[3])


def extent_reason(box: tuple[float, float, float, float], *, custom: bool) -> str:
    """The per-row reason for a point outside the extent, the same for every format."""
    if custom:
        return _(
            "outside the layer's extent (latitude %(s)s–%(n)s, longitude %(w)s–%(e)s); widen "
            "extent: in the layer file if it belongs on the map"
        ) % {"s": f"{box[0]:g}", "n": f"{box[1]:g}", "w": f"{box[2]:g}", "e": f"{box[3]:g}"}
    return _(
        "outside Japan; expected latitude %(s)s–%(n)s and longitude %(w)s–%(e)s (a missing "
        "decimal point? metres? a point placed by mistake?); give extent: in the layer file "
        "for a map outside Japan"
    ) % {"s": f"{box[0]:g}", "n": f"{box[1]:g}", "w": f"{box[2]:g}", "e": f"{box[3]:g}"}


def to_wgs84_in_extent(
    records: list[dict[str, Any]],
    geometries: list,
    refs: list[int],
    *,
    options: Mapping[str, Any],
    declared: Any,
    name: str,
    rejected: list[RowProblem],
    info: dict[str, Any],
) -> tuple[list[dict[str, Any]], list, list[int]]:
    """Geometries in EPSG:4326 and inside the extent; the others rejected by row."""
    crs = _crs.parse_crs(options["crs"], name=name) if options.get("crs") is not None else declared
    if crs is not None:
        info["crs"] = _crs.label(crs)
        if not _crs.is_wgs84_like(crs):
            tr = _crs.transformer(crs)

            def move(xy: np.ndarray) -> np.ndarray:
                x, y = tr.transform(xy[:, 0], xy[:, 1])
                return np.column_stack([x, y])

            geometries = list(shapely.transform(np.array(geometries, dtype=object), move))
    elif geometries:
        bounds = np.array([g.bounds for g in geometries], dtype=float)
        if _crs.looks_metric(bounds[:, 0], bounds[:, 1]):
            addresses = [
                str(r.get(k, ""))
                for r in records
                for k in r
                if layouts.find_column([str(k)], layouts.ADDRESS_NAMES)
            ]
            raise _crs.metres_error(name, addresses)
    box = extent_of(options, name=name)
    reason = extent_reason(box, custom=options.get("extent") is not None)
    keep_r, keep_g, keep_f = [], [], []
    for rec, geom, ref in zip(records, geometries, refs, strict=True):
        minx, miny, maxx, maxy = geom.bounds
        ok = inside(np.array([miny, maxy]), np.array([minx, maxx]), box).all()
        if not ok:
            label = rec.get("name") or rec.get("名称") or ""
            where = (
                f"{miny:.6g}, {minx:.6g}"
                if geom.geom_type == "Point"
                else (f"bounds {minx:.6g}, {miny:.6g} – {maxx:.6g}, {maxy:.6g}")
            )
            swap = (
                _(" (latitude and longitude swapped in the file?)")
                if inside(np.array([minx]), np.array([miny]), box).all()
                else ""
            )
            rejected.append(
                RowProblem(
                    name,
                    ref,
                    _("%(kind)s%(label)s at %(where)s: %(why)s%(swap)s")
                    % {
                        "kind": geom.geom_type,
                        "label": f" {label!r}" if label else "",
                        "where": where,
                        "why": reason,
                        "swap": swap,
                    },
                    code="outside_extent",
                )
            )
            continue
        keep_r.append(rec)
        keep_g.append(geom)
        keep_f.append(ref)
    return keep_r, keep_g, keep_f
