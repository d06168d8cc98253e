"""Nearest shelters: rank shelters for each place by straight line and on foot.

:func:`nearest_shelters` ranks, for each place (or a home point), the
shelters that serve a chosen disaster by straight line and by walking
distance on the street network, and returns the walking routes as lines
the maps can draw. A shelter across a river can be 150 m away in a
straight line and 1.5 km on foot; the table shows both. No I/O.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString
from shapely.ops import nearest_points

from civicmap.errors import CivicMapError
from civicmap.i18n import _
from civicmap.join._graph import WalkSearch, path_line, prepare_graph, settle, snap
from civicmap.join.conflate import _text
from civicmap.join.sites import flag_value
from civicmap.schema import CRS, DISASTER_TYPES, metric_crs, serves_column

log = logging.getLogger(__name__)


@dataclass
class NearestShelters:
    """The result of :func:`nearest_shelters`.

    Attributes
    ----------
    table : DataFrame
        One row per (place, shelter): ``place_ref``, ``place_name``,
        ``shelter_ref``, ``shelter_name``, ``shelter_category`` (with the
        site's vertical-evacuation note in brackets, e.g. ``津波避難ビル（垂直避難可）``),
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
    #: Places farther than ``max_snap_m`` from the street network: (name, metres).
    #: They get straight lines only; the map must say so.
    outside_network: list[tuple[str, float]] = field(default_factory=list)
    #: Shelters farther than ``max_snap_m`` from the street network (straight only).
    shelters_outside: int = 0


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

    serves = raw.map(flag_value).astype(object)
    notes = []
    unknown = int(serves.isna().sum())
    if unknown:
        values = {"unknown": unknown, "n": len(shelters), "ja": ja, "col": col}
        if include_unknown:
            notes.append(
                _(
                    "%(unknown)d of %(n)d shelters have no information on %(ja)s (%(col)s); "
                    "included, marked unknown"
                )
                % values
            )
        else:
            notes.append(
                _(
                    "%(unknown)d of %(n)d shelters have no information on %(ja)s (%(col)s); "
                    "treated as not known to serve"
                )
                % values
            )
    return serves, notes


def nearest_shelters(
    places: gpd.GeoDataFrame,
    shelters: gpd.GeoDataFrame,
    *,
    disaster: str | None = None,
    k: int = 3,
    graph=None,
    walking_speed_m_per_min: float = 80.0,
    max_walk_m: float = 5000.0,
    include_unknown: bool = False,
    max_snap_m: float = 300.0,
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
        Metres per minute for ``walk_min``. Passed in (the pipeline gives
        :data:`civicmap.settings.walking_speed_m_per_min`) so this function
        reads no settings and a 町内会 can plan with a slower pace (elderly,
        children: 60 m/min) without touching global state.
    max_walk_m : float
        Walking searches stop here; farther shelters get no walking distance.
    include_unknown : bool
        Also rank shelters whose service of ``disaster`` is unknown.
    max_snap_m : float
        A place or shelter farther than this from the street network is
        outside it (an extract that does not cover it): it gets no walking
        distance, only a straight line, and is listed in ``outside_network``
        / counted in ``shelters_outside``, instead of snapping to a street
        kilometres away and reporting a walk that does not exist.
    """
    if k < 1:
        raise CivicMapError(_("k: got %(k)s, expected at least 1 shelter per place") % {"k": k})
    if not walking_speed_m_per_min or walking_speed_m_per_min <= 0:
        raise CivicMapError(
            _(
                "walking_speed_m_per_min: got %(walking_speed_m_per_min)r, expected metres per "
                "minute above 0 (80 is an adult's pace)"
            )
            % {"walking_speed_m_per_min": walking_speed_m_per_min}
        )
    speed = float(walking_speed_m_per_min)
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
            notes.append(
                _("no shelter to rank for %(disaster)s") % {"disaster": disaster}
                if disaster
                else _("no shelter to rank")
            )
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

    columns: dict[tuple[int, str], list[str]] = {}

    def text(frame, col, i):
        # each column read once as a list: per-row pandas look-ups were a fifth of the time
        key = (id(frame), col)
        if key not in columns:
            columns[key] = [_text(v) for v in frame[col]] if col in frame.columns else []
        return columns[key][i] if columns[key] else ""

    sh_geoms = sh_m.to_numpy()
    pl_geoms = pl_m.to_numpy()
    serves_list = sh_serves.tolist()

    g = None
    outside: list[tuple[str, float]] = []
    shelters_outside = 0
    if graph is not None:
        g = prepare_graph(graph, crs)
        sh_nodes, sh_snap = snap(g, sh_m)
        pl_nodes, pl_snap = snap(g, pl_m)
        at_node: dict[Any, list[int]] = {}
        for s, n in enumerate(sh_nodes):
            at_node.setdefault(n, []).append(s)
        sh_in = sh_snap <= max_snap_m
        at_node = {n: [s for s in ss if sh_in[s]] for n, ss in at_node.items()}
        at_node = {n: ss for n, ss in at_node.items() if ss}
        target_extra = {n: min(sh_snap[s] for s in ss) for n, ss in at_node.items()}
        shelters_outside = int((~sh_in).sum())
        outside = [
            (text(pl, "name", p) or str(p), float(pl_snap[p]))
            for p in range(len(pl))
            if pl_snap[p] > max_snap_m
        ]
        # One SciPy search for every home (not one per home): the distance from each home's
        # node to each shelter node, then each home's early-stopping search replayed on it.
        targets = list(at_node)
        t_col = {n: t for t, n in enumerate(targets)}
        t_extra = np.array([target_extra[n] for n in targets], dtype=float)
        routed = [p for p in range(len(pl)) if pl_snap[p] <= max_snap_m]
        home_nodes = list(dict.fromkeys(g.index[pl_nodes[p]] for p in routed))
        h_row = {node: h for h, node in enumerate(home_nodes)}
        search = WalkSearch(
            g, np.array(home_nodes, dtype=np.int64),
            np.array([g.index[n] for n in targets], dtype=np.int64), limit=max_walk_m,
        )  # fmt: skip

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
            walk_col: dict[int, int] = {}
            if g is not None and pl_snap[p] <= max_snap_m:
                must = {t_col[sh_nodes[s]] for s in straight_order if sh_snap[s] <= max_snap_m}
                row = search.dist[h_row[g.index[pl_nodes[p]]]]
                for t in settle(row, t_extra, want=kk, must=must, cutoff=max_walk_m):
                    for s in at_node[targets[t]]:
                        walk[s] = row[t] + sh_snap[s] + pl_snap[p]
                        walk_col[s] = t
            walk_order = sorted(walk, key=lambda s: (walk[s], s))[:kk]
            chosen = list(dict.fromkeys([*walk_order, *straight_order.tolist()]))
            rank_straight = {int(s): i + 1 for i, s in enumerate(np.argsort(drow, kind="stable"))}
            rank_walk = {s: i + 1 for i, s in enumerate(sorted(walk, key=lambda s: (walk[s], s)))}
            for s in chosen:
                s = int(s)
                w = walk.get(s, np.nan)
                if g is not None and s in walk:
                    line = (h_row[g.index[pl_nodes[p]]], walk_col[s], p, s)  # drawn below
                    route = "walk"
                else:
                    end = nearest_points(sh_geoms[s], pl_geoms[p])[0]
                    line = LineString([pl_geoms[p], end])
                    route = "straight"
                rows.append(
                    {
                        "_p": p,
                        "place_ref": text(pl, "source_ref", p) or str(p),
                        "place_name": text(pl, "name", p),
                        "shelter_ref": text(sh, "source_ref", s),
                        "shelter_name": text(sh, "name", s),
                        # vertical evacuation said with the route too: 津波避難ビル（垂直避難可）
                        "shelter_category": text(sh, "category", s)
                        + (f"（{up}）" if (up := text(sh, "upstairs_only", s)) else ""),
                        "straight_m": round(float(drow[s]), 1),
                        "walk_m": round(float(w), 1) if not np.isnan(w) else np.nan,
                        "walk_min": round(float(w) / speed, 1) if not np.isnan(w) else np.nan,
                        "rank_straight": rank_straight[s],
                        "rank_walk": rank_walk.get(s, pd.NA),
                        "serves": serves_list[s],
                        "route": route,
                    }
                )
                geoms.append(line)
    if g is not None:
        # the routes drawn, all in one SciPy search with predecessors
        wanted = [line[:2] for line in geoms if isinstance(line, tuple)]
        paths = search.paths(list(dict.fromkeys(wanted)))
        geoms = [
            path_line(g, paths[line[:2]], pl_geoms[line[2]], sh_geoms[line[3]])
            if isinstance(line, tuple)
            else line
            for line in geoms
        ]
        unreachable = sum(1 for r in rows if r["route"] == "straight")
        if unreachable:
            notes.append(
                _(
                    "%(n)d place–shelter pairs have no walking route within %(m).0f m on the "
                    "street network; shown as straight lines"
                )
                % {"n": unreachable, "m": max_walk_m}
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
    return NearestShelters(
        table=table,
        lines=lines,
        notes=notes,
        outside_network=outside,
        shelters_outside=shelters_outside,
    )
