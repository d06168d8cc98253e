"""The common schema every source returns, and the provenance every layer carries.

Every source returns a GeoDataFrame in EPSG:4326 with at least
:data:`COLUMNS`. Other original attributes stay as further columns, so a
layer's popup can show ``電話番号`` or ``定員`` straight from the CSV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

#: The columns every source must return, in this order, before any extras.
COLUMNS: tuple[str, ...] = (
    "layer",
    "category",
    "name",
    "name_kana",
    "address",
    "source",
    "source_ref",
    "geometry",
)

#: The CRS of every frame passed between stages.
CRS = "EPSG:4326"

#: Credit line for anything drawn from OpenStreetMap.
OSM_CREDIT = "© OpenStreetMap contributors"
OSM_LICENCE = "ODbL 1.0"
OSM_LICENCE_URL = "https://www.openstreetmap.org/copyright"


@dataclass(frozen=True)
class Credit:
    """Where a layer's data came from; printed on every map that uses it.

    Attributes
    ----------
    source : str
        Short source name, e.g. ``OpenStreetMap`` or ``新宿区 保育施設一覧``.
    credit : str
        The credit line the licence asks for (出典).
    licence : str
        Licence name, e.g. ``CC BY 4.0``; empty when unknown.
    date : str
        Data date as published (``2018``, ``2021-01-01``) or, for OSM, the
        ``osm_base`` timestamp. Empty when unknown.
    url : str
        Where the data or licence can be found; may be empty.
    stated : bool
        False when the map file gives the source no credit: ``source`` and ``credit``
        then hold its file's name, for messages to the builder only; a map prints
        the words for "source not stated" instead
        (:func:`civicmap.render.background.shown_credit`), never a name from the
        builder's machine.
    """

    source: str
    credit: str
    licence: str = ""
    date: str = ""
    url: str = ""
    stated: bool = True

    def line(self) -> str:
        """One printable line: credit, licence and date."""
        parts = [self.credit]
        if self.licence:
            parts.append(self.licence)
        if self.date:
            parts.append(self.date)
        return " / ".join(parts)


def osm_credit(date: str = "") -> Credit:
    """The OpenStreetMap credit, with the ``osm_base`` date when known."""
    return Credit(
        source="OpenStreetMap",
        credit=OSM_CREDIT,
        licence=OSM_LICENCE,
        date=date,
        url=OSM_LICENCE_URL,
    )


@dataclass
class RowProblem:
    """A row a source or a cleaning step could not use, or changed.

    ``row`` is the 1-based data row number as a user sees it in a spreadsheet
    (header excluded) or an OSM reference like ``way/123``. ``reason`` is
    for people, in the language of the run; ``code`` is a stable key for
    programs that count or group problems (``outside_area``, ``duplicate``),
    so no code compares translated text.
    """

    source: str
    row: int | str
    reason: str
    code: str = ""


@dataclass
class SourceResult:
    """What a source returns: features in the common schema plus its report."""

    features: gpd.GeoDataFrame
    credit: Credit | None = None
    rejected: list[RowProblem] = field(default_factory=list)
    repaired: list[RowProblem] = field(default_factory=list)
    info: dict = field(default_factory=dict)


def empty_frame(extra_columns: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """An empty frame in the common schema (so empty layers still render and export)."""
    cols = {c: pd.Series(dtype="object") for c in COLUMNS if c != "geometry"}
    for c in extra_columns:
        cols[c] = pd.Series(dtype="object")
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)


#: The schema's text columns: never missing, never NaN (an empty cell is "").
_TEXT_COLUMNS = ("category", "name", "name_kana", "address", "source_ref")


def conform(
    frame: gpd.GeoDataFrame,
    *,
    layer: str,
    source: str,
    category: str | None = None,
) -> gpd.GeoDataFrame:
    """Bring a frame into the common schema.

    Missing schema columns are added (``layer`` and ``source`` filled, the rest
    empty strings); ``category`` fills only rows that have none. The schema
    columns come first, extras keep their order after them.

    Parameters
    ----------
    frame : GeoDataFrame
        Any frame with a geometry column; reprojected to EPSG:4326 if needed.
    layer, source : str
        Layer id and source name written into every row.
    category : str, optional
        Default category for rows without one.
    """
    gdf = frame.copy()
    if gdf.crs is None:
        gdf = gdf.set_crs(CRS)
    elif gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(CRS)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    gdf["layer"] = layer
    if "source" not in gdf.columns:
        gdf["source"] = source
    for col in _TEXT_COLUMNS:
        if col not in gdf.columns:
            gdf[col] = ""
    texts = gdf[list(_TEXT_COLUMNS)]  # taken once: a GeoDataFrame's column pick costs ~1 ms
    gdf[list(_TEXT_COLUMNS)] = texts.astype(object).where(texts.notna(), "")
    if category is not None:
        gdf.loc[gdf["category"].astype(str).str.len() == 0, "category"] = category
    extras = [c for c in gdf.columns if c not in COLUMNS]
    return gdf[[*COLUMNS[:-1], *extras, "geometry"]].set_geometry("geometry")


#: UTM CRS by (zone, northern hemisphere): pyproj's database query costs 45–100 ms a call,
#: and a build asks for the local zone 16–17 times (6 times per batch area).
_UTM_BY_ZONE: dict[tuple[int, bool], Any] = {}


def utm_crs_at(x: float, y: float, estimate: Any) -> Any:
    """The UTM CRS holding lon/lat ``(x, y)``, asked of pyproj once per zone.

    ``estimate`` is the caller's own ``estimate_utm_crs`` (bound method): geopandas picks
    the zone holding the centre of the bounds, so strictly inside a zone (not on its edge,
    not past 80° latitude) the answer is the zone's CRS and can be remembered; on an edge
    or near a pole the call is made every time, exactly as before.
    """
    band = (x + 180.0) / 6.0
    if not (-180.0 < x < 180.0 and 0.0 < abs(y) < 80.0 and band != math.floor(band)):
        return estimate()
    key = (math.floor(band), y > 0)
    if key not in _UTM_BY_ZONE:
        _UTM_BY_ZONE[key] = estimate()
    return _UTM_BY_ZONE[key]


def estimate_utm_crs(geoms: gpd.GeoDataFrame | gpd.GeoSeries) -> Any:
    """``geoms.estimate_utm_crs()`` with the zone cached (see :func:`utm_crs_at`).

    Frames not in lon/lat go straight to geopandas (their centre is not in degrees).
    """
    if geoms.crs is None or not geoms.crs.is_geographic:
        return geoms.estimate_utm_crs()
    minx, miny, maxx, maxy = geoms.total_bounds
    return utm_crs_at((minx + maxx) / 2.0, (miny + maxy) / 2.0, geoms.estimate_utm_crs)


def metric_crs(*frames: gpd.GeoDataFrame):
    """The local UTM CRS of the first non-empty frame: distances in metres, never degrees.

    Web Mercator is the fallback only when every frame is empty (nothing to measure).
    """
    for f in frames:
        if not f.empty:
            return estimate_utm_crs(f)
    return "EPSG:3857"


def check_schema(frame: gpd.GeoDataFrame) -> list[str]:
    """Return what is wrong with ``frame`` as a common-schema frame (empty when fine)."""
    problems = [f"missing column {c!r}" for c in COLUMNS if c not in frame.columns]
    if frame.crs is None or frame.crs.to_epsg() != 4326:
        problems.append(f"CRS is {frame.crs}, expected EPSG:4326")
    return problems


#: Disaster types a shelter may serve: English key → the Japanese name used in
#: 自治体標準オープンデータセット (災害種別_*) and GSI data. Sources that know
#: which disasters a place serves set boolean columns ``serves_<key>``
#: (True / False, or missing/None when unknown).
DISASTER_TYPES: dict[str, str] = {
    "flood": "洪水",
    "landslide": "崖崩れ、土石流及び地滑り",
    "storm_surge": "高潮",
    "earthquake": "地震",
    "tsunami": "津波",
    "fire": "大規模な火事",
    "inland_flood": "内水氾濫",
    "volcano": "火山現象",
}


def serves_column(disaster: str) -> str:
    """The boolean column telling whether a place serves ``disaster`` (key or Japanese name)."""
    for key, ja in DISASTER_TYPES.items():
        if disaster in (key, ja):
            return f"serves_{key}"
    raise ValueError(
        f"unknown disaster type {disaster!r}; expected one of "
        + ", ".join(f"{k} ({v})" for k, v in DISASTER_TYPES.items())
    )


#: Optional column: True where a location is approximate (geocoded from an
#: address); every map marks such places.
APPROXIMATE = "approximate"
