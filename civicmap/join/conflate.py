"""Conflation: pair an official list with OSM one-to-one, merge, and list what disagrees.

An official list (a ward's nursery list, GSI shelters) and OSM describe
the same places with different names, spellings and coordinates.
:func:`conflate` pairs them one-to-one by distance (in metres; a point
inside an OSM polygon is 0 m away) and name or reading similarity, keeps
both references on each merged record, and lists what disagrees: the
diff is a to-do list for mappers and for the ward. No I/O.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from civicmap.errors import CivicMapError
from civicmap.names import kana_key, loose_key
from civicmap.schema import CRS, metric_crs

log = logging.getLogger(__name__)

#: Diff statuses, with what each asks a user to do.
DIFF_STATUSES: dict[str, str] = {
    "only_official": "only in the official list: check on the ground and add it to OSM",
    "only_osm": "only in OSM: closed, not yet listed, or not this kind of place",
    "location_mismatch": "same place, but the two locations are far apart: check which is right",
    "name_mismatch": "same spot, different names: check which name is current",
}

#: Columns every merged record carries after :func:`conflate`.
MATCH_COLUMNS = (
    "ref_official", "ref_osm", "name_osm", "match_status", "match_distance_m", "match_score",
)  # fmt: skip


# --------------------------------------------------------------------------- names


def name_similarity(a: str, b: str, *, a_kana: str = "", b_kana: str = "") -> float:
    """Similarity of two place names (0..1), by written form or by reading.

    Written names are compared as :func:`~civicmap.clean.loose_key` (so
    東京都立 戸山高等学校 and 都立戸山高等学校 are the same); a name that
    contains the other whole (4 characters or more) scores at least 0.9;
    readings (``name_kana``) are compared in hiragana, and a reading is also
    compared with the other side's name (OSM names written in kana).
    """
    best = 0.0
    ka, kb = loose_key(a), loose_key(b)
    if ka and kb:
        best = fuzz.ratio(ka, kb) / 100.0
        short, long_ = sorted((ka, kb), key=len)
        if len(short) >= 4 and short in long_:
            best = max(best, 0.9)
    kana_a, kana_b = kana_key(a_kana), kana_key(b_kana)
    for x, y in ((kana_a, kana_b), (kana_a, kana_key(b)), (kana_key(a), kana_b)):
        if len(x) >= 3 and len(y) >= 3:
            best = max(best, fuzz.ratio(x, y) / 100.0)
    return best


def _keys(values: np.ndarray, fn) -> np.ndarray:
    """``fn`` of each value, computed once per distinct value (names repeat a lot)."""
    if len(values) == 0:
        return np.array([], dtype=object)
    uniq, inverse = np.unique(values.astype(str), return_inverse=True)
    return np.array([fn(u) for u in uniq], dtype=object)[inverse]


def _lens(values: np.ndarray) -> np.ndarray:
    return np.fromiter((len(v) for v in values), dtype=int, count=len(values))


def _keys_where(values: np.ndarray, fn, rows: np.ndarray) -> np.ndarray:
    """``fn`` of the values at ``rows`` (once per distinct value), ``""`` elsewhere."""
    out = np.full(len(values), "", dtype=object)
    if len(rows):
        rows = np.unique(rows)
        out[rows] = _keys(values[rows], fn)
    return out


def _ratio(x: np.ndarray, y: np.ndarray, min_len: int) -> np.ndarray:
    """Pairwise fuzz.ratio / 100, 0 where either side is shorter than ``min_len``."""
    if len(x) == 0:
        return np.array([], dtype=float)
    lx = np.fromiter((len(s) for s in x), dtype=int, count=len(x))
    ly = np.fromiter((len(s) for s in y), dtype=int, count=len(y))
    out = np.asarray(cpdist(list(x), list(y), scorer=fuzz.ratio, workers=1), dtype=float) / 100.0
    return np.where((lx >= min_len) & (ly >= min_len), out, 0.0)


def pair_name_scores(
    a_names: np.ndarray,
    a_kana: np.ndarray,
    b_names: np.ndarray,
    b_kana: np.ndarray,
    ia: np.ndarray,
    ib: np.ndarray,
) -> np.ndarray:
    """:func:`name_similarity` for the candidate pairs ``(a[ia[k]], b[ib[k]])``, on arrays.

    Each frame's names are normalised once per distinct name (not once per
    pair: 20k × 20k candidates made 195k ``kana_key`` calls for 40k names),
    and the ratios are computed pairwise by rapidfuzz in C. Gives exactly the
    scores of :func:`name_similarity`.
    """
    if len(ia) == 0:
        return np.array([], dtype=float)
    la, lb = _keys(np.asarray(a_names), loose_key), _keys(np.asarray(b_names), loose_key)
    kka, kkb = _keys(np.asarray(a_kana), kana_key), _keys(np.asarray(b_kana), kana_key)
    # A name's reading-form is compared only with a real reading (3+ characters) on
    # the other side; lists without readings (most OSM data) skip it entirely.
    kna = _keys_where(np.asarray(a_names), kana_key, ia[_lens(kkb[ib]) >= 3])
    knb = _keys_where(np.asarray(b_names), kana_key, ib[_lens(kka[ia]) >= 3])
    x, y = la[ia], lb[ib]
    best = _ratio(x, y, 1)
    contains = np.fromiter(
        (
            min(len(p), len(q)) >= 4 and (p in q if len(p) <= len(q) else q in p)
            for p, q in zip(x, y, strict=True)
        ),
        dtype=bool,
        count=len(x),
    )
    best = np.where(contains, np.maximum(best, 0.9), best)
    for u, v in ((kka[ia], kkb[ib]), (kka[ia], knb[ib]), (kna[ia], kkb[ib])):
        best = np.maximum(best, _ratio(u, v, 3))
    return best


# --------------------------------------------------------------------------- conflation


@dataclass
class Conflation:
    """The result of :func:`conflate`.

    Attributes
    ----------
    merged : GeoDataFrame
        One row per place: matched pairs (official attributes, OSM geometry
        and extra tags; ``source`` is ``<official source>+osm`` and
        ``source_ref`` is ``<official ref>+<osm ref>``), then places only in
        the official list, then places only in OSM. Every row has the
        :data:`MATCH_COLUMNS` (``ref_official``, ``ref_osm`` hold each side).
    diff : GeoDataFrame
        One row per disagreement, ``status`` one of :data:`DIFF_STATUSES`.
    matched : int
        Number of official/OSM pairs merged into one record.
    """

    merged: gpd.GeoDataFrame
    diff: gpd.GeoDataFrame
    matched: int = 0

    def summary(self) -> dict[str, int]:
        """Counts: matched pairs and each diff status."""
        counts = {"matched": self.matched}
        for status in DIFF_STATUSES:
            counts[status] = int((self.diff["status"] == status).sum()) if len(self.diff) else 0
        return counts


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


def conflate(
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
    """Match an official list with OSM features, one-to-one, and merge them.

    A pair is a candidate when the two are within ``max_distance_m`` metres
    (distance between shapes, so a GSI point inside an OSM school polygon is
    0 m) and either the names are similar (:func:`name_similarity` ≥
    ``min_name_score``) or the two are practically on the same spot
    (≤ ``same_place_m``; such pairs are flagged ``name_mismatch``).
    Candidates are scored ``0.6 × name + 0.4 × closeness`` and taken best
    first, each feature at most once: greedy one-to-one assignment, which
    on place lists (few candidates per place) gives the same pairs as an
    optimal assignment without its cost.

    Parameters
    ----------
    official, osm : GeoDataFrame
        Common-schema frames (EPSG:4326). OSM features may be polygons.
    max_distance_m : float
        Farthest apart two records of one place can be.
    location_mismatch_m : float
        Matched pairs farther apart than this are listed as ``location_mismatch``.
    same_place_m : float
        Pairs this close match even when their names differ (``name_mismatch``);
        keep it small: two different nurseries 20 m apart must not merge.
    min_name_score, same_name_score : float
        Name similarity needed to match, and below which a matched pair's
        names are listed as ``name_mismatch``.
    prefer_geometry : {"osm", "official"}
        Whose geometry a merged record keeps. OSM's by default: mappers place
        it on the building and polygons keep their shape for the web map;
        official coordinates are often geocoded from the address.

    Returns
    -------
    Conflation
    """
    if prefer_geometry not in ("osm", "official"):
        raise CivicMapError(
            f"prefer_geometry: got {prefer_geometry!r}, expected 'osm' or 'official'"
        )
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
    names = pair_name_scores(off_names, off_kana, osm_names, osm_kana, oi, mi)
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
    log.info(
        "conflated %d official × %d OSM: %d matched, %d only official, %d only OSM",
        len(off), len(om), len(pairs), len(only_off), len(only_osm),
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
