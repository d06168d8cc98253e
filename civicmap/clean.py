"""Pure cleaning steps: GeoDataFrame in, GeoDataFrame out, no I/O.

Display names stay as published; matching uses :func:`match_key` (and the
looser :func:`loose_key` for conflation), which fold width, spaces, brackets,
legal-entity words and other spelling variants that Japanese lists and OSM
disagree on. Every row a step removes is returned as a
:class:`~civicmap.schema.RowProblem` so the layer's quality report can say why.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from civicmap.i18n import _
from civicmap.names import kana_key, loose_key, match_key, normalise_text
from civicmap.schema import CRS, RowProblem, metric_crs

__all__ = [
    "clean_layer", "clip_to_area", "deduplicate", "fix_geometries", "kana_key",
    "loose_key", "match_key", "normalise_text", "with_marker_points",
]  # fmt: skip

log = logging.getLogger(__name__)


def fix_geometries(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[RowProblem]]:
    """Make invalid geometries valid; drop (and report) empty ones."""
    problems: list[RowProblem] = []
    out = gdf.copy()
    missing = np.array([g is None for g in out.geometry], dtype=bool)
    invalid = ~out.geometry.is_valid.to_numpy() & ~missing
    if invalid.any():
        out.loc[invalid, "geometry"] = shapely.make_valid(out.geometry[invalid].values)
    empty = missing | out.geometry.is_empty.to_numpy()
    for _i, row in out[empty].iterrows():
        problems.append(
            RowProblem(
                str(row.get("source", "")),
                str(row.get("source_ref", "")),
                _("empty geometry"),
                code="empty_geometry",
            )
        )
    return out[~empty], problems


def with_marker_points(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add ``marker_lon``/``marker_lat``: where a marker goes for each feature.

    Polygons keep their shape (the web map draws them) but a marker must sit
    inside the shape, which a centroid of an L-shaped school does not; the
    representative point always does. Points are their own marker.
    """
    out = gdf.copy()
    if out.empty:
        out["marker_lon"] = pd.Series(dtype=float)
        out["marker_lat"] = pd.Series(dtype=float)
        return out
    pts = out.geometry.representative_point()
    out["marker_lon"] = pts.x.to_numpy()
    out["marker_lat"] = pts.y.to_numpy()
    return out


def clip_to_area(
    gdf: gpd.GeoDataFrame, area: BaseGeometry
) -> tuple[gpd.GeoDataFrame, list[RowProblem]]:
    """Keep features that touch the area; report each one that fell outside."""
    if gdf.empty:
        return gdf, []
    inside = gdf.geometry.intersects(area)
    problems = [
        RowProblem(
            str(r.source),
            str(r.source_ref),
            _("outside the map area: %(name)s") % {"name": r.name},
            code="outside_area",
        )
        for r in gdf[~inside].itertuples()
    ]
    return gdf[inside], problems


def deduplicate(
    gdf: gpd.GeoDataFrame, *, within_m: float = 30.0
) -> tuple[gpd.GeoDataFrame, list[RowProblem]]:
    """Drop rows that repeat an earlier row: same :func:`match_key` within ``within_m`` metres.

    Catches the same nursery listed twice (full-width vs half-width, 株式会社
    or not, an OSM node and way) while two different nurseries 20 m apart
    stay, because their names differ. Distances are measured between the
    shapes in metres, so a point inside a polygon is 0 m away. Uses a spatial
    index, so a 20,000-row layer takes well under a second.
    """
    if len(gdf) < 2:
        return gdf, []
    metric = gdf.geometry.to_crs(metric_crs(gdf)).reset_index(drop=True)
    keys = gdf["name"].map(match_key).to_numpy()
    left, right = metric.sindex.query(metric, predicate="dwithin", distance=within_m)
    pairs = (left < right) & (keys[left] == keys[right]) & (keys[left] != "")
    drop_of: dict[int, int] = {}
    for i, j in sorted(zip(left[pairs].tolist(), right[pairs].tolist(), strict=True)):
        if i in drop_of or j in drop_of:
            continue
        drop_of[j] = i
    problems = []
    refs = gdf["source_ref"].astype(str).to_numpy()
    for j, i in sorted(drop_of.items()):
        row = gdf.iloc[j]
        problems.append(
            RowProblem(
                str(row["source"]),
                refs[j],
                _("duplicate of %(ref)s (%(name)s)") % {"ref": refs[i], "name": row["name"]},
                code="duplicate",
            )
        )
    keep = np.ones(len(gdf), dtype=bool)
    keep[list(drop_of)] = False
    return gdf.iloc[keep], problems


def drop_exact_duplicates(
    gdf: gpd.GeoDataFrame, *, within_m: float = 30.0
) -> tuple[gpd.GeoDataFrame, list[RowProblem]]:
    """Older name of :func:`deduplicate`, kept for callers."""
    return deduplicate(gdf, within_m=within_m)


def clean_layer(
    gdf: gpd.GeoDataFrame, *, area: BaseGeometry | None = None, dedupe_within_m: float = 30.0
) -> tuple[gpd.GeoDataFrame, list[RowProblem]]:
    """The default cleaning of a layer: valid geometry, clip to area, drop duplicates.

    Returns the cleaned frame (index reset) and every removed row with its
    reason (in the run's language) and its code: ``empty_geometry``,
    ``outside_area`` or ``duplicate``.
    """
    removed: list[RowProblem] = []
    out, p = fix_geometries(gdf)
    removed += p
    if area is not None:
        out, p = clip_to_area(out, area)
        removed += p
    out, p = deduplicate(out, within_m=dedupe_within_m)
    removed += p
    out = gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs=CRS)
    return out, removed
