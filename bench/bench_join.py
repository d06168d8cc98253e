"""Benchmark conflation and walking distances on synthetic city-sized data.

Prints figures and writes them to ``bench/RESULTS-join.md`` (not with
``--quick``); asserts nothing. Run: ``.venv/bin/python bench/bench_join.py [--quick]``.

* Conflation: N official records × N OSM features (OSM = the official points
  moved a few metres, some renamed, 10 % dropped, 10 % extra), against the
  obvious alternative measured in the same run, alternated, median of 7
  after one warm-up call of each (the first call in a process pays pyproj's
  and rapidfuzz's set-up for both): ``geopandas.sjoin_nearest`` + rapidfuzz
  ratios on NFKC names (issue #17); prints ours, baseline and the ratio
  ours / baseline (< 1: ours is faster), of the medians and the median of
  the per-round ratios (each round runs both back to back, so load that
  moves during the run moves both alike).
  Also the brute-force all-pairs distance matrix on a sample, scaled by N².
* Walking: a grid street network (100 m blocks) of city size, nearest
  shelters for P places; baseline: networkx single-source Dijkstra (no early
  stop) from a few places, scaled to P.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
import unicodedata

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from pyproj import Transformer
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from civicmap.join import conflate, nearest_shelters
from civicmap.schema import CRS, conform

TO_LL = Transformer.from_crs("EPSG:6677", CRS, always_xy=True)
X0, Y0 = -12_000.0, -35_000.0  # around 新宿 in JGD2011 zone IX


def frame(xy: np.ndarray, names: list[str], source: str) -> gpd.GeoDataFrame:
    lon, lat = TO_LL.transform(X0 + xy[:, 0], Y0 + xy[:, 1])
    gdf = gpd.GeoDataFrame(
        {"name": names, "source_ref": [f"{source}:{i}" for i in range(len(names))]},
        geometry=gpd.points_from_xy(lon, lat),
        crs=CRS,
    )
    return conform(gdf, layer="bench", source=source)


def bench_conflation(n: int, rng: np.random.Generator, *, repeat: int = 7) -> list[str]:
    side = 30_000.0  # a 30 km square: about the 23 wards
    xy = rng.uniform(0, side, size=(n, 2))
    names = [f"施設{i}保育園" for i in range(n)]
    official = frame(xy, names, "official.csv")
    keep = rng.random(n) > 0.1
    osm_xy = xy[keep] + rng.normal(0, 8, size=(keep.sum(), 2))
    # plain str, as the readers give (not numpy's str_)
    osm_names = [
        nm if rng.random() > 0.05 else f"別名{i}"
        for i, nm in enumerate(names[k] for k in np.flatnonzero(keep))
    ]
    extra = int(n * 0.1)
    osm_xy = np.vstack([osm_xy, rng.uniform(0, side, size=(extra, 2))])
    osm_names += [f"新規{i}幼稚園" for i in range(extra)]
    osm = frame(osm_xy, osm_names, "osm")

    # The obvious alternative (issue #17): sjoin_nearest for the nearest OSM
    # feature of each official record, then one rapidfuzz ratio per pair on
    # NFKC names. No readings, no one-to-one assignment, no diff: the floor.
    def obvious() -> int:
        crs = "EPSG:6677"
        joined = gpd.sjoin_nearest(
            official.to_crs(crs), osm.to_crs(crs), max_distance=150.0, distance_col="d"
        )
        ratio = cpdist(
            [unicodedata.normalize("NFKC", x) for x in joined["name_left"]],
            [unicodedata.normalize("NFKC", x) for x in joined["name_right"]],
            scorer=fuzz.ratio,
        )
        return len(ratio)

    # one warm-up each, then alternated, median of `repeat`: the machine is shared,
    # so load moves both alike
    conflate(official, osm)
    obvious()
    t_conf, t_obvious = [], []
    cpu_conf, cpu_obvious = [], []  # CPU seconds of this process: less moved by others' jobs
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = conflate(official, osm)
        t_conf.append(time.perf_counter() - t0)
        cpu_conf.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        pairs = obvious()
        t_obvious.append(time.perf_counter() - t0)
        cpu_obvious.append(time.process_time() - c0)
    conf, base = statistics.median(t_conf), statistics.median(t_obvious)
    cpu_ratio = statistics.median(cpu_conf) / statistics.median(cpu_obvious)

    m = 2000
    a = shapely.points(xy[:m])
    b = shapely.points(osm_xy[:m])
    t0 = time.perf_counter()
    shapely.distance(a[:, None], b[None, :])
    t_brute_sample = time.perf_counter() - t0
    t_brute = t_brute_sample * (n / m) * (len(osm) / m)
    per_round = statistics.median(c / o for c, o in zip(t_conf, t_obvious, strict=True))
    lines = [
        f"conflation: {n:,} official × {len(osm):,} OSM features "
        f"(median of {repeat}, alternated, after one warm-up each)",
        "  ours: conflate (point grid or STRtree, names + readings, one-to-one, diff): "
        f"{conf:6.3f} s",
        f"  baseline: sjoin_nearest + rapidfuzz ({pairs:,} pairs, no one-to-one/diff): {base:6.3f} s",
        f"  ratio ours / baseline: {conf / base:5.2f}× of the medians, "
        f"{per_round:5.2f}× median of the rounds (runs: "
        + ", ".join(f"{c:.3f}/{o:.3f}" for c, o in zip(t_conf, t_obvious, strict=True))
        + ")",
        f"  CPU time ours / baseline: {cpu_ratio:5.2f}× (medians "
        f"{statistics.median(cpu_conf):.3f} / {statistics.median(cpu_obvious):.3f} s)",
        f"  all-pairs distances only (scaled from {m}²): {t_brute:6.2f} s = {t_brute / conf:.0f}× ours",
        f"  result: {result.summary()}",
    ]
    for line in lines:
        print(line)
    return lines


def grid_graph(nx_: int, ny: int, block: float = 100.0) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs="EPSG:6677")
    for i in range(nx_):
        for j in range(ny):
            g.add_node(i * ny + j, x=X0 + i * block, y=Y0 + j * block)
    for i in range(nx_):
        for j in range(ny):
            n = i * ny + j
            for m in ((i + 1) * ny + j if i + 1 < nx_ else None, n + 1 if j + 1 < ny else None):
                if m is not None:
                    g.add_edge(n, m, length=block)
                    g.add_edge(m, n, length=block)
    return g


def bench_walking(places_n: int, grid: int, shelters_n: int, rng: np.random.Generator) -> list[str]:
    t0 = time.perf_counter()
    g = grid_graph(grid, grid)
    t_build = time.perf_counter() - t0
    side = (grid - 1) * 100.0
    places = frame(
        rng.uniform(0, side, size=(places_n, 2)), [f"p{i}" for i in range(places_n)], "p"
    )
    shelters = frame(
        rng.uniform(0, side, size=(shelters_n, 2)), [f"s{i}" for i in range(shelters_n)], "s"
    )
    t0 = time.perf_counter()
    result = nearest_shelters(places, shelters, k=3, graph=g)
    t_walk = time.perf_counter() - t0

    sample = 3
    t0 = time.perf_counter()
    for src in rng.integers(0, g.number_of_nodes(), size=sample):
        nx.single_source_dijkstra_path_length(g, int(src), weight="length")
    t_base = (time.perf_counter() - t0) / sample * places_n
    walked = result.table["walk_m"].notna().mean()
    lines = [
        f"walking: {places_n:,} places, {shelters_n:,} shelters, grid {grid}×{grid} "
        f"({g.number_of_nodes():,} nodes, {g.number_of_edges():,} edges, "
        f"{side / 1000:.0f} km square; graph built in {t_build:.1f} s)",
        f"  nearest_shelters (k=3, early-stopping Dijkstra): {t_walk:6.2f} s",
        f"  baseline networkx full Dijkstra per place (scaled from {sample}): {t_base:6.2f} s",
        f"  ratio baseline / nearest_shelters: {t_base / t_walk:6.1f}×",
        f"  rows: {len(result.table):,}, with a walking distance: {walked:.0%}",
    ]
    for line in lines:
        print(line)
    return lines


def write_results(path: str, lines: list[str]) -> None:
    """The figures of this run, with when and where they were measured."""
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    head = [
        "# Conflation and walking benchmarks (`bench/bench_join.py`, issue #17)",
        "",
        f"Written by `bench/bench_join.py` on {when}; {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; load average at start "
        f"{load} (shared machine: compare the ratios, measured alternated in the same run).",
        "",
        "```",
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join([*head, *lines, "```", ""]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    ap.add_argument("--repeat", type=int, default=7, help="timed rounds of conflation (≥ 5)")
    ap.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "RESULTS-join.md"),
        help="where to write the figures (not with --quick)",
    )  # fmt: skip
    args = ap.parse_args()
    rng = np.random.default_rng(42)
    if args.quick:
        bench_conflation(2_000, rng, repeat=args.repeat)
        bench_walking(100, 100, 100, rng)
        return
    lines = bench_conflation(20_000, rng, repeat=args.repeat)
    lines += bench_walking(1_000, 300, 600, rng)
    write_results(args.out, lines)
    print(f"written: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
