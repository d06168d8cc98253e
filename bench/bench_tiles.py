"""Background tiles (issue #14): fetch cost of one A3 page at 1:10,000, and raster vs vector paper.

Everything comes from the loopback tile server of the tests
(``tests/tile_server.py``, generated 256-px PNGs on 127.0.0.1): no public
tile server is ever asked. Two figures, each next to its baseline in the same
run:

1. Tiles for an A3 page at 1:10,000 over central 富山市: how many, how many
   bytes, and the time with the polite pacing civicmap uses
   (``tiles.PACE_SECONDS`` between request starts, at most 2 connections)
   next to the same fetch unpaced — the pacing, not the transfer, is the cost.
   Then the same page again from the disk cache.
2. The paper render of the bundled demo (A4) with the basemap drawn from OSM
   vectors (today's default), with 地理院タイル-style raster tiles only, and
   with both (tiles under, OSM over); tiles come from the warm cache so the
   ratio is the rendering cost, and the PDF sizes are printed.

Usage::

    .venv/bin/python bench/bench_tiles.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from civicmap.spec.basemap import REGISTRY, Basemap
from civicmap.spec.paper import PaperOptions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

TOYAMA = (137.2133, 36.6953)  # 富山駅の南 (lon, lat)


def _best(fn, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_tiles_"))
    work.mkdir(parents=True, exist_ok=True)

    import geopandas as gpd
    from shapely.geometry import Point
    from tile_server import TileServer

    import civicmap
    from civicmap import settings
    from civicmap.render import tiles
    from civicmap.render.paper import render_paper
    from civicmap.render.paper.geometry import MM, page_size

    server = TileServer()
    REGISTRY["gsi-pale"] = dataclasses.replace(REGISTRY["gsi-pale"], url=server.url)
    src = REGISTRY["gsi-pale"]
    try:
        # 1. an A3 landscape page's map frame (20 mm margins) at 1:10,000
        pw, ph = page_size("A3", "landscape")
        fw, fh = pw - 40 * MM, ph - 40 * MM
        centre = gpd.GeoSeries([Point(*TOYAMA)], crs="EPSG:4326")
        crs = centre.estimate_utm_crs()
        c = centre.to_crs(crs).iloc[0]
        half_w, half_h = fw / 72 * 0.0254 * 10_000 / 2, fh / 72 * 0.0254 * 10_000 / 2
        extent = (c.x - half_w, c.y - half_h, c.x + half_w, c.y + half_h)
        bounds = tiles.frame_lonlat_bounds(extent, crs)
        z = tiles.paper_zoom(10_000, TOYAMA[1], src)
        want = tiles.tiles_for_bounds(bounds, z)
        print(f"A3 landscape at 1:10,000: frame {fw / MM:.0f} × {fh / MM:.0f} mm, "
              f"{half_w * 2 / 1000:.2f} × {half_h * 2 / 1000:.2f} km, zoom {z}, {len(want)} tiles")  # fmt: skip
        rows = []
        for label, pace in (("polite (civicmap)", tiles.PACE_SECONDS), ("unpaced baseline", 0.0)):
            settings.cache_folder = work / f"cache-{pace}"
            tiles.PACE_SECONDS = pace
            server.reset()
            f = tiles.TileFetcher(src)
            t = time.perf_counter()
            got = f.get_many(want)
            secs = time.perf_counter() - t
            rows.append((label, pace, secs, f.bytes_fetched, len(got), server.max_active))
        t = time.perf_counter()
        tiles.TileFetcher(src).get_many(want)
        cached = time.perf_counter() - t
        print("| fetch | pacing | time | tiles | bytes | max connections |")
        print("|---|---|---|---|---|---|")
        for label, pace, secs, nbytes, n, active in rows:
            print(
                f"| {label} | {pace:g} s | {secs:.2f} s | {n} | {nbytes / 1e6:.2f} MB | {active} |"
            )
        print(f"| again, from the disk cache | – | {cached:.2f} s | {len(want)} | 0 | 0 |")
        print(f"polite ÷ unpaced: {rows[0][2] / rows[1][2]:.1f}x")

        # 2. paper: vector vs raster vs both, on the demo (A4), tiles from the warm cache
        settings.cache_folder = work / "cache-paper"
        demo = civicmap.load_map(civicmap.demo_map_path())
        cases = {
            "vector (OSM drawn)": demo,
            "raster (tiles only)": dataclasses.replace(
                demo, basemap=Basemap(tiles="gsi-pale", draw=False)
            ),
            "raster + vector": dataclasses.replace(
                demo, basemap=Basemap(tiles="gsi-pale", draw=True)
            ),
        }
        results = {}
        for label, spec in cases.items():
            data = civicmap.collect(spec)
            render_paper(
                data, options=PaperOptions.from_dict({"size": "A4"}, file="<test>")
            )  # warm the tile cache
            out = {}

            def run(data=data, out=out):
                out["pdf"] = render_paper(
                    data, options=PaperOptions.from_dict({"size": "A4"}, file="<test>")
                )[0]

            results[label] = (_best(run), len(out["pdf"]))
            slug = label.split(" (")[0].replace(" + ", "_")
            (work / f"demo_{slug}.pdf").write_bytes(out["pdf"])
        base = results["vector (OSM drawn)"][0]
        print("\n| demo A4 paper | render | ÷ vector | PDF size |")
        print("|---|---|---|---|")
        for label, (secs, size) in results.items():
            print(f"| {label} | {secs:.2f} s | {secs / base:.2f}x | {size / 1e6:.2f} MB |")
        print(f"\noutputs in {work}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
