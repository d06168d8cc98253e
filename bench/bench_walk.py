"""Walking routes to the nearest shelter: ours vs a bounded multi-source Dijkstra (issue 19).

``make bench`` runs this after ``bench/bench_scale.py``; the table goes to
``bench/RESULTS-walk.md``.

Ours is :func:`civicmap.join.nearest_shelters` with a street graph, as the map pipeline calls it
for its homes (``shelter_routes.routes_for_map``): the graph turned into adjacency lists and a
sparse matrix, every home and shelter snapped to the nearest node of the largest connected piece,
one SciPy multi-source Dijkstra for every home at once (issue 32; until then one pure-Python
early-stopping search per home), each home's early stop replayed on its distances, the full
table row of each (place, shelter) pair, and the walking route drawn for the nearest shelter.
``k=1`` so it answers exactly what the baseline answers (the map uses k=3).

The baseline does the same work with the textbook tool: the same networkx graph to a SciPy
sparse matrix (largest connected piece, the shortest of parallel edges), snapping with a k-d
tree, one virtual node per shelter joined to its street node by its snapping distance, then ONE
``scipy.sparse.csgraph.dijkstra(indices=shelters, limit=max walk, min_only=True,
return_predecessors=True)`` for every node at once, and the route of each home followed back
through the predecessors. Both are timed from the networkx graph to the answers, in the same
process, alternated, median of 3; the bench asserts both give every home the same nearest
shelter (ties aside) and the same walking distance to 0.1 m.

The city is the synthetic Tokyo-like extract of 16 km² (``bench/synth.py``), its walking graph
read by ``civicmap.sources.streets``; homes and shelters are random points in it (fixed seed).

Usage::

    .venv/bin/python bench/bench_walk.py                   # about 3-6 min
    .venv/bin/python bench/bench_walk.py --homes 10,100 --shelters 50
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out" / "scale"
sys.path.insert(0, str(BENCH))

import synth  # noqa: E402

MAX_WALK_M = 5000.0
MAX_SNAP_M = 300.0


def _points(bbox, n: int, seed: int):
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    w, s, e, nn = bbox
    xs = rng.uniform(w, e, n)
    ys = rng.uniform(s, nn, n)
    return gpd.GeoDataFrame(
        {"name": [f"p{i}" for i in range(n)], "source_ref": [f"r{i}" for i in range(n)]},
        geometry=gpd.points_from_xy(xs, ys),
        crs="EPSG:4326",
    )


def ours(graph, homes, shelters) -> dict[int, tuple[str, float, int]]:
    """home index -> (nearest shelter ref, walk m, route vertices), by civicmap's routing."""
    from civicmap.join import nearest_shelters

    res = nearest_shelters(homes, shelters, k=1, graph=graph, max_walk_m=MAX_WALK_M,
                           max_snap_m=MAX_SNAP_M)  # fmt: skip
    lines = res.lines
    first = lines[lines["rank_walk"] == 1]
    refs = homes["source_ref"].tolist()
    pos = {r: i for i, r in enumerate(refs)}
    return {
        pos[r.place_ref]: (r.shelter_ref, float(r.walk_m), len(r.geometry.coords))
        for r in first.itertuples(index=False)
    }


def baseline(graph, homes, shelters) -> dict[int, tuple[str, float, int]]:
    """The same answers with one bounded multi-source Dijkstra (SciPy), see the module doc."""
    import networkx as nx
    import pandas as pd
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    from civicmap.schema import metric_crs

    crs = metric_crs(homes, shelters)
    piece = max(nx.connected_components(graph.to_undirected(as_view=True)), key=len)
    nodes = [n for n in graph.nodes if n in piece]
    index = {n: i for i, n in enumerate(nodes)}
    import geopandas as gpd

    lon = np.fromiter((graph.nodes[n]["x"] for n in nodes), float, len(nodes))
    lat = np.fromiter((graph.nodes[n]["y"] for n in nodes), float, len(nodes))
    xy = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(crs)
    xy = np.column_stack([xy.x.to_numpy(), xy.y.to_numpy()])
    u, v, w = [], [], []
    for a, b, length in graph.edges(data="length"):
        if a in index and b in index:
            u.append(index[a])
            v.append(index[b])
            w.append(float(length))
    edges = pd.DataFrame({"u": u, "v": v, "w": w})
    lo = np.minimum(edges.u, edges.v)
    hi = np.maximum(edges.u, edges.v)
    edges = pd.DataFrame({"u": lo, "v": hi, "w": edges.w}).groupby(["u", "v"], sort=False).w.min()
    tree = cKDTree(xy)
    sh_xy = shelters.to_crs(crs).geometry
    sh_xy = np.column_stack([sh_xy.x.to_numpy(), sh_xy.y.to_numpy()])
    pl_xy = homes.to_crs(crs).geometry
    pl_xy = np.column_stack([pl_xy.x.to_numpy(), pl_xy.y.to_numpy()])
    sh_snap, sh_node = tree.query(sh_xy)
    pl_snap, pl_node = tree.query(pl_xy)
    inside = np.flatnonzero(sh_snap <= MAX_SNAP_M)
    n = len(nodes)
    virt = n + np.arange(len(inside))  # one node per shelter, joined by its snapping distance
    rows = np.concatenate([edges.index.get_level_values(0), virt])
    cols = np.concatenate([edges.index.get_level_values(1), sh_node[inside]])
    # a shelter exactly on a node: a tiny length, as a sparse matrix has no zero-length edge
    vals = np.concatenate([edges.to_numpy(), np.maximum(sh_snap[inside], 1e-9)])
    size = n + len(inside)
    mat = coo_matrix((vals, (rows, cols)), shape=(size, size)).tocsr()
    dist, pred, src = dijkstra(mat, directed=False, indices=virt, limit=MAX_WALK_M,
                               min_only=True, return_predecessors=True)  # fmt: skip
    refs = shelters["source_ref"].tolist()
    out = {}
    for p in range(len(homes)):
        node = pl_node[p]
        if pl_snap[p] > MAX_SNAP_M or not np.isfinite(dist[node]):
            continue
        path = [node]
        while pred[path[-1]] >= 0:
            path.append(pred[path[-1]])
        route = np.vstack([pl_xy[p], xy[path[:-1]], sh_xy[inside[src[node] - n]]])
        s = inside[src[node] - n]
        out[p] = (refs[s], round(float(dist[node] + pl_snap[p]), 1), len(route))
    return out


def _same(a: dict, b: dict, shelters_xy_tie: float = 0.15) -> None:
    assert a.keys() == b.keys(), f"homes answered differ: {sorted(a.keys() ^ b.keys())[:5]}"
    for p in a:
        (sa, wa, _), (sb, wb, _) = a[p], b[p]
        assert abs(wa - wb) <= shelters_xy_tie, f"home {p}: {wa} m vs {wb} m"
        # two shelters equally far (to 0.1 m) may be named either way round
        assert sa == sb or abs(wa - wb) <= shelters_xy_tie, f"home {p}: {sa} vs {sb}"


def bench(homes_counts: list[int], n_shelters: int, repeat: int = 3) -> dict:
    from civicmap.sources.streets import walking_graph_from_extract

    OUT.mkdir(parents=True, exist_ok=True)
    pbf = OUT / "synth_16.osm.pbf"
    if not pbf.exists():
        synth.write_extract(pbf, km2=16, seed=7)
    import osmium

    box = osmium.io.Reader(str(pbf)).header().box()
    bbox = (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
    graph = walking_graph_from_extract(pbf)
    shelters = _points(bbox, n_shelters, seed=2)
    result = {"km2": 16, "graph_nodes": graph.number_of_nodes(),
              "graph_edges": graph.number_of_edges(), "shelters": n_shelters, "rows": [],
              "repeat": repeat}  # fmt: skip
    for fn in (ours, baseline):  # imports and first-call costs out of the timings
        fn(graph, _points(bbox, 3, seed=5), shelters)
    for n_homes in homes_counts:
        homes = _points(bbox, n_homes, seed=1)
        times: dict[str, list[float]] = {"ours": [], "scipy": []}
        answers = {}
        for _ in range(repeat):  # alternated, so machine load hits both alike
            for name, fn in (("ours", ours), ("scipy", baseline)):
                t = time.perf_counter()
                answers[name] = fn(graph, homes, shelters)
                times[name].append(time.perf_counter() - t)
        _same(answers["ours"], answers["scipy"])
        row = {
            "homes": n_homes,
            "answered": len(answers["ours"]),
            "ours_s": round(statistics.median(times["ours"]), 3),
            "scipy_s": round(statistics.median(times["scipy"]), 3),
        }
        row["ratio"] = round(row["ours_s"] / row["scipy_s"], 2)
        result["rows"].append(row)
        print(json.dumps(row), flush=True)
    return result


def _table(r: dict) -> str:
    lines = [
        "# Walking to the nearest shelter (bench/bench_walk.py)",
        "",
        f"Run {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Same process, alternated, "
        f"median of {r['repeat']}. Shared machine (2 cores, about 8 agents at work): compare "
        "the ratio, not the seconds.",
        "",
        f"Synthetic 16 km² city: walking graph of {r['graph_nodes']:,} nodes and "
        f"{r['graph_edges']:,} directed edges; {r['shelters']} shelters; homes at random. Each "
        "side timed from the networkx graph to every home's nearest shelter, walking distance "
        "and route. Both give the same shelter and the same distance to 0.1 m (asserted).",
        "",
        "| homes | answered | civicmap s | SciPy multi-source Dijkstra s | civicmap ÷ SciPy |",
        "|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        lines.append(
            f"| {row['homes']} | {row['answered']} | {row['ours_s']:.3f} | {row['scipy_s']:.3f} | "
            f"{row['ratio']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--homes", default="10,100,1000,10000", help="numbers of homes, comma-separated"
    )
    ap.add_argument("--shelters", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    r = bench([int(x) for x in args.homes.split(",") if x], args.shelters, repeat=args.repeat)
    (BENCH / "RESULTS-walk.md").write_text(_table(r), encoding="utf-8")
    print(f"wrote {BENCH / 'RESULTS-walk.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
