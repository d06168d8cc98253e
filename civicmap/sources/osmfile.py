"""Local OSM extracts (.osm, .osm.bz2, .osm.pbf), read offline with pyosmium.

One pass over the file answers every filter at once (all layers plus the
basemap), so a map reads its extract once. Nodes become points, ways lines or
polygons (by the OSM area rules), multipolygon relations polygons. Ways whose
nodes lie outside a clipped extract are kept with the nodes that are present
when at least two remain, and reported otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import osmium
import shapely
from shapely.geometry import LineString, Point

from civicmap.errors import SourceError
from civicmap.schema import RowProblem
from civicmap.sources._osmschema import is_area, raw_frame
from civicmap.tagfilter import AnyTagged, TagFilter

log = logging.getLogger(__name__)

SUFFIXES = (".osm", ".osm.bz2", ".osm.pbf", ".pbf", ".osm.gz")


@dataclass
class OsmExtract:
    """What one pass over an extract found, per filter name.

    Attributes
    ----------
    frames : dict
        Filter name → raw OSM frame.
    osm_base : str
        The data's timestamp (header, else the newest element).
    bounds : tuple or None
        The extract's bounds from its header (west, south, east, north).
    problems : list of RowProblem
        Every element reported while reading (clipped, broken, left out).
    rejected, repaired : dict
        The same problems by filter name, for the layers' quality reports:
        elements a filter matched that were left out (``rejected``), or kept
        in a changed shape, e.g. a line cut by the extract's edge (``repaired``).
    """

    frames: dict
    osm_base: str = ""
    bounds: tuple[float, float, float, float] | None = None
    problems: list[RowProblem] = field(default_factory=list)
    rejected: dict[str, list[RowProblem]] = field(default_factory=dict)
    repaired: dict[str, list[RowProblem]] = field(default_factory=dict)


def check_path(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"{path}: OSM extract not found")
    if not str(path).endswith(SUFFIXES):
        raise SourceError(
            f"{path}: got a {''.join(path.suffixes) or 'file without suffix'}, "
            "expected an OSM extract ending in .osm, .osm.bz2 or .osm.pbf"
        )


def read_extract(
    path: str | Path,
    filters: Mapping[str, TagFilter | AnyTagged],
    *,
    types: Mapping[str, set[str]] | None = None,
) -> OsmExtract:
    """Read every element matching any of ``filters`` from an extract.

    Parameters
    ----------
    path : path
        The extract.
    filters : mapping
        Name → :class:`~civicmap.tagfilter.TagFilter`. An element can match
        several names (a school that is also a shelter).
    types : mapping, optional
        Name → element types to keep (``node``, ``way``, ``relation``).

    Returns
    -------
    OsmExtract
        ``frames[name]`` is a raw OSM frame (osm_type, osm_id, tags, geometry).

    Raises
    ------
    SourceError
        When the file is missing, has the wrong suffix or cannot be parsed.
    """
    path = Path(path)
    check_path(path)
    return _read(str(path), path.name, filters, types=types)


def read_osm_bytes(
    data: bytes,
    filters: Mapping[str, TagFilter | AnyTagged],
    *,
    label: str,
    types: Mapping[str, set[str]] | None = None,
) -> OsmExtract:
    """Read OSM XML held in memory (an Overpass answer) like an extract.

    The elements must be sorted nodes, ways, relations (as Overpass's
    ``out body;`` sends them) so way nodes have their locations.
    ``label`` names the data in problems and errors.
    """
    return _read(osmium.io.FileBuffer(data, "osm"), label, filters, types=types)


def _header_time(header: osmium.io.Header) -> str:
    for key in ("osmosis_replication_timestamp", "timestamp"):
        value = header.get(key, "")
        if value:
            return iso_z(value)
    return ""


def iso_z(stamp: str) -> str:
    """A timestamp as Overpass writes ``osm_base``: ``2020-11-28T16:01:22Z``."""
    return stamp.replace("+00:00", "Z") if stamp else ""


def _read(
    source: str | osmium.io.FileBuffer,
    label: str,
    filters: Mapping[str, TagFilter | AnyTagged],
    *,
    types: Mapping[str, set[str]] | None = None,
) -> OsmExtract:
    types = types or {}
    records: dict[str, list] = {name: [] for name in filters}
    problems: list[RowProblem] = []
    wkb = osmium.geom.WKBFactory()
    newest = ""
    ways_wanted: dict[int, tuple[list[str], dict]] = {}
    way_areas: dict[int, object] = {}
    rels_wanted: dict[int, tuple[list[str], dict]] = {}
    rel_areas: dict[int, object] = {}

    # Index the filters by the keys they require, so each element is tested
    # only against filters that can match it (most elements carry a handful
    # of tags; testing every filter on every element dominated read time).
    all_types = {"node", "way", "relation"}
    by_key: dict[str, list[str]] = {}
    always: list[str] = []
    for fname, f in filters.items():
        required = f.required_keys()
        if any(not r for r in required):
            always.append(fname)
            continue
        for key in set().union(*required):
            by_key.setdefault(key, []).append(fname)
    order = {fname: i for i, fname in enumerate(filters)}

    def wanted(kind: str, tags: dict) -> list[str]:
        candidates = set(always)
        for key in tags:
            hit = by_key.get(key)
            if hit:
                candidates.update(hit)
        return [
            fname
            for fname in sorted(candidates, key=order.__getitem__)
            if kind in types.get(fname, all_types) and filters[fname].matches(tags)
        ]

    rejected: dict[str, list[RowProblem]] = {}
    repaired: dict[str, list[RowProblem]] = {}
    reported: set[str] = set()

    def problem(ref: str, reason: str, names: list[str], *, kept: bool = False) -> None:
        p = RowProblem(label, ref, reason)
        problems.append(p)
        reported.add(ref)
        for n in names:
            (repaired if kept else rejected).setdefault(n, []).append(p)

    keys: set[str] = set()
    for f in filters.values():
        keys |= f.positive_keys()
    bounded = bool(filters) and all(f.is_bounded() for f in filters.values())
    try:
        fp = osmium.FileProcessor(source).with_locations().with_areas()
        if keys and bounded:
            fp = fp.with_filter(osmium.filter.KeyFilter(*sorted(keys)))
        header_box = fp.header.box()
        bounds = (
            (header_box.bottom_left.lon, header_box.bottom_left.lat,
             header_box.top_right.lon, header_box.top_right.lat)
            if header_box.valid() else None
        )  # fmt: skip
        header_time = _header_time(fp.header)
        for obj in fp:
            ts = (
                iso_z(obj.timestamp.isoformat())
                if hasattr(obj, "timestamp") and obj.timestamp
                else ""
            )
            if ts > newest:
                newest = ts
            if obj.is_node():
                tags = dict(obj.tags)
                names = wanted("node", tags)
                if names and obj.location.valid():
                    geom = Point(obj.location.lon, obj.location.lat)
                    for n in names:
                        records[n].append(("node", obj.id, tags, geom))
            elif obj.is_way():
                tags = dict(obj.tags)
                names = wanted("way", tags)
                if not names:
                    continue
                coords = [(nd.lon, nd.lat) for nd in obj.nodes if nd.location.valid()]
                closed = len(obj.nodes) >= 4 and obj.nodes[0].ref == obj.nodes[-1].ref
                if closed and is_area(tags):
                    if len(coords) == len(obj.nodes):
                        ways_wanted[obj.id] = (names, tags)
                        continue
                    if len(coords) >= 2:
                        problem(
                            f"way/{obj.id}",
                            f"area clipped by the extract: {len(obj.nodes) - len(coords)} of "
                            f"{len(obj.nodes)} nodes missing; kept as a line",
                            names,
                            kept=True,
                        )
                        for n in names:
                            records[n].append(("way", obj.id, tags, LineString(coords)))
                    else:
                        problem(
                            f"way/{obj.id}",
                            f"area clipped by the extract: only {len(coords)} of "
                            f"{len(obj.nodes)} nodes inside; cannot draw it, left out",
                            names,
                        )
                    continue
                if len(coords) < 2:
                    problem(
                        f"way/{obj.id}",
                        f"only {len(coords)} of {len(obj.nodes)} nodes inside the "
                        "extract; cannot draw it, left out",
                        names,
                    )
                    continue
                if len(coords) < len(obj.nodes):
                    problem(
                        f"way/{obj.id}",
                        f"clipped by the extract: kept {len(coords)} of {len(obj.nodes)} nodes",
                        names,
                        kept=True,
                    )
                for n in names:
                    records[n].append(("way", obj.id, tags, LineString(coords)))
            elif obj.is_relation():
                tags = dict(obj.tags)
                names = wanted("relation", tags)
                if not names:
                    continue
                if tags.get("type") in ("multipolygon", "boundary"):
                    rels_wanted[obj.id] = (names, tags)
                else:
                    problem(
                        f"relation/{obj.id}",
                        f"a type={tags.get('type', '(none)')} relation has no drawable shape of "
                        "its own (only multipolygons do); left out — tag the member instead",
                        names,
                    )
            elif obj.is_area():
                target = way_areas if obj.from_way() else rel_areas
                wanted_ids = ways_wanted if obj.from_way() else rels_wanted
                if obj.orig_id() not in wanted_ids:
                    continue
                try:
                    target[obj.orig_id()] = shapely.from_wkb(wkb.create_multipolygon(obj))
                except RuntimeError as exc:
                    kind = "way" if obj.from_way() else "relation"
                    names = wanted_ids[obj.orig_id()][0]
                    problem(f"{kind}/{obj.orig_id()}", f"broken area: {exc}; left out", names)
    except RuntimeError as exc:
        raise SourceError(f"{label}: cannot read the OSM data ({exc})") from None

    # areas: use the assembled polygon, or report why there is none
    for kind, wanted_ids, areas in (
        ("way", ways_wanted, way_areas),
        ("relation", rels_wanted, rel_areas),
    ):
        for oid, (names, tags) in wanted_ids.items():
            geom = areas.get(oid)
            if geom is None:
                if f"{kind}/{oid}" not in reported:
                    problem(
                        f"{kind}/{oid}",
                        "area could not be assembled (members missing from the data or "
                        "rings that do not close); left out",
                        names,
                    )
                continue
            if len(geom.geoms) == 1:
                geom = geom.geoms[0]
            for n in names:
                records[n].append((kind, oid, tags, geom))
    frames = {name: raw_frame(recs) for name, recs in records.items()}
    for p in problems:
        log.debug("%s %s: %s", p.source, p.row, p.reason)
    return OsmExtract(
        frames=frames,
        osm_base=max(header_time, newest),
        bounds=bounds,
        problems=problems,
        rejected=rejected,
        repaired=repaired,
    )
