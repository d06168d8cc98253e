"""``civicmap split`` on a synthetic extract: time, peak memory, and what a part costs to read.

A synthetic Tokyo-like extract (``bench/synth.py``, default 64 km²) is split into an N×N grid of
areas (a boundary file, as ``batch --each`` takes it). Each step runs in a fresh process so its
peak resident memory is its own:

- ``split``: ``civicmap.split.split_extract`` (all passes, all parts written);
- ``read whole``: ``read_extract`` of the whole extract with every built-in layer's filter plus
  the basemap (what one batch reads today, in one process);
- ``read part``: the same on one part (what an area reads after a split), median over 3 parts.

With ``--cap-mb N`` it shows instead that the split works on an extract larger than the memory
it may use: the split and the whole read each run under an address-space cap of N MB
(``RLIMIT_AS``, as ``prlimit --as`` or ``ulimit -v`` set it; with ``MALLOC_ARENA_MAX=1``,
1 MB thread stacks and one libosmium pool thread, so that reserved but unused address space
does not count and the cores do not matter: :data:`CAPPED_ENV`), and the section
"Larger than memory" of the results says what each needed and whether it ran.

:class:`Warm` runs the same steps forked from one interpreter that has imported civicmap
(each still a process of its own, with its own peak and cap), for
``tests/test_split.py``, which cannot pay 2 s of imports per step.

Usage::

    .venv/bin/python bench/bench_split.py --km2 64 --grid 8
    .venv/bin/python bench/bench_split.py --km2 256 --grid 8 --cap-mb 1200
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out" / "split"
sys.path.insert(0, str(BENCH))

import synth  # noqa: E402

# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent (this
# script, which holds the generated extract), so a child's ru_maxrss is at least the parent's.
# VmPeak: the most address space the process held (what an RLIMIT_AS cap limits).
_PEAK = """
def _status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
def peak_mb():
    return _status("VmHWM")
def peak_vm_mb():
    return _status("VmPeak")
"""

_SPLIT = (
    _PEAK
    + """
import json, sys, time
from civicmap.split import split_extract
base = peak_vm_mb()
t, c = time.perf_counter(), time.process_time()
parts = split_extract(sys.argv[1], sys.argv[2], by=sys.argv[3], margin_m=500, overwrite=True)
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c,
                  "parts": len(parts), "files": [str(p.file) for p in parts],
                  "peak_mb": peak_mb(), "peak_vm_mb": peak_vm_mb(), "base_vm_mb": base}))
"""
)

_READ = (
    _PEAK
    + """
import json, sys, time
from civicmap.sources.osmfile import read_extract
from bench_split import batch_filters
filters, types = batch_filters(sys.argv[1])
base = peak_vm_mb()
t, c = time.perf_counter(), time.process_time()
ext = read_extract(sys.argv[1], filters, types=types)
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c,
                  "features": sum(len(f) for f in ext.frames.values()),
                  "peak_mb": peak_mb(), "peak_vm_mb": peak_vm_mb(), "base_vm_mb": base}))
"""
)


#: A whole read that also says, per cell of a boundary file (argv[2]), which features a map
#: of the cell gets (:func:`cell_features`), after its peak is taken.
_READ_CELLS = (
    _READ
    + """
import geopandas as gpd
from bench_split import cell_features
cells = gpd.read_file(sys.argv[2])
print(json.dumps({"cells": cell_features(ext.frames, dict(zip(cells["name"], cells.geometry)))}))
"""
)

LAYERS = ["childcare", "shelters", "water", "toilets", "aed", "hospitals", "playgrounds",
          "police", "fire_stations"]  # fmt: skip


def batch_filters(path: str) -> tuple[dict, dict]:
    """The filters (and element types) a batch reads ``path`` with: the built-in layers' and
    the basemap's."""
    from civicmap.pipeline import _osm_filters
    from civicmap.spec.mapfile import parse_map

    spec = parse_map({"title": "t", "area": {"bbox": [-180, -85, 180, 85]},
                      "osm": {"file": path}, "layers": LAYERS},
                     file="t.yaml", base_dir=Path("."))  # fmt: skip
    return _osm_filters(spec)


def cell_features(frames: dict, cells: dict) -> dict[str, dict[str, list[str]]]:
    """Per cell (name → geometry) and frame, the features that touch the cell, as what a map
    of the cell keeps from them: ``type/id/<digest of tags and geometry>``, sorted.

    Small enough to come back from a child process as JSON, and equal between the whole
    extract and a part exactly when the part gives the same features for the cell.
    """
    import numpy as np
    import shapely

    out: dict[str, dict[str, list[str]]] = {name: {} for name in cells}
    for name, frame in frames.items():
        geoms = np.asarray(frame.geometry.values)
        hits = {cell_name: shapely.intersects(geoms, cell) for cell_name, cell in cells.items()}
        # only the features that touch a cell are described (a part's margin holds many)
        wanted = np.logical_or.reduce(list(hits.values())) if hits else np.zeros(len(geoms), bool)
        rows = np.flatnonzero(wanted)
        said = np.empty(len(geoms), dtype=object)
        said[rows] = [
            f"{t}/{i}/"
            + hashlib.blake2b(repr(sorted(tags.items())).encode() + wkb,
                              digest_size=12).hexdigest()
            for t, i, tags, wkb in zip(frame.osm_type.iloc[rows], frame.osm_id.iloc[rows],
                                       frame.tags.iloc[rows], shapely.to_wkb(geoms[rows]),
                                       strict=True)
        ]  # fmt: skip
        for cell_name, hit in hits.items():
            out[cell_name][name] = sorted(said[hit])
    return out


#: What a capped run changes besides the cap: glibc's per-thread malloc arenas (64 MB of
#: address space each) and 8 MB thread stacks are reserved, not used, and would count; one
#: arena, not two: near the cap a second arena's heap cannot grow, and glibc then tried (and
#: failed) to map a new 64 MB heap on every allocation of libosmium's thread before falling
#: back to the main arena (measured: 2.35 million failed mmap calls, 2 s of system time, in a
#: whole read under the cap of tests/test_split.py; with one arena the peaks and the margins
#: under that cap are the same, the process's base 64 MB smaller); so
#: would pyarrow's own allocator (pandas imports pyarrow when it is installed), which
#: reserves address space it gives back under a cap: the system allocator reserves none.
#: libosmium's thread pool is one thread, not one per core: each thread's stack counts, and
#: more decoding threads fill the reader's queue faster than Python empties it (measured: with
#: two, a whole read's need under a cap varied from run to run), so with one the peaks and
#: whether a run fits under a cap depend neither on the machine's cores nor on its load.
CAPPED_ENV = {
    "MALLOC_ARENA_MAX": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "ARROW_DEFAULT_MEMORY_POOL": "system",
    "OSMIUM_POOL_THREADS": "1",
}
CAPPED_STACK_BYTES = 1024 * 1024


def capped(cap_mb: float | None):
    """A ``preexec_fn`` that limits the child's address space to ``cap_mb`` and its stacks.

    Without a cap the stacks are limited all the same, so that a run's peak address space
    compares with a capped run's (8 MB stacks per thread would count in one and not the other).
    """

    def limit() -> None:
        if cap_mb is not None:
            cap = int(cap_mb * 2**20)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        resource.setrlimit(resource.RLIMIT_STACK, (CAPPED_STACK_BYTES, CAPPED_STACK_BYTES))

    return limit


def _env() -> dict[str, str]:
    """The children's environment: civicmap from this tree, this folder, :data:`CAPPED_ENV`."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(BENCH)]), **CAPPED_ENV)


def _run(code: str, *args: str, cap_mb: float | None = None, check: bool = True) -> dict:
    env = _env()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=3600, preexec_fn=capped(cap_mb))  # fmt: skip
    if proc.returncode != 0:
        if not check:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            return {"failed": last[:200], "returncode": proc.returncode}
        raise SystemExit(f"bench_split: failed: {proc.stderr[-600:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


#: The warm interpreter: it imports what the runs import, then answers each request (one JSON
#: line: code, arguments, cap) by forking a child that sets the cap and runs the code. Each
#: run is a process of its own (its own peak, its own cap) that starts as a fresh one would
#: after its imports, without paying them again (about 2 s of CPU each).
_WARM = """
import json, os, resource, sys, traceback
import geopandas
from civicmap.pipeline import _osm_filters
from civicmap.sources.osmfile import read_extract
from civicmap.spec.mapfile import parse_map
from civicmap.split import split_extract
from bench_split import batch_filters, cell_features
answers = sys.stdout
for line in sys.stdin:
    req = json.loads(line)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        out, code = os.fdopen(w, "w"), 0
        try:
            if req["cap_mb"] is not None:
                cap = int(req["cap_mb"] * 2**20)
                resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            sys.argv, sys.stdout = ["-c", *req["args"]], out
            exec(compile(req["code"], "<run>", "exec"), {"__name__": "__main__"})
        except BaseException as exc:
            said = traceback.format_exception_only(type(exc), exc)[-1].strip()
            print(json.dumps({"failed": said[:200]}), file=out)
            code = 1
        out.flush()
        os._exit(code)
    os.close(w)
    with os.fdopen(r) as got:
        text = got.read()
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    answers.write(json.dumps({"out": text, "returncode": status}) + "\\n")
    answers.flush()
"""


class Warm:
    """Runs ``_READ``/``_SPLIT`` like :func:`_run`, each in a process of its own, forked from
    one interpreter that has imported civicmap (see ``_WARM``): the same peaks and caps as a
    fresh process, without its imports. Use as a context manager.
    """

    def __init__(self) -> None:
        env = _env()
        # the stack limit is set before the interpreter starts: glibc sizes thread stacks
        # from it once, at start-up
        self._proc = subprocess.Popen([sys.executable, "-c", _WARM], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, env=env,
                                      preexec_fn=capped(None))  # fmt: skip

    def run(self, code: str, *args: str, cap_mb: float | None = None,
            check: bool = True) -> dict:  # fmt: skip
        """The run's JSON lines, merged; with ``check=False`` a failed run gives
        ``{"failed": <its last error line>, "returncode": ...}``."""
        self._proc.stdin.write(json.dumps({"code": code, "args": args, "cap_mb": cap_mb}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise SystemExit("bench_split: the warm interpreter stopped")
        got = json.loads(line)
        result = {}
        for said in got["out"].splitlines() or ['{"failed": "no output"}']:
            result.update(json.loads(said))
        if got["returncode"] != 0:
            if got["returncode"] < 0:
                result = {"failed": f"killed by signal {-got['returncode']}"}
            if check:
                raise SystemExit(f"bench_split: failed: {result.get('failed')}")
            result["returncode"] = got["returncode"]
        return result

    def close(self) -> None:
        self._proc.stdin.close()
        self._proc.wait(timeout=60)

    def __enter__(self) -> Warm:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    import geopandas as gpd
    import osmium
    import shapely

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--km2", type=float, default=64)
    ap.add_argument("--grid", type=int, default=8)
    ap.add_argument("--out", type=Path, default=BENCH / "RESULTS-split.md")
    ap.add_argument("--cap-mb", type=float, default=None,
                    help="run the split and the whole read under this address-space cap")  # fmt: skip
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    pbf = OUT / f"synth_{args.km2:g}.osm.pbf"
    if not pbf.exists():
        synth.write_extract(pbf, km2=args.km2, seed=7)
    box = osmium.io.Reader(str(pbf), osmium.osm.NOTHING).header().box()
    west, south = box.bottom_left.lon, box.bottom_left.lat
    east, north = box.top_right.lon, box.top_right.lat
    n = args.grid
    dx, dy = (east - west) / n, (north - south) / n
    cells = [shapely.box(west + i * dx, south + j * dy, west + (i + 1) * dx, south + (j + 1) * dy)
             for j in range(n) for i in range(n)]  # fmt: skip
    grid = gpd.GeoDataFrame({"name": [f"区画{k + 1}" for k in range(len(cells))]},
                            geometry=cells, crs="EPSG:4326")  # fmt: skip
    grid.to_file(OUT / "grid.geojson", driver="GeoJSON")
    if args.cap_mb:
        return _capped(args, pbf, n)
    split = _run(_SPLIT, str(pbf), str(OUT / "parts"), str(OUT / "grid.geojson"))
    print(json.dumps({k: v for k, v in split.items() if k != "files"}), flush=True)
    whole = _run(_READ, str(pbf))
    print(json.dumps(whole), flush=True)
    files = split["files"]
    picks = [files[0], files[len(files) // 2], files[-1]]
    part_reads = [_run(_READ, f) for f in picks]
    part = {k: statistics.median(r[k] for r in part_reads) for k in part_reads[0]}
    print(json.dumps(part), flush=True)
    size_mb = pbf.stat().st_size / 1e6
    kinds = {"n": 0, "w": 0, "r": 0}
    for obj in osmium.FileProcessor(str(pbf)):
        kinds[obj.type_str()] += 1
    parts_mb = sum(Path(f).stat().st_size for f in files) / 1e6
    lines = [
        "# civicmap split (bench/bench_split.py)",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; shared machine (load "
        "5-14 on 2 cores): seconds are noisy, CPU seconds and memory hold.",
        "",
        f"Synthetic {args.km2:g} km² extract ({size_mb:.1f} MB .pbf, {kinds['n']:,} "
        f"nodes, {kinds['w']:,} ways) split into a {n}×{n} grid ({n * n} areas of "
        f"{args.km2 / n / n:g} km², 500 m margin): {split['parts']} parts, "
        f"{parts_mb:.1f} MB in all (the margins overlap).",
        "",
        "| step | wall s | CPU s | peak MB | features |",
        "|---|---|---|---|---|",
        f"| split (all passes, {split['parts']} parts written) | {split['seconds']:.1f} | "
        f"{split['cpu']:.1f} | {split['peak_mb']:.0f} | – |",
        f"| read the whole extract (all layers + basemap) | {whole['seconds']:.2f} | "
        f"{whole['cpu']:.2f} | {whole['peak_mb']:.0f} | {whole['features']:,} |",
        f"| read one part (median of 3) | {part['seconds']:.2f} | {part['cpu']:.2f} | "
        f"{part['peak_mb']:.0f} | {part['features']:,.0f} |",
        "",
        "Peak MB is each process's own high-water mark (VmHWM), imports included (about "
        "180 MB for civicmap's). The split's own memory is its (element, area) tables plus "
        "pyosmium's node-location index (in memory below 512 MB of .pbf, on disk above), "
        "never the elements or geometries; reading the whole extract holds every feature of "
        "every layer.",
        "",
    ]
    # the "Larger than memory" section (--cap-mb) stays as its own run wrote it
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    capped_part = text.partition("## Larger than memory")
    tail = "".join(capped_part[1:]) if capped_part[1] else ""
    args.out.write_text("\n".join(lines) + ("\n" + tail if tail else ""), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def _capped(args, pbf: Path, n: int) -> int:
    """Split and read the whole extract under ``--cap-mb``; rewrite "Larger than memory"."""
    whole = _run(_READ, str(pbf))
    print(json.dumps(whole), flush=True)
    whole_capped = _run(_READ, str(pbf), cap_mb=args.cap_mb, check=False)
    print(json.dumps(whole_capped), flush=True)
    split = _run(_SPLIT, str(pbf), str(OUT / "parts-capped"), str(OUT / "grid.geojson"),
                 cap_mb=args.cap_mb, check=False)  # fmt: skip
    print(json.dumps({k: v for k, v in split.items() if k != "files"}), flush=True)
    size_mb = pbf.stat().st_size / 1e6
    ran = "failed" not in split
    read_says = (
        f"stopped: `{whole_capped['failed']}`"
        if "failed" in whole_capped
        else f"ran (peak {whole_capped['peak_mb']:.0f} MB)"
    )
    section = [
        "## Larger than memory",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, `bench/bench_split.py --km2 "
        f"{args.km2:g} --grid {n} --cap-mb {args.cap_mb:g}`: a synthetic {args.km2:g} km² extract "
        f"({size_mb:.1f} MB .pbf) split into {n * n} areas under an address-space cap of "
        f"{args.cap_mb:g} MB (`RLIMIT_AS`, as `prlimit --as` sets it; "
        f"`MALLOC_ARENA_MAX={CAPPED_ENV['MALLOC_ARENA_MAX']}`, "
        "1 MB thread stacks and one libosmium pool thread, so that reserved but unused address "
        "space does not count and the cores do not matter).",
        "",
        "| run | cap | ran | peak RSS MB | peak address space MB | CPU s |",
        "|---|---|---|---|---|---|",
        f"| read the whole extract ({whole['features']:,} features) | none | yes | "
        f"{whole['peak_mb']:.0f} | {whole['peak_vm_mb']:.0f} | {whole['cpu']:.1f} |",
        f"| read the whole extract | {args.cap_mb:g} MB | {read_says} | – | – | – |",
        f"| split into {n * n} parts | {args.cap_mb:g} MB | "
        + (
            f"yes, {split['parts']} parts | {split['peak_mb']:.0f} | "
            f"{split['peak_vm_mb']:.0f} | {split['cpu']:.1f} |"
            if ran
            else f"stopped: `{split['failed']}` | – | – | – |"
        ),
        "",
        "Reading the extract whole holds every feature (the memory a batch over the whole "
        "extract needs in one process); the split holds its (element, area) table and "
        "pyosmium's buffers and node-location index, and streams the elements. "
        "`tests/test_split.py::test_split_runs_under_an_address_space_cap_the_whole_read_does_not_fit` "
        "does the same on a smaller extract and checks the parts are complete.",
        "",
    ]
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    head = text.split("## Larger than memory")[0].rstrip("\n")
    args.out.write_text(head + "\n\n" + "\n".join(section), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0 if ran else 1


if __name__ == "__main__":
    raise SystemExit(main())
