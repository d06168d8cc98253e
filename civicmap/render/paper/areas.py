"""The polygons of an area atlas: a user's file (町丁目, 学区, 自治会) or bundled N03 municipalities.

Reading is :func:`civicmap.area.read_polygons` / :func:`~civicmap.area.prefecture_municipalities`,
shared with ``civicmap batch``; this module turns their errors into map-file problems.

Read once, reprojected to the map's metric CRS, named by the chosen field.
Shapefiles without a ``.cpg`` that were written in Shift_JIS (the e-Stat 町丁目
files) come back from the reader as mojibake; they are re-read as cp932.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd

from civicmap.area import prefecture_municipalities, read_polygons
from civicmap.errors import AreaError, ConfigError, Problem
from civicmap.i18n import _

log = logging.getLogger(__name__)

KEY = "outputs.paper.atlas.areas"


def _bad(file: str, key: str, msg: str) -> ConfigError:
    return ConfigError([Problem(file, key, msg)])


def load_areas(
    areas: str, *, name: str | None, base_dir: Path, map_file: str, crs
) -> gpd.GeoDataFrame:
    """Areas as a GeoDataFrame with ``name`` and polygon ``geometry`` in ``crs``.

    Raises
    ------
    ConfigError
        Naming ``outputs.paper.atlas.areas`` or ``.name``: a missing file, no
        CRS, no polygons, or a name field that is not there (listing those that are).
    """
    if areas.startswith("municipalities:"):
        try:
            frame = prefecture_municipalities(areas.split(":", 1)[1])
        except AreaError as exc:
            raise _bad(map_file, KEY, str(exc)) from None
        field = name or "name"
    else:
        path = Path(areas)
        if not path.is_absolute():
            path = base_dir / path
        if not path.exists():
            raise _bad(
                map_file,
                KEY,
                _("file %(path)r not found; give a polygon GeoJSON or shapefile")
                % {"path": str(path)},
            )
        try:  # the same reader as civicmap batch: any CRS, Shift_JIS shapefiles without .cpg
            frame = read_polygons(path, assume_lonlat=False)
        except AreaError as exc:
            raise _bad(map_file, KEY, str(exc)) from None
        if name is None:
            raise _bad(
                map_file,
                "outputs.paper.atlas.name",
                _("missing; the field that names each area, one of: %(fields)s")
                % {"fields": ", ".join(map(str, frame.columns[:-1]))},
            )
        field = name
    if field not in frame.columns or field == "geometry":
        cols = [str(c) for c in frame.columns if c != "geometry"]
        raise _bad(
            map_file,
            "outputs.paper.atlas.name",
            _("got %(field)r, not a field of the areas; fields: %(fields)s")
            % {"field": field, "fields": ", ".join(cols)},
        )
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame = frame[frame.geom_type.isin(["Polygon", "MultiPolygon"])]
    if frame.empty:
        raise _bad(
            map_file,
            KEY,
            _("%(areas)s: no polygons; an area atlas needs area outlines") % {"areas": areas},
        )
    out = gpd.GeoDataFrame(
        {"name": frame[field].astype(str).str.strip().to_numpy()},
        geometry=frame.geometry.make_valid().to_crs(crs).to_numpy(),
        crs=crs,
    )
    return out
