"""Scale benchmarks for many maps (issue 19): the extract reader, and a batch on Dask.

``make bench`` runs this after ``bench/run.py``; the table goes to ``bench/RESULTS-scale.md``.

Reader: synthetic Tokyo-like extracts of 16, 64 and 256 km² (``bench/synth.py``), read with
the tag filters of all nine built-in layers plus the basemap. Baselines, each doing the same
work on the same file in the same run, alternated with ours, median of 3, each in a fresh
process (peak memory is the process's):

- bare pyosmium iteration with node locations and area assembly (the floor: no tags, no
  geometry objects),
- ``osmnx.features_from_xml`` on the same data as XML with the same tag keys (16/64 km²: at
  256 km² it needs more than this machine's time budget),
- pyrosm's ``get_data_by_custom_criteria`` with the same keys, in its own environment
  (``make bench-env`` makes ``bench/.venv-pyrosm``; pyrosm pins old libraries, so it does not
  go into ours).

Batch: a synthetic prefecture (one extract, a grid of 1 km² areas) built with
``civicmap.batch`` one area after another in one process (``workers=0``) and on a 2-worker
``LocalCluster``, with the peak memory of each worker, then a projection of the time for
鳥取県's 2,504 町丁目 and Japan's 1,741 municipalities from the measured cost per area.

Usage::

    .venv/bin/python bench/bench_scale.py                  # everything (about 10-20 min)
    .venv/bin/python bench/bench_scale.py --sizes 16 --batch-km2 16
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out" / "scale"
sys.path.insert(0, str(BENCH))

import synth  # noqa: E402

LAYERS = ["childcare", "shelters", "water", "toilets", "aed", "hospitals", "playgrounds",
          "police", "fire_stations"]  # fmt: skip
PYROSM_PY = BENCH / ".venv-pyrosm" / "bin" / "python"

_PRELUDE = """
import json, resource, sys, time
from pathlib import Path
"""

_FILTERS = """
from civicmap.spec.mapfile import parse_map
from civicmap.pipeline import _osm_filters
spec = parse_map({"title": "t", "area": {"bbox": [139.0, 35.0, 140.0, 36.0]},
                  "osm": {"file": PBF}, "layers": LAYERS}, file="t.yaml", base_dir=Path("."))
filters, types = _osm_filters(spec)
keys = sorted({k for f in filters.values() for k in f.positive_keys()})
"""

CASES = {
    "bare": """
import osmium
t = time.perf_counter(); n = 0
for o in osmium.FileProcessor(PBF).with_locations().with_areas():
    n += 1
s = time.perf_counter() - t
""",
    "civicmap": _FILTERS
    + """
from civicmap.sources.osmfile import read_extract
t = time.perf_counter()
ext = read_extract(PBF, filters, types=types)
s = time.perf_counter() - t
n = sum(len(f) for f in ext.frames.values())
""",
    "osmnx": _FILTERS
    + """
import osmnx as ox
t = time.perf_counter()
gdf = ox.features_from_xml(XML, tags={k: True for k in keys})
s = time.perf_counter() - t
n = len(gdf)
""",
    "pyrosm": """
KEYS = json.loads(sys.argv[1])
import pyrosm
t = time.perf_counter()
osm = pyrosm.OSM(PBF)
gdf = osm.get_data_by_custom_criteria(custom_filter={k: True for k in KEYS},
                                      keep_nodes=True, keep_ways=True, keep_relations=True)
s = time.perf_counter() - t
n = 0 if gdf is None else len(gdf)
""",
}


def _keys(pbf: Path) -> list[str]:
    code = (
        _PRELUDE
        + f"PBF = {str(pbf)!r}\nLAYERS = {LAYERS!r}\n"
        + _FILTERS
        + "print(json.dumps(keys))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


class BaselineMissing(SystemExit):
    """A baseline could not run: the comparison is void, so the bench stops (never "n/a")."""


def _check_baselines() -> None:
    if not PYROSM_PY.exists():
        raise BaselineMissing(
            f"bench_scale: the pyrosm baseline is missing ({PYROSM_PY} not found); "
            "run `make bench-env` first"
        )


def _run(case: str, pbf: Path, xml: Path | None, keys: list[str]) -> dict | None:
    python = sys.executable
    if case == "pyrosm":
        _check_baselines()
        python = str(PYROSM_PY)
    if case == "osmnx" and xml is None:
        return None
    code = (
        _PRELUDE
        + f"PBF = {str(pbf)!r}\nXML = {str(xml) if xml else ''!r}\nLAYERS = {LAYERS!r}\n"
        + CASES[case]
        + "\nprint(json.dumps({'seconds': s, 'features': n, "
        "'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    proc = subprocess.run(
        [python, "-c", code, json.dumps(keys)], capture_output=True, text=True, timeout=3600
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1][:200] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_read(sizes: list[float], repeat: int = 3) -> list[dict]:
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for km2 in sizes:
        pbf = OUT / f"synth_{km2:g}.osm.pbf"
        if not pbf.exists():
            synth.write_extract(pbf, km2=km2, seed=7)
        xml = None
        if km2 <= 64:
            xml = OUT / f"synth_{km2:g}.osm"
            if not xml.exists():
                synth.pbf_to_xml(pbf, xml)
        keys = _keys(pbf)
        runs: dict[str, list[dict]] = {c: [] for c in CASES}
        for _ in range(repeat):  # alternated, so machine load hits every case alike
            for case in CASES:
                r = _run(case, pbf, xml, keys)
                if r is not None:
                    runs[case].append(r)
        row = {"km2": km2, "pbf_mb": round(pbf.stat().st_size / 1e6, 1)}
        for case, rs in runs.items():
            ok = [r for r in rs if "seconds" in r]
            if ok:
                row[case] = {
                    "seconds": round(statistics.median(r["seconds"] for r in ok), 2),
                    "features": ok[0]["features"],
                    "peak_mb": round(max(r["peak_mb"] for r in ok)),
                }
            elif rs:
                raise BaselineMissing(
                    f"bench_scale: {case} failed on {pbf.name}: {rs[0].get('error', 'failed')}"
                )
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    return rows


def bench_batch(km2: float) -> dict:
    """A synthetic prefecture of ``km2`` km² cut into 1 km² areas, serial vs 2 workers."""
    import geopandas as gpd
    from shapely.geometry import box

    from civicmap.batch import batch

    folder = OUT / f"batch_{km2:g}"
    folder.mkdir(parents=True, exist_ok=True)
    pbf = folder / "pref.osm.pbf"
    ext = synth.write_extract(pbf, km2=km2, seed=11, overwrite=True)
    w, s, e, n = ext.bbox
    side = round(km2**0.5)
    dx, dy = (e - w) / side, (n - s) / side
    cells = [box(w + i * dx, s + j * dy, w + (i + 1) * dx, s + (j + 1) * dy)
             for j in range(side) for i in range(side)]  # fmt: skip
    areas = gpd.GeoDataFrame(
        {"name": [f"区画{j:02d}-{i:02d}" for j in range(side) for i in range(side)]},
        geometry=cells,
        crs="EPSG:4326",
    )
    areas.to_file(folder / "areas.geojson", driver="GeoJSON")
    (folder / "map.yaml").write_text(
        "title: 防災マップ\n"
        f"area: {{bbox: [{w}, {s}, {e}, {n}]}}\n"
        "osm: {file: pref.osm.pbf}\nlayers: [childcare, shelters, water]\n"
        "outputs:\n  web: {file: out/map.html, offline: true}\n"
        "  paper: {file: out/map.pdf, size: A4}\n",
        encoding="utf-8",
    )
    out = {"km2": km2, "areas": len(areas)}
    for label, workers in (("serial", 0), ("dask_2", 2)):
        target = folder / f"out_{label}"
        # a batch skips areas already built from the same inputs: start empty, or it times nothing
        shutil.rmtree(target, ignore_errors=True)
        mem: dict = {}
        t = time.perf_counter()
        res = batch(folder / "map.yaml", each=str(folder / "areas.geojson"),
                    out_dir=target, workers=workers, worker_memory=mem)  # fmt: skip
        secs = time.perf_counter() - t
        from civicmap.batch import _peak_rss_mb

        out[label] = {
            "seconds": round(secs, 1),
            "read_s": res.timings.get("read"),
            "startup_s": res.timings.get("startup"),
            "build_s": res.timings.get("build"),
            "ok": res.count("ok"),
            "failed": res.count("failed"),
            "area_seconds_median": round(statistics.median(r["seconds"] for r in res.rows), 2),
            # CPU seconds of each build: what an area costs, whatever else the machine runs
            "area_cpu_median": round(statistics.median(r["cpu_seconds"] for r in res.rows), 2),
            "area_cpu_mean": round(statistics.fmean(r["cpu_seconds"] for r in res.rows), 3),
            "peak_mb_per_worker": (
                [round(v) for v in mem.values()] if mem else [round(_peak_rss_mb())]
            ),
        }
        print(json.dumps({label: out[label]}, ensure_ascii=False), flush=True)
    out["speedup"] = round(out["serial"]["seconds"] / out["dask_2"]["seconds"], 2)
    # the areas' builds alone: reading the input and starting the workers are paid once a batch
    out["build_speedup"] = round(out["serial"]["build_s"] / out["dask_2"]["build_s"], 2)
    return out


def _projection(b: dict) -> list[str]:
    # worker-seconds per area, measured on the builds (start-up and the read are paid once):
    # the CPU seconds of the builds on the workers, which a busy machine does not inflate
    per_area = b["dask_2"].get("area_cpu_mean") or b["dask_2"]["seconds"] * 2 / b["areas"]
    tottori = 2504 * per_area
    japan_municipalities = 1741
    # A municipality is far larger than a 1 km² 町丁目 cell: median Japanese municipality
    # ~ 120 km², but most of it is mountain and farmland with a fraction of Tokyo's density;
    # we assume 30 cells' worth of features per municipality (stated, not measured).
    japan = japan_municipalities * 30 * per_area
    return [
        f"- Measured cost: {per_area:.2f} worker CPU-seconds per 1 km² area (Tokyo-like density, "
        "web + A4 paper), the mean over the 2-worker run's builds (each build's own CPU time, "
        "so other jobs on the machine do not inflate it; an idle machine's wall time per area "
        "is about this).",
        f"- 鳥取県's 2,504 町丁目 (most far sparser than this synthetic city): about "
        f"{tottori / 2 / 60:.0f} min on this 2-core machine, {tottori / 32 / 60:.1f} min on a "
        "32-worker cluster (reading the prefecture once adds the reader time above).",
        f"- Japan's 1,741 municipalities, assuming each costs 30 such areas: about "
        f"{japan / 32 / 3600:.1f} h on 32 workers ({japan / 3600:.0f} worker-hours).",
        "- Assumptions: cost grows with the features drawn; scheduling overhead per area is "
        "small next to a build of about a second; the shared input fits each worker's memory "
        "(a whole-Japan extract does not: split by prefecture first).",
    ]


def _table(read_rows: list[dict], batch_row: dict | None) -> str:
    lines = [
        "# Scale benchmarks (bench/bench_scale.py)",
        "",
        f"Run {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Medians of 3, each in a "
        "fresh process, cases alternated. Shared machine: ±20 %.",
        "",
        "## Reading an extract (all built-in layers + basemap)",
        "",
        "| km² | .pbf MB | bare pyosmium s | civicmap s | × bare | pyrosm s | civicmap vs pyrosm "
        "| osmnx (XML) s | osmnx ÷ civicmap | civicmap elements/s | peak MB civicmap / pyrosm / osmnx |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in read_rows:

        def sec(case, r=r):
            v = r.get(case) or {}
            return v.get("seconds")

        bare, ours, pyr, onx = sec("bare"), sec("civicmap"), sec("pyrosm"), sec("osmnx")

        def fmt(x):
            return "n/a" if x is None else f"{x:.2f}"

        feats = (r.get("bare") or {}).get("features")
        lines.append(
            f"| {r['km2']:g} | {r['pbf_mb']} | {fmt(bare)} | {fmt(ours)} | "
            f"{fmt(ours / bare if ours and bare else None)} | {fmt(pyr)} | "
            f"{'n/a' if not (ours and pyr) else f'{pyr / ours:.2f}× faster' if pyr >= ours else f'{ours / pyr:.2f}× slower'} | "
            f"{fmt(onx)} | {fmt(onx / ours if ours and onx else None)} | "
            f"{'n/a' if not (feats and ours) else f'{feats / ours:,.0f}'} | "
            f"{(r.get('civicmap') or {}).get('peak_mb', 'n/a')} / "
            f"{(r.get('pyrosm') or {}).get('peak_mb', (r.get('pyrosm') or {}).get('error', 'n/a'))} / "
            f"{(r.get('osmnx') or {}).get('peak_mb', 'n/a')} |"
        )
    lines.append("")
    lines.append(
        "Elements/s counts every element pyosmium iterates (nodes, ways, relations, "
        "areas), divided by civicmap's read time."
    )
    if batch_row:
        b = batch_row
        lines += [
            "",
            f"## A batch: {b['km2']:g} km² synthetic prefecture, {b['areas']} areas of 1 km²",
            "",
            "| run | total s | read s | start-up s | build s | areas ok | median s per area "
            "| median CPU s per area | peak MB per worker |",
            "|---|---|---|---|---|---|---|---|---|",
            *(
                f"| {title} | {b[k]['seconds']} | {b[k].get('read_s')} | {b[k].get('startup_s')} "
                f"| {b[k].get('build_s')} | {b[k]['ok']} | {b[k]['area_seconds_median']} "
                f"| {b[k].get('area_cpu_median', 'n/a')} | {b[k]['peak_mb_per_worker']} |"
                for title, k in (
                    ("one by one, no Dask", "serial"),
                    ("LocalCluster, 2 workers", "dask_2"),
                )
            ),
            "",
            "Start-up: starting the workers (none for one by one) and importing the map-making "
            "libraries in each, paid once a batch; read: every input once, in the calling process. "
            "Median s per area is wall time (it grows with the machine's load); CPU s is the "
            "build's own CPU time (it does not).",
            "",
            f"Speed-up with 2 workers (2 cores): **{b.get('build_speedup', 'n/a')}×** on the builds, "
            f"{b['speedup']}× on the whole run.",
            "",
            "### Projection",
            "",
            *_projection(b),
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="16,64,256", help="extract sizes in km² for the reader")
    ap.add_argument("--batch-km2", type=float, default=64.0, help="0 to skip the batch")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    sizes = [float(x) for x in args.sizes.split(",") if x]
    previous = {}
    if (OUT / "results.json").exists():
        previous = json.loads((OUT / "results.json").read_text())
    # --sizes "" keeps the reader figures of the last run (to re-measure only the batch)
    if sizes:
        _check_baselines()  # before minutes of work, not after
    read_rows = bench_read(sizes, repeat=args.repeat) if sizes else previous.get("read", [])
    batch_row = bench_batch(args.batch_km2) if args.batch_km2 else None
    (OUT / "results.json").write_text(
        json.dumps({"read": read_rows, "batch": batch_row}, ensure_ascii=False, indent=1)
    )
    (BENCH / "RESULTS-scale.md").write_text(_table(read_rows, batch_row), encoding="utf-8")
    print(f"wrote {BENCH / 'RESULTS-scale.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
