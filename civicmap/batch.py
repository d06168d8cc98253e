"""Many maps at once: one map per polygon (町丁目, 学区, municipality), run on Dask.

A city's 防災課 wants a paper map for each of its 677 町丁目; a prefecture a shelter map for
each of its municipalities. Each map is an independent build over one shared input, so the
batch reads every source once (:func:`civicmap.pipeline.read_inputs`), hands each area only
its part (:func:`partition`), and runs the per-area builds on ``dask.distributed``: a
``LocalCluster`` of worker *processes* by default (reportlab and matplotlib are not
thread-safe), or any cluster given by its scheduler address. The same code runs on a laptop
and on a cluster; a home-made pool would not.

A rerun skips areas whose outputs are complete and whose inputs did not change (each area
folder keeps a small state file with a fingerprint of the inputs and the hashes of the
files written); one area's failure is recorded in the manifest and the others go on.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import json
import logging
import os
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from civicmap.area import Area, prefecture_municipalities, read_polygons
from civicmap.errors import BatchError, CivicMapError
from civicmap.i18n import _, current_language, use_language
from civicmap.mapfile import MapSpec, load_map
from civicmap.schema import CRS, SourceResult, estimate_utm_crs

log = logging.getLogger(__name__)

#: File kept in each area folder: the inputs' fingerprint and the files written.
STATE_FILE = ".civicmap-batch.json"
#: Bump when the per-area build changes in a way that must invalidate earlier outputs.
STATE_VERSION = 1
#: Default margin (metres) around each area for the data handed to its build.
DEFAULT_MARGIN_M = 200.0


@dataclass(frozen=True)
class AreaTask:
    """Everything one area's build needs; sent to a worker as it is (picklable)."""

    key: str
    name: str
    area: Area
    spec: MapSpec
    inputs: Any  # pipeline.Inputs, already cut to the area
    out_dir: Path
    fingerprint: str
    built: dt.datetime
    #: The caller's message language: a worker process speaks it too (errors, warnings).
    language: str = "en"


@dataclass
class BatchResult:
    """What a batch did: one manifest row per area, and where the summary files are."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    manifest_csv: Path | None = None
    manifest_json: Path | None = None
    index_html: Path | None = None
    input_problems: int = 0
    #: Places of each layer's files that lie in none of the areas (so on no map): layer → n.
    outside_every_area: dict[str, int] = field(default_factory=dict)
    #: Wall-clock seconds of the batch's phases: ``read`` (every input, once), ``startup``
    #: (starting the workers and importing the map-making libraries in each), ``build``
    #: (the areas). Kept apart so a benchmark compares builds, not process start-up.
    timings: dict[str, float] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r["status"] == status)


# --- areas ---------------------------------------------------------------------------


def _folder_name(name: str) -> str:
    """A folder name from an area name: kept readable (Japanese stays), never a path."""
    text = unicodedata.normalize("NFKC", name).strip()
    text = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", text).strip(". ")
    return text[:80] or "area"


def load_areas(
    each: str,
    *,
    base_dir: Path,
    name_field: str | None = None,
    where: str | None = None,
) -> gpd.GeoDataFrame:
    """The areas of a batch, one row each: ``key`` (folder name), ``name``, geometry.

    Parameters
    ----------
    each : str
        A boundary file (GeoJSON, shapefile, GeoPackage; any CRS, Shift_JIS shapefiles
        too), or ``municipalities:NN`` for the bundled N03 municipalities of prefecture NN.
    name_field : str, optional
        The attribute that names each area (default: ``name`` for municipalities, else the
        first of ``name``, ``NAME``, ``MOJI``, ``N03_004``, ``名称`` that exists).
    where : str, optional
        ``FIELD=VALUE[,VALUE...]``: keep only areas whose field equals one of the values
        (plain comparison, never evaluated as code).
    """
    if each.startswith("municipalities:"):
        frame = prefecture_municipalities(each.split(":", 1)[1])
        name_field = name_field or "name"
    else:
        path = Path(each)
        if not path.is_absolute():
            path = base_dir / path
        frame = read_polygons(path)
        if name_field is None:
            for cand in ("name", "NAME", "MOJI", "N03_004", "名称", "名前"):
                if cand in frame.columns:
                    name_field = cand
                    break
        if name_field is None:
            raise BatchError(
                _(
                    "%(each)s: which attribute names the areas? Give --name FIELD (the file has: %(cols)s)"
                )
                % {"each": each, "cols": ", ".join(c for c in frame.columns if c != "geometry")}
            )
    if name_field not in frame.columns:
        raise BatchError(
            _("%(each)s: no attribute %(field)r; the file has: %(cols)s")
            % {
                "each": each,
                "field": name_field,
                "cols": ", ".join(c for c in frame.columns if c != "geometry"),
            }
        )
    if where:
        fld, sep, values = where.partition("=")
        fld = fld.strip()
        if not sep or fld not in frame.columns:
            raise BatchError(
                _(
                    "--where %(where)r: expected FIELD=VALUE[,VALUE] with a field of %(each)s (%(cols)s)"
                )
                % {
                    "where": where,
                    "each": each,
                    "cols": ", ".join(c for c in frame.columns if c != "geometry"),
                }
            )
        wanted = {v.strip() for v in values.split(",")}
        frame = frame[frame[fld].astype(str).str.strip().isin(wanted)]
        if frame.empty:
            raise BatchError(
                _("--where %(where)r: no area of %(each)s matches") % {"where": where, "each": each}
            )
    names = frame[name_field].astype(str).str.strip().tolist()
    keys = [_folder_name(n) for n in names]
    seen: dict[str, int] = {}
    for k in keys:
        seen[k] = seen.get(k, 0) + 1
    counter: dict[str, int] = {}
    unique = []
    for k in keys:
        if seen[k] > 1:  # two 町丁目 of one name in different towns: number them stably
            counter[k] = counter.get(k, 0) + 1
            unique.append(f"{k}_{counter[k]}")
        else:
            unique.append(k)
    return gpd.GeoDataFrame(
        {"key": unique, "name": names}, geometry=frame.geometry.values, crs=CRS
    ).reset_index(drop=True)


# --- inputs read once, cut per area ------------------------------------------------


def _cut(frame: gpd.GeoDataFrame, geom: BaseGeometry) -> gpd.GeoDataFrame:
    if frame is None or frame.empty:
        return frame
    hits = frame.sindex.query(geom, predicate="intersects")
    return frame.iloc[sorted(hits)]


def partition(inputs, geom: BaseGeometry):
    """The part of pre-read ``inputs`` that touches ``geom`` (the area plus its margin).

    Rejected and repaired rows stay with the batch's own report (once), not with every
    area that happens to lie near them.
    """
    from civicmap.pipeline import Inputs

    osm = inputs.osm
    frames = {k: _cut(v, geom) for k, v in osm.frames.items()}
    cut_osm = replace(osm, frames=frames, problems=[], rejected={}, repaired={})
    files = {
        key: SourceResult(features=_cut(res.features, geom), credit=res.credit, info={})
        for key, res in inputs.files.items()
    }
    return Inputs(osm=cut_osm, files=files)


def _hash_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(set(paths)):
        h.update(str(p).encode())
        if p.is_file():
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


def _input_files(spec: MapSpec) -> list[Path]:
    """Every file the map reads: the map file, layer files, sources, the OSM extract."""
    from civicmap.pipeline import _osm_file

    files = [Path(spec.file)] if spec.file else []
    for layer in spec.layers:
        if getattr(layer, "file", None):
            files.append(Path(layer.file))
        for src in layer.sources:
            if src.path is not None:
                files.append(Path(src.path))
    osm = _osm_file(spec)
    if osm is not None:
        files.append(osm)
    return [f for f in files if f.exists()]


def _fingerprint(inputs_hash: str, name: str, geom: BaseGeometry, margin_m: float) -> str:
    h = hashlib.sha256()
    h.update(f"v{STATE_VERSION}|{inputs_hash}|{name}|{margin_m}|".encode())
    h.update(shapely.to_wkb(shapely.normalize(geom), hex=False))
    return h.hexdigest()


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def is_complete(out_dir: Path, fingerprint: str) -> bool:
    """True when ``out_dir`` holds every file of a build of exactly these inputs."""
    state = out_dir / STATE_FILE
    try:
        doc = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if doc.get("fingerprint") != fingerprint:
        return False
    files = doc.get("files") or {}
    if not files:
        return False
    for name, digest in files.items():
        p = out_dir / name
        if not p.is_file() or _sha256(p) != digest:
            return False
    return True


# --- one area (runs on a worker) -----------------------------------------------------


def build_area(task: AreaTask, inputs=None) -> dict[str, Any]:
    """Build one area's outputs; never raises: a failure becomes the manifest row's error.

    Runs in a Dask worker process, so it logs instead of printing and returns plain data.
    ``inputs`` replaces ``task.inputs`` (Dask passes the area's scattered data here).
    """
    if inputs is not None:
        task = replace(task, inputs=inputs)
    # A Dask worker is another process: it starts in English whatever the caller chose.
    with use_language(task.language):
        return _build_area(task)


def _tile_folder_files(pages: list[Path], *, since: float) -> list[Path]:
    """The files of the tile folders this build wrote beside its web pages (none when inlined).

    A folder older than the build belongs to an earlier setting (``offline_tiles`` changed)
    and is not this build's output.
    """
    from civicmap.render.web import tile_folder_name

    out: list[Path] = []
    for page in pages:
        folder = Path(page).with_name(tile_folder_name(page))
        if folder.is_dir() and folder.stat().st_mtime >= since - 1:
            out += sorted(p for p in folder.rglob("*") if p.is_file())
    return out


def _build_area(task: AreaTask) -> dict[str, Any]:
    from civicmap import pipeline

    t0 = time.perf_counter()
    cpu0 = time.thread_time()
    row: dict[str, Any] = {"key": task.key, "name": task.name, "status": "ok", "error": ""}
    try:
        task.out_dir.mkdir(parents=True, exist_ok=True)
        state = task.out_dir / STATE_FILE
        if state.exists():
            state.unlink()  # outputs are about to change: no longer a complete build
        data = pipeline.collect(task.spec, area=task.area, inputs=task.inputs, built=task.built)
        started = time.time()
        written = pipeline.render(data, overwrite=True)
        files = sorted({p for paths in written.values() for p in paths})
        row["files"] = [str(p.relative_to(task.out_dir)) for p in files]
        tiles = _tile_folder_files(written.get("web", []), since=started)
        row["files"] += sorted(
            {str(p.parent.relative_to(task.out_dir).parts[0]) + "/" for p in tiles}
        )
        row["places"] = {layer.id: len(layer.features) for layer in data.layers}
        row["warnings"] = [
            f"{layer.id}: {w.get('reason', w)}" if isinstance(w, dict) else f"{layer.id}: {w}"
            for layer in data.layers
            for w in layer.report.warnings
        ]
        if sum(row["places"].values()) == 0:
            row["warnings"].append(_("no place of any layer lies in this area"))
        doc = {
            "version": STATE_VERSION,
            "fingerprint": task.fingerprint,
            # the tile folder's files too, so a deleted or damaged folder rebuilds the area
            "files": {str(p.relative_to(task.out_dir)): _sha256(p) for p in [*files, *tiles]},
        }
        tmp = state.with_name(state.name + ".part")
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, state)
    except CivicMapError as exc:
        row.update(status="failed", error=str(exc).splitlines()[0][:500])
    except Exception as exc:  # one area's bug must not stop the others: report it
        log.exception(_("area %(key)s failed"), {"key": task.key})
        row.update(status="failed", error=f"{type(exc).__name__}: {str(exc)[:400]}")
    row["seconds"] = round(time.perf_counter() - t0, 2)
    # CPU time of the build alone: on a shared machine wall-clock seconds say how busy the
    # machine was; this says what the area costs (for planning a batch on a cluster).
    row["cpu_seconds"] = round(time.thread_time() - cpu0, 2)
    return row


# --- the batch -----------------------------------------------------------------------


def _peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux ``VmHWM``; ru_maxrss elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: The modules every area's build imports; loaded once per worker before the first area, so
#: the first areas are not slower than the rest and start-up is measured apart from builds.
_BUILD_MODULES = (
    "civicmap.pipeline",
    "civicmap.render.web",
    "civicmap.render.paper",
    "civicmap.render.export",
)


def _warm_up() -> int:
    """Import the map-making stack (folium, reportlab, matplotlib ...) in this process."""
    import importlib

    for name in _BUILD_MODULES:
        importlib.import_module(name)
    return os.getpid()


def _built_time(spec: MapSpec, inputs) -> dt.datetime:
    """One date for the whole batch (not one per area): its data's, as a single build prints.

    See :func:`civicmap.pipeline.data_date` (the inputs were read once for every area).
    """
    from civicmap.pipeline import data_date

    return data_date(spec, inputs.osm)


def _area_spec(spec: MapSpec, name: str, out_dir: Path) -> MapSpec:
    from civicmap.pipeline import with_output_dir

    titled = replace(spec, title=f"{name} {spec.title}".strip())
    return with_output_dir(titled, out_dir)


def _client(*, client=None, workers: int | None = None, scheduler: str | None = None):
    """A Dask client and whether we own it (and must close it with its cluster)."""
    if client is not None:
        return client, False
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), True
    cluster = LocalCluster(
        n_workers=max(1, int(workers or 1)),
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    return Client(cluster), True


def batch(
    spec: MapSpec | str | Path,
    *,
    each: str,
    out_dir: str | Path = "out",
    name_field: str | None = None,
    where: str | None = None,
    margin_m: float = DEFAULT_MARGIN_M,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    worker_memory: dict[str, float] | None = None,
    offline: bool | None = None,
) -> BatchResult:
    """One map per area of ``each``, built on Dask; returns the manifest rows.

    Parameters
    ----------
    spec : MapSpec or path
        The map file: its layers, outputs and options are used for every area; its own
        ``area`` is replaced by each polygon, and its title gets the area's name in front.
    each : str
        The areas (see :func:`load_areas`).
    out_dir : path
        Each area is written under ``out_dir/<area name>/``; the manifest
        (``manifest.csv``, ``manifest.json``) and ``index.html`` go into ``out_dir``.
    margin_m : float
        Data within this many metres around an area is handed to its build (context for
        the basemap; places are still clipped to the area itself).
    workers, scheduler, client
        ``client`` (a ``dask.distributed.Client``) is used as given; else ``scheduler``
        (an address) connects to a running cluster; else a ``LocalCluster`` of
        ``workers`` processes (default 1) is started and closed. ``workers=0`` builds
        the areas one after the other in this process, without Dask (for debugging, and
        the serial baseline of ``bench/bench_batch.py``).
    progress : callable, optional
        Called with each finished row (for a progress bar).
    worker_memory : dict, optional
        Filled with each Dask worker's peak resident memory in MB (for benchmarks).
    offline : bool, optional
        Build every area without the network (``None``: ``settings.offline``); the choice
        travels with each area's spec to the workers.

    Messages (errors and warnings in the manifest) are in the caller's language
    (:func:`civicmap.i18n.current_language`), in the workers too.
    """
    from civicmap.pipeline import read_inputs, with_offline

    if not isinstance(spec, MapSpec):
        spec = load_map(spec)
    spec = with_offline(spec, offline)
    if not spec.outputs:
        raise BatchError(
            _("%(file)s: no outputs to write; add outputs: to the map file") % {"file": spec.file}
        )
    out = Path(out_dir)
    t_read = time.perf_counter()
    areas = load_areas(each, base_dir=spec.base_dir, name_field=name_field, where=where)
    log.info(_("batch: %(n)d areas from %(each)s"), {"n": len(areas), "each": each})
    metric = estimate_utm_crs(areas)
    grown = areas.to_crs(metric).buffer(margin_m).to_crs(CRS)
    whole = Area(shapely.union_all(grown.values).buffer(0), "batch", "batch")
    inputs = read_inputs(spec, whole)  # every source once, for every area
    problems = sum(len(r.rejected) for r in inputs.files.values()) + len(inputs.osm.problems)
    inputs_hash = _hash_files(_input_files(spec))
    built = _built_time(spec, inputs)

    result = BatchResult(input_problems=problems)
    result.timings["read"] = round(time.perf_counter() - t_read, 2)
    # A place in none of the areas is on none of the maps: count it, never drop it in silence.
    exact = shapely.union_all(areas.geometry.values)
    for (layer_id, _i), res in inputs.files.items():
        feats = res.features
        if feats is None or feats.empty:
            continue
        inside = feats.geometry.intersects(exact)
        n = int((~inside).sum())
        if n:
            result.outside_every_area[layer_id] = result.outside_every_area.get(layer_id, 0) + n
    for layer_id, n in result.outside_every_area.items():
        log.warning(
            _("%(n)d places of layer %(layer)s lie in none of the areas, so on none of the maps"),
            {"n": n, "layer": layer_id},
        )
    tasks: list[AreaTask] = []
    for i, row in enumerate(areas.itertuples()):
        geom = row.geometry
        folder = out / row.key
        fp = _fingerprint(inputs_hash, row.name, geom, margin_m)
        if is_complete(folder, fp):
            state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
            result.rows.append(
                {"key": row.key, "name": row.name, "status": "skipped", "error": "",
                 "files": sorted(state["files"]), "places": state.get("places", {}),
                 "warnings": [], "seconds": 0.0, "_order": i}
            )  # fmt: skip
            continue
        if geom is None or geom.is_empty or not geom.is_valid or geom.area == 0:
            result.rows.append(
                {"key": row.key, "name": row.name, "status": "failed", "files": [],
                 "places": {}, "warnings": [], "seconds": 0.0, "_order": i,
                 "error": _("%(each)s: area %(name)r has no usable polygon (empty or invalid)")
                 % {"each": each, "name": row.name}}
            )  # fmt: skip
            continue
        area = Area(geom, row.name, "batch")
        tasks.append(
            AreaTask(
                key=row.key,
                name=row.name,
                area=area,
                spec=_area_spec(spec, row.name, folder.resolve()),
                inputs=partition(inputs, grown.iloc[i]),
                out_dir=folder.resolve(),
                fingerprint=fp,
                built=built,
                language=current_language(),
            )
        )
    order = {k: i for i, k in enumerate(areas.key)}
    if tasks and workers == 0 and client is None and not scheduler:
        t = time.perf_counter()
        _warm_up()
        result.timings["startup"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        for task in tasks:  # in this process, without Dask: for debugging and as a baseline
            row = build_area(task)
            row["_order"] = order[row["key"]]
            result.rows.append(row)
            if progress is not None:
                progress(row)
        result.timings["build"] = round(time.perf_counter() - t, 2)
    elif tasks:
        t = time.perf_counter()
        dask_client, owned = _client(client=client, workers=workers, scheduler=scheduler)
        try:
            from dask.distributed import as_completed

            dask_client.run(_warm_up)
            result.timings["startup"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            # Each area's data goes to the workers as its own scattered piece, not inside
            # the task graph (which the scheduler would have to hold and ship). hash=False:
            # naming each piece by a hash of its content (dask's default) tokenised every
            # frame in this process before any area started: 1 s per 1 km² area of the
            # bench's city, as long as the area's build, for no use (no piece repeats).
            parts = dask_client.scatter([t.inputs for t in tasks], hash=False)
            light = [replace(t, inputs=None) for t in tasks]
            futures = dask_client.map(
                build_area, light, parts, key=[f"civicmap-{t.fingerprint[:16]}" for t in tasks]
            )
            future_key = {f.key: t.key for f, t in zip(futures, tasks, strict=True)}
            for fut in as_completed(futures):
                try:
                    row = fut.result()
                except Exception as exc:  # the worker itself died: record, go on
                    key = future_key[fut.key]
                    row = {"key": key, "name": key, "status": "failed", "files": [],
                           "places": {}, "warnings": [], "seconds": 0.0,
                           "error": _("worker failed: %(error)s")
                           % {"error": f"{type(exc).__name__}: {exc}"}}  # fmt: skip
                row["_order"] = order[row["key"]]
                result.rows.append(row)
                if progress is not None:
                    progress(row)
            result.timings["build"] = round(time.perf_counter() - t, 2)
            if worker_memory is not None:
                worker_memory.update(dask_client.run(_peak_rss_mb))
        finally:
            if owned:
                cluster = getattr(dask_client, "cluster", None)
                dask_client.close()
                if cluster is not None:
                    cluster.close()
    result.rows.sort(key=lambda r: r.pop("_order"))
    # Skipped rows keep the counts their build recorded.
    _write_summary(result, out, each=each)
    return result


# --- manifest and index ------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


def _safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas (OWASP): a cell starting = + - @ gets a quote."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _write_summary(result: BatchResult, out: Path, *, each: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # Keep each area's counts in its state file too, so a skipped area still reports them.
    for row in result.rows:
        state = out / row["key"] / STATE_FILE
        if row["status"] == "ok" and state.exists():
            doc = json.loads(state.read_text(encoding="utf-8"))
            doc["places"] = row.get("places", {})
            _write_atomic(state, json.dumps(doc, ensure_ascii=False, indent=1))
    layers = sorted({k for r in result.rows for k in (r.get("places") or {})})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["area", "folder", "status", *[f"places:{k}" for k in layers], "files",
                "warnings", "seconds", "error"])  # fmt: skip
    for r in result.rows:
        places = r.get("places") or {}
        w.writerow(
            [_safe_cell(r["name"]), r["key"], r["status"],
             *[places.get(k, "") for k in layers],
             " ".join(f"{r['key']}/{f}" for f in r.get("files", [])),
             _safe_cell(" | ".join(r.get("warnings", []))), r.get("seconds", 0),
             _safe_cell(r.get("error", ""))]
        )  # fmt: skip
    # utf-8 with BOM: Excel in Japan opens it without mojibake.
    result.manifest_csv = out / "manifest.csv"
    _write_atomic(result.manifest_csv, "\ufeff" + buf.getvalue())
    result.manifest_json = out / "manifest.json"
    _write_atomic(
        result.manifest_json,
        json.dumps(
            {"areas": each, "outside_every_area": result.outside_every_area, "rows": result.rows},
            ensure_ascii=False,
            indent=1,
        ),
    )
    result.index_html = out / "index.html"
    _write_atomic(result.index_html, _index_page(result))


def _index_page(result: BatchResult) -> str:
    """A plain page linking every area's web map and PDF; every name escaped."""
    items = []
    for r in result.rows:
        links = []
        for f in r.get("files", []):
            href = html.escape(f"{r['key']}/{f}", quote=True)
            links.append(f'<a href="{href}">{html.escape(Path(f).suffix.lstrip(".") or f)}</a>')
        status = (
            ""
            if r["status"] in ("ok", "skipped")
            else (f' <span class="err">失敗: {html.escape(r.get("error", ""))}</span>')
        )
        count = sum((r.get("places") or {}).values())
        items.append(
            f"<li><b>{html.escape(r['name'])}</b> ({count}) {' '.join(links)}{status}</li>"
        )
    ok = result.count("ok") + result.count("skipped")
    return (
        '<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>地図の一覧</title><style>body{font-family:sans-serif;margin:1em}"
        ".err{color:#c92a2a}li{margin:.3em 0}</style></head><body>"
        f"<h1>地図の一覧</h1><p>{ok} / {len(result.rows)} 地区</p><ul>"
        + "\n".join(items)
        + "</ul></body></html>\n"
    )
