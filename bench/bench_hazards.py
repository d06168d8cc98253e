"""Hazard point queries (issue 25): 1,000 and 100,000 sites against flood zones.

Zones: a 100 × 100 grid of 国土数値情報-like polygons (浸水深ランク 1–6, several
vertices each) over 金沢市; sites at random points over the same box. Measured
in one run: :meth:`civicmap.hazards.HazardLayer.at_many` (one bulk STRtree query,
deepest class per point) against a plain ``geopandas.sjoin`` on the polygons
(which gives every zone a point falls in, not yet the deepest one). Time is the
best of 3; memory the peak traced by ``tracemalloc`` during one call. The table
goes to stdout and to ``bench/RESULTS-hazards.md``.

Usage::

    .venv/bin/python bench/bench_hazards.py
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from civicmap.hazards import DEPTH_CLASSES, HazardLayer, credit_for
from civicmap.spec.hazards import HazardSpec

OUT = Path(__file__).resolve().parent / "RESULTS-hazards.md"
BOX = (136.55, 36.50, 136.80, 36.65)
GRID = 100


def zones(rng: np.random.Generator) -> gpd.GeoDataFrame:
    w, s, e, n = BOX
    dx, dy = (e - w) / GRID, (n - s) / GRID
    polys, cls = [], []
    for i in range(GRID):
        for j in range(GRID):
            x0, y0 = w + i * dx, s + j * dy
            ring = [(x0 + dx * (0.5 + 0.5 * np.cos(a)), y0 + dy * (0.5 + 0.5 * np.sin(a)))
                    for a in np.linspace(0, 2 * np.pi, 13)[:-1]]  # fmt: skip
            polys.append(shapely.Polygon(ring))
            cls.append(int(rng.integers(0, len(DEPTH_CLASSES))))
    return gpd.GeoDataFrame({"cls": cls, "depth": [""] * len(cls)}, geometry=polys, crs="EPSG:4326")


def timed(fn, repeat: int = 3) -> tuple[float, float]:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak / 2**20


def main() -> None:
    rng = np.random.default_rng(25)
    z = zones(rng)
    spec = HazardSpec(file=Path("bench.geojson"), kind="flood")
    layer = HazardLayer(spec=spec, zones=z, classes=DEPTH_CLASSES, credit=credit_for(spec),
                        extent=shapely.box(*BOX))  # fmt: skip
    rows = ["| sites | zones | at_many s | at_many MiB | sjoin s | sjoin MiB | in a zone |",
            "|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for n in (1_000, 100_000):
        lons = rng.uniform(BOX[0], BOX[2], n)
        lats = rng.uniform(BOX[1], BOX[3], n)
        layer._tree = None
        layer.at_many(lons[:1], lats[:1])  # the tree is built once per layer, as in a build
        t1, m1 = timed(lambda lons=lons, lats=lats: layer.at_many(lons, lats))
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lons, lats), crs="EPSG:4326")
        z.sindex  # noqa: B018 - built once, as at_many's tree
        t2, m2 = timed(lambda pts=pts: gpd.sjoin(pts, z, predicate="intersects", how="left"))
        _, cls, _ = layer.at_many(lons, lats)
        joined = gpd.sjoin(pts, z, predicate="intersects", how="inner")
        assert (cls >= 0).sum() == joined.index.nunique()  # the same points are in a zone
        rows.append(
            f"| {n:,} | {len(z):,} | {t1:.3f} | {m1:.1f} | {t2:.3f} | {m2:.1f} | {(cls >= 0).sum():,} |"
        )
    text = "\n".join(rows)
    print(text)
    OUT.write_text("# Hazard point queries (bench/bench_hazards.py)\n\n" + text + "\n", "utf-8")


if __name__ == "__main__":
    main()
