"""``civicmap split``: cut one large OSM extract into one extract per area, in a few streamed passes.

A prefecture's or Japan's extract is read by every map that uses it; a batch over many areas
would read it whole (or every worker would). Splitting it once by prefecture, municipality or
any boundary file gives each area its own small ``.osm.pbf``, which maps and batches then read
instead (``osm: {file: <folder>/<key>.osm.pbf}``).

What each area's extract holds (the "complete ways" rule of ``osmium extract``, plus complete
multipolygons), so that a map of the area reads the same features from it as from the whole
extract:

- every tagged node inside the area grown by ``margin_m`` metres;
- every way that crosses it (a closed way: whose extent touches it, so a park around a village
  counts), with *all* its nodes (lines and buildings crossing the edge keep their whole shape);
- every relation with a member in the area; a multipolygon's (or a non-administrative
  boundary's) member ways and their nodes are all included, so its polygon can be assembled;
  administrative boundaries are kept as relations without completing them (a prefecture's
  outline would otherwise be copied into every municipality).

The passes stream the file with pyosmium: relations; nodes and ways with node locations (the
location index in C++, on disk above 512 MB of .pbf; only tagged nodes reach Python); then the
writing pass. Memory is a table of (element id, area) entries, 8 bytes each (about three times
that while sorting), pyosmium's read buffers and, below 512 MB, its location index; never the
elements or their geometry (measured in ``bench/RESULTS-split.md``). At most :data:`MAX_OPEN_WRITERS` extracts are written per pass (the file is
read once more for every further group).

With ``geoparquet=True`` (``--geoparquet``) each part is then read back with every built-in
layer's filter and the basemap's, and each layer's rows are written as one GeoParquet file
next to the part (listed in split.json), which a map of the part's area reads instead of the
part (:mod:`civicmap.sources.osmsplit`).
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import json
import logging
import math
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import shapely

from civicmap import _files
from civicmap._outputs import Output, guarded_outputs, has_marker
from civicmap.area import prefecture_municipalities
from civicmap.batch import folder_names, load_areas
from civicmap.errors import CivicMapError
from civicmap.i18n import LANGUAGES, _, current_language, use_language
from civicmap.pipeline import BASEMAP_FILTERS
from civicmap.schema import CRS, estimate_utm_crs
from civicmap.sources.osmfile import _location_storage, check_path, iso_z, read_extract
from civicmap.sources.osmsplit import (
    INDEX,
    INDEX_VERSION,
    filter_signature,
    frame_layer,
    layer_table,
)
from civicmap.spec.layers import builtin_layer_ids, load_layer
from civicmap.tagfilter import TagFilter

log = logging.getLogger(__name__)

_NODE, _WAY = osmium.osm.Node, osmium.osm.Way

#: The marker that says a folder holds civicmap's split (only such folders are replaced), and
#: its index: every area's part file (None: no data there) and region, the extract's bounds
#: and date (read by :mod:`civicmap.sources.osmsplit`).
MANIFEST = INDEX
#: Extracts written at once in one pass (each writer holds a buffer and a file handle).
MAX_OPEN_WRITERS = 200
#: Bytes each open writer buffers before it compresses a block.
_WRITER_BUFFER = 512 * 1024
#: Elements handed to NumPy at once while assigning areas.
_CHUNK = 200_000
#: Ways handed to NumPy at once: each chunk briefly holds a few arrays of (node, area) pairs
#: (every node of every way times the areas the way is in), the split's largest passing need.
_WAY_CHUNK = 20_000
#: Relations whose member ways are completed (their polygons must assemble in each part).
_COMPLETE_TYPES = {"multipolygon", "boundary"}


class SplitError(CivicMapError):
    """A split that cannot be done (no areas, areas outside the extract)."""


@dataclass(frozen=True)
class SplitArea:
    """One part of a split: ``key`` names its file ``<key>.osm.pbf``."""

    key: str
    name: str
    file: Path
    nodes: int
    ways: int
    relations: int


def split_areas(by: str, *, base_dir: Path, name_field: str | None = None,
                where: Iterable[str] = ()) -> gpd.GeoDataFrame:  # fmt: skip
    """The areas of ``--by``: ``prefecture``, ``municipality`` (bundled N03), or a boundary file.

    A boundary file (or ``municipalities:NN``) is read exactly as ``batch --each`` reads it,
    so the parts carry the batch's area keys. Returns ``key``, ``name`` and geometry (EPSG:4326).
    """
    if by in ("prefecture", "municipality"):
        return _bundled_areas(by).copy()
    frame = load_areas(by, base_dir=base_dir, name_field=name_field, where=list(where))
    return gpd.GeoDataFrame({"key": frame["key"], "name": frame["name"]},
                            geometry=frame.geometry.values, crs=CRS)  # fmt: skip


@functools.lru_cache(maxsize=2)
def _bundled_areas(by: str) -> gpd.GeoDataFrame:
    """Japan's 1,902 municipalities or 47 prefectures from the bundled N03 boundaries.

    Made once per process (0.3-0.4 s: every municipality's islands are joined, prefectures
    dissolved): a notebook or a script that splits several extracts pays it once. Callers
    get a copy.
    """
    frames = [prefecture_municipalities(f"{p:02d}") for p in range(1, 48)]
    munis = gpd.GeoDataFrame(
        {"code": np.concatenate([f["code"].to_numpy() for f in frames]),
         "name": np.concatenate([f["name"].to_numpy() for f in frames])},
        geometry=np.concatenate([f.geometry.to_numpy() for f in frames]), crs=CRS,
    )  # fmt: skip
    if by == "municipality":
        return gpd.GeoDataFrame(
            {"key": munis["code"], "name": munis["name"]}, geometry=munis.geometry, crs=CRS
        )
    pref = munis.assign(pref=munis["code"].str[:2]).dissolve(by="pref", as_index=False)
    names = [_PREFECTURES[int(p) - 1] for p in pref["pref"]]
    return gpd.GeoDataFrame({"key": pref["pref"], "name": names},
                            geometry=pref.geometry.values, crs=CRS)  # fmt: skip


_PREFECTURES = (
    "北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 "
    "神奈川県 新潟県 富山県 石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 滋賀県 京都府 "
    "大阪府 兵庫県 奈良県 和歌山県 鳥取県 島根県 岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 "
    "福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 鹿児島県 沖縄県"
).split()


def _grown(areas: gpd.GeoDataFrame, margin_m: float, *, metric=None) -> np.ndarray:
    """Each area grown by ``margin_m`` metres, in ``metric`` (default: the areas' UTM zone)."""
    if margin_m <= 0:
        return areas.geometry.to_numpy()
    metric = metric if metric is not None else estimate_utm_crs(areas)
    return areas.geometry.to_crs(metric).buffer(margin_m).to_crs(CRS).to_numpy()


def _may_reach(areas: gpd.GeoDataFrame, reach: shapely.Geometry, margin_m: float) -> np.ndarray:
    """Which areas can touch ``reach`` once grown by ``margin_m``: a generous test in degrees.

    Growing is the costly step of a split by municipality (1,902 areas; a city's extract
    touches a handful), so the areas far from the extract are left out before it. Twice the
    margin in degrees at the extract's highest latitude, and 0.01° more, is wider than any
    metric buffer of it (UTM's scale errors are a few per cent).
    """
    west, south, east, north = shapely.bounds(reach).tolist()
    lat = min(80.0, max(abs(south), abs(north)) + 1.0)
    dy = 2 * max(margin_m, 0.0) / 110_000 + 0.01
    dx = 2 * max(margin_m, 0.0) / (111_320 * math.cos(math.radians(lat))) + 0.01
    return shapely.intersects(
        areas.geometry.to_numpy(), shapely.box(west - dx, south - dy, east + dx, north + dy)
    )


def _header_box(path: Path) -> shapely.Geometry | None:
    with contextlib.suppress(RuntimeError):
        box = osmium.io.Reader(str(path), osmium.osm.NOTHING).header().box()
        if box.valid():
            return shapely.box(box.bottom_left.lon, box.bottom_left.lat,
                               box.top_right.lon, box.top_right.lat)  # fmt: skip
    return None


def _unique(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of a 1-D integer array: what ``np.unique`` gives.

    A sort and a mask: NumPy 2's ``np.unique`` goes through a hash table and then sorts,
    about eight times slower on the split's (id, area) keys (measured: 87 ms against 11 ms
    for 130,000 keys; a sixth of a 32 km² split's CPU time).
    """
    out = np.sort(values)
    if len(out) > 1:
        keep = np.empty(len(out), dtype=bool)
        keep[0] = True
        np.not_equal(out[1:], out[:-1], out=keep[1:])
        out = out[keep]
    return out


class _Pairs:
    """(id, area) pairs gathered chunk by chunk, then unique and sorted by id for look-ups.

    A pair is one int64: ``id << shift | area`` (element ids stay below 2**50, area numbers
    below ``2**shift``), so sorting and de-duplicating is one :func:`_unique` of integers.
    """

    def __init__(self, shift: int) -> None:
        self.shift = shift
        self.keys: list[np.ndarray] = []

    def add(self, ids: np.ndarray, areas: np.ndarray) -> None:
        if len(ids):
            # unique per chunk already: a closed way lists its first node twice, and the
            # streets of a chunk share their crossings
            self.keys.append(
                _unique(
                    (np.asarray(ids, dtype=np.int64) << self.shift) | np.asarray(areas, np.int64)
                )
            )

    def done(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted ids and their areas (an id once per area it is in); the pairs are cleared.

        The table is the largest thing the split holds: it is sorted in place and
        de-duplicated through a mask (``np.unique`` would hold two more copies of it).
        """
        if not self.keys:
            return np.empty(0, np.int64), np.empty(0, np.int32)
        keys = self.keys[0] if len(self.keys) == 1 else np.concatenate(self.keys)
        self.keys = []
        keys.sort()
        if len(keys) > 1:
            keep = np.empty(len(keys), dtype=bool)
            keep[0] = True
            np.not_equal(keys[1:], keys[:-1], out=keep[1:])
            keys = keys[keep]
        areas = np.empty(len(keys), dtype=np.int32)
        np.bitwise_and(keys, (1 << self.shift) - 1, out=areas, casting="unsafe")
        keys >>= self.shift  # the keys become the ids, in place
        return keys, areas


def split_extract(
    extract: str | Path,
    out_dir: str | Path,
    *,
    by: str,
    base_dir: Path | None = None,
    name_field: str | None = None,
    where: Iterable[str] = (),
    margin_m: float = 500.0,
    overwrite: bool = False,
    geoparquet: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[SplitArea]:
    """Write ``<out_dir>/<key>.osm.pbf`` for every area of ``by`` that the extract covers.

    Parameters
    ----------
    extract : path
        The extract to split (.osm.pbf, .osm, .osm.bz2).
    out_dir : path
        The folder of the parts and ``split.json`` (refused when it holds anything else).
    by : str
        ``prefecture``, ``municipality`` or a boundary file as ``batch --each`` takes it.
    margin_m : float
        Metres around each area also kept (context for the map's edge; larger than a
        batch's margin so every feature a batch cuts for the area is in its part).
    overwrite : bool
        Replace an earlier split in ``out_dir``.
    geoparquet : bool
        Also write, per part, one GeoParquet file per built-in layer (and the basemap) with
        the rows the reader gives for that part, so a map of one part's area reads only its
        layers' rows instead of the whole part (see :mod:`civicmap.sources.osmsplit`).

    Returns
    -------
    list of SplitArea
        The parts written, in the order of the areas (areas the extract does not reach
        get no file).
    """
    extract = Path(extract)
    out_dir = Path(out_dir)
    check_path(extract)
    say = progress or (lambda _msg: None)
    areas = split_areas(by, base_dir=base_dir or Path.cwd(), name_field=name_field, where=where)
    keys = [k for k, _n in folder_names(areas["key"].astype(str).tolist())]
    areas = areas.assign(key=keys)
    reach = _header_box(extract)
    if reach is not None and len(areas) > 1 and np.abs(shapely.bounds(reach)[1::2]).max() < 79:
        # grown in the UTM zone of all the areas, as without this short cut (same parts)
        metric = estimate_utm_crs(areas) if margin_m > 0 else None
        areas = areas[_may_reach(areas, reach, margin_m)].reset_index(drop=True)
        grown = _grown(areas, margin_m, metric=metric)
    else:
        grown = _grown(areas, margin_m)
    if reach is not None:
        keep = shapely.intersects(grown, reach)
        areas, grown = areas[keep].reset_index(drop=True), grown[keep]
    if areas.empty:
        raise SplitError(
            _("%(path)s: none of the areas of %(by)s lies inside the extract; check --by")
            % {"path": extract, "by": by}
        )
    inputs = [extract] + ([Path(by)] if Path(by).exists() else [])
    with guarded_outputs(
        [Output(out_dir, folder=True, ours=has_marker(MANIFEST))],
        inputs=inputs,
        overwrite=overwrite,
    ):
        out_dir.mkdir(parents=True, exist_ok=True)
        earlier = _earlier_parts(out_dir)
        parts, stamp, extent = _split(extract, out_dir, areas, grown, say)
        layer_files: dict[str, dict[str, str | None]] = {}
        layer_problems: dict[str, dict] = {}
        layer_filters = None
        if geoparquet:
            filters, types = builtin_filters()
            layer_filters = {}
            for name, filt in filters.items():
                sig = filter_signature(name, filt, types)
                layer_filters.setdefault(frame_layer(name), {})[name] = sig
            t0 = time.monotonic()
            for part in parts:
                layer_files[part.key], layer_problems[part.key] = _write_layers(
                    part, filters, types
                )
            say(_("split: GeoParquet layers of %(n)d parts written (%(s).0f s)")
                % {"n": len(parts), "s": time.monotonic() - t0})  # fmt: skip
        # where a map may need a part: the extract's bounds, else where its data lies
        reach_box = reach if reach is not None else (shapely.box(*extent) if extent else None)
        # parts of an earlier split that this one did not write again would be mistaken
        # for parts of this extract: they go (only files the earlier split.json lists)
        kept = {p.file.name for p in parts} | {
            n for files in layer_files.values() for n in files.values() if n
        }
        for name in earlier - kept:
            with contextlib.suppress(OSError):
                (out_dir / name).unlink()
        written = {p.key: p for p in parts}
        entries = []
        for key, name, region in zip(areas["key"], areas["name"], grown, strict=True):
            part = written.get(str(key))
            # an area without data is listed when it lies where the data is (a map there
            # needs no part); far from it (the rest of Japan around a city's extract), not
            if part is None and (reach_box is None or not shapely.intersects(region, reach_box)):
                continue
            entries.append(
                {"key": str(key), "name": str(name),
                 "file": part.file.name if part else None,
                 "nodes": part.nodes if part else 0, "ways": part.ways if part else 0,
                 "relations": part.relations if part else 0,
                 "bbox": [round(v, 7) for v in shapely.bounds(region).tolist()],
                 "region": shapely.to_wkb(region, hex=True)}
            )  # fmt: skip
            if part is not None and part.key in layer_files:
                entries[-1]["layers"] = layer_files[part.key]
                if layer_problems[part.key]:
                    entries[-1]["layer_problems"] = layer_problems[part.key]
        manifest = {
            "version": INDEX_VERSION,
            "source": extract.name,
            "by": by if by in ("prefecture", "municipality") else Path(by).name,
            "margin_m": margin_m,
            "bounds": None if reach is None else list(shapely.bounds(reach).tolist()),
            "extent": None if reach_box is None else list(shapely.bounds(reach_box).tolist()),
            "osm_base": iso_z(stamp),
            "parts": entries,
        }
        if layer_filters is not None:
            manifest["layer_filters"] = layer_filters
        _files.write_text_atomic(
            out_dir / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1)
        )
    return parts


def _earlier_parts(out_dir: Path) -> set[str]:
    """The part and layer files an earlier split into ``out_dir`` listed (plain names, ours)."""
    try:
        doc = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        names = {str(p["file"]) for p in doc.get("parts", []) if p.get("file")}
        names |= {
            str(n) for p in doc.get("parts", []) for n in (p.get("layers") or {}).values() if n
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return set()
    return {
        n
        for n in names
        if n.endswith((".osm.pbf", ".parquet")) and Path(n).name == n and not n.startswith(".")
    }


def builtin_filters() -> tuple[dict[str, TagFilter], dict[str, set[str]]]:
    """Every built-in layer's OSM tag filters and the basemap's, named as a map's build names
    them (``<layer>#<i>``, ``_highway``), with their element types."""
    filters: dict[str, TagFilter] = {}
    types: dict[str, set[str]] = {}
    for lid in builtin_layer_ids():
        for i, src in enumerate(load_layer(lid).sources):
            if src.kind == "osm" and src.tag_filter is not None:
                filters[f"{lid}#{i}"] = src.tag_filter
                if src.options.get("types"):
                    types[f"{lid}#{i}"] = set(src.options["types"])
    filters.update(BASEMAP_FILTERS)
    return filters, types


def _write_layers(part: SplitArea, filters: dict[str, TagFilter],
                  types: dict[str, set[str]]) -> tuple[dict[str, str | None], dict]:  # fmt: skip
    """Write one GeoParquet file per layer with the rows the reader gives for ``part``.

    The part is read back right after it was written, so the rows are by construction the
    ones a map reading the part gets. The elements the reading reported (cut by the
    extract's edge, left out as broken) are kept for the index in every language of the
    messages (the part is read once more per other language, only when there are any), so a build
    reading the layers gets the same quality report as one reading the part.

    Returns
    -------
    (dict, dict)
        Layer id → file name (None: no rows in this part); layer id → language →
        ``{"rejected"|"repaired": {frame: [[source, row, reason, code], ...]}}`` for the
        layers with reported elements.
    """
    ext = read_extract(part.file, filters, types=types)
    read_in = current_language()
    by_layer: dict[str, list[str]] = {}
    for name in filters:
        by_layer.setdefault(frame_layer(name), []).append(name)
    problems: dict[str, dict] = {}
    if ext.rejected or ext.repaired:
        for lang in LANGUAGES:
            if lang == read_in:  # the reading above already said it in this language
                said = ext
            else:
                with use_language(lang):
                    said = read_extract(part.file, filters, types=types)
            for lid, names in by_layer.items():
                kinds = {kind: {n: [[p.source, p.row, p.reason, p.code] for p in got[n]]
                                for n in names if got.get(n)}
                         for kind, got in (("rejected", said.rejected),
                                           ("repaired", said.repaired))}  # fmt: skip
                if any(kinds.values()):
                    problems.setdefault(lid, {})[lang] = kinds
    out: dict[str, str | None] = {}
    for lid, names in by_layer.items():
        if not any(len(ext.frames[n]) for n in names):
            out[lid] = None
            continue
        name = f"{part.key}.{lid}.parquet"
        with _files.atomic_path(part.file.parent / name, overwrite=True) as tmp:
            layer_table(ext.frames, names).to_parquet(tmp, index=False)
        out[lid] = name
    return out, problems


def _split(extract: Path, out_dir: Path, areas: gpd.GeoDataFrame, grown: np.ndarray,
           say: Callable[[str], None]) -> tuple[list[SplitArea], str, tuple | None]:  # fmt: skip
    """Write the parts; return them, the date they carry (the whole extract's) and the extent
    of the data (west, south, east, north: where tagged nodes and ways lie)."""
    src = str(extract)
    tree = shapely.STRtree(grown)
    t0 = time.monotonic()

    # The parts carry the whole extract's date (osm_base, データ時点): its header's, else
    # the newest element's, looked at in the passes below only when the header has none.
    stamp = _source_time(src)
    newest = [None]

    def seen(obj) -> None:
        ts = obj.timestamp
        if ts is not None and (newest[0] is None or ts > newest[0]):
            newest[0] = ts

    watch = not stamp

    # 1. relations: their members, kept in memory (relations are few)
    rel_members: dict[int, list[tuple[str, int]]] = {}
    rel_complete: set[int] = set()
    for rel in osmium.FileProcessor(src, osmium.osm.RELATION):
        if watch:
            seen(rel)
        rel_members[rel.id] = [(m.type, m.ref) for m in rel.members]
        tags = rel.tags
        if tags.get("type") in _COMPLETE_TYPES and tags.get("boundary") != "administrative":
            rel_complete.add(rel.id)
    member_ways = _unique(np.array(
        [ref for rid in rel_complete for t, ref in rel_members[rid] if t == "w"], dtype=np.int64
    ))  # fmt: skip

    # 2. nodes: which areas each lies in (locations looked at in chunks, never kept)
    shift = max(1, len(areas).bit_length())
    node_pairs = _Pairs(shift)
    ids: list[int] = []
    coords: list[tuple[float, float]] = []

    # where the data lies (tagged nodes and ways), for the index: where parts are needed
    data_box = np.array([np.inf, np.inf, -np.inf, -np.inf])

    def widen(bounds: np.ndarray) -> None:
        if len(bounds) and not np.isnan(bounds).all():
            data_box[:2] = np.fmin(data_box[:2], np.nanmin(bounds[:, :2], axis=0))
            data_box[2:] = np.fmax(data_box[2:], np.nanmax(bounds[:, 2:], axis=0))

    def flush_nodes() -> None:
        if not ids:
            return
        xy = np.asarray(coords, dtype=float)
        widen(np.hstack([xy, xy]))
        pts = shapely.points(xy)
        pt_i, area_i = tree.query(pts, predicate="intersects")
        node_pairs.add(np.asarray(ids, dtype=np.int64)[pt_i], area_i)
        ids.clear()
        coords.clear()

    # 3. ways: in an area when one of their nodes is, or when their extent touches it (a
    #    long straight segment can cross an area with no node inside); then all their nodes
    #    go with them. Nodes and ways are read in one pass with node locations (indexed on
    #    disk for a large extract), nodes first as the file is sorted.
    way_pairs = _Pairs(shift)
    extra_nodes = _Pairs(shift)
    member_refs: dict[int, np.ndarray] = {}
    member_bounds: dict[int, np.ndarray] = {}
    way_ids: list[int] = []
    refs: list[np.ndarray] = []
    lines: list[bytes | None] = []
    fromhex = bytes.fromhex
    create_linestring = osmium.geom.WKBFactory().create_linestring

    def flush_ways() -> None:
        if not way_ids:
            return
        lengths = np.fromiter((len(r) for r in refs), dtype=np.int64, count=len(refs))
        flat = np.concatenate(refs)
        geoms = shapely.from_wkb(lines)
        widen(shapely.bounds(geoms))
        # a line is in an area when it crosses it; a closed way (a building, a park's
        # outline) also when it surrounds it, so its extent is tested
        tested = np.where(shapely.is_closed(geoms), shapely.envelope(geoms), geoms)
        way_i, area_i = tree.query(tested, predicate="intersects")
        pair = _unique((way_i.astype(np.int64) << shift) | area_i)
        pw, pa = pair >> shift, pair & ((1 << shift) - 1)
        wids = np.asarray(way_ids, dtype=np.int64)
        way_pairs.add(wids[pw], pa)
        # every node of a way that is in an area goes to that area (complete ways)
        starts = np.cumsum(lengths) - lengths
        n_of = lengths[pw]
        offsets = np.arange(n_of.sum()) - np.repeat(np.cumsum(n_of) - n_of, n_of)
        extra_nodes.add(flat[np.repeat(starts[pw], n_of) + offsets], np.repeat(pa, n_of))
        if member_ways.size:
            bounds = shapely.bounds(geoms)
            for k in np.flatnonzero(np.isin(wids, member_ways)):
                member_refs[int(wids[k])] = refs[k]
                member_bounds[int(wids[k])] = bounds[k]
        way_ids.clear()
        refs.clear()
        lines.clear()

    with tempfile.TemporaryDirectory(prefix="civicmap-split-") as tmp:
        # Every node's location is indexed (in C++); Python sees only the nodes with tags
        # (points of interest: placed by their location) and the ways (placed by their
        # shape; their nodes go with them).
        reader = (
            osmium.FileProcessor(src, osmium.osm.NODE | osmium.osm.WAY)
            .with_locations(_location_storage(src, Path(tmp)))
            .with_filter(osmium.filter.EmptyTagFilter().enable_for(osmium.osm.NODE))
        )
        if watch:
            reader = reader.handler_for_filtered(_Seen(seen))
        for obj in reader:
            if watch:
                seen(obj)
            if type(obj) is _NODE:
                loc = obj.location
                if loc.valid():
                    ids.append(obj.id)
                    coords.append((loc.lon, loc.lat))
                    if len(ids) >= _CHUNK:
                        flush_nodes()
                continue
            way_ids.append(obj.id)
            refs.append(np.fromiter((n.ref for n in obj.nodes), dtype=np.int64))
            try:
                lines.append(fromhex(create_linestring(obj)))
            except (osmium.InvalidLocationError, RuntimeError):
                # nodes missing from the extract (or one location): placed by those it has
                pts = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                lines.append(shapely.to_wkb(shapely.multipoints(pts)) if pts else None)
            if len(way_ids) >= _WAY_CHUNK:
                flush_ways()
        flush_nodes()
        flush_ways()
    node_ids, node_areas = node_pairs.done()
    way_ids_s, way_areas = way_pairs.done()
    say(_("split: ways placed (%(s).0f s)") % {"s": time.monotonic() - t0})

    # 4. relations: in an area when a member is (two rounds for relations of relations); the
    #    node and way members are looked up in the tables a chunk of members at a time
    direct = _member_areas(rel_members, (node_ids, node_areas), (way_ids_s, way_areas))
    sub_relations = {rid: [ref for t, ref in members if t == "r"]
                     for rid, members in rel_members.items()}  # fmt: skip
    rel_pairs: dict[int, set[int]] = {}
    for _round in range(2):
        for rid, subs in sub_relations.items():
            got = rel_pairs.setdefault(rid, set())
            got.update(direct.get(rid, ()))
            for ref in subs:
                got.update(rel_pairs.get(ref, ()))
    # a multipolygon may cover an area with no member inside (a forest around a village)
    for rid in rel_complete:
        boxes = [
            member_bounds[ref] for t, ref in rel_members[rid] if t == "w" and ref in member_bounds
        ]
        boxes = [b for b in boxes if not np.isnan(b).any()]
        if boxes:
            stack = np.vstack(boxes)
            extent = shapely.box(*stack[:, :2].min(axis=0), *stack[:, 2:].max(axis=0))
            rel_pairs[rid].update(tree.query(extent, predicate="intersects").tolist())
    extra_ways = _Pairs(shift)
    for rid in rel_complete:
        for a in rel_pairs.get(rid, ()):
            for t, ref in rel_members[rid]:
                if t == "w" and ref in member_refs:
                    extra_ways.add(np.array([ref]), np.array([a]))
                    r = member_refs[ref]
                    extra_nodes.add(r, np.full(len(r), a, dtype=np.int32))
    way_pairs.add(way_ids_s, way_areas)
    way_pairs.add(*extra_ways.done())
    way_ids_s, way_areas = way_pairs.done()
    extra_nodes.add(node_ids, node_areas)
    node_ids, node_areas = extra_nodes.done()

    if watch and newest[0] is not None:
        stamp = newest[0].strftime("%Y-%m-%dT%H:%M:%SZ")

    # 5. write: every element to each of its areas, streamed in file order
    # (areas the extract does not reach get no file)
    counts = np.zeros((len(areas), 3), dtype=np.int64)
    used = _unique(np.concatenate([node_areas, way_areas])).tolist()
    if not used:
        raise SplitError(
            _("%(path)s: none of the areas holds any of its data; check --by") % {"path": extract}
        )
    paths = [out_dir / f"{k}.osm.pbf" for k in areas["key"]]
    for first in range(0, len(used), MAX_OPEN_WRITERS):
        group = used[first : first + MAX_OPEN_WRITERS]
        with contextlib.ExitStack() as stack:
            writers = {}
            for a in group:
                tmp = stack.enter_context(_files.atomic_path(paths[a], overwrite=True))
                w = osmium.SimpleWriter(
                    osmium.io.File(str(tmp), "pbf"),
                    bufsz=_WRITER_BUFFER,
                    header=_part_header(grown[a], stamp),
                    overwrite=True,
                )
                stack.callback(w.close)
                writers[a] = w
            _write_group(src, writers, counts, (node_ids, node_areas), (way_ids_s, way_areas),
                         rel_pairs)  # fmt: skip
        say(_("split: %(done)d of %(total)d parts written (%(s).0f s)")
            % {"done": first + len(group), "total": len(used),
               "s": time.monotonic() - t0})  # fmt: skip
    return [
        SplitArea(key=str(areas["key"].iloc[a]), name=str(areas["name"].iloc[a]), file=paths[a],
                  nodes=int(counts[a, 0]), ways=int(counts[a, 1]), relations=int(counts[a, 2]))
        for a in used
    ], stamp, (tuple(data_box.tolist()) if np.isfinite(data_box).all() else None)  # fmt: skip


class _Seen:
    """Hands the elements a C++ filter dropped to ``seen`` (their timestamps only)."""

    def __init__(self, seen: Callable) -> None:
        self.node = self.way = self.relation = seen


def _source_time(src: str) -> str:
    header = osmium.io.Reader(src, osmium.osm.NOTHING).header()
    for key in ("osmosis_replication_timestamp", "timestamp"):
        value = header.get(key, "")
        if value:
            return value
    return ""


def _part_header(area: shapely.Geometry, stamp: str) -> osmium.io.Header:
    """A part's header: its area's bounds (the reader's "data ends here") and the source's date."""
    header = osmium.io.Header()
    west, south, east, north = shapely.bounds(area).tolist()
    header.add_box(osmium.osm.Box(osmium.osm.Location(west, south),
                                  osmium.osm.Location(east, north)))  # fmt: skip
    if stamp:
        header.set("osmosis_replication_timestamp", stamp)
    header.set("generator", "civicmap split")
    return header


def _member_areas(rel_members: dict[int, list[tuple[str, int]]], nodes: tuple, ways: tuple
                  ) -> dict[int, set[int]]:  # fmt: skip
    """The areas each relation's node and way members are in: relation id → areas.

    The members are looked up in the sorted (id, area) tables :data:`_CHUNK` at a time with
    one ``searchsorted`` per chunk (a relation may have thousands of members, a country's
    extract millions in all: one look-up each in Python took most of the split's time on
    relation-rich extracts).
    """
    out: dict[int, set[int]] = {}
    rids = list(rel_members)
    owners: dict[str, list[int]] = {"n": [], "w": []}
    refs: dict[str, list[int]] = {"n": [], "w": []}

    def flush() -> None:
        for kind, (sorted_ids, sorted_areas) in (("n", nodes), ("w", ways)):
            if not refs[kind]:
                continue
            wanted = np.asarray(refs[kind], dtype=np.int64)
            lo = np.searchsorted(sorted_ids, wanted, side="left")
            hi = np.searchsorted(sorted_ids, wanted, side="right")
            n_of = hi - lo
            which = np.repeat(np.asarray(owners[kind], dtype=np.int64), n_of)
            at = np.repeat(lo - np.cumsum(n_of) + n_of, n_of) + np.arange(int(n_of.sum()))
            pairs = _unique((which << 32) | sorted_areas[at].astype(np.int64))
            for owner, area in zip((pairs >> 32).tolist(), (pairs & 0xFFFFFFFF).tolist(),
                                   strict=True):  # fmt: skip
                out.setdefault(rids[owner], set()).add(area)
            owners[kind].clear()
            refs[kind].clear()

    held = 0
    for k, members in enumerate(rel_members.values()):
        for t, ref in members:
            if t in refs:
                owners[t].append(k)
                refs[t].append(ref)
        held += len(members)
        if held >= _CHUNK:
            flush()
            held = 0
    flush()
    return out


def _write_group(src: str, writers: dict, counts: np.ndarray, nodes, ways,
                 rel_pairs: dict[int, set[int]]) -> None:  # fmt: skip
    """One pass writing every element to the writers of its areas.

    Nodes and ways come sorted by id in a .pbf, as do the (id, area) tables, so each table is
    walked with one pointer in step with the file (no search per element); a file out of
    order (hand-edited XML) is looked up by binary search where it goes back. The loop runs
    once per element of the file, so it reads pyosmium's iterator without FileProcessor's
    generator, takes the id from the C++ object and counts in Python lists (about a sixth
    less time than with the public properties and a NumPy table).
    """
    # memoryviews: plain Python ints on indexing, without a list's 36 bytes per entry
    node_ids, node_areas = (memoryview(np.ascontiguousarray(a)) for a in nodes)
    way_ids, way_areas = (memoryview(np.ascontiguousarray(a)) for a in ways)
    ni = wi = 0
    n_nodes, n_ways = len(node_ids), len(way_ids)
    last_node = last_way = None
    tally = {a: [0, 0, 0] for a in writers}
    add_node = {a: w.add_node for a, w in writers.items()}
    add_way = {a: w.add_way for a, w in writers.items()}
    with osmium.io.Reader(src) as reader:
        for obj in osmium.OsmFileIterator(reader):
            cls = type(obj)
            oid = obj._pyosmium_data.id()
            if cls is _NODE:
                if last_node is not None and oid < last_node:
                    ni = bisect.bisect_left(node_ids, oid)
                last_node = oid
                while ni < n_nodes and node_ids[ni] < oid:
                    ni += 1
                while ni < n_nodes and node_ids[ni] == oid:
                    a = node_areas[ni]
                    add = add_node.get(a)
                    if add is not None:
                        add(obj)
                        tally[a][0] += 1
                    ni += 1
            elif cls is _WAY:
                if last_way is not None and oid < last_way:
                    wi = bisect.bisect_left(way_ids, oid)
                last_way = oid
                while wi < n_ways and way_ids[wi] < oid:
                    wi += 1
                while wi < n_ways and way_ids[wi] == oid:
                    a = way_areas[wi]
                    add = add_way.get(a)
                    if add is not None:
                        add(obj)
                        tally[a][1] += 1
                    wi += 1
            else:
                for a in rel_pairs.get(oid, ()):
                    w = writers.get(a)
                    if w is not None:
                        w.add_relation(obj)
                        tally[a][2] += 1
    for a, (n, w, r) in tally.items():
        counts[a] += (n, w, r)
