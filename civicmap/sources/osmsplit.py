"""Reading a split folder (``civicmap split``): only the parts an area needs, as the whole would.

``civicmap split`` cuts a large extract into one ``.osm.pbf`` per area and writes
``split.json``: every area with the region its part holds (the area grown by the split's
margin) and the whole extract's bounds and date. A map or a batch area whose ``osm: {file:}``
names such a folder reads only the parts whose regions cover it (usually one), never the
whole extract, and gets the same features: every feature that touches a part's region is
whole in that part (complete ways and multipolygons), so the features touching the area
are the same as in the whole extract (administrative boundary relations excepted: the split
keeps them without their member ways). Several parts are merged into one temporary extract
first (pyosmium sorts and removes the elements they share), so the reader sees one file in
the whole extract's order. The result carries the whole extract's bounds and date (a map
draws "the data ends here" where the whole extract ends, not at the part's edge).

A split written with ``--geoparquet`` also holds, per part, one GeoParquet file per built-in
layer (and one for the basemap): the rows the reader gave for that part, with the tag filter
each was read with (``layer_filters`` in split.json). An area that needs one part reads the
layers from those files when every filter it asks for is stored with the same conditions
(a map's own layer of the same id with other conditions does not match); otherwise, or when
it needs several parts, it reads the ``.osm.pbf`` part as before. Either way the rows are
the same, so the maps are the same.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from shapely.geometry.base import BaseGeometry

from civicmap.errors import SourceError
from civicmap.i18n import _, current_language
from civicmap.schema import CRS, RowProblem
from civicmap.sources._osmschema import raw_frame
from civicmap.sources.osmfile import OsmExtract, read_extract
from civicmap.spec.osm import SPLIT_INDEX
from civicmap.tagfilter import AnyTagged, TagFilter

if TYPE_CHECKING:
    from civicmap.area import Area

log = logging.getLogger(__name__)

#: The index a split writes into its folder (and the marker that the folder is one).
INDEX = SPLIT_INDEX
#: The index format this reader understands (``version`` in split.json).
INDEX_VERSION = 2
#: Uncovered area (square degrees, about 0.01 m²) below which an area counts as covered:
#: the regions and the area go through WKB and set operations, which leave float slivers.
_SLIVER_DEG2 = 1e-12
#: The GeoParquet "layer" holding the basemap's frames (``_highway``, ``_building`` ...).
BASEMAP_LAYER = "_basemap"
#: Columns of a layer's GeoParquet file besides the geometry: the frame each row belongs to
#: (``<layer>#<i>``, ``_highway``) and the row's tags as JSON pairs (in the file's order).
FRAME_COLUMN, TAGS_COLUMN = "frame", "tags_json"


def frame_layer(name: str) -> str:
    """The layer a reader frame belongs to: ``shelters#0`` → ``shelters``; basemap frames."""
    return name.split("#", 1)[0] if "#" in name else BASEMAP_LAYER


def filter_signature(name: str, filt: TagFilter | AnyTagged,
                     types: Mapping[str, set[str]] | None) -> str:  # fmt: skip
    """What a frame was read with (conditions and element types), compared before reuse."""
    kinds = sorted((types or {}).get(name, ()))
    return f"{filt!r}|{','.join(kinds)}"


class SplitFolderError(SourceError):
    """A folder given as a split that is not one, or misses a part an area needs."""


@dataclass(frozen=True)
class SplitParts:
    """The parts one area reads, and what the whole extract says about itself.

    Small and picklable: a batch chooses the parts once and sends this to the worker.

    Attributes
    ----------
    files
        The part files to read (none: the area lies where the extract has no data).
    bounds
        The whole extract's bounds (west, south, east, north), or None.
    osm_base
        The whole extract's date (``osm_base``), as each part's header carries it.
    """

    files: tuple[Path, ...]
    bounds: tuple[float, float, float, float] | None
    osm_base: str
    #: For an area that reads one part of a ``--geoparquet`` split: layer id → its
    #: GeoParquet file (None: the layer has no rows in the part); and what each frame was
    #: read with (layer id → frame name → :func:`filter_signature`).
    layers: Mapping[str, Path | None] | None = None
    layer_filters: Mapping[str, Mapping[str, str]] | None = None
    #: The elements reading the part reported, per layer id and language (see split.json).
    layer_problems: Mapping[str, Mapping] | None = None


@dataclass(frozen=True)
class SplitIndex:
    """A split folder's index: each area's key, part file (None: no data) and region."""

    folder: Path
    keys: tuple[str, ...]
    files: tuple[str | None, ...]
    regions: np.ndarray
    bounds: tuple[float, float, float, float] | None
    osm_base: str
    margin_m: float
    #: Where the extract's data lies (its bounds, else the extent of its elements): outside
    #: it, an area needs no part.
    extent: tuple[float, float, float, float] | None = None
    #: Per part, layer id → GeoParquet file name (None: no rows), for ``--geoparquet``.
    layers: tuple[Mapping[str, str | None], ...] = ()
    #: Per part, layer id → language → the elements its reading reported (``layer_problems``).
    layer_problems: tuple[Mapping[str, Mapping], ...] = ()
    #: Layer id → frame name → :func:`filter_signature` the GeoParquet files were read with.
    layer_filters: Mapping[str, Mapping[str, str]] | None = None

    def parts_for(self, geom: BaseGeometry, *, what: str) -> SplitParts:
        """The parts whose regions cover ``geom`` (fewest first: one when one covers it).

        ``what`` names the area in errors. Raises :class:`SplitFolderError` when no set of
        parts covers the part of ``geom`` inside the whole extract, or a part it needs is
        missing from the folder.
        """
        needed = (
            geom if self.extent is None else shapely.intersection(geom, shapely.box(*self.extent))
        )
        if needed.is_empty or shapely.area(needed) <= _SLIVER_DEG2:
            return SplitParts(files=(), bounds=self.bounds, osm_base=self.osm_base)
        tree = shapely.STRtree(self.regions)
        candidates = sorted(tree.query(needed, predicate="intersects").tolist())
        chosen = next((i for i in candidates if self.regions[i].covers(needed)), None)
        if chosen is not None:
            picked = [chosen]
        else:  # greedy cover: the region covering most of what is left, until nothing is
            picked = []
            left = needed
            while candidates and shapely.area(left) > _SLIVER_DEG2:
                gains = [
                    shapely.area(shapely.intersection(left, self.regions[i])) for i in candidates
                ]
                best = int(np.argmax(gains))
                if gains[best] <= 0:
                    break
                picked.append(candidates.pop(best))
                left = shapely.difference(left, self.regions[picked[-1]])
            if shapely.area(left) > _SLIVER_DEG2:
                raise SplitFolderError(
                    _(
                        "%(folder)s: %(area)s reaches beyond every part of the split (its "
                        "areas with their %(margin)s m margin); split the extract again with "
                        "--by areas that cover it, or a larger --margin"
                    )
                    % {"folder": self.folder, "area": what, "margin": f"{self.margin_m:g}"}
                )
        files, read = [], []
        for i in sorted(picked):
            name = self.files[i]
            if name is None:  # an area of the split where the extract has no element
                continue
            path = self.folder / name
            if not path.is_file():
                raise SplitFolderError(
                    _(
                        "%(folder)s: the part %(file)s that %(area)s needs is missing; run "
                        "civicmap split again into this folder (with --overwrite)"
                    )
                    % {"folder": self.folder, "file": name, "area": what}
                )
            files.append(path)
            read.append(i)
        layers = None
        if len(read) == 1 and self.layers and self.layers[read[0]]:
            stored = self.layers[read[0]]
            layers = {lid: (None if n is None else self.folder / n) for lid, n in stored.items()}
        return SplitParts(files=tuple(files), bounds=self.bounds, osm_base=self.osm_base,
                          layers=layers,
                          layer_filters=self.layer_filters if layers else None,
                          layer_problems=self.layer_problems[read[0]] if layers else None)  # fmt: skip


def open_split(folder: str | Path) -> SplitIndex:
    """Read a split folder's index, or say clearly why the folder is not a usable split."""
    folder = Path(folder)
    index = folder / INDEX
    if not index.is_file():
        raise SplitFolderError(
            _(
                "%(folder)s is a folder but not a split (no %(index)s): give an extract file, "
                "or a folder written by civicmap split"
            )
            % {"folder": folder, "index": INDEX}
        )
    try:
        doc = json.loads(index.read_text(encoding="utf-8"))
        version = doc.get("version")
        parts = doc["parts"]
        if version != INDEX_VERSION:
            raise SplitFolderError(
                _(
                    "%(index)s was written by another version of civicmap split (it lacks the "
                    "regions of the parts); run civicmap split again into this folder (with "
                    "--overwrite)"
                )
                % {"index": index}
            )
        keys = tuple(str(p["key"]) for p in parts)
        files = tuple(_part_name(p.get("file"), index) for p in parts)
        regions = shapely.from_wkb([bytes.fromhex(p["region"]) for p in parts])
        bounds, extent = (
            tuple(float(b) for b in doc[k]) if doc.get(k) else None for k in ("bounds", "extent")
        )
        osm_base = str(doc.get("osm_base") or "")
        margin = float(doc.get("margin_m", 0))
        layers = tuple(
            {str(lid): _layer_name(n, index) for lid, n in (p.get("layers") or {}).items()}
            for p in parts
        )
        layer_problems = tuple(_reported(p.get("layer_problems") or {}) for p in parts)
        layer_filters = doc.get("layer_filters")
        if layer_filters is not None:
            layer_filters = {str(lid): {str(k): str(v) for k, v in sigs.items()}
                             for lid, sigs in layer_filters.items()}  # fmt: skip
    except SplitFolderError:
        raise
    except (OSError, ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException):
        raise SplitFolderError(
            _("%(index)s is damaged; run civicmap split again into this folder (with --overwrite)")
            % {"index": index}
        ) from None
    if any(b is not None and len(b) != 4 for b in (bounds, extent)):
        raise SplitFolderError(
            _("%(index)s is damaged; run civicmap split again into this folder (with --overwrite)")
            % {"index": index}
        )
    return SplitIndex(folder=folder, keys=keys, files=files, regions=np.asarray(regions),
                      bounds=bounds, osm_base=osm_base, margin_m=margin, extent=extent,
                      layers=layers, layer_filters=layer_filters,
                      layer_problems=layer_problems)  # fmt: skip


def _part_name(name: object, index: Path) -> str | None:
    """A part's file name from the index: a plain ``*.osm.pbf`` name in the folder, or None."""
    if name is None:
        return None
    text = str(name)
    if Path(text).name != text or not text.endswith(".osm.pbf") or text.startswith("."):
        raise SplitFolderError(
            _("%(index)s names the part %(file)r, which is not a file of its folder")
            % {"index": index, "file": text}
        )
    return text


def _reported(raw: Mapping) -> dict[str, dict[str, dict[str, dict[str, list[tuple]]]]]:
    """A part's ``layer_problems`` as (source, row, reason, code) tuples; ValueError if malformed.

    layer id → language → ``rejected``/``repaired`` → frame name → rows.
    """
    out: dict = {}
    for lid, by_lang in raw.items():
        for lang, by_kind in by_lang.items():
            for kind, by_name in by_kind.items():
                if kind not in ("rejected", "repaired"):
                    raise ValueError(kind)
                for name, rows in by_name.items():
                    got = []
                    for row in rows:
                        source, ref, reason, code = row
                        if not all(isinstance(v, str) for v in (source, reason, code)) or not (
                            isinstance(ref, (str, int))
                        ):
                            raise ValueError(row)
                        got.append((source, ref, reason, code))
                    out.setdefault(str(lid), {}).setdefault(str(lang), {}).setdefault(kind, {})[
                        str(name)
                    ] = got
    return out


def _layer_name(name: object, index: Path) -> str | None:
    """A layer's GeoParquet file name from the index: a plain ``*.parquet`` name, or None."""
    if name is None:
        return None
    text = str(name)
    if Path(text).name != text or not text.endswith(".parquet") or text.startswith("."):
        raise SplitFolderError(
            _("%(index)s names the layer file %(file)r, which is not a file of its folder")
            % {"index": index, "file": text}
        )
    return text


class _Copy:
    """Hands every element the merge reader sorted (once each) to a writer."""

    def __init__(self, writer: osmium.SimpleWriter) -> None:
        self.node = writer.add_node
        self.way = writer.add_way
        self.relation = writer.add_relation


@contextlib.contextmanager
def parts_extract(parts: SplitParts) -> Iterator[Path]:
    """One extract holding ``parts``: the part itself, or the parts merged into a temporary file.

    Elements the parts share are written once, in the whole extract's order (pyosmium's
    merge reader sorts by type and id), so reading the merged file gives the rows in the
    order the whole extract gives them. No part (an area where the extract has no data):
    an empty extract with the whole extract's header.
    """
    if len(parts.files) == 1:
        yield parts.files[0]
        return
    with tempfile.TemporaryDirectory(prefix="civicmap-parts-") as tmp:
        merged = Path(tmp) / "parts.osm.pbf"
        header = osmium.io.Header()
        if parts.bounds is not None:
            west, south, east, north = parts.bounds
            header.add_box(osmium.osm.Box(osmium.osm.Location(west, south),
                                          osmium.osm.Location(east, north)))  # fmt: skip
        if parts.osm_base:
            header.set("osmosis_replication_timestamp", parts.osm_base)
        writer = osmium.SimpleWriter(osmium.io.File(str(merged), "pbf"), header=header)
        try:
            if parts.files:
                reader = osmium.MergeInputReader()
                for path in parts.files:
                    reader.add_file(str(path))
                reader.apply(_Copy(writer))
        finally:
            writer.close()
        yield merged


@contextlib.contextmanager
def area_extract(folder: str | Path, area: Area) -> Iterator[Path]:
    """The extract of a split folder's parts that ``area`` needs (see :func:`parts_extract`)."""
    parts = open_split(folder).parts_for(area.geometry, what=area.name)
    with parts_extract(parts) as path:
        yield path


def read_parts(
    parts: SplitParts,
    filters: Mapping[str, TagFilter | AnyTagged],
    *,
    types: Mapping[str, set[str]] | None = None,
) -> OsmExtract:
    """Read ``parts`` as :func:`~civicmap.sources.osmfile.read_extract` reads one extract.

    The result has the whole extract's bounds and date, so a map drawn from it is the map
    drawn from the whole extract (for the features touching the area the parts cover).
    """
    stored = _stored_frames(parts, filters, types)
    if stored is not None:
        return stored
    with parts_extract(parts) as path:
        ext = read_extract(path, filters, types=types)
    return replace(ext, bounds=parts.bounds, osm_base=parts.osm_base or ext.osm_base)


def _stored_frames(
    parts: SplitParts,
    filters: Mapping[str, TagFilter | AnyTagged],
    types: Mapping[str, set[str]] | None,
) -> OsmExtract | None:
    """What reading the part gives, from its GeoParquet files; None when they cannot say.

    Every frame asked for must be stored (its file still there) with the same conditions
    and element types, the
    split's date must be known (a part read from its .pbf gives its header's date), and the
    elements the reading reported must be stored in the language of this run.
    """
    if not parts.layers or not parts.layer_filters or not parts.osm_base:
        return None
    wanted: dict[str, list[str]] = {}
    for name, filt in filters.items():
        lid = frame_layer(name)
        sigs = parts.layer_filters.get(lid, {})
        if lid not in parts.layers or sigs.get(name) != filter_signature(name, filt, types):
            return None
        wanted.setdefault(lid, []).append(name)
    if any(parts.layers[lid] is not None and not parts.layers[lid].is_file() for lid in wanted):
        return None  # a layer file removed since: the part itself still says it all
    said: dict[str, dict[str, list[RowProblem]]] = {"rejected": {}, "repaired": {}}
    problems: dict[tuple, RowProblem] = {}
    for lid in wanted:
        stored = (parts.layer_problems or {}).get(lid)
        if not stored:
            continue
        if current_language() not in stored:
            return None
        for kind, by_name in stored[current_language()].items():
            for name, rows in by_name.items():
                if name in filters:
                    got = [problems.setdefault(tuple(r), RowProblem(*r)) for r in rows]
                    said[kind][name] = got
    frames: dict[str, gpd.GeoDataFrame] = {}
    for lid, names in wanted.items():
        path = parts.layers[lid]
        table = None if path is None else read_layer_file(path)
        for name in names:
            frames[name] = raw_frame([]) if table is None else _frame_rows(table, name)
    return OsmExtract(frames={name: frames[name] for name in filters}, osm_base=parts.osm_base,
                      bounds=parts.bounds, problems=list(problems.values()),
                      rejected=said["rejected"], repaired=said["repaired"])  # fmt: skip


def read_layer_file(path: Path) -> dict[str, tuple[list, list, list, np.ndarray]]:
    """One layer's GeoParquet file of a split: frame name → (types, ids, tags, geometries).

    Read with pyarrow and shapely directly: geopandas' reader parses the file's CRS with
    pyproj (a third of the time on a part's ten files) and the frames are rebuilt anyway;
    the files are ours, in :data:`~civicmap.schema.CRS` as every reader frame. The tags of
    all rows are decoded in one ``json.loads``. A file that cannot be read is an error naming
    it and the fix.
    """
    try:
        table = pq.read_table(path, columns=[FRAME_COLUMN, "osm_type", "osm_id", TAGS_COLUMN,
                                             "geometry"])  # fmt: skip
        frame = np.asarray(table.column(FRAME_COLUMN).to_pylist(), dtype=object)
        types = np.asarray(table.column("osm_type").to_pylist(), dtype=object)
        ids = table.column("osm_id").to_numpy()
        tags = np.empty(len(frame), dtype=object)
        tags[:] = [dict(pairs) for pairs in
                   json.loads("[" + ",".join(table.column(TAGS_COLUMN).to_pylist()) + "]")]  # fmt: skip
        geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    except (OSError, ValueError, KeyError, pa.ArrowException, shapely.errors.GEOSException) as exc:
        raise SplitFolderError(
            _(
                "%(file)s cannot be read (%(error)s); run civicmap split again into this "
                "folder (with --overwrite)"
            )
            % {"file": path, "error": exc}
        ) from None
    out = {}
    for name in dict.fromkeys(frame.tolist()):
        rows = np.flatnonzero(frame == name)
        out[name] = (types[rows].tolist(), ids[rows].tolist(), tags[rows].tolist(), geoms[rows])
    return out


def _frame_rows(table: dict[str, tuple[list, list, list, np.ndarray]],
                name: str) -> gpd.GeoDataFrame:  # fmt: skip
    """The rows of frame ``name`` as the reader gives them (type, id, tags dict, geometry)."""
    if name not in table:
        return raw_frame([])
    types, ids, tags, geoms = table[name]
    return gpd.GeoDataFrame(
        {"osm_type": types, "osm_id": ids, "tags": tags},
        geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS,
    )  # fmt: skip


def layer_table(frames: Mapping[str, gpd.GeoDataFrame], names: list[str]) -> gpd.GeoDataFrame:
    """The frames ``names`` of one layer as one table for its GeoParquet file."""
    pieces = [
        gpd.GeoDataFrame(
            {
                FRAME_COLUMN: [name] * len(frames[name]),
                "osm_type": frames[name]["osm_type"].tolist(),
                "osm_id": np.asarray(frames[name]["osm_id"], dtype=np.int64),
                TAGS_COLUMN: [
                    json.dumps(list(t.items()), ensure_ascii=False) for t in frames[name]["tags"]
                ],
            },
            geometry=gpd.GeoSeries(frames[name].geometry.to_numpy(), crs=frames[name].crs),
            crs=frames[name].crs,
        )
        for name in names
        if len(frames[name])
    ]
    return gpd.GeoDataFrame(pd.concat(pieces, ignore_index=True), geometry="geometry")
