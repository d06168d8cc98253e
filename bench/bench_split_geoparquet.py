"""``civicmap split --geoparquet``: CPU seconds to read one part's layers, GeoParquet vs .pbf.

A synthetic Tokyo-like extract (``bench/synth.py``) is split into an N×N grid with
``geoparquet=True``; for the part with the most data, every built-in layer's filter and the
basemap's are read (a) from the ``.osm.pbf`` part with the extract reader and (b) from the
part's GeoParquet files, each ``--repeat`` times in this process (CPU seconds, median). Prints
the Markdown table that ``bench/RESULTS-split.md`` shows under "GeoParquet".

Usage::

    .venv/bin/python bench/bench_split_geoparquet.py --km2 16 --grid 2 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out" / "split_geoparquet"
sys.path.insert(0, str(BENCH))

import synth  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    import geopandas as gpd
    import osmium
    import shapely

    from civicmap.sources.osmsplit import open_split, read_parts
    from civicmap.split import builtin_filters, split_extract

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--km2", type=float, default=16)
    ap.add_argument("--grid", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    pbf = OUT / f"synth_{args.km2:g}.osm.pbf"
    if not pbf.exists():
        synth.write_extract(pbf, km2=args.km2, seed=7)
    box = osmium.io.Reader(str(pbf), osmium.osm.NOTHING).header().box()
    west, south = box.bottom_left.lon, box.bottom_left.lat
    dx = (box.top_right.lon - west) / args.grid
    dy = (box.top_right.lat - south) / args.grid
    cells = [shapely.box(west + i * dx, south + j * dy, west + (i + 1) * dx, south + (j + 1) * dy)
             for j in range(args.grid) for i in range(args.grid)]  # fmt: skip
    gpd.GeoDataFrame({"name": [f"区画{k + 1}" for k in range(len(cells))]},
                     geometry=cells, crs="EPSG:4326").to_file(OUT / "grid.geojson")  # fmt: skip
    split_extract(pbf, OUT / "parts", by=str(OUT / "grid.geojson"), geoparquet=True,
                  overwrite=True)  # fmt: skip
    index = open_split(OUT / "parts")
    filters, types = builtin_filters()
    best = max((i for i, f in enumerate(index.files) if f),
               key=lambda i: (OUT / "parts" / index.files[i]).stat().st_size)  # fmt: skip
    parts = index.parts_for(index.regions[best].buffer(-1e-4), what="bench")
    stored = sum(1 for n in parts.layers.values() if n)
    rows = {}
    for label, p in (("pbf", replace(parts, layers=None)), ("geoparquet", parts)):
        cpu = []
        for _ in range(args.repeat):
            t0 = time.process_time()
            ext = read_parts(p, filters, types=types)
            cpu.append(time.process_time() - t0)
        rows[label] = (statistics.median(cpu), min(cpu), max(cpu),
                       sum(len(f) for f in ext.frames.values()))  # fmt: skip
    size = parts.files[0].stat().st_size / 1e6
    pq = sum(p.stat().st_size for p in parts.layers.values() if p) / 1e6
    print(f"part {parts.files[0].name}: {size:.2f} MB .pbf, {stored} layer files {pq:.2f} MB, "
          f"{len(parts.layers)} of {len(index.layer_filters)} layers stored")  # fmt: skip
    print("| read one part's layers + basemap | CPU s median (min–max) | rows |")
    print("|---|---|---|")
    for label, (med, lo, hi, n) in rows.items():
        print(f"| {label} | {med:.3f} ({lo:.3f}–{hi:.3f}) | {n:,} |")
    print(f"ratio pbf/geoparquet: {rows['pbf'][0] / rows['geoparquet'][0]:.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
