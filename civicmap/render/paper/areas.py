"""The polygons of an area atlas: a user's file (町丁目, 学区, 自治会) or bundled N03 municipalities.

Read once, reprojected to the map's metric CRS, named by the chosen field.
Shapefiles without a ``.cpg`` that were written in Shift_JIS (the e-Stat 町丁目
files) come back from the reader as mojibake; they are re-read as cp932.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import shape

from civicmap.errors import ConfigError, Problem

log = logging.getLogger(__name__)

KEY = "outputs.paper.atlas.areas"


def _bad(file: str, key: str, msg: str) -> ConfigError:
    return ConfigError([Problem(file, key, msg)])


def _mojibake(frame: pd.DataFrame) -> bool:
    """Text read as latin-1 that was Shift_JIS: C1 control characters in string columns."""
    for col in frame.columns:
        if pd.api.types.is_string_dtype(frame[col]) or frame[col].dtype == object:
            sample = frame[col].dropna().astype(str).head(50)
            if any(any("\x80" <= ch <= "\x9f" for ch in s) for s in sample):
                return True
    return False


def _municipalities(pref: str, *, map_file: str) -> gpd.GeoDataFrame:
    """Bundled N03 municipalities of one prefecture (e.g. ``17`` = 石川県), one row each."""
    pref = pref.strip().zfill(2)
    folder = Path(str(resources.files("civicmap.data") / "n03"))
    path = folder / f"N03-21_{pref}_210101.json"
    if not path.exists():
        have = sorted(p.name.split("_")[1] for p in folder.glob("N03-21_??_210101.json"))
        raise _bad(
            map_file,
            KEY,
            f"no bundled municipality boundaries for prefecture {pref!r}; bundled: "
            f"{', '.join(have)}. Give a polygon file instead (areas: boundaries.geojson)",
        )
    doc = json.loads(path.read_text(encoding="utf-8"))
    rows: dict[str, dict] = {}
    for feat in doc["features"]:
        p = feat["properties"]
        code = p.get("N03_007")
        if not code:
            continue
        name = "".join(x for x in (p.get("N03_003"), p.get("N03_004")) if x)
        row = rows.setdefault(code, {"name": name, "code": code, "geoms": []})
        row["geoms"].append(shape(feat["geometry"]))
    frame = gpd.GeoDataFrame(
        [{"name": r["name"], "code": r["code"]} for r in rows.values()],
        geometry=[gpd.GeoSeries(r["geoms"]).union_all() for r in rows.values()],
        crs="EPSG:4326",
    )
    return frame


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
        frame = _municipalities(areas.split(":", 1)[1], map_file=map_file)
        field = name or "name"
    else:
        path = Path(areas)
        if not path.is_absolute():
            path = base_dir / path
        if not path.exists():
            raise _bad(
                map_file, KEY, f"file {str(path)!r} not found; give a polygon GeoJSON or shapefile"
            )
        try:
            frame = gpd.read_file(path)
            if path.suffix.lower() == ".shp" and not path.with_suffix(".cpg").exists():
                if _mojibake(frame.drop(columns="geometry")):
                    log.info("%s: attributes are Shift_JIS (no .cpg); reading as cp932", path.name)
                    frame = gpd.read_file(path, encoding="cp932")
        except Exception as e:  # the reader's own message says what is wrong with the file
            raise _bad(map_file, KEY, f"cannot read {path.name}: {e}") from None
        if frame.crs is None:
            raise _bad(
                map_file,
                KEY,
                f"{path.name} has no coordinate system (.prj); add one or save it as GeoJSON",
            )
        if name is None:
            raise _bad(
                map_file,
                "outputs.paper.atlas.name",
                f"missing; the field that names each area, one of: {', '.join(map(str, frame.columns[:-1]))}",
            )
        field = name
    if field not in frame.columns or field == "geometry":
        cols = [str(c) for c in frame.columns if c != "geometry"]
        raise _bad(
            map_file,
            "outputs.paper.atlas.name",
            f"got {field!r}, not a field of the areas; fields: {', '.join(cols)}",
        )
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    frame = frame[frame.geom_type.isin(["Polygon", "MultiPolygon"])]
    if frame.empty:
        raise _bad(map_file, KEY, f"{areas}: no polygons; an area atlas needs area outlines")
    out = gpd.GeoDataFrame(
        {"name": frame[field].astype(str).str.strip().to_numpy()},
        geometry=frame.geometry.make_valid().to_crs(crs).to_numpy(),
        crs=crs,
    )
    return out
