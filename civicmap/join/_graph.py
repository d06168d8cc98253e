"""The street graph as routing needs it: adjacency lists, snapping, shortest walks.

Private to :mod:`civicmap.join`: :func:`prepare_graph` turns an osmnx-shaped
:class:`networkx.MultiDiGraph` into plain adjacency lists and a SciPy sparse matrix in a
metric CRS once, so ranking many places does not pay networkx's per-call overhead.
:class:`WalkSearch` answers every home with one multi-source SciPy Dijkstra (from the
homes or from the shelters, whichever are fewer) instead of one Python search per home.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point
from shapely.ops import nearest_points

from civicmap.errors import CivicMapError
from civicmap.i18n import _
from civicmap.schema import CRS


def _sparse() -> tuple[Any, Any]:
    """``(scipy.sparse.csr_matrix, scipy.sparse.csgraph)``, imported on first use.

    SciPy's sparse graphs cost 0.18 s of every civicmap command's start (CLI, check,
    batch workers); only a map with walking routes needs them.
    """
    from scipy.sparse import csgraph, csr_matrix

    return csr_matrix, csgraph


@dataclass
class Graph:
    nodes: list[Any]
    index: dict[Any, int]
    xy: np.ndarray  # metric node coordinates, one row per node
    points: gpd.GeoSeries  # metric
    edge_geoms: dict[tuple[Any, Any, Any], LineString]
    to_metric: Any  # pyproj Transformer from the graph CRS to the metric CRS
    #: The main piece as a symmetric sparse matrix over ``nodes``: the shortest edge of each pair.
    matrix: Any = None
    #: ``(i, j)`` with i < j (node positions) → the key of the edge the matrix holds for the pair.
    edge_of: dict[tuple[int, int], Any] = field(default_factory=dict)
    #: Every edge as read: ``(u, v, length, (u, v, key))``, in the graph's order.
    edges: list[tuple[Any, Any, float, Any]] = field(default_factory=list)
    _adj: dict[Any, list[tuple[Any, float, Any]]] | None = None

    @property
    def adj(self) -> dict[Any, list[tuple[Any, float, Any]]]:
        """Adjacency lists (both directions), built on first use (:func:`dijkstra` only)."""
        if self._adj is None:
            adj: dict[Any, list[tuple[Any, float, Any]]] = {}
            for u, v, length, ekey in self.edges:
                adj.setdefault(u, []).append((v, length, ekey))
                adj.setdefault(v, []).append((u, length, ekey))
            self._adj = adj
        return self._adj


def prepare_graph(graph, crs) -> Graph:
    """The main piece of the graph as a sparse matrix, and its node points in metres.

    Walking ignores oneway: every edge counts both ways.
    """
    gcrs = graph.graph.get("crs", CRS)
    everything = list(graph.nodes)
    at = {n: i for i, n in enumerate(everything)}
    edge_geoms: dict[tuple[Any, Any, Any], LineString] = {}
    multi = graph.is_multigraph()
    edges = (
        graph.edges(keys=True, data=True)
        if multi
        else ((u, v, 0, d) for u, v, d in graph.edges(data=True))
    )
    read: list[tuple[Any, Any, float, Any]] = []
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
        read.append((u, v, float(length), (u, v, key)))
        if "geometry" in data:
            edge_geoms[(u, v, key)] = data["geometry"]
    iu = np.fromiter((at[e[0]] for e in read), np.int64, len(read))
    iv = np.fromiter((at[e[1]] for e in read), np.int64, len(read))
    # Snap only to the largest connected piece: an extract cuts streets at its
    # edge into stubs, and a place snapped to a stub could reach nothing. (SciPy numbers
    # the pieces in node order, as networkx finds them: the first largest one wins.)
    in_main = np.zeros(len(everything), dtype=bool)
    if everything:
        csr_matrix, csgraph = _sparse()
        links = csr_matrix((np.ones(len(read)), (iu, iv)), shape=(len(everything),) * 2)
        _n, labels = csgraph.connected_components(links, directed=False)
        in_main = labels == np.argmax(np.bincount(labels))
    nodes = [n for n, keep in zip(everything, in_main, strict=True) if keep]
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
    position = np.cumsum(in_main) - 1  # a node's row in the main piece
    inside = np.flatnonzero(in_main[iu] & in_main[iv] & (iu != iv))
    matrix, edge_of = _pair_matrix(
        len(nodes), position[iu[inside]], position[iv[inside]],
        np.array([read[i][2] for i in inside], dtype=float), [read[i][3] for i in inside],
    )  # fmt: skip
    return Graph(
        nodes=nodes,
        index={n: i for i, n in enumerate(nodes)},
        xy=np.column_stack([points.x.to_numpy(), points.y.to_numpy()]),
        points=points,
        edge_geoms=edge_geoms,
        to_metric=Transformer.from_crs(gcrs, points.crs, always_xy=True),
        matrix=matrix,
        edge_of=edge_of,
        edges=read,
    )


def _pair_matrix(n: int, us: np.ndarray, vs: np.ndarray, ws: np.ndarray, keys: list[Any]):
    """One entry per node pair: its shortest edge, the first of equal ones (as the search takes).

    Walking ignores direction, so the pair is stored once (i < j) and searched undirected.
    A zero length stays an edge (SciPy keeps explicit zeros of a CSR matrix as edges).
    """
    u = np.asarray(us, dtype=np.int64)
    v = np.asarray(vs, dtype=np.int64)
    w = np.asarray(ws, dtype=float)
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((np.arange(len(w)), w, hi, lo))
    lo, hi, w = lo[order], hi[order], w[order]
    first = np.ones(len(w), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    picked = order[first]
    csr_matrix, _csgraph = _sparse()
    matrix = csr_matrix((w[first], (lo[first], hi[first])), shape=(n, n))
    edge_of = {
        (int(a), int(b)): keys[i] for a, b, i in zip(lo[first], hi[first], picked, strict=True)
    }
    return matrix, edge_of


#: Most distances held at once by one SciPy call (rows × nodes): about 40 MB of float64.
_CHUNK_CELLS = 5_000_000


class WalkSearch:
    """Walking distances between many homes and many shelter nodes in one SciPy search.

    Pure-Python Dijkstra from each home was 62 % of a map's routing time for 1,000 homes.
    ``scipy.sparse.csgraph.dijkstra`` with ``indices=`` all sources answers them in one
    call, bounded by ``limit`` (the longest walk). The sources are the homes or the
    shelter nodes, whichever are fewer (the graph is undirected: the distance is the same
    both ways); rows are computed in chunks so memory stays bounded on a city's graph.

    Parameters
    ----------
    g : Graph
    homes, targets : array of int
        Node positions (in ``g.nodes``) of the homes and of the shelter nodes.
    limit : float
        Metres: longer walks are not searched (``inf`` in :attr:`dist`).
    """

    def __init__(self, g: Graph, homes: np.ndarray, targets: np.ndarray, *, limit: float) -> None:
        self.g = g
        self.homes = np.asarray(homes, dtype=np.int64)
        self.targets = np.asarray(targets, dtype=np.int64)
        self.limit = float(limit)
        self.from_homes = len(self.homes) <= len(self.targets)
        sources = self.homes if self.from_homes else self.targets
        wanted = self.targets if self.from_homes else self.homes
        #: dist[h, t]: metres from home row h to target column t (``inf`` beyond ``limit``).
        self.dist = np.full((len(self.homes), len(self.targets)), np.inf)
        if len(self.homes) == 0 or len(self.targets) == 0:
            return
        #: Predecessors of every source, kept when they fit one chunk (the routes then need
        #: no second search).
        self._pred: np.ndarray | None = None
        keep = len(sources) * len(g.nodes) <= _CHUNK_CELLS
        for start, rows in self._chunks(sources):
            d = _sparse()[1].dijkstra(
                g.matrix, directed=False, indices=rows, limit=self.limit, return_predecessors=keep
            )
            if keep:
                d, self._pred = d
            block = d[:, wanted]
            if self.from_homes:
                self.dist[start : start + len(rows)] = block
            else:
                self.dist[:, start : start + len(rows)] = block.T

    def _chunks(self, sources: np.ndarray):
        step = max(1, _CHUNK_CELLS // max(1, len(self.g.nodes)))
        for start in range(0, len(sources), step):
            yield start, sources[start : start + step]

    def paths(self, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:
        """The node positions from home to target of each ``(home row, target column)``."""
        out: dict[tuple[int, int], list[int]] = {}
        if not pairs:
            return out
        by_source: dict[int, list[tuple[int, int]]] = {}
        for h, t in pairs:
            by_source.setdefault(h if self.from_homes else t, []).append((h, t))
        source_rows = np.array(sorted(by_source), dtype=np.int64)
        nodes_of = self.homes if self.from_homes else self.targets
        for start, rows in self._chunks(source_rows):
            if self._pred is not None:
                pred = self._pred[rows]
            else:
                _d, pred = _sparse()[1].dijkstra(
                    self.g.matrix,
                    directed=False,
                    indices=nodes_of[rows],
                    limit=self.limit,
                    return_predecessors=True,
                )
            for r, src in enumerate(source_rows[start : start + len(rows)]):
                for h, t in by_source[int(src)]:
                    if self.from_homes:  # predecessors lead back to the home: reverse
                        path = _follow(pred[r], int(self.targets[t]))
                        path.reverse()
                    else:  # they lead from the home to the shelter node: as they are
                        path = _follow(pred[r], int(self.homes[h]))
                    out[(h, t)] = path
        return out


def _follow(pred: np.ndarray, node: int) -> list[int]:
    path = [node]
    while pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    return path


def settle(dist: np.ndarray, extra: np.ndarray, *, want: int, must: set[int], cutoff: float):
    """The targets an early-stopping search from one home settles (see :func:`dijkstra`).

    Given the home's distance to every target, walks the targets in order of distance
    as that search settles them and stops where it stops: once ``want`` targets are
    settled, every ``must`` target too, and the next one is farther than the
    ``want``-th best total (distance + ``extra``); or past ``cutoff``. So the shared
    search answers exactly what one search per home answered.
    """
    best: list[float] = []
    pending = set(must)
    settled: list[int] = []
    for t in np.argsort(dist, kind="stable"):
        d = dist[t]
        if not d <= cutoff:
            break
        if len(best) >= want and not pending and d > -best[0]:
            break
        t = int(t)
        settled.append(t)
        pending.discard(t)
        total = d + extra[t]
        if len(best) < want:
            heapq.heappush(best, -total)
        elif total < -best[0]:
            heapq.heapreplace(best, -total)
    return settled


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
        for v, length, ekey in g.adj.get(u, ()):
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
    return _line(g, path, ekeys, start, end_geom)


def path_line(g: Graph, path: list[int], start: Point, end_geom) -> LineString:
    """:func:`route_line` for a path of node positions (as :class:`WalkSearch` gives it)."""
    ekeys = [g.edge_of[(min(a, b), max(a, b))] for a, b in itertools.pairwise(path)]
    return _line(g, [g.nodes[i] for i in path], ekeys, start, end_geom)


def _line(g: Graph, path: list[Any], ekeys: list[Any], start: Point, end_geom) -> LineString:
    # coordinates as numpy blocks, not a tuple per vertex: 10,000 routes are drawn per map
    node_xy = g.xy[[g.index[n] for n in path]]
    parts = [np.array([[start.x, start.y]]), node_xy[:1]]
    for j, ekey in enumerate(ekeys):
        geom = g.edge_geoms.get(ekey)
        if geom is not None:
            xs, ys = g.to_metric.transform(*np.asarray(geom.coords).T)
            cs = np.column_stack([xs, ys])
            pa = node_xy[j]
            if np.hypot(*(cs[0] - pa)) > np.hypot(*(cs[-1] - pa)):
                cs = cs[::-1]
            parts.append(cs[1:-1])
        parts.append(node_xy[j + 1 : j + 2])
    end = nearest_points(end_geom, Point(node_xy[-1]))[0]
    parts.append(np.array([[end.x, end.y]]))
    return LineString(np.vstack(parts))
