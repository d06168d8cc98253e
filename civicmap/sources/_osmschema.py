"""Turn raw OSM elements (id, type, tags, geometry) into the common schema.

Shared by the local-extract reader and the Overpass reader so a layer built
from either gives the same columns, names and categories.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from geopandas.array import GeometryArray

from civicmap.schema import CRS, DISASTER_TYPES, conform, empty_frame
from civicmap.tagfilter import TagFilter

#: Columns of a raw OSM frame, before conversion.
RAW_COLUMNS = ("osm_type", "osm_id", "tags", "geometry")

#: Keys that make a closed way an area rather than a line (OSM wiki "Area").
AREA_KEYS = {
    "building", "landuse", "leisure", "amenity", "natural", "water", "shop", "tourism",
    "place", "historic", "man_made", "military", "aeroway", "office", "craft", "emergency",
    "healthcare", "public_transport", "boundary", "area:highway", "parking", "school",
}  # fmt: skip
_NOT_AREA_NATURAL = {"coastline", "cliff", "ridge", "arete", "tree_row"}
#: Every key :func:`is_area` looks at: its answer depends on these tags only.
AREA_RULE_KEYS = frozenset(AREA_KEYS | {"area", "highway", "barrier", "natural", "building:part"})
_KANA_KEYS = ("name:ja-Hira", "name:ja_kana", "name:ja-Kana", "name:ja_rm")


def is_area(tags: Mapping[str, str]) -> bool:
    """Whether a closed way with ``tags`` means an area (not a ring-shaped line)."""
    if tags.get("area") == "yes":
        return True
    if tags.get("area") == "no":
        return False
    if "highway" in tags or "barrier" in tags:
        return False
    if tags.get("natural") in _NOT_AREA_NATURAL:
        return False
    return not AREA_KEYS.isdisjoint(tags) or "building:part" in tags


#: ``hazard_type`` values (and ``assembly_point:<value>`` suffixes) that name one
#: of :data:`~civicmap.schema.DISASTER_TYPES` under another word.
HAZARD_ALIASES = {
    "flooding": "flood", "river_flood": "flood", "storm_flood": "storm_surge",
    "mudflow": "landslide", "debris_flow": "landslide", "rockfall": "landslide",
    "slope_failure": "landslide", "wildfire": "fire", "volcanic": "volcano",
    "pluvial_flood": "inland_flood",
}  # fmt: skip
_EMERGENCY_KEYS = (
    "emergency",
    "emergency:social_facility",
    "emegency:social_facility",
    "hazard_type",
)


def serves(tags: Mapping[str, str]) -> dict[str, bool]:
    """``serves_<type>`` flags from ``assembly_point:<type>=yes`` and ``hazard_type=*``.

    ``assembly_point:tsunami=<number>`` (safe up to that height) counts as yes;
    ``=no`` as no. ``hazard_type`` may list several types separated by ``;``.
    """
    flags = dict.fromkeys(DISASTER_TYPES, False)
    for key, value in tags.items():
        if key.startswith("assembly_point:"):
            kind = HAZARD_ALIASES.get(key[15:], key[15:])
            if kind in flags and value.strip().lower() not in ("no", "false", "0", ""):
                flags[kind] = True
    for value in tags.get("hazard_type", "").split(";"):
        kind = HAZARD_ALIASES.get(value.strip().lower(), value.strip().lower())
        if kind in flags:
            flags[kind] = True
    return {f"serves_{k}": v for k, v in flags.items()}


def _has_emergency_tags(tags: Mapping[str, str]) -> bool:
    return any(k in tags for k in _EMERGENCY_KEYS) or any(
        k.startswith("assembly_point:") for k in tags
    )


def raw_frame(records: Sequence[tuple[str, int, dict, object]]) -> gpd.GeoDataFrame:
    """A raw OSM frame from (type, id, tags, geometry) tuples."""
    if not records:
        return frame_from_columns([], [], [], np.empty(0, dtype=object))
    types, ids, tags, geoms = zip(*records, strict=True)
    geometry = np.empty(len(geoms), dtype=object)
    geometry[:] = geoms
    return frame_from_columns(list(types), list(ids), list(tags), geometry)


_CRS_OBJECT: list[pyproj.CRS] = []


def frame_from_columns(
    types: list[str], ids: list[int], tags: list[dict], geometry: np.ndarray
) -> gpd.GeoDataFrame:
    """A raw OSM frame from its columns (``geometry``: shapely objects in an object array).

    The geometry goes in as a GeometryArray that carries its CRS (parsed once per process)
    and is named as the geometry column: geopandas then skips the CRS checks and copies
    that took half to three quarters of each frame's construction (a build makes ~16).
    """
    if not _CRS_OBJECT:
        _CRS_OBJECT.append(pyproj.CRS.from_user_input(CRS))
    return gpd.GeoDataFrame(
        {
            "osm_type": types,
            "osm_id": ids,
            "tags": tags,
            "geometry": GeometryArray(geometry, crs=_CRS_OBJECT[0]),
        },
        geometry="geometry",
    )


def _address(tags: Mapping[str, str]) -> str:
    if tags.get("addr:full"):
        return tags["addr:full"]
    parts = [
        tags.get(k, "")
        for k in (
            "addr:province", "addr:city", "addr:quarter", "addr:neighbourhood",
            "addr:block_number", "addr:housenumber",
        )
    ]  # fmt: skip
    return "".join(p for p in parts if p)


def to_schema(
    raw: gpd.GeoDataFrame,
    *,
    layer: str,
    category_rules: Sequence[tuple[str, TagFilter]] = (),
    default_category: str = "",
    language: str = "ja",
) -> gpd.GeoDataFrame:
    """Convert a raw OSM frame to the common schema.

    Every tag becomes a column (so popups can show ``opening_hours`` or
    ``phone``); ``name`` is the ``name`` tag (``name:en`` first when
    ``language`` is ``en``); ``name_kana`` comes from ``name:ja-Hira`` and
    its variants; the category is the first matching rule's name.
    """
    if raw.empty:
        return empty_frame()
    raw = raw.sort_values(["osm_type", "osm_id"], kind="stable").reset_index(drop=True)
    tag_rows = list(raw["tags"])
    names, kana, addr, cats = [], [], [], []
    for t in tag_rows:
        nm = t.get("name", "")
        if language == "en":
            nm = t.get("name:en") or nm
        names.append(nm)
        kana.append(next((t[k] for k in _KANA_KEYS if t.get(k)), ""))
        addr.append(_address(t))
        cat = next((name for name, f in category_rules if f.matches(t)), default_category)
        cats.append(cat)
    tag_df = pd.DataFrame.from_records(tag_rows).astype(object) if tag_rows else pd.DataFrame()
    tag_df = tag_df.drop(
        columns=[c for c in tag_df.columns if c in ("name", "geometry")], errors="ignore"
    )
    # keep name:en etc. as columns; the schema's name is set below
    base = pd.DataFrame(
        {
            "category": cats,
            "name": names,
            "name_kana": kana,
            "address": addr,
            "source": "osm",
            "source_ref": [
                f"{ty}/{i}" for ty, i in zip(raw["osm_type"], raw["osm_id"], strict=True)
            ],
            "osm_type": raw["osm_type"].values,
            "osm_id": raw["osm_id"].values,
        }
    )
    if any(_has_emergency_tags(t) for t in tag_rows):
        # shelters and assembly points: every row gets every serves_<type> column,
        # so nearest-shelter-by-disaster works on OSM features as on GSI data
        flags = pd.DataFrame([serves(t) for t in tag_rows])
        base = pd.concat([base, flags], axis=1)
    tag_df = tag_df.drop(columns=[c for c in tag_df.columns if c in base.columns], errors="ignore")
    frame = gpd.GeoDataFrame(
        pd.concat([base, tag_df.reset_index(drop=True)], axis=1),
        geometry=raw.geometry.values,
        crs=CRS,
    )
    return conform(frame, layer=layer, source="osm", category=default_category or None)
