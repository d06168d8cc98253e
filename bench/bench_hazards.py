"""Hazard point queries (issue 25): 1,000 and 100,000 sites, polygons and portal tile pixels.

Zones: a 100 × 100 grid of 国土数値情報-like polygons (浸水深ランク 1–6, twelve
vertices each) over 金沢市; sites at random points over the same box. Measured
in one run, for each number of sites:

- ``polygon``: :meth:`civicmap.hazards.HazardLayer.at_many` (one bulk STRtree
  query, the deepest class per point);
- ``tile pixel``: :meth:`civicmap.hazard_tiles.TileHazardLayer.at_many` on the
  same zones drawn as the portal draws them (z16 PNG tiles in the 手引き colours,
  no tile where there is no zone), read from an offline pack as a rebuild does
  (checksums, PNG decoding, the pixel under each site classed by its colour);
- ``sjoin``: a plain ``geopandas.sjoin`` of the sites on the polygons (which
  gives every zone a point falls in, not yet the deepest one) — the baseline.

Time is the best of 3 (a fresh tile fetcher each time: the pack is read again);
memory the peak traced by ``tracemalloc`` during one call (Python and NumPy
allocations; Pillow's decoded images are not traced, about 256 kB per tile held
at a time). The table, with each method's ratio to ``sjoin``, goes to stdout
and to ``bench/RESULTS-hazards.md``; the tile answers are checked against the
polygon answers (agreement, the rest being pixels on a zone edge).

Usage::

    .venv/bin/python bench/bench_hazards.py
"""

from __future__ import annotations

import io
import tempfile
import time
import tracemalloc
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from PIL import Image, ImageDraw

from civicmap import settings
from civicmap.hazard_tiles import TILE_HAZARDS, TileHazardLayer, tile_sources
from civicmap.hazards import DEPTH_CLASSES, HazardLayer, credit_for
from civicmap.render import tiles
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


def _world(lon: np.ndarray, lat: np.ndarray, z: int) -> tuple[np.ndarray, np.ndarray]:
    n = 2**z * 256
    return (lon + 180) / 360 * n, (1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n


def portal_tiles(z: gpd.GeoDataFrame, zoom: int) -> dict[tuple[int, int, int], bytes]:
    """The zones drawn as the portal's z``zoom`` PNG tiles (deepest on top); empty tiles left out."""
    out = {}
    tree = shapely.STRtree(z.geometry.to_numpy())
    colours = [tuple(int(c.color[i : i + 2], 16) for i in (1, 3, 5)) for c in DEPTH_CLASSES]
    for _z, x, y in tiles.tiles_for_bounds(BOX, zoom):
        w, s, e, n = tiles.tile_lonlat_bounds(zoom, x, y)
        hit = tree.query(shapely.box(w, s, e, n))
        if len(hit) == 0:
            continue
        im = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
        d = ImageDraw.Draw(im)
        for k in sorted(hit, key=lambda k: z["cls"].iat[k]):
            ring = np.asarray(z.geometry.iat[k].exterior.coords)
            px, py = _world(ring[:, 0], ring[:, 1], zoom)
            d.polygon(list(zip(px - x * 256, py - y * 256, strict=True)),
                      fill=(*colours[z["cls"].iat[k]], 255))  # fmt: skip
        buf = io.BytesIO()
        im.save(buf, "PNG")
        out[(zoom, x, y)] = buf.getvalue()
    return out


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
    th = TILE_HAZARDS["flood-max"]
    (source,) = tile_sources(th)
    t0 = time.perf_counter()
    drawn = portal_tiles(z, th.query_zoom)
    pack = Path(tempfile.mkdtemp(prefix="bench-hazard-pack."))
    tiles.write_pack_tiles(pack, source, drawn, [])
    made = time.perf_counter() - t0
    settings.use_cache = False  # only the pack answers

    def tile_layer() -> TileHazardLayer:
        fetcher = tiles.TileFetcher(source, pack=pack, offline=True, builtin=True)
        return TileHazardLayer(spec=HazardSpec(file=None, kind="flood", tiles="flood-max"),
                               tiles=th, fetchers=[fetcher])  # fmt: skip

    rows = [
        "| sites | method | s | ÷ sjoin | MiB | ÷ sjoin | sites in a zone |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for n in (1_000, 100_000):
        lons = rng.uniform(BOX[0], BOX[2], n)
        lats = rng.uniform(BOX[1], BOX[3], n)
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lons, lats), crs="EPSG:4326")
        z.sindex  # noqa: B018 - built once, as at_many's tree
        ts, ms = timed(lambda pts=pts: gpd.sjoin(pts, z, predicate="intersects", how="left"))
        joined = gpd.sjoin(pts, z, predicate="intersects", how="inner")
        layer._tree = None
        layer.at_many(lons[:1], lats[:1])  # the tree is built once per layer, as in a build
        geoms = pts.geometry.to_numpy()  # the sites' points, as a build hands them over
        tp, mp = timed(lambda lons=lons, lats=lats, g=geoms: layer.at_many(lons, lats, points=g))
        _, cls_p, _ = layer.at_many(lons, lats, points=geoms)
        assert (cls_p >= 0).sum() == joined.index.nunique()  # the same points are in a zone
        tt, mt = timed(lambda lons=lons, lats=lats: tile_layer().at_many(lons, lats))
        cov, cls_t, _ = tile_layer().at_many(lons, lats)
        assert cov.all()  # every tile was had or is "no zone"
        agree = float((cls_t == cls_p).mean())
        in_zone = joined.index.nunique()
        for name, t, m, k in (("sjoin (baseline)", ts, ms, in_zone),
                              ("polygon `HazardLayer.at_many`", tp, mp, int((cls_p >= 0).sum())),
                              ("tile pixel `TileHazardLayer.at_many`", tt, mt,
                               int((cls_t >= 0).sum()))):  # fmt: skip
            rows.append(f"| {n:,} | {name} | {t:.3f} | {t / ts:.2f}× | {m:.1f} | {m / ms:.2f}× "
                        f"| {k:,} |")  # fmt: skip
        notes.append(f"- {n:,} sites: tile pixel and polygon agree on {agree:.1%} of the sites "
                     "(the rest sit on a zone edge, where a 2 m pixel and the ring differ)")  # fmt: skip
    text = "\n".join(rows)
    head = (
        f"{len(z):,} zones; {len(drawn):,} z{th.query_zoom} portal tiles drawn from them and packed "
        f"in {made:.1f} s (not timed below). Best of 3; memory = tracemalloc peak of one call "
        "(Pillow's decoded tiles are not traced).\n\n"
    )
    print(head + text + "\n" + "\n".join(notes))
    OUT.write_text(
        "# Hazard point queries (bench/bench_hazards.py)\n\n" + head + text + "\n\n"
        + "\n".join(notes) + "\n",
        "utf-8",
    )  # fmt: skip


if __name__ == "__main__":
    main()
