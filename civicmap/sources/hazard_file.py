"""国土数値情報 hazard files (A31a/A31b 洪水, A33 土砂災害, A40 津波 …) read as polygons.

Only I/O is here: the file's attribute table and geometry, turned into
longitude/latitude, with its text decoded whatever the publisher wrote.
What the codes mean (浸水深ランク, 区域区分) is :mod:`civicmap.hazards`.

- GeoJSON: UTF-8 (RFC 7946) or Shift_JIS, which older 国土数値情報 conversions
  and QGIS exports on Japanese Windows still write; a ``crs`` member (GeoJSON
  2008, e.g. JGD2011 / 平面直角座標系) is honoured.
- Shapefile: the ``.prj`` gives the CRS; the attribute text is read as the
  ``.cpg`` says unless its bytes say otherwise (the same rule as layer files,
  :func:`civicmap.sources.vector.read_shapefile`); without a ``.cpg``, text
  that is not UTF-8 is Shift_JIS, as 国土数値情報 ships it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
from pyproj import CRS as ProjCRS  # noqa: N811

from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import CRS
from civicmap.sources import _crs, _guard
from civicmap.sources.vector import open_shapefile

log = logging.getLogger(__name__)

#: 国土数値情報 GeoJSON without a ``crs`` member is JGD2011 longitude/latitude.
_DEFAULT_CRS = "EPSG:6668"


def _decode(raw: bytes, *, name: str) -> tuple[str, str]:
    """The file's text and the encoding it was in (UTF-8, else Shift_JIS/cp932)."""
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        raise SourceError(
            _(
                "%(name)s: the text is neither UTF-8 nor Shift_JIS (%(reason)s at byte "
                "%(start)s); save the file again as UTF-8"
            )
            % {"name": name, "reason": exc.reason, "start": exc.start}
        ) from None


def _read_geojson(path: Path) -> tuple[gpd.GeoDataFrame, str]:
    raw = _guard.read_input_bytes(path)
    _guard.check_not_binary(raw, name=str(path))
    text, encoding = _decode(raw, name=str(path))
    data = _guard.load_json(text.encode("utf-8"), name=str(path))
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise SourceError(
            _("%(name)s: expected a GeoJSON FeatureCollection of hazard zones") % {"name": path}
        )
    declared = _crs.geojson_crs(data, name=str(path))
    features = [f for f in data.get("features") or [] if isinstance(f, dict) and f.get("geometry")]
    try:
        frame = gpd.GeoDataFrame.from_features(features, crs=declared or _DEFAULT_CRS)
    except (ValueError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise SourceError(
            _("%(name)s: a feature's geometry cannot be read (%(exc)s)")
            % {"name": path, "exc": exc}
        ) from None
    return frame, encoding


def _read_shapefile(path: Path) -> tuple[gpd.GeoDataFrame, str]:
    frame, encoding, warning, _restored = open_shapefile(path)
    if warning:
        log.warning(warning)
    if frame.crs is None:
        frame = frame.set_crs(_DEFAULT_CRS)
    return frame, encoding or "from .cpg"


def read_hazard_file(path: Path) -> gpd.GeoDataFrame:
    """The zones of a hazard file, in :data:`~civicmap.schema.CRS`, attributes as read.

    Rows without a polygon are dropped (a zone is an area); invalid rings are
    repaired with ``make_valid`` so a point test never fails on a bow-tie.

    Raises
    ------
    SourceError
        The file cannot be read, or holds no polygon.
    """
    path = Path(path)
    if path.suffix.lower() == ".shp":
        frame, encoding = _read_shapefile(path)
    else:
        frame, encoding = _read_geojson(path)
    source_crs = ProjCRS.from_user_input(frame.crs)
    if not _crs.is_wgs84_like(source_crs):
        frame = frame.to_crs(CRS)
    else:
        frame = frame.set_crs(CRS, allow_override=True)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame = frame[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])].copy()
    if frame.empty:
        raise SourceError(
            _(
                "%(name)s: no polygon in the file; a hazard file holds zones (国土数値情報 "
                "A31a, A33, A40 …)"
            )
            % {"name": path}
        )
    frame["geometry"] = frame.geometry.make_valid()
    log.info(
        _("hazard file %(name)s: %(n)d zones (%(crs)s, text %(encoding)s)"),
        {"name": path.name, "n": len(frame), "crs": _crs.label(source_crs), "encoding": encoding},
    )
    return frame.reset_index(drop=True)


__all__ = ["read_hazard_file"]
