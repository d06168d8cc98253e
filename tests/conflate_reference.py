"""The straightforward conflation the fast one must equal (test reference, not shipped).

The per-row implementation civicmap.join.conflate had before issue #17's
speed work: one :func:`name_similarity` call per candidate pair, the CRS from
``metric_crs``, a Python loop for the one-to-one assignment, one dict per
diff row, lists of geometries for the merged frame.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from civicmap.join.conflate import DIFF_STATUSES, Conflation, name_similarity
from civicmap.schema import CRS, metric_crs


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _candidate_pairs(
    off_m: gpd.GeoSeries, osm_m: gpd.GeoSeries, max_distance_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if off_m.empty or osm_m.empty:
        empty = np.array([], dtype=int)
        return empty, empty, np.array([], dtype=float)
    oi, mi = osm_m.sindex.query(off_m, predicate="dwithin", distance=max_distance_m)
    dist = shapely.distance(off_m.to_numpy()[oi], osm_m.to_numpy()[mi])
    return oi, mi, np.asarray(dist, dtype=float)


def reference_conflate(
    official: gpd.GeoDataFrame,
    osm: gpd.GeoDataFrame,
    *,
    max_distance_m: float = 150.0,
    location_mismatch_m: float = 50.0,
    same_place_m: float = 10.0,
    min_name_score: float = 0.6,
    same_name_score: float = 0.85,
    prefer_geometry: str = "osm",
) -> Conflation:
    off = gpd.GeoDataFrame(official.reset_index(drop=True), geometry="geometry", crs=CRS)
    om = gpd.GeoDataFrame(osm.reset_index(drop=True), geometry="geometry", crs=CRS)
    crs = metric_crs(off, om)
    off_m = off.geometry.to_crs(crs)
    osm_m = om.geometry.to_crs(crs)
    oi, mi, dist = _candidate_pairs(off_m, osm_m, max_distance_m)

    off_names = off["name"].map(_text).to_numpy() if len(off) else np.array([])
    osm_names = om["name"].map(_text).to_numpy() if len(om) else np.array([])
    off_kana = off["name_kana"].map(_text).to_numpy() if len(off) else np.array([])
    osm_kana = om["name_kana"].map(_text).to_numpy() if len(om) else np.array([])
    names = np.array(
        [
            name_similarity(off_names[i], osm_names[j], a_kana=off_kana[i], b_kana=osm_kana[j])
            for i, j in zip(oi, mi, strict=True)
        ],
        dtype=float,
    )
    off_refs = off["source_ref"].map(_text).to_numpy() if len(off) else np.array([])
    osm_refs = om["source_ref"].map(_text).to_numpy() if len(om) else np.array([])
    off_geoms = off.geometry.to_numpy()
    osm_geoms = om.geometry.to_numpy()
    ok = (names >= min_name_score) | (dist <= same_place_m)
    score = 0.6 * names + 0.4 * (1.0 - np.minimum(dist, max_distance_m) / max_distance_m)
    pairs = assign_one_to_one(oi, mi, dist, names, score, ok)
    used_off = {p[0] for p in pairs}
    used_osm = {p[1] for p in pairs}

    diff_rows: list[dict] = []
    layer = (
        _text(off["layer"].iloc[0]) if len(off) else (_text(om["layer"].iloc[0]) if len(om) else "")
    )

    def diff_row(
        status: str, i: int | None, j: int | None, d=np.nan, n=np.nan, s=np.nan, geom=None
    ):
        diff_rows.append(
            {
                "status": status,
                "layer": layer,
                "name_official": off_names[i] if i is not None else "",
                "name_osm": osm_names[j] if j is not None else "",
                "ref_official": off_refs[i] if i is not None else "",
                "ref_osm": osm_refs[j] if j is not None else "",
                "distance_m": round(d, 1) if not np.isnan(d) else np.nan,
                "name_score": round(n, 3) if not np.isnan(n) else np.nan,
                "score": round(s, 3) if not np.isnan(s) else np.nan,
                "message": DIFF_STATUSES[status],
                "geometry": geom,
            }
        )

    statuses = []
    for i, j, d, n, s in pairs:
        status = "matched"
        here = off_geoms[i]
        if d > location_mismatch_m:
            status = "location_mismatch"
            diff_row(status, i, j, d, n, s, here)
        if n < same_name_score:
            diff_row("name_mismatch", i, j, d, n, s, here)
            if status == "matched":
                status = "name_mismatch"
        statuses.append(status)
    only_off = [i for i in range(len(off)) if i not in used_off]
    only_osm = [j for j in range(len(om)) if j not in used_osm]
    for i in only_off:
        diff_row("only_official", i, None, geom=off_geoms[i])
    for j in only_osm:
        diff_row("only_osm", None, j, geom=osm_geoms[j].representative_point())

    merged = _merge_frames(off, om, pairs, statuses, only_off, only_osm, prefer_geometry)
    diff = gpd.GeoDataFrame(
        diff_rows or {c: [] for c in ("status", "layer", "name_official", "name_osm", "ref_official",
                                       "ref_osm", "distance_m", "name_score", "score", "message")},
        geometry=[r["geometry"] for r in diff_rows] if diff_rows else gpd.GeoSeries([], crs=CRS),
        crs=CRS,
    )  # fmt: skip
    return Conflation(merged=merged, diff=diff, matched=len(pairs))


def assign_one_to_one(
    oi: np.ndarray,
    mi: np.ndarray,
    dist: np.ndarray,
    names: np.ndarray,
    score: np.ndarray,
    ok: np.ndarray,
) -> list[tuple[int, int, float, float, float]]:
    """Greedy one-to-one assignment of candidate pairs, best score first.

    Candidates ``(oi[k], mi[k])`` allowed by ``ok`` are taken in order of
    ``score`` (nearer first on ties), each record at most once. On place
    lists (few candidates per place) this gives the pairs an optimal
    assignment would, without its cost. Returns ``(i, j, distance,
    name score, score)`` sorted by ``i``.
    """
    order = np.lexsort((dist, -score))  # best score first, nearer on ties
    used_off: set[int] = set()
    used_osm: set[int] = set()
    pairs: list[tuple[int, int, float, float, float]] = []
    for k in order[ok[order]]:
        i, j = int(oi[k]), int(mi[k])
        if i in used_off or j in used_osm:
            continue
        used_off.add(i)
        used_osm.add(j)
        pairs.append((i, j, float(dist[k]), float(names[k]), float(score[k])))
    pairs.sort()
    return pairs


def _merge_frames(
    off: gpd.GeoDataFrame,
    om: gpd.GeoDataFrame,
    pairs: list[tuple[int, int, float, float, float]],
    statuses: list[str],
    only_off: list[int],
    only_osm: list[int],
    prefer_geometry: str,
) -> gpd.GeoDataFrame:
    oi = [p[0] for p in pairs]
    mi = [p[1] for p in pairs]
    matched = pd.DataFrame(off.drop(columns="geometry").iloc[oi]).reset_index(drop=True)
    osm_rows = pd.DataFrame(om.drop(columns="geometry").iloc[mi]).reset_index(drop=True)
    for col in ("category", "name_kana", "address"):
        if col in matched.columns and col in osm_rows.columns:
            empty = matched[col].map(_text) == ""
            matched.loc[empty, col] = osm_rows.loc[empty, col]
    for col in osm_rows.columns:
        if col not in matched.columns:
            matched[col] = osm_rows[col].to_numpy()
    matched["ref_official"] = matched["source_ref"].map(_text)
    matched["ref_osm"] = osm_rows["source_ref"].map(_text).to_numpy()
    matched["name_osm"] = osm_rows["name"].map(_text).to_numpy()
    matched["source"] = [f"{_text(s)}+osm" for s in matched["source"]]
    matched["source_ref"] = [
        f"{a}+{b}" for a, b in zip(matched["ref_official"], matched["ref_osm"], strict=True)
    ]
    matched["match_status"] = statuses
    matched["match_distance_m"] = [round(p[2], 1) for p in pairs]
    matched["match_score"] = [round(p[4], 3) for p in pairs]
    if prefer_geometry == "osm":
        geoms = list(om.geometry.iloc[mi])
    else:
        geoms = list(off.geometry.iloc[oi])

    a = pd.DataFrame(off.drop(columns="geometry").iloc[only_off]).reset_index(drop=True)
    a["ref_official"] = a["source_ref"].map(_text)
    a["ref_osm"] = ""
    a["name_osm"] = ""
    a["match_status"] = "only_official"
    b = pd.DataFrame(om.drop(columns="geometry").iloc[only_osm]).reset_index(drop=True)
    b["ref_official"] = ""
    b["ref_osm"] = b["source_ref"].map(_text)
    b["name_osm"] = b["name"].map(_text)
    b["match_status"] = "only_osm"
    for frame in (a, b):
        frame["match_distance_m"] = np.nan
        frame["match_score"] = np.nan
    geoms += list(off.geometry.iloc[only_off]) + list(om.geometry.iloc[only_osm])
    parts = [f for f in (matched, a, b) if len(f)]
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.concat([matched, a, b], ignore_index=True)
    )
    out = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)
    front = [c for c in off.columns if c != "geometry"]
    rest = [c for c in out.columns if c not in front and c != "geometry"]
    return out[[*front, *rest, "geometry"]]
