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

import contextlib
import csv
import ctypes
import datetime as dt
import hashlib
import importlib
import io
import json
import logging
import multiprocessing
import os
import re
import socket
import sys
import threading
import time
import unicodedata
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from civicmap import _http, pipeline, settings
from civicmap._files import spreadsheet_cell, write_text_atomic
from civicmap._gc import set_imports_aside
from civicmap._outputs import OutputRefusedError, check_output_folder, output_lock
from civicmap.area import Area, prefecture_municipalities, read_polygons
from civicmap.errors import BatchError, CivicMapError
from civicmap.i18n import _, current_language, use_language
from civicmap.render.batch_index import index_page
from civicmap.render.paper.readability import UnreadableSheetError
from civicmap.render.paper.render import render_paper
from civicmap.render.web import tile_folder_name
from civicmap.schema import CRS, SourceResult, estimate_utm_crs
from civicmap.sources import osmsplit
from civicmap.sources.osmfile import OsmExtract
from civicmap.spec.mapfile import MapSpec, load_map

log = logging.getLogger(__name__)

#: File kept in each area folder: the inputs' fingerprint and the files written.
STATE_FILE = ".civicmap-batch.json"
#: Bump when the per-area build changes in a way that must invalidate earlier outputs.
STATE_VERSION = 1
#: Default margin (metres) around each area for the data handed to its build.
DEFAULT_MARGIN_M = 200.0
#: Default time limit of one area's build (seconds): generous, a 1 km² area takes a few.
DEFAULT_AREA_TIMEOUT_S = 600.0
#: How often the watchdog of an area looks at the clock and the memory (seconds).
WATCH_EVERY_S = 0.1


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
    #: Seconds the build may take, and MB its process may grow by (``None``: no limit).
    timeout_s: float | None = DEFAULT_AREA_TIMEOUT_S
    memory_mb: float | None = None
    #: ``--allow-private-urls``: the map file's URLs may reach loopback and private addresses.
    #: A worker is another process, outside the caller's network run: the switch travels here.
    allow_private_urls: bool = False
    #: The OSM source is a split folder: the parts this area reads in its own build (then
    #: ``inputs`` holds no OSM data), cut to ``osm_cut`` (the area and its margin).
    osm_parts: osmsplit.SplitParts | None = None
    osm_cut: BaseGeometry | None = None


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
    #: (starting the workers and importing the map-making libraries in each, unless they
    #: were forked from a server that has them: then milliseconds), ``build``
    #: (the areas). Kept apart so a benchmark compares builds, not process start-up.
    timings: dict[str, float] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r["status"] == status)


# --- areas ---------------------------------------------------------------------------


#: Names in a batch's output folder that belong to the batch itself: an area never gets them.
RESERVED_NAMES = frozenset(
    {"index.html", "manifest.json", "manifest.csv", STATE_FILE, "manifest.csv.part",
     "manifest.json.part", "index.html.part"}
)  # fmt: skip
#: Windows device names (with or without an extension): a folder so named cannot be opened there.
_WINDOWS_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
#: Longest folder name in UTF-8 bytes (file systems allow 255; the map's own file names and a
#: suffix must still fit, and a 320-byte 町丁目 name must not stop the batch).
MAX_FOLDER_BYTES = 100
#: What a folder name may not contain: path separators and characters Windows refuses.
_UNSAFE_CHARS = re.compile(r'[\\/:*?"<>|]+')


def clean_name(name: str) -> str:
    """An area's name as printed: as the file writes it (全角 digits kept), on one line.

    Control and format characters are removed and line breaks become spaces: the name
    goes into titles, the manifest and the index page.
    """
    text = str(name)
    # line breaks and other spaces become one space; control and format characters go
    text = "".join(
        " " if c.isspace() else c for c in text if c.isspace() or unicodedata.category(c)[0] != "C"
    )
    return re.sub(r" {2,}", " ", text).strip()


def _cap_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", errors="ignore")


def _folder_name(name: str) -> tuple[str, str]:
    """A folder name from an area name (readable, Japanese kept, never a path) and why it differs.

    Returns the name and a note for the manifest when the folder had to be renamed (a name
    the batch uses itself, a Windows device name, a name too long); ``""`` otherwise.
    """
    text = _UNSAFE_CHARS.sub("_", clean_name(unicodedata.normalize("NFKC", str(name))))
    text = text.strip(". ")
    note = ""
    if len(text.encode("utf-8")) > MAX_FOLDER_BYTES:
        text = _cap_bytes(text, MAX_FOLDER_BYTES).rstrip(". ")
        note = _("folder name shortened to %(n)d bytes") % {"n": MAX_FOLDER_BYTES}
    if not text:
        return "area", ""
    if text.casefold() in {r.casefold() for r in RESERVED_NAMES} or _WINDOWS_DEVICE.match(text):
        text = "_" + text
        note = _("folder renamed: %(name)s is a name the batch or Windows uses itself") % {
            "name": text[1:]
        }
    return text, note


def folder_names(names: list[str]) -> list[tuple[str, str]]:
    """One folder name per area, unique after NFKC and case folding, with a note when renamed.

    Two areas whose names give the same folder (``X`` and ``X``; ``ｶﾞｲﾄﾞ`` and ``ガイド``;
    ``Kita`` and ``KITA`` on a case-insensitive disk) would build into one folder and one map
    would be lost: the first keeps the name, each later one gets the smallest free ``_2``,
    ``_3`` ... that is no other area's name either, so a rerun of the same file gives the same
    folders. The note says which name it collided with.
    """
    bases = [_folder_name(n) for n in names]
    claimed = {b.casefold() for b, _note in bases}
    taken: set[str] = set()
    out: list[tuple[str, str]] = []
    for (base, note), name in zip(bases, names, strict=True):
        key = base
        if key.casefold() in taken:
            i = 2
            while True:
                suffix = f"_{i}"
                key = _cap_bytes(base, MAX_FOLDER_BYTES - len(suffix)).rstrip(". ") + suffix
                if key.casefold() not in taken and key.casefold() not in claimed:
                    break
                i += 1
            note = _(
                "folder renamed to %(folder)s: the name %(name)s gives the same folder name "
                "as an earlier area"
            ) % {"folder": key, "name": clean_name(name)}
        taken.add(key.casefold())
        out.append((key, note))
    return out


#: Columns that identify one 町丁目 (e-Stat 小地域 ``KEY_CODE``) or, failing that, its
#: municipality: the parts of a 町丁目 share them, two 本町 of two towns do not.
_KEY_COLUMNS: tuple[tuple[str, ...], ...] = (
    ("KEY_CODE",),
    ("KEN", "CITY"),
    ("N03_007",),
    ("CITY_CODE",),
    ("市区町村コード",),
    ("GST_NAME",),
    ("CITY_NAME",),
    ("市区町村名",),
)
#: Columns that tell which municipality an area lies in (code first, then a printable name).
_MUNICIPALITY_COLUMNS: tuple[tuple[str, ...], ...] = _KEY_COLUMNS[1:]
_MUNICIPALITY_NAMES = ("GST_NAME", "CITY_NAME", "N03_004", "市区町村名")


def _first_columns(frame, candidates: tuple[tuple[str, ...], ...]) -> list[str]:
    for cols in candidates:
        if all(c in frame.columns for c in cols):
            return list(cols)
    return []


def _dissolve_parts(frame: gpd.GeoDataFrame, name_col: str) -> gpd.GeoDataFrame:
    """One row per area: features sharing the name (within one 町丁目 key or municipality) merged.

    An e-Stat 町丁目 is often several polygons (伏野: the main part and three islets);
    built one by one they gave four maps, one of a 1:500 empty sliver. Their parts are one
    area, one map. Rows stay in the order of each area's first part.
    """
    keys = _first_columns(frame, _KEY_COLUMNS)
    if not keys:  # nothing says two equal names are one place: keep them apart (two folders)
        return frame
    by = [*keys, name_col]
    groups = frame.groupby([frame[c].astype(str) for c in by], sort=False, dropna=False).indices
    if all(len(rows) == 1 for rows in groups.values()):
        return frame
    first = []
    geoms = []
    repaired = []
    for rows in groups.values():
        first.append(rows[0])
        if "_repaired" in frame.columns:
            repaired.append("; ".join(n for n in frame["_repaired"].iloc[rows] if n))
        parts = frame.geometry.values[rows]
        if len(rows) == 1:
            geoms.append(parts[0])
        else:
            geoms.append(shapely.union_all(shapely.make_valid(parts)))
    merged = frame.iloc[first].copy()
    merged = merged.set_geometry(gpd.GeoSeries(geoms, index=merged.index, crs=frame.crs))
    if repaired:
        merged["_repaired"] = repaired
    log.info(
        _("%(n)d areas made of several polygons: each is one area (one map)"),
        {"n": sum(1 for rows in groups.values() if len(rows) > 1)},
    )
    return merged


def _where(frame: gpd.GeoDataFrame, where: str, *, each: str) -> gpd.GeoDataFrame:
    fld, sep, values = where.partition("=")
    fld = fld.strip()
    if not sep or fld not in frame.columns:
        raise BatchError(
            _("--where %(where)r: expected FIELD=VALUE[,VALUE] with a field of %(each)s (%(cols)s)")
            % {
                "where": where,
                "each": each,
                "cols": ", ".join(c for c in frame.columns if c != "geometry"),
            }
        )
    wanted = {v.strip() for v in values.split(",")}
    return frame[frame[fld].astype(str).str.strip().isin(wanted)]


def _warn_several_municipalities(frame: gpd.GeoDataFrame, wheres: list[str]) -> None:
    """Say so when ``--where`` kept areas of several municipalities (two 本町 of two towns)."""
    cols = _first_columns(frame, _MUNICIPALITY_COLUMNS)
    if not cols:
        return
    codes = frame[cols].astype(str).agg("/".join, axis=1)
    if codes.nunique() < 2:
        return
    if "GST_NAME" in frame.columns:  # e-Stat: 郡市 + 区町村 (岩美郡 + 岩美町)
        labels = frame["GST_NAME"].fillna("").astype(str)
        if "CSS_NAME" in frame.columns:
            labels = labels + frame["CSS_NAME"].fillna("").astype(str)
    else:
        shown = next((c for c in _MUNICIPALITY_NAMES if c in frame.columns), None)
        labels = frame[shown].astype(str) if shown else codes
    names = list(dict.fromkeys(labels.tolist()))
    log.warning(
        _(
            "--where %(where)s matches areas in %(n)d municipalities (%(names)s); to keep one, "
            "add another condition, e.g. --where %(field)s=%(value)s"
        ),
        {
            "where": " ".join(wheres),
            "n": len(names),
            "names": ", ".join(names[:8]) + (" ..." if len(names) > 8 else ""),
            "field": cols[-1],
            "value": frame.iloc[0][cols[-1]],
        },
    )


def load_areas(
    each: str,
    *,
    base_dir: Path,
    name_field: str | None = None,
    where: str | list[str] | tuple[str, ...] | None = None,
) -> gpd.GeoDataFrame:
    """The areas of a batch, one row each: ``key`` (folder name), ``name``, ``note``, geometry.

    Features that share a name within one 町丁目 key or municipality (the parts of a
    multi-part 町丁目) are one area. ``note`` says when an area's folder was renamed (a
    collision after normalisation, a reserved or too long name).

    Parameters
    ----------
    each : str
        A boundary file (GeoJSON, shapefile, GeoPackage; any CRS, Shift_JIS shapefiles
        too), or ``municipalities:NN`` for the bundled N03 municipalities of prefecture NN.
    name_field : str, optional
        The attribute that names each area (default: ``name`` for municipalities, else the
        first of ``name``, ``NAME``, ``MOJI``, ``N03_004``, ``名称`` that exists).
    where : str or list of str, optional
        ``FIELD=VALUE[,VALUE...]``: keep only areas whose field equals one of the values
        (plain comparison, never evaluated as code); several conditions must all hold.
    """
    municipalities = each.startswith("municipalities:")
    if municipalities:
        frame = prefecture_municipalities(each.split(":", 1)[1])
        name_field = name_field or "name"
    else:
        path = Path(each)
        if not path.is_absolute():
            path = base_dir / path
        repairs: dict[int, str] = {}
        frame = read_polygons(path, repairs=repairs)
        # the repair note travels with its row through --where and the merging of parts
        frame = frame.assign(_repaired=[repairs.get(i, "") for i in range(len(frame))])
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
    wheres = [where] if isinstance(where, str) else list(where or [])
    for cond in wheres:
        frame = _where(frame, cond, each=each)
    if wheres and frame.empty:
        raise BatchError(
            _("--where %(where)r: no area of %(each)s matches")
            % {"where": " ".join(wheres), "each": each}
        )
    frame = frame.assign(**{name_field: frame[name_field].astype(str).map(clean_name)})
    if "_repaired" not in frame.columns:
        frame = frame.assign(_repaired="")
    frame = _dissolve_parts(frame, name_field)
    if wheres and not municipalities:
        _warn_several_municipalities(frame, wheres)
    names = frame[name_field].tolist()
    folders = folder_names(names)
    return gpd.GeoDataFrame(
        {
            "key": [k for k, _n in folders],
            "name": names,
            "note": [n for _k, n in folders],
            "repaired": frame["_repaired"].tolist(),
        },
        geometry=frame.geometry.values,
        crs=CRS,
    ).reset_index(drop=True)


# --- inputs read once, cut per area ------------------------------------------------


def _cut(frame: gpd.GeoDataFrame, geom: BaseGeometry) -> gpd.GeoDataFrame:
    if frame is None or frame.empty:
        return frame
    hits = frame.sindex.query(geom, predicate="intersects")
    return frame.iloc[sorted(hits)]


def _cut_osm(osm: OsmExtract, geom: BaseGeometry) -> OsmExtract:
    """The OSM data that touches ``geom``; its problems stay with whoever read it."""
    frames = {k: _cut(v, geom) for k, v in osm.frames.items()}
    return replace(osm, frames=frames, problems=[], rejected={}, repaired={})


def partition(inputs, geom: BaseGeometry):
    """The part of pre-read ``inputs`` that touches ``geom`` (the area plus its margin).

    Rejected and repaired rows stay with the batch's own report (once), not with every
    area that happens to lie near them.
    """

    cut_osm = _cut_osm(inputs.osm, geom)
    files = {
        key: SourceResult(features=_cut(res.features, geom), credit=res.credit, info={})
        for key, res in inputs.files.items()
    }
    return pipeline.Inputs(osm=cut_osm, files=files)


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

    files = [Path(spec.file)] if spec.file else []
    for layer in spec.layers:
        if getattr(layer, "file", None):
            files.append(Path(layer.file))
        for src in layer.sources:
            if src.path is not None:
                files.append(Path(src.path))
    osm = pipeline._osm_file(spec)
    if osm is not None:
        # a split folder: its index (each area adds its own parts to its fingerprint)
        files.append(osm / osmsplit.INDEX if spec.osm.split else osm)
    return [f for f in files if f.exists()]


def _parts_stamp(parts: osmsplit.SplitParts | None) -> str:
    """The split parts an area reads, by name, size and modification time (a new split
    rebuilds the area; the parts are not read here: they are the area's own input)."""
    if parts is None:
        return ""
    stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in parts.files]
    return repr(stats)


def _fingerprint(inputs_hash: str, name: str, geom: BaseGeometry, margin_m: float,
                 parts: str = "") -> str:  # fmt: skip
    h = hashlib.sha256()
    h.update(f"v{STATE_VERSION}|{inputs_hash}|{name}|{margin_m}|".encode())
    if parts:  # the split parts the area reads (none: the fingerprint of earlier versions)
        h.update(f"parts|{parts}|".encode())
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
    # ... nor in its network run: the area's build is one run with the caller's switches
    # (joined, with --workers 0, when the caller's own run is open).
    with (
        use_language(task.language),
        _http.network_run(offline=bool(task.spec.offline), allow_private=task.allow_private_urls),
    ):
        return _build_area(task)


def output_files(path: Path) -> list[Path]:
    """An output's files: the file itself, or every file of a folder output (a site), so a
    deleted or damaged file of the folder makes the area incomplete."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return [path]


def _tile_folder_files(pages: list[Path], *, since: float) -> list[Path]:
    """The files of the tile folders this build wrote beside its web pages (none when inlined).

    A folder older than the build belongs to an earlier setting (``offline_tiles`` changed)
    and is not this build's output.
    """

    out: list[Path] = []
    for page in pages:
        folder = Path(page).with_name(tile_folder_name(page))
        if folder.is_dir() and folder.stat().st_mtime >= since - 1:
            out += sorted(p for p in folder.rglob("*") if p.is_file())
    return out


class _AreaStopped(BaseException):
    """Raised in an area's build by its watchdog (a BaseException: no ``except Exception``
    inside the pipeline may swallow it)."""


def _rss_mb() -> float:
    """This process's resident memory now, in MB."""
    import psutil  # a dependency of distributed

    return psutil.Process().memory_info().rss / 2**20


class _Watchdog:
    """Stops the build running in this thread when it passes its time or memory limit.

    No SIGALRM (main thread only, POSIX only, and a Dask worker runs tasks in other
    threads): a watcher thread looks every :data:`WATCH_EVERY_S` and, past a limit, raises
    :class:`_AreaStopped` in the build's thread (``PyThreadState_SetAsyncExc``). It takes
    effect at the build's next Python instruction: one long call into C (a GEOS operation,
    a PDF page) finishes first. The same code runs with ``--workers 0`` and in Dask workers.
    """

    def __init__(self, *, timeout_s: float | None, memory_mb: float | None) -> None:
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.reason = ""
        self._lock = threading.Lock()
        self._done = False
        self._fired = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Watchdog:
        if self.timeout_s is None and self.memory_mb is None:
            return self
        self._tid = threading.get_ident()
        self._t0 = time.monotonic()
        self._rss0 = _rss_mb() if self.memory_mb is not None else 0.0
        self._thread = threading.Thread(target=self._watch, name="civicmap-area-watchdog")
        self._thread.daemon = True
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_EVERY_S):
            elapsed = time.monotonic() - self._t0
            if self.timeout_s is not None and elapsed > self.timeout_s:
                self._fire(
                    _("stopped after %(seconds)d s: longer than the area time limit (%(limit)s s)")
                    % {"seconds": elapsed, "limit": f"{self.timeout_s:g}"}
                )
            elif self.memory_mb is not None:
                grown = _rss_mb() - self._rss0
                if grown > self.memory_mb:
                    self._fire(
                        _(
                            "stopped: it needed %(mb)d MB more memory, above the area memory "
                            "limit (%(limit)s MB)"
                        )
                        % {"mb": grown, "limit": f"{self.memory_mb:g}"}
                    )

    def _fire(self, reason: str) -> None:
        with self._lock:  # once only: a second one could land in the handler of the first
            if self._done or self._fired:
                return
            self.reason = reason
            self._fired = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._tid), ctypes.py_object(_AreaStopped)
            )
        self._stop.set()

    def close(self) -> None:
        """No stop after this (one still pending is withdrawn); safe to call twice."""
        if self._thread is None:
            return
        with self._lock:
            if self._done:
                return
            self._done = True
            if self._fired:  # one still pending must not hit the code after the build
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._tid), None)
        self._stop.set()
        self._thread.join()

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.close()
        if self._fired and exc_type is None:  # it ended just as the limit passed
            raise _AreaStopped
        return False


def _build_area(task: AreaTask) -> dict[str, Any]:

    t0 = time.perf_counter()
    cpu0 = time.thread_time()
    row: dict[str, Any] = {"key": task.key, "name": task.name, "status": "ok", "error": ""}
    try:
        # checked again here: the folder may have been replaced by a link since the batch began
        _folder, refused = _area_folder(task.out_dir.parent, task.out_dir.name)
        if refused:
            raise BatchError(refused)
        task.out_dir.mkdir(exist_ok=True)
        state = task.out_dir / STATE_FILE
        # Outputs are about to change: no longer a complete build (no files listed), but the
        # state file stays, the marker that says civicmap wrote this folder (a rerun after a
        # failed build may replace it; a folder without it is a stranger's).
        write_text_atomic(
            state, json.dumps({"version": STATE_VERSION, "fingerprint": "", "files": {}})
        )
        dog = _Watchdog(timeout_s=task.timeout_s, memory_mb=task.memory_mb)
        with dog:
            inputs = task.inputs
            if task.osm_parts is not None:  # from a split folder: this area's parts only
                filters, types = pipeline._osm_filters(task.spec)
                osm = osmsplit.read_parts(task.osm_parts, filters, types=types)
                inputs = replace(inputs, osm=_cut_osm(osm, task.osm_cut))
            data = pipeline.collect(task.spec, area=task.area, inputs=inputs, built=task.built)
            # The paper map first, in memory: an area whose sheet is unreadable gets an
            # inset or an atlas (said in the manifest), or fails here with the reason;
            # the write below reuses this drawing.
            paper_note = _paper_layout(data)
            started = time.time()
            written = pipeline.render(data, overwrite=True)
        files = sorted({f for paths in written.values() for p in paths for f in output_files(p)})
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
        if paper_note:
            row["paper"] = paper_note
            row["warnings"].append(paper_note)
        doc = {
            "version": STATE_VERSION,
            "fingerprint": task.fingerprint,
            # the tile folder's files too, so a deleted or damaged folder rebuilds the area
            "files": {str(p.relative_to(task.out_dir)): _sha256(p) for p in [*files, *tiles]},
        }
        write_text_atomic(state, json.dumps(doc, ensure_ascii=False, indent=1))
    except _AreaStopped:  # past its time or memory limit: the next areas go on
        dog.close()
        row.update(status="failed", error=dog.reason)
        log.warning(_("area %(name)s %(reason)s"), {"name": task.name, "reason": dog.reason})
    except UnreadableSheetError as exc:  # the reason whole: the measures, what was tried, fixes
        row.update(status="failed", error=str(exc).splitlines()[0])
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
    for name in _BUILD_MODULES:
        importlib.import_module(name)
    return os.getpid()


def _warm_up_own_worker() -> int:
    """:func:`_warm_up` in a worker of the batch's own cluster, then set the imports aside.

    The imported libraries leave about 160,000 objects that live as long as the process
    (modules, classes, functions) and are never garbage. The garbage collector walked them
    at each full collection, and again when the worker's interpreter shut down: a worker
    took 1.4 s to exit after the batch's last area, the batch waiting for it. Set aside
    (:func:`civicmap._gc.set_imports_aside`), they are skipped: it exits in 0.2 s. Only in
    workers the batch started (:func:`local_client`); a user's own cluster keeps its
    collector as it is.
    """
    pid = _warm_up()
    set_imports_aside()
    return pid


def _built_time(spec: MapSpec, inputs) -> str:
    """One date for the whole batch (not one per area): its data's, as a single build prints.

    See :func:`civicmap.pipeline.data_date` (the inputs were read once for every area).
    """

    fetched = [t for r in inputs.files.values() for t in (r.info or {}).get("fetched") or ()]
    return pipeline.data_date(spec, inputs.osm, fetched)  # remote copies date it too


def _area_spec(spec: MapSpec, name: str, out_dir: Path) -> MapSpec:

    titled = replace(spec, title=f"{name} {spec.title}".strip())
    if titled.paper is not None and titled.paper.unreadable is None:
        # A batch never writes an unreadable sheet and never stops for one: an area's
        # sheet gets an inset, else a grid atlas, else the area fails with the reason.
        titled = replace(titled, paper=replace(titled.paper, unreadable="atlas"))
    return pipeline.with_output_dir(titled, out_dir)


def _paper_layout(data) -> str:
    """Lay the area's paper map out (kept for the write); what the readability check changed.

    Raises the renderer's UnreadableSheetError (a CivicMapError: the area fails with
    its message) when neither an inset nor an atlas makes the area readable.
    """
    if "paper" not in data.spec.outputs:
        return ""
    _pdf, plan = render_paper(data, options=data.spec.paper, remember=True)
    return plan.note


# --- Dask: a locked local cluster, a checked remote one -------------------------------

#: Largest greeting a scheduler sends (a few dozen bytes in practice): a peer announcing
#: more is not a scheduler (an HTTP server's "HTTP/1.1" read as a length is 5.8 EB).
_MAX_GREETING = 64 * 1024
#: Times an area is sent to the workers when a worker dies under it (with its data).
MAX_ATTEMPTS = 3
#: Seconds between progress reports while areas are being built.
PROGRESS_EVERY_S = 2.0


#: Clients of the clusters :func:`local_client` started for batches: their workers are
#: the batch's own (see :func:`_warm_up_own_worker`); a user's cluster is never in it.
_OWN_CLIENTS: weakref.WeakSet = weakref.WeakSet()


def _temporary_security():
    """Per-run TLS certificates: only this process and its own workers can talk to the cluster.

    A ``LocalCluster`` without them listens on a TCP port any local user can reach (a shared
    municipal PC, a workshop JupyterHub), and every message on it may carry a pickle: any
    of them could run code in the workers as the batch's user. With a certificate made for
    this run and required from both sides (mutual TLS), a connection without it is refused.

    The same as distributed's ``Security.temporary()`` but with an elliptic-curve key
    (P-256) instead of a 2048-bit RSA one: made in well under a millisecond instead of
    20-1000 ms (RSA key generation searches for primes; its time varies and grows on a busy
    machine), and each TLS handshake between the client, scheduler and workers signs faster.
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        from distributed.security import Security
    except ImportError as exc:  # cryptography is a dependency; a broken install lacks it
        raise BatchError(
            _(
                "cannot start the local Dask cluster safely: the cryptography package is "
                "missing (%(error)s); reinstall civicmap (pip install civicmap) or run with "
                "--workers 0"
            )
            % {"error": exc}
        ) from None
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    # the name distributed's own temporary certificates carry (its TLS comm expects it)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dask-internal")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("dask-internal")]), critical=False)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return Security(
        require_encryption=True,
        tls_ca_file=cert_pem,
        tls_client_key=key_pem,
        tls_client_cert=cert_pem,
        tls_scheduler_key=key_pem,
        tls_scheduler_cert=cert_pem,
        tls_worker_key=key_pem,
        tls_worker_cert=cert_pem,
    )


def _refuse_in_a_starting_worker() -> None:
    """Stop at once when this is a Dask worker process re-running the caller's script.

    Each worker process starts by running the script that started the batch again (Python's
    ``spawn``); a script without ``if __name__ == "__main__":`` then calls ``batch()`` again
    in the worker. That second batch used to read every input and wait 10 s for the output
    folder's lock (held by the real batch) before failing; the real batch only learnt that
    its worker had died after that. Failing here, before anything is read, ends the
    worker at once and the batch reports Dask's "Nanny failed to start" with the fix.
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise BatchError(
            _(
                "civicmap.batch() was called again while a Dask worker process was starting "
                "(the worker runs the calling script again); put the call under "
                "'if __name__ == \"__main__\":'"
            )
        )


#: What the forkserver of this process imports once, before it forks the batch's workers.
_FORKSERVER_PRELOAD = ("distributed", __name__, *_BUILD_MODULES, "civicmap._forkserver_preload")
#: The Dask configuration under which a Nanny forks its worker from the forkserver.
_FORKED = {"distributed.worker.multiprocessing-method": "forkserver"}
#: Whether this process's forkserver was started by a batch (with the imports above).
_forkserver_started = False


def _start_forkserver() -> bool:
    """Start this process's forkserver with the map-making stack imported; False if none.

    Dask starts each worker process with ``spawn``: a new interpreter that imports
    distributed and then the whole stack (1.5-3 s of CPU each). A forkserver imports them
    once and forks each worker from itself: ``--workers 2`` imports the stack once
    instead of twice, a second batch in the same process (a notebook) not at all, and the
    workers share the imported pages. Called before the inputs are read, it imports
    while they are read (``ensure_running`` does not wait for the imports). A forked
    worker starts with the server's environment: :func:`_environment_plugin` gives it the
    batch's. On Linux only (Windows has no forkserver; on macOS a library that touched the
    system frameworks in the server can crash its forked children), and not when the
    user's Dask configuration chose a start method other than the default: then the
    workers are spawned.
    """
    global _forkserver_started
    from multiprocessing import forkserver

    import dask
    import distributed  # noqa: F401  (its configuration: the workers' start and environment)

    if (
        not sys.platform.startswith("linux")
        or dask.config.get("distributed.worker.multiprocessing-method", "spawn") != "spawn"
    ):
        return False
    if not _forkserver_started:
        # what Dask's Nanny sets in this process before it starts a worker (the thread
        # counts numpy's libraries read when they load, a fixed hash seed), set as it does,
        # before the server starts and imports
        cfg = dask.config.get("distributed.nanny.pre-spawn-environ", {})
        pre = {k: os.environ.get(k, str(v)) for k, v in cfg.items() if v is not None}
        if pre.get("PYTHONHASHSEED") in (None, "0"):
            pre["PYTHONHASHSEED"] = "6640"
        os.environ.update(pre)
        forkserver.set_forkserver_preload(list(_FORKSERVER_PRELOAD))
        forkserver.ensure_running()
        _forkserver_started = True
    return True


def _worker_environment() -> dict[str, str]:
    """The environment a worker spawned now would have: this process's, and the variables
    of the Dask configuration for workers (``distributed.nanny.environ``)."""
    import dask

    cfg = dask.config.get("distributed.nanny.environ", {}) or {}
    own = {k: os.environ.get(k, str(v)) for k, v in cfg.items() if v is not None}
    return {**os.environ, **own}


def _use_environment(environ: dict[str, str]) -> None:
    """Make this process's environment ``environ`` exactly, and re-read the settings from it
    (:mod:`civicmap.settings` reads its ``CIVICMAP_*`` variables when it is imported)."""
    for key in os.environ.keys() - environ.keys():
        del os.environ[key]
    os.environ.update(environ)
    importlib.reload(settings)


def _environment_plugin(environ: dict[str, str]):
    """A Dask worker plugin: each worker of the batch's cluster, and each one started again
    after a worker died, takes ``environ`` before it gets an area.

    A worker forked from the forkserver has the environment the server started with (an
    earlier batch's: ``SOURCE_DATE_EPOCH`` set then, unset since) and the settings the
    server read from it; a spawned worker would have the batch's. This makes them the same.
    """
    from distributed.diagnostics.plugin import WorkerPlugin

    class BatchEnvironment(WorkerPlugin):
        name = "civicmap-batch-environment"

        def setup(self, worker) -> None:
            _use_environment(environ)

    return BatchEnvironment()


@contextlib.contextmanager
def _restarts_forked(dask_client) -> Iterator[None]:
    """While the batch's own cluster builds: a worker that dies (killed, out of memory) is
    started again from the forkserver too, in a fraction of a second instead of a spawn's
    imports (Dask reads its start method when it starts the new process)."""
    import dask

    forked = dask_client in _OWN_CLIENTS and _start_forkserver()
    with dask.config.set(_FORKED if forked else {}):
        yield


def local_client(workers: int = 1):
    """A ``LocalCluster`` of worker processes, locked with per-run mutual TLS, and its client."""
    from dask.distributed import Client

    security = _temporary_security()
    try:
        _loopback_connects()
    except OSError as exc:
        raise _cluster_cannot_start(f"127.0.0.1: {exc}") from None
    try:
        cluster = _local_cluster(workers, security)
    except RuntimeError as exc:
        if "Nanny failed to start" in str(exc):
            # what a worker process says when the script it re-runs starts a batch again
            raise BatchError(
                _(
                    "Dask could not start its worker processes (%(error)s). A script that calls "
                    "civicmap.batch() with workers must put that call under "
                    "'if __name__ == \"__main__\":' (each worker process runs the script "
                    "again); or use workers=0"
                )
                % {"error": exc}
            ) from None
        if "failed to start" in str(exc):
            raise _cluster_cannot_start(str(exc)) from None
        raise
    try:
        client = Client(cluster, security=security)
        client.register_plugin(_environment_plugin(_worker_environment()))
    except BaseException:
        cluster.close()
        raise
    _OWN_CLIENTS.add(client)
    return client


def _loopback_connects() -> None:
    """Connect to a listening socket on 127.0.0.1, or raise ``OSError``.

    The scheduler and the workers talk over the loopback network. Without it (a sandbox
    or ``unshare -n`` with ``lo`` down) the scheduler still binds, and Dask retries every
    connection for its 30 s timeout, twice: the user waited a minute for the advice that
    this check gives at once.
    """
    with socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


def _cluster_cannot_start(error: str) -> BatchError:
    """The advice when the local cluster cannot run here (no loopback network, ...)."""
    return BatchError(
        _(
            "Dask could not start its local cluster on this computer (%(error)s); "
            "build the areas one after another with --workers 0"
        )
        % {"error": error}
    )


def _local_cluster(workers: int, security):
    """The batch's ``LocalCluster``: its worker processes forked from the forkserver when
    there is one (:func:`_start_forkserver`), else spawned as Dask does by default."""
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set(_FORKED if _start_forkserver() else {}):
        return LocalCluster(
            n_workers=max(1, int(workers)),
            threads_per_worker=1,
            processes=True,
            # no dashboard; the scheduler's small HTTP server (health, metrics) on a free loopback
            # port: None would still bind 8787, and a second batch (or a notebook's) then warns in
            # English that the port is taken
            dashboard_address="127.0.0.1:0",
            host="127.0.0.1",
            security=security,
            # a dead worker is reported once by the batch (its areas are sent again), not
            # by the scheduler's own error lines on the console
            silence_logs=logging.CRITICAL,
            # the batch's environment from the worker's start (a forked worker starts with
            # the server's; _environment_plugin then removes what the batch's has not)
            env=dict(os.environ),
        )


def _not_a_scheduler(address: str, why: str) -> BatchError:
    return BatchError(
        _(
            "--scheduler %(address)s: no Dask scheduler answered there (%(why)s); check the "
            "address and that the scheduler is running"
        )
        % {"address": address, "why": why}
    )


def _recv_exactly(sock, n: int, *, address: str) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise _not_a_scheduler(address, _("it closed the connection"))
        buf += chunk
    return bytes(buf)


def _is_greeting(doc: object) -> bool:
    """A scheduler's handshake: a small map of plain values (no pickle, no nested object)."""
    if not isinstance(doc, dict) or "python" not in doc or "pickle-protocol" not in doc:
        return False

    def plain(v: object) -> bool:
        if isinstance(v, list | tuple):
            return all(plain(x) for x in v)
        return v is None or isinstance(v, str | int | float | bool)

    return all(isinstance(k, str) and plain(v) for k, v in doc.items())


def probe_scheduler(address: str, *, ssl_context=None, timeout: float | None = None) -> None:
    """Check that ``address`` greets like a Dask scheduler, within ``timeout``, unpickling nothing.

    Dask's own client reads the peer's first message with no time limit and unpickles
    what it carries: a server that never answers hangs the batch, one that sends garbage
    makes it allocate exabytes, and a fake scheduler runs code in this process. This reads
    the greeting itself (TLS first when ``ssl_context`` is given), bounded in time and
    size, and accepts only a plain handshake map. Raises :class:`BatchError` otherwise.
    """
    import socket
    import ssl
    import struct

    import msgpack
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.protocol.utils import unpack_frames

    timeout = settings.scheduler_timeout if timeout is None else timeout
    try:
        _scheme, loc = parse_address(address)
        host, port = parse_host_port(loc)
    except ValueError:
        raise _not_a_scheduler(address, _("expected tls://HOST:PORT")) from None
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise _not_a_scheduler(address, exc.strerror or type(exc).__name__) from None
    try:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        if ssl_context is not None:
            sock = ssl_context.wrap_socket(sock, server_hostname=host)
        (total,) = struct.unpack("Q", _recv_exactly(sock, 8, address=address))
        if not 16 <= total <= _MAX_GREETING:
            raise _not_a_scheduler(address, _("its answer is not a Dask message"))
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        body = _recv_exactly(sock, total, address=address)
        try:
            frames = unpack_frames(body)
            doc = msgpack.unpackb(bytes(frames[0]), raw=False, use_list=False, strict_map_key=True)
        except Exception:  # any decoding failure: the bytes are not a Dask message
            doc = None
        if not _is_greeting(doc):
            raise _not_a_scheduler(address, _("its answer is not a Dask scheduler's greeting"))
    except TimeoutError:
        raise _not_a_scheduler(
            address, _("no answer within %(seconds)d s") % {"seconds": timeout}
        ) from None
    except ssl.SSLError as exc:
        raise _not_a_scheduler(
            address,
            _("the TLS handshake failed: %(reason)s; is it your cluster, with your certificates?")
            % {"reason": exc.reason or type(exc).__name__},
        ) from None
    except OSError as exc:
        raise _not_a_scheduler(address, exc.strerror or type(exc).__name__) from None
    finally:
        sock.close()


def remote_client(address: str, *, insecure: bool = False, timeout: float | None = None):
    """A client of a running scheduler: ``tls://`` with the user's Dask TLS settings.

    Dask messages carry pickles, so a scheduler can run code in this process and anyone
    who can reach an unencrypted, unauthenticated cluster can run code on its workers.
    Only ``tls://`` is accepted, with the certificates of the Dask configuration
    (``distributed.comm.tls.*``), unless ``insecure`` (``--insecure-scheduler``) says the
    user trusts everything that can reach that address.
    """
    from dask.distributed import Client
    from distributed.security import Security

    timeout = settings.scheduler_timeout if timeout is None else timeout
    scheme = address.split("://", 1)[0].lower() if "://" in address else "tcp"
    security = None
    ssl_context = None
    if scheme == "tls":
        security = Security()
        if not (security.tls_ca_file and security.tls_client_cert):
            raise BatchError(
                _(
                    "--scheduler %(address)s: no TLS certificates for Dask are configured; set "
                    "distributed.comm.tls.ca-file, distributed.comm.tls.client.cert and "
                    "distributed.comm.tls.client.key in your Dask configuration (your "
                    "cluster's administrator has them)"
                )
                % {"address": address}
            )
        ssl_context = security.get_connection_args("client")["ssl_context"]
    elif scheme == "tcp" and insecure:
        log.warning(
            _(
                "--insecure-scheduler: connecting to %(address)s without encryption or "
                "authentication; whoever runs or can reach that address can run programs "
                "on this computer as you, and anyone who can reach the cluster can read the "
                "data and run programs on its workers; use it only on a network you trust"
            ),
            {"address": address},
        )
    else:
        raise BatchError(
            _(
                "--scheduler %(address)s: only a tls:// address is accepted (Dask messages can "
                "carry programs, so the scheduler must prove who it is); use tls://HOST:PORT "
                "with your Dask TLS configuration, or add --insecure-scheduler for a tcp:// "
                "cluster on a network you trust"
            )
            % {"address": address}
        )
    probe_scheduler(address, ssl_context=ssl_context, timeout=timeout)
    try:
        return Client(address, security=security, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise _not_a_scheduler(address, str(exc).splitlines()[0][:200]) from None


def _client(
    *,
    client=None,
    workers: int | None = None,
    scheduler: str | None = None,
    insecure_scheduler: bool = False,
):
    """A Dask client and whether we own it (and must close it with its cluster)."""
    if client is not None:
        return client, False
    if scheduler:
        return remote_client(scheduler, insecure=insecure_scheduler), True
    return local_client(workers or 1), True


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch stands, for a progress line: given when an area ends and every few seconds."""

    done: int
    total: int
    failed: int
    elapsed_s: float
    #: Seconds left at the pace so far (``None`` before the first area ends).
    left_s: float | None
    #: The manifest row of the area that just ended (``None`` for a periodic report).
    row: dict[str, Any] | None = None


class _Tracker:
    """Counts finished areas and reports progress: on each area and at least every few seconds."""

    def __init__(self, total: int, progress) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.progress = progress
        self.t0 = time.monotonic()
        self.last = self.t0
        self.lock = threading.Lock()

    def report(self, row: dict[str, Any] | None = None) -> None:
        with self.lock:
            if row is not None:
                self.done += 1
                self.failed += row["status"] == "failed"
            now = time.monotonic()
            if self.progress is None or (row is None and now - self.last < PROGRESS_EVERY_S):
                return
            self.last = now
            elapsed = now - self.t0
            left = elapsed / self.done * (self.total - self.done) if self.done else None
            self.progress(BatchProgress(self.done, self.total, self.failed, elapsed, left, row))

    @contextlib.contextmanager
    def ticking(self) -> Iterator[None]:
        """Report every few seconds from a thread while the block builds areas in this one."""
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(PROGRESS_EVERY_S / 4):
                self.report()

        thread = threading.Thread(target=tick, name="civicmap-batch-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def _lost_row(task: AreaTask, exc: BaseException) -> dict[str, Any]:
    return {"key": task.key, "name": task.name, "status": "failed", "files": [],
            "places": {}, "warnings": [], "seconds": 0.0,
            "error": _("worker failed: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"}}  # fmt: skip


def _run_on_dask(dask_client, tasks: list[AreaTask], tracker: _Tracker) -> list[dict[str, Any]]:
    """Build ``tasks`` on the cluster; an area whose worker died (with its data) is sent again.

    Each area's data goes to the workers as its own scattered piece, not inside the task
    graph (which the scheduler would have to hold and ship). ``hash=False``: naming each
    piece by a hash of its content tokenised every frame in this process before any area
    started (1 s per 1 km² area of the bench's city) for no use (no piece repeats).
    Scattered data has no recipe: when the worker holding it dies, Dask cancels the areas
    that needed it. Those are scattered and submitted again (up to :data:`MAX_ATTEMPTS`).
    """
    from dask.distributed import as_completed

    def submit(batch_tasks: list[AreaTask], attempt: int) -> dict[Any, AreaTask]:
        parts = dask_client.scatter([t.inputs for t in batch_tasks], hash=False)
        light = [replace(t, inputs=None) for t in batch_tasks]
        keys = [f"civicmap-{t.fingerprint[:16]}-{attempt}" for t in batch_tasks]
        futures = dask_client.map(build_area, light, parts, key=keys)
        return dict(zip(futures, batch_tasks, strict=True))

    attempts = dict.fromkeys((t.key for t in tasks), 1)
    pending = submit(tasks, 1)
    finished = as_completed(list(pending))
    rows: list[dict[str, Any]] = []
    while not finished.is_empty():
        done = finished.next_batch(block=False)
        if not done:  # nothing ended yet: report the time that passes, look again soon
            tracker.report()
            time.sleep(0.1)
            continue
        again: list[AreaTask] = []
        for fut in done:
            task = pending.pop(fut)
            try:
                row = fut.result()
            except Exception as exc:  # the worker died (and its scattered data with it)
                if attempts[task.key] < MAX_ATTEMPTS:
                    attempts[task.key] += 1
                    log.warning(
                        _("area %(name)s: its worker stopped (%(error)s); sending it again"),
                        {"name": task.name, "error": type(exc).__name__},
                    )
                    again.append(task)
                    continue
                row = _lost_row(task, exc)
            rows.append(row)
            tracker.report(row)
        if again:
            resent = submit(again, max(attempts[t.key] for t in again))
            pending.update(resent)
            for fut in resent:
                finished.add(fut)
    return rows


def _area_folder(out_root: Path, key: str, inputs: list[Path] | None = None) -> tuple[Path, str]:
    """The folder of an area and, when it cannot be used safely, why (else ``""``).

    A symbolic link planted in the batch's folder (by another user, an unpacked archive)
    would have the area written wherever it points: such an area is refused, not followed.
    Then the one output rule (:func:`civicmap._outputs.check_output_folder`): never an
    input of the run, never a non-empty folder without the batch's state file.
    """
    folder = out_root / key
    if folder.is_symlink() or (folder.exists() and folder.resolve().parent != out_root):
        return folder, _(
            "%(folder)s is a symbolic link; the area is not written through it (remove the link "
            "and run the batch again)"
        ) % {"folder": folder}
    if folder.exists() and not folder.is_dir():
        return folder, _("%(folder)s exists and is not a folder; move it away") % {"folder": folder}
    try:
        check_output_folder(folder, root=out_root, marker=STATE_FILE, inputs=inputs or ())
    except OutputRefusedError as exc:
        return folder, str(exc)
    return folder, ""


def batch(
    spec: MapSpec | str | Path,
    *,
    each: str,
    out_dir: str | Path = "out",
    name_field: str | None = None,
    where: str | list[str] | tuple[str, ...] | None = None,
    margin_m: float = DEFAULT_MARGIN_M,
    workers: int | None = None,
    scheduler: str | None = None,
    insecure_scheduler: bool = False,
    client=None,
    progress: Callable[[BatchProgress], None] | None = None,
    worker_memory: dict[str, float] | None = None,
    offline: bool | None = None,
    area_timeout_s: float | None = DEFAULT_AREA_TIMEOUT_S,
    area_memory_mb: float | None = None,
    allow_private_urls: bool | None = None,
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
    workers, scheduler, insecure_scheduler, client
        ``client`` (a ``dask.distributed.Client``) is used as given; else ``scheduler``
        (a ``tls://`` address, with the Dask TLS configuration; ``tcp://`` only with
        ``insecure_scheduler``) connects to a running cluster; else a ``LocalCluster`` of
        ``workers`` processes (default 1), locked with per-run TLS, is started and closed.
        ``workers=0`` builds the areas one after the other in this process, without Dask
        (for debugging, and the serial baseline of ``bench/bench_batch.py``).
    progress : callable, optional
        Called with a :class:`BatchProgress` when an area ends and at least every
        :data:`PROGRESS_EVERY_S` seconds while the areas are built.
    worker_memory : dict, optional
        Filled with each Dask worker's peak resident memory in MB (for benchmarks).
    offline : bool, optional
        Build every area without the network (``None``: ``settings.offline``); the choice
        travels with each area's spec to the workers.
    area_timeout_s, area_memory_mb : float, optional
        Limits of one area's build: seconds (default :data:`DEFAULT_AREA_TIMEOUT_S`) and MB
        its process may grow by (default none); ``None`` for no limit. An area past one is
        stopped and listed as failed with the reason; the others are built. One bad
        polygon (a pathological 町丁目) must not hold a prefecture's batch for hours.
    allow_private_urls : bool, optional
        Let URLs from the map file (a tile server, ``osm.overpass_url``) reach loopback
        and private addresses (``--allow-private-urls``; ``None``: as the caller's network
        run says). It travels with each area to the workers.

    Messages (errors and warnings in the manifest) are in the caller's language
    (:func:`civicmap.i18n.current_language`), in the workers too.
    """

    _refuse_in_a_starting_worker()
    if not isinstance(spec, MapSpec):
        spec = load_map(spec)
    spec = pipeline.with_offline(spec, offline)
    if not spec.outputs:
        raise BatchError(
            _("%(file)s: no outputs to write; add outputs: to the map file") % {"file": spec.file}
        )
    out = Path(out_dir)
    if allow_private_urls is None:
        allow_private_urls = _http.current_run().allow_private
    with (
        _http.network_run(offline=bool(spec.offline), allow_private=allow_private_urls),
        output_lock(out),  # a second batch into the same folder waits, then is refused
    ):
        limits = (_limit(area_timeout_s, "--area-timeout"), _limit(area_memory_mb, "--area-memory"))
        remote = None
        if client is None and scheduler:
            # connected first: a wrong address or missing certificates are said in seconds,
            # not after the inputs are read (a prefecture's take minutes)
            remote = remote_client(scheduler, insecure=insecure_scheduler)
        try:
            return _batch(
                spec, each=each, out=out, name_field=name_field, where=where, margin_m=margin_m,
                workers=workers, scheduler=None if remote is not None else scheduler,
                insecure_scheduler=insecure_scheduler,
                client=remote if remote is not None else client,
                progress=progress, worker_memory=worker_memory, limits=limits,
                allow_private_urls=bool(allow_private_urls),
            )  # fmt: skip
        finally:
            if remote is not None:
                remote.close()


def _limit(value: float | None, option: str) -> float | None:
    """A per-area limit: a positive number, or ``None`` (0 also means none)."""
    if value is None or value == 0:
        return None
    if not value > 0:
        raise BatchError(
            _("%(option)s: got %(value)s, expected a positive number (0: no limit)")
            % {"option": option, "value": value}
        )
    return float(value)


def _batch(
    spec: MapSpec,
    *,
    each: str,
    out: Path,
    name_field: str | None,
    where: str | list[str] | tuple[str, ...] | None,
    margin_m: float,
    workers: int | None,
    scheduler: str | None,
    insecure_scheduler: bool,
    client,
    progress: Callable[[BatchProgress], None] | None,
    worker_memory: dict[str, float] | None,
    limits: tuple[float | None, float | None] = (DEFAULT_AREA_TIMEOUT_S, None),
    allow_private_urls: bool = False,
) -> BatchResult:

    t_read = time.perf_counter()
    areas = load_areas(each, base_dir=spec.base_dir, name_field=name_field, where=where)
    if workers != 0 and client is None and not scheduler:
        _start_forkserver()  # it imports the map-making stack while the inputs are read
    log.info(_("batch: %(n)d areas from %(each)s"), {"n": len(areas), "each": each})
    metric = estimate_utm_crs(areas)
    grown = areas.to_crs(metric).buffer(margin_m).to_crs(CRS)
    whole = Area(shapely.union_all(grown.values).buffer(0), "batch", "batch")
    # every source once, for every area; from a split folder, each area reads its parts
    split = osmsplit.open_split(pipeline._osm_file(spec)) if spec.osm.split else None
    inputs = pipeline.read_inputs(spec, whole, osm=split is None)
    if split is not None:
        inputs.osm = OsmExtract(frames={}, osm_base=split.osm_base, bounds=split.bounds)
    problems = sum(len(r.rejected) for r in inputs.files.values()) + len(inputs.osm.problems)
    inputs_hash = _hash_files(_input_files(spec))
    built = _built_time(spec, inputs)

    result = BatchResult(input_problems=problems)
    result.timings["read"] = round(time.perf_counter() - t_read, 3)
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
    out.mkdir(parents=True, exist_ok=True)
    out_root = out.resolve()
    run_inputs = pipeline.map_inputs(spec)
    tasks: list[AreaTask] = []
    notes = dict(zip(areas.key, areas.note, strict=True))
    for i, row in enumerate(areas.itertuples()):
        geom = row.geometry
        folder, refused = _area_folder(out_root, row.key, run_inputs)
        failed = {"key": row.key, "name": row.name, "status": "failed", "files": [],
                  "places": {}, "warnings": [], "seconds": 0.0, "_order": i}  # fmt: skip
        parts = None
        usable = geom is not None and not geom.is_empty and geom.is_valid and geom.area > 0
        if split is not None and not refused and usable:
            try:  # the parts the area and its margin need (a part missing: the area fails)
                parts = split.parts_for(grown.iloc[i], what=row.name)
            except osmsplit.SplitFolderError as exc:
                refused = str(exc)
        fp = _fingerprint(inputs_hash, row.name, geom, margin_m, _parts_stamp(parts))
        if refused:
            result.rows.append({**failed, "error": refused})
            continue
        if is_complete(folder, fp):
            state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
            result.rows.append(
                {"key": row.key, "name": row.name, "status": "skipped", "error": "",
                 "files": sorted(state["files"]), "places": state.get("places", {}),
                 "warnings": [], "seconds": 0.0, "_order": i}
            )  # fmt: skip
            continue
        if not usable:
            result.rows.append(
                {**failed,
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
                spec=_area_spec(spec, row.name, folder),
                inputs=partition(inputs, grown.iloc[i]),
                out_dir=folder,
                fingerprint=fp,
                built=built,
                language=current_language(),
                timeout_s=limits[0],
                memory_mb=limits[1],
                allow_private_urls=allow_private_urls,
                osm_parts=parts,
                osm_cut=grown.iloc[i] if parts is not None else None,
            )
        )
    order = {k: i for i, k in enumerate(areas.key)}
    tracker = _Tracker(len(areas), progress)
    for row in result.rows:
        tracker.done += 1
        tracker.failed += row["status"] == "failed"
    if tasks and workers == 0 and client is None and not scheduler:
        t = time.perf_counter()
        _warm_up()
        result.timings["startup"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        tracker.t0 = tracker.last = time.monotonic()
        with tracker.ticking():
            for task in tasks:  # in this process, without Dask: for debugging and as a baseline
                row = build_area(task)
                row["_order"] = order[row["key"]]
                result.rows.append(row)
                tracker.report(row)
        result.timings["build"] = round(time.perf_counter() - t, 3)
    elif tasks:
        t = time.perf_counter()
        dask_client, owned = _client(
            client=client,
            workers=workers,
            scheduler=scheduler,
            insecure_scheduler=insecure_scheduler,
        )
        try:
            dask_client.run(_warm_up_own_worker if dask_client in _OWN_CLIENTS else _warm_up)
            result.timings["startup"] = round(time.perf_counter() - t, 3)
            t = time.perf_counter()
            tracker.t0 = tracker.last = time.monotonic()
            with _restarts_forked(dask_client):
                for row in _run_on_dask(dask_client, tasks, tracker):
                    row["_order"] = order[row["key"]]
                    result.rows.append(row)
            result.timings["build"] = round(time.perf_counter() - t, 3)
            if worker_memory is not None:
                worker_memory.update(dask_client.run(_peak_rss_mb))
        finally:
            if owned:
                cluster = getattr(dask_client, "cluster", None)
                dask_client.close()
                if cluster is not None:
                    cluster.close()
    result.rows.sort(key=lambda r: r.pop("_order"))
    repaired = dict(zip(areas.key, areas.repaired, strict=True))
    for row in result.rows:
        row["folder_note"] = notes.get(row["key"], "")
        if repaired.get(row["key"]):  # said on every run, not only the one that built it
            row["warnings"] = [repaired[row["key"]], *row.get("warnings", [])]
    # Skipped rows keep the counts their build recorded.
    _write_summary(result, out, each=each, language=spec.language)
    return result


# --- manifest and index ------------------------------------------------------------


def _write_summary(result: BatchResult, out: Path, *, each: str, language: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # Keep each area's counts in its state file too, so a skipped area still reports them.
    for row in result.rows:
        state = out / row["key"] / STATE_FILE
        if row["status"] == "ok" and state.is_file() and not state.parent.is_symlink():
            doc = json.loads(state.read_text(encoding="utf-8"))
            doc["places"] = row.get("places", {})
            write_text_atomic(state, json.dumps(doc, ensure_ascii=False, indent=1))
    layers = sorted({k for r in result.rows for k in (r.get("places") or {})})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["area", "folder", "status", *[f"places:{k}" for k in layers], "files",
                "warnings", "seconds", "error", "folder note"])  # fmt: skip
    for r in result.rows:
        places = r.get("places") or {}
        cells = [r["name"], r["key"], r["status"], *[places.get(k, "") for k in layers],
                 " ".join(f"{r['key']}/{f}" for f in r.get("files", [])),
                 " | ".join(r.get("warnings", [])), r.get("seconds", 0), r.get("error", ""),
                 r.get("folder_note", "")]  # fmt: skip
        w.writerow([spreadsheet_cell(c) for c in cells])
    # utf-8 with BOM: Excel in Japan opens it without mojibake.
    result.manifest_csv = out / "manifest.csv"
    write_text_atomic(result.manifest_csv, "\ufeff" + buf.getvalue())
    result.manifest_json = out / "manifest.json"
    write_text_atomic(
        result.manifest_json,
        json.dumps(
            {"areas": each, "outside_every_area": result.outside_every_area, "rows": result.rows},
            ensure_ascii=False,
            indent=1,
        ),
    )
    result.index_html = out / "index.html"
    write_text_atomic(result.index_html, index_page(result.rows, language=language))
