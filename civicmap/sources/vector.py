"""Vector files people already have: GeoJSON, Google My Maps KML, uMap exports."""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path

import geopandas as gpd

from civicmap.errors import SourceError
from civicmap.schema import RowProblem, SourceResult, conform
from civicmap.sources.opendata import ADDRESS_NAMES, KANA_NAMES, NAME_NAMES, _credit, _find

log = logging.getLogger(__name__)


def read_geojson(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a GeoJSON file; the name and address columns are detected as in CSVs."""
    options = options or {}
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        raise SourceError(f"{path}: cannot read as GeoJSON ({exc})") from None
    rejected = []
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    for i in gdf.index[empty]:
        rejected.append(RowProblem(path.name, int(i) + 1, "feature has no geometry"))
    gdf = gdf[~empty].copy()
    gdf["source_ref"] = [f"{path.name}:{int(i) + 1}" for i in gdf.index]
    gdf = gdf.reset_index(drop=True)
    cols = dict(options.get("columns") or {})
    headers = [c for c in gdf.columns if c != "geometry"]
    for target, names in (("name", NAME_NAMES), ("name_kana", KANA_NAMES), ("address", ADDRESS_NAMES)):
        col = cols.get(target) or _find(headers, names)
        if col and col != target:
            gdf[target] = gdf[col]
    if "name" in gdf.columns:
        gdf["name"] = gdf["name"].fillna("").map(lambda s: unicodedata.normalize("NFKC", str(s)).strip())
    cat = options.get("category")
    default = cat if isinstance(cat, str) else None
    if isinstance(cat, dict) and cat.get("column") in gdf.columns:
        gdf["category"] = gdf[cat["column"]]
    out = conform(gdf, layer=layer, source=path.name, category=default)
    return SourceResult(features=out, credit=_credit(options.get("credit"), path), rejected=rejected,
                        info={"rows": len(gdf) + len(rejected)})


def read_kml(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    raise SourceError(f"{path}: KML reading is not available yet")


def read_umap(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    raise SourceError(f"{path}: .umap reading is not available yet")
