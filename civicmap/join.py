"""Pure joins: conflate an official list with OSM, and find the way to the nearest shelter.

No I/O: GeoDataFrames (and a street graph) in, frames out. The pipeline
passes data here; :mod:`civicmap.diff` writes the conflation diff to files.

Conflation
    An official list (a ward's nursery list, GSI shelters) and OSM describe
    the same places with different names, spellings and coordinates.
    :func:`conflate` pairs them one-to-one by distance (in metres; a point
    inside an OSM polygon is 0 m away) and name or reading similarity, keeps
    both references on each merged record, and lists what disagrees: the
    diff is a to-do list for mappers and for the ward.

Nearest shelters
    :func:`nearest_shelters` ranks, for each place (or a home point), the
    shelters that serve a chosen disaster by straight line and by walking
    distance on the street network, and returns the walking routes as lines
    the maps can draw. A shelter across a river can be 150 m away in a
    straight line and 1.5 km on foot; the table shows both.
"""

from __future__ import annotations

import heapq
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from rapidfuzz import fuzz
from shapely.geometry import LineString, Point
from shapely.ops import nearest_points

from civicmap import settings
from civicmap.errors import CivicMapError
from civicmap.names import kana_key, loose_key
from civicmap.schema import CRS, DISASTER_TYPES, metric_crs, serves_column

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
    names = np.array(
        [
            name_similarity(off_names[i], osm_names[j], a_kana=off_kana[i], b_kana=osm_kana[j])
            for i, j in zip(oi.tolist(), mi.tolist(), strict=True)
        ],
        dtype=float,
    )
    ok = (names >= min_name_score) | (dist <= same_place_m)
    score = 0.6 * names + 0.4 * (1.0 - np.minimum(dist, max_distance_m) / max_distance_m)
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
                "ref_official": _text(off["source_ref"].iloc[i]) if i is not None else "",
                "ref_osm": _text(om["source_ref"].iloc[j]) if j is not None else "",
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
        here = off.geometry.iloc[i]
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
        diff_row("only_official", i, None, geom=off.geometry.iloc[i])
    for j in only_osm:
        diff_row("only_osm", None, j, geom=om.geometry.iloc[j].representative_point())

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


# --------------------------------------------------------------------------- nearest shelters


@dataclass
class NearestShelters:
    """The result of :func:`nearest_shelters`.

    Attributes
    ----------
    table : DataFrame
        One row per (place, shelter): ``place_ref``, ``place_name``,
        ``shelter_ref``, ``shelter_name``, ``shelter_category``,
        ``straight_m``, ``walk_m``, ``walk_min`` (NaN when no walking route
        was found), ``rank_straight``, ``rank_walk`` and ``serves``.
    lines : GeoDataFrame
        The same rows with a LineString: the walking route along the streets,
        or the straight line when there is no street graph or no route
        (``route`` says which: ``walk`` or ``straight``).
    notes : list of str
        What a user must know, e.g. shelters without disaster information.
    """

    table: pd.DataFrame
    lines: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)


@dataclass
class _Graph:
    adj: dict[Any, list[tuple[Any, float, Any]]]
    nodes: list[Any]
    index: dict[Any, int]
    xy: np.ndarray  # metric node coordinates, one row per node
    points: gpd.GeoSeries  # metric
    edge_geoms: dict[tuple[Any, Any, Any], LineString]
    to_metric: Any  # pyproj Transformer from the graph CRS to the metric CRS


def _prepare_graph(graph, crs) -> _Graph:
    """Adjacency lists (both directions: walking ignores oneway) and node points in metres."""
    gcrs = graph.graph.get("crs", CRS)
    # Snap only to the largest connected piece: an extract cuts streets at its
    # edge into stubs, and a place snapped to a stub could reach nothing.
    pieces = list(nx.connected_components(graph.to_undirected(as_view=True)))
    main_piece = max(pieces, key=len) if pieces else set()
    nodes = [n for n in graph.nodes if n in main_piece]
    if not nodes:
        raise CivicMapError(
            "street graph has no nodes; build it from an extract that covers the area"
        )
    try:
        xy = [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes]
    except KeyError as exc:
        raise CivicMapError(
            f"street graph node has no {exc.args[0]!r} coordinate; expected nodes with x (lon) and y (lat), "
            "as osmnx builds them"
        ) from None
    points = gpd.GeoSeries(gpd.points_from_xy(*zip(*xy, strict=True)), crs=gcrs).to_crs(crs)
    adj: dict[Any, list[tuple[Any, float, Any]]] = {n: [] for n in graph.nodes}
    edge_geoms: dict[tuple[Any, Any, Any], LineString] = {}
    multi = graph.is_multigraph()
    edges = (
        graph.edges(keys=True, data=True)
        if multi
        else ((u, v, 0, d) for u, v, d in graph.edges(data=True))
    )
    for u, v, key, data in edges:
        length = data.get("length")
        if length is None:
            raise CivicMapError(
                f"street graph edge {u}→{v} has no 'length'; expected the length in metres "
                "(osmnx adds it; for a hand-made graph set length=...)"
            )
        length = float(length)
        adj[u].append((v, length, (u, v, key)))
        adj[v].append((u, length, (u, v, key)))
        if "geometry" in data:
            edge_geoms[(u, v, key)] = data["geometry"]
    return _Graph(
        adj=adj,
        nodes=nodes,
        index={n: i for i, n in enumerate(nodes)},
        xy=np.column_stack([points.x.to_numpy(), points.y.to_numpy()]),
        points=points,
        edge_geoms=edge_geoms,
        to_metric=Transformer.from_crs(gcrs, points.crs, always_xy=True),
    )


def _snap(g: _Graph, geoms: gpd.GeoSeries) -> tuple[list[Any], np.ndarray]:
    """Nearest graph node of each geometry (metric) and the distance to it."""
    if geoms.empty:
        return [], np.array([], dtype=float)
    idx = g.points.sindex.nearest(geoms, return_all=False)
    # idx[0] indexes geoms, idx[1] indexes nodes
    node_of = np.empty(len(geoms), dtype=int)
    node_of[idx[0]] = idx[1]
    dist = shapely.distance(geoms.to_numpy(), g.points.to_numpy()[node_of])
    return [g.nodes[k] for k in node_of], np.asarray(dist, dtype=float)


def _dijkstra(
    g: _Graph,
    source: Any,
    targets: dict[Any, float],
    *,
    want: int,
    must: set[Any],
    cutoff: float,
) -> tuple[dict[Any, float], dict[Any, tuple[Any, Any]]]:
    """Shortest walking distances from ``source``, stopping as early as it safely can.

    ``targets`` maps a node to the smallest extra distance (snapping) of a
    shelter there. The search stops once ``want`` shelters are settled and
    nothing left in the queue can beat the ``want``-th best total, and every
    node in ``must`` is settled (or ``cutoff`` metres are passed).
    """
    dist: dict[Any, float] = {source: 0.0}
    prev: dict[Any, tuple[Any, Any]] = {}
    done: set[Any] = set()
    heap = [(0.0, 0, source)]
    counter = 1
    best: list[float] = []  # totals of settled targets (max-heap by negation)
    pending = set(must)
    while heap:
        d, _, u = heapq.heappop(heap)
        if u in done:
            continue
        if d > cutoff:
            break
        if len(best) >= want and not pending and d > -best[0]:
            break
        done.add(u)
        pending.discard(u)
        if u in targets:
            total = d + targets[u]
            if len(best) < want:
                heapq.heappush(best, -total)
            elif total < -best[0]:
                heapq.heapreplace(best, -total)
        for v, length, ekey in g.adj[u]:
            nd = d + length
            if nd < dist.get(v, math.inf):
                dist[v] = nd
                prev[v] = (u, ekey)
                heapq.heappush(heap, (nd, counter, v))
                counter += 1
    return {n: dist[n] for n in done}, prev


def _route_line(
    g: _Graph, prev: dict, source: Any, target: Any, start: Point, end_geom
) -> LineString:
    """The walking route as a metric LineString: start → streets → shelter."""
    path = [target]
    ekeys = []
    while path[-1] != source:
        u, ekey = prev[path[-1]]
        ekeys.append(ekey)
        path.append(u)
    path.reverse()
    ekeys.reverse()
    coords: list[tuple[float, float]] = [(start.x, start.y), tuple(g.xy[g.index[path[0]]])]
    for a, b, ekey in zip(path[:-1], path[1:], ekeys, strict=True):
        geom = g.edge_geoms.get(ekey)
        if geom is not None:
            xs, ys = g.to_metric.transform(*np.asarray(geom.coords).T)
            cs = np.column_stack([xs, ys])
            pa = g.xy[g.index[a]]
            if np.hypot(*(cs[0] - pa)) > np.hypot(*(cs[-1] - pa)):
                cs = cs[::-1]
            coords.extend(map(tuple, cs[1:-1]))
        coords.append(tuple(g.xy[g.index[b]]))
    end = nearest_points(end_geom, Point(coords[-1]))[0]
    coords.append((end.x, end.y))
    return LineString(coords)


def _serving(shelters: gpd.GeoDataFrame, disaster: str | None, include_unknown: bool):
    """Which shelters serve ``disaster``: True, False or None (unknown), and notes."""
    if disaster is None:
        return pd.Series(True, index=shelters.index, dtype=object), []
    try:
        col = serves_column(disaster)
    except ValueError as exc:
        raise CivicMapError(str(exc)) from None
    ja = DISASTER_TYPES[col.removeprefix("serves_")]
    if col in shelters.columns:
        raw = shelters[col]
    else:
        raw = pd.Series(None, index=shelters.index, dtype=object)

    def as_bool(v):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, str):
            s = v.strip().lower()
            if s in ("true", "yes", "1", "○", "◯"):
                return True
            if s in ("false", "no", "0", ""):
                return False if s else None
            return None
        return bool(v)

    serves = raw.map(as_bool).astype(object)
    notes = []
    unknown = int(serves.isna().sum())
    if unknown:
        verb = "included, marked unknown" if include_unknown else "treated as not known to serve"
        notes.append(
            f"{unknown} of {len(shelters)} shelters have no information on {ja} ({col}); {verb}"
        )
    return serves, notes


def nearest_shelters(
    places: gpd.GeoDataFrame,
    shelters: gpd.GeoDataFrame,
    *,
    disaster: str | None = None,
    k: int = 3,
    graph=None,
    walking_speed_m_per_min: float | None = None,
    max_walk_m: float = 5000.0,
    include_unknown: bool = False,
) -> NearestShelters:
    """The nearest shelters of each place, by straight line and on foot.

    Parameters
    ----------
    places : GeoDataFrame
        Places (common schema, or any frame with a geometry; ``name`` and
        ``source_ref`` are used when present), e.g. each nursery, or one
        home point.
    shelters : GeoDataFrame
        Shelters in the common schema; polygons allowed (a place inside one
        is 0 m away).
    disaster : str, optional
        A key or Japanese name from :data:`~civicmap.schema.DISASTER_TYPES`
        (``tsunami``/津波, ``flood``/洪水 ...). Shelters whose
        ``serves_<key>`` is False are left out; unknown (missing column or
        empty value) means "not known to serve" and is left out too unless
        ``include_unknown``. ``notes`` says how many. ``None`` takes all.
    k : int
        How many shelters per place, by each ranking (the table holds the
        union of the k nearest in a straight line and the k nearest on foot).
    graph : networkx.MultiDiGraph, optional
        Street network, nodes with ``x``/``y`` in ``graph.graph["crs"]``
        (EPSG:4326 when missing) and edges with ``length`` in metres, as
        osmnx builds it. Edges are walked both ways (oneway is for cars).
        Places and shelters snap to the nearest node of the largest connected
        piece. Without a graph only straight-line distances are given.
    walking_speed_m_per_min : float, optional
        Defaults to :data:`civicmap.settings.walking_speed_m_per_min`.
    max_walk_m : float
        Walking searches stop here; farther shelters get no walking distance.
    include_unknown : bool
        Also rank shelters whose service of ``disaster`` is unknown.
    """
    if k < 1:
        raise CivicMapError(f"k: got {k}, expected at least 1 shelter per place")
    speed = walking_speed_m_per_min or settings.walking_speed_m_per_min
    serves, notes = _serving(shelters, disaster, include_unknown)
    keep = serves.map(lambda v: v is True or (v is None and include_unknown)).astype(bool)
    sh = gpd.GeoDataFrame(
        shelters[keep.to_numpy()].reset_index(drop=True), geometry="geometry", crs=CRS
    )
    sh_serves = serves[keep.to_numpy()].reset_index(drop=True)
    pl = gpd.GeoDataFrame(places.reset_index(drop=True), geometry="geometry", crs=places.crs or CRS)
    pl = pl.to_crs(CRS)
    columns = ["place_ref", "place_name", "shelter_ref", "shelter_name", "shelter_category",
               "straight_m", "walk_m", "walk_min", "rank_straight", "rank_walk", "serves", "route"]  # fmt: skip
    if sh.empty or pl.empty:
        if sh.empty:
            notes.append("no shelter to rank" + (f" for {disaster}" if disaster else ""))
        table = pd.DataFrame({c: [] for c in columns})
        return NearestShelters(
            table=table.drop(columns="route"),
            lines=gpd.GeoDataFrame(table, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS),
            notes=notes,
        )
    crs = metric_crs(pl, sh)
    sh_m = sh.geometry.to_crs(crs).reset_index(drop=True)
    pl_m = pl.geometry.to_crs(crs).representative_point().reset_index(drop=True)
    kk = min(k, len(sh))

    g = None
    if graph is not None:
        g = _prepare_graph(graph, crs)
        sh_nodes, sh_snap = _snap(g, sh_m)
        pl_nodes, pl_snap = _snap(g, pl_m)
        at_node: dict[Any, list[int]] = {}
        for s, n in enumerate(sh_nodes):
            at_node.setdefault(n, []).append(s)
        target_extra = {n: min(sh_snap[s] for s in ss) for n, ss in at_node.items()}

    def text(frame, col, i):
        return _text(frame[col].iloc[i]) if col in frame.columns else ""

    rows = []
    geoms = []
    chunk = max(1, 2_000_000 // max(1, len(sh)))
    for start in range(0, len(pl), chunk):
        block = pl_m.to_numpy()[start : start + chunk]
        dmat = shapely.distance(block[:, None], sh_m.to_numpy()[None, :])
        for r, drow in enumerate(dmat):
            p = start + r
            straight_order = np.argsort(drow, kind="stable")[:kk]
            walk: dict[int, float] = {}
            prev: dict = {}
            if g is not None:
                must = {sh_nodes[s] for s in straight_order}
                dist, prev = _dijkstra(
                    g, pl_nodes[p], target_extra, want=kk, must=must, cutoff=max_walk_m
                )
                for n in dist.keys() & at_node.keys():
                    for s in at_node[n]:
                        walk[s] = dist[n] + sh_snap[s] + pl_snap[p]
            walk_order = sorted(walk, key=lambda s: (walk[s], s))[:kk]
            chosen = list(dict.fromkeys([*walk_order, *straight_order.tolist()]))
            rank_straight = {int(s): i + 1 for i, s in enumerate(np.argsort(drow, kind="stable"))}
            rank_walk = {s: i + 1 for i, s in enumerate(sorted(walk, key=lambda s: (walk[s], s)))}
            for s in chosen:
                s = int(s)
                w = walk.get(s, np.nan)
                if g is not None and s in walk:
                    line = _route_line(
                        g, prev, pl_nodes[p], sh_nodes[s], pl_m.iloc[p], sh_m.iloc[s]
                    )
                    route = "walk"
                else:
                    end = nearest_points(sh_m.iloc[s], pl_m.iloc[p])[0]
                    line = LineString([pl_m.iloc[p], end])
                    route = "straight"
                rows.append(
                    {
                        "_p": p,
                        "place_ref": text(pl, "source_ref", p) or str(p),
                        "place_name": text(pl, "name", p),
                        "shelter_ref": text(sh, "source_ref", s),
                        "shelter_name": text(sh, "name", s),
                        "shelter_category": text(sh, "category", s),
                        "straight_m": round(float(drow[s]), 1),
                        "walk_m": round(float(w), 1) if not np.isnan(w) else np.nan,
                        "walk_min": round(float(w) / speed, 1) if not np.isnan(w) else np.nan,
                        "rank_straight": rank_straight[s],
                        "rank_walk": rank_walk.get(s, pd.NA),
                        "serves": sh_serves.iloc[s],
                        "route": route,
                    }
                )
                geoms.append(line)
    if g is not None:
        unreachable = sum(1 for r in rows if r["route"] == "straight")
        if unreachable:
            notes.append(
                f"{unreachable} place–shelter pairs have no walking route within {max_walk_m:.0f} m "
                "on the street network; shown as straight lines"
            )
    lines = gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs).to_crs(CRS)
    lines["rank_walk"] = lines["rank_walk"].astype("Int64")
    sort_rank = lines["rank_walk"].fillna(10**6) if g is not None else lines["rank_straight"]
    lines = (
        lines.assign(_r=sort_rank.astype(float), _s=lines["rank_straight"])
        .sort_values(["_p", "_r", "_s"], kind="stable")
        .drop(columns=["_p", "_r", "_s"])
        .reset_index(drop=True)
    )
    table = pd.DataFrame(lines.drop(columns=["geometry", "route"]))
    return NearestShelters(table=table, lines=lines, notes=notes)
