"""The street graph as routing needs it: adjacency lists, snapping, early-stopping Dijkstra.

Private to :mod:`civicmap.join`: :func:`prepare_graph` turns an osmnx-shaped
:class:`networkx.MultiDiGraph` into plain adjacency lists in a metric CRS
once, so ranking many places does not pay networkx's per-call overhead.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point
from shapely.ops import nearest_points

from civicmap.errors import CivicMapError
from civicmap.i18n import _
from civicmap.schema import CRS


@dataclass
class Graph:
    adj: dict[Any, list[tuple[Any, float, Any]]]
    nodes: list[Any]
    index: dict[Any, int]
    xy: np.ndarray  # metric node coordinates, one row per node
    points: gpd.GeoSeries  # metric
    edge_geoms: dict[tuple[Any, Any, Any], LineString]
    to_metric: Any  # pyproj Transformer from the graph CRS to the metric CRS


def prepare_graph(graph, crs) -> Graph:
    """Adjacency lists (both directions: walking ignores oneway) and node points in metres."""
    gcrs = graph.graph.get("crs", CRS)
    # Snap only to the largest connected piece: an extract cuts streets at its
    # edge into stubs, and a place snapped to a stub could reach nothing.
    pieces = list(nx.connected_components(graph.to_undirected(as_view=True)))
    main_piece = max(pieces, key=len) if pieces else set()
    nodes = [n for n in graph.nodes if n in main_piece]
    if not nodes:
        raise CivicMapError(
            _("street graph has no nodes; build it from an extract that covers the area")
        )
    try:
        xy = [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes]
    except KeyError as exc:
        raise CivicMapError(
            _(
                "street graph node has no %(axis)r coordinate; expected nodes with x (lon) and "
                "y (lat), as osmnx builds them"
            )
            % {"axis": exc.args[0]}
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
                _(
                    "street graph edge %(u)s→%(v)s has no 'length'; expected the length in metres "
                    "(osmnx adds it; for a hand-made graph set length=...)"
                )
                % {"u": u, "v": v}
            )
        length = float(length)
        adj[u].append((v, length, (u, v, key)))
        adj[v].append((u, length, (u, v, key)))
        if "geometry" in data:
            edge_geoms[(u, v, key)] = data["geometry"]
    return Graph(
        adj=adj,
        nodes=nodes,
        index={n: i for i, n in enumerate(nodes)},
        xy=np.column_stack([points.x.to_numpy(), points.y.to_numpy()]),
        points=points,
        edge_geoms=edge_geoms,
        to_metric=Transformer.from_crs(gcrs, points.crs, always_xy=True),
    )


def snap(g: Graph, geoms: gpd.GeoSeries) -> tuple[list[Any], np.ndarray]:
    """Nearest graph node of each geometry (metric) and the distance to it."""
    if geoms.empty:
        return [], np.array([], dtype=float)
    idx = g.points.sindex.nearest(geoms, return_all=False)
    # idx[0] indexes geoms, idx[1] indexes nodes
    node_of = np.empty(len(geoms), dtype=int)
    node_of[idx[0]] = idx[1]
    dist = shapely.distance(geoms.to_numpy(), g.points.to_numpy()[node_of])
    return [g.nodes[k] for k in node_of], np.asarray(dist, dtype=float)


def dijkstra(
    g: Graph,
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


def route_line(
    g: Graph, prev: dict, source: Any, target: Any, start: Point, end_geom
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
