"""Pure cleaning steps: GeoDataFrame in, GeoDataFrame out, no I/O.

Display names stay as published; matching uses :func:`match_key`, which
folds width, spaces and common suffix variants.
"""

from __future__ import annotations

import logging
import re
import unicodedata

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from civicmap.schema import CRS, RowProblem

log = logging.getLogger(__name__)

_SPACES = re.compile(r"[\s\u3000]+")


def normalise_text(text: object) -> str:
    """NFKC (full-width digits and half-width katakana fold) and collapse spaces."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", str(text))).strip()


def match_key(name: object) -> str:
    """A key for comparing names: normalised, no spaces, lower case."""
    return normalise_text(name).replace(" ", "").lower()


def fix_geometries(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[RowProblem]]:
    """Make invalid geometries valid; drop (and report) empty ones."""
    problems: list[RowProblem] = []
    out = gdf.copy()
    invalid = ~out.geometry.is_valid & out.geometry.notna()
    if invalid.any():
        out.loc[invalid, "geometry"] = shapely.make_valid(out.geometry[invalid].values)
    empty = out.geometry.isna() | out.geometry.is_empty
    for _, row in out[empty].iterrows():
        problems.append(RowProblem(str(row.get("source", "")), str(row.get("source_ref", "")), "empty geometry"))
    return out[~empty], problems


def clip_to_area(
    gdf: gpd.GeoDataFrame, area: BaseGeometry
) -> tuple[gpd.GeoDataFrame, list[RowProblem]]:
    """Keep features that touch the area; report each one that fell outside."""
    if gdf.empty:
        return gdf, []
    inside = gdf.geometry.intersects(area)
    problems = [
        RowProblem(str(r.source), str(r.source_ref), f"outside the map area: {r.name}")
        for r in gdf[~inside].itertuples()
    ]
    return gdf[inside], problems


def drop_exact_duplicates(
    gdf: gpd.GeoDataFrame, *, within_m: float = 30.0
) -> tuple[gpd.GeoDataFrame, list[RowProblem]]:
    """Drop rows with the same normalised name as an earlier row within ``within_m`` metres."""
    if len(gdf) < 2:
        return gdf, []
    metric = gdf.to_crs(gdf.estimate_utm_crs()).geometry.representative_point()
    keys = gdf["name"].map(match_key)
    seen: dict[str, list[int]] = {}
    drop: list[int] = []
    problems = []
    for pos, (key, pt) in enumerate(zip(keys, metric, strict=True)):
        if not key:
            continue
        hit = next((j for j in seen.get(key, []) if metric.iloc[j].distance(pt) <= within_m), None)
        if hit is not None:
            drop.append(pos)
            row = gdf.iloc[pos]
            problems.append(
                RowProblem(str(row["source"]), str(row["source_ref"]),
                           f"duplicate of {gdf.iloc[hit]['source_ref']} ({row['name']})")  # fmt: skip
            )
        else:
            seen.setdefault(key, []).append(pos)
    keep = [i for i in range(len(gdf)) if i not in set(drop)]
    return gdf.iloc[keep], problems


def clean_layer(
    gdf: gpd.GeoDataFrame, *, area: BaseGeometry | None = None
) -> tuple[gpd.GeoDataFrame, list[RowProblem]]:
    """The default cleaning of a layer: valid geometry, clip to area, drop duplicates."""
    removed: list[RowProblem] = []
    out, p = fix_geometries(gdf)
    removed += p
    if area is not None:
        out, p = clip_to_area(out, area)
        removed += p
    out, p = drop_exact_duplicates(out)
    removed += p
    out = gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs=CRS)
    return out, removed
