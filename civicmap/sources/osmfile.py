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
from civicmap.tagfilter import TagFilter

log = logging.getLogger(__name__)

SUFFIXES = (".osm", ".osm.bz2", ".osm.pbf", ".pbf", ".osm.gz")


@dataclass
class OsmExtract:
    """What one pass over an extract found, per filter name."""

    frames: dict
    osm_base: str = ""
    bounds: tuple[float, float, float, float] | None = None
    problems: list[RowProblem] = field(default_factory=list)


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
    filters: Mapping[str, TagFilter],
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
    """
    path = Path(path)
    check_path(path)
    types = types or {}
    records: dict[str, list] = {name: [] for name in filters}
    problems: list[RowProblem] = []
    wkb = osmium.geom.WKBFactory()
    newest = ""
    ways_wanted: dict[int, tuple[list[str], dict]] = {}
    way_areas: dict[int, object] = {}

    def wanted(kind: str, tags: dict) -> list[str]:
        return [
            name
            for name, f in filters.items()
            if (kind in types.get(name, {"node", "way", "relation"})) and f.matches(tags)
        ]

    keys = set()
    unbounded = False
    for f in filters.values():
        pk = f.positive_keys()
        if any(not any(a.op in ("in", "exists", "re") for a in c) for c in f.clauses):
            unbounded = True
        keys |= pk
    try:
        fp = osmium.FileProcessor(str(path)).with_locations().with_areas()
        if keys and not unbounded:
            fp = fp.with_filter(osmium.filter.KeyFilter(*sorted(keys)))
        header_box = fp.header.box()
        bounds = (
            (header_box.bottom_left.lon, header_box.bottom_left.lat,
             header_box.top_right.lon, header_box.top_right.lat)
            if header_box.valid() else None
        )  # fmt: skip
        for obj in fp:
            ts = obj.timestamp.isoformat() if hasattr(obj, "timestamp") and obj.timestamp else ""
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
                    ways_wanted[obj.id] = (names, tags)
                    if len(coords) < len(obj.nodes):
                        problems.append(
                            RowProblem(str(path.name), f"way/{obj.id}",
                                       f"area clipped by the extract: {len(obj.nodes) - len(coords)} "
                                       "nodes missing; kept as a line")  # fmt: skip
                        )
                        ways_wanted.pop(obj.id)
                        if len(coords) >= 2:
                            for n in names:
                                records[n].append(("way", obj.id, tags, LineString(coords)))
                    continue
                if len(coords) < 2:
                    problems.append(
                        RowProblem(str(path.name), f"way/{obj.id}",
                                   f"only {len(coords)} of {len(obj.nodes)} nodes inside the "
                                   "extract; cannot draw it, left out")  # fmt: skip
                    )
                    continue
                if len(coords) < len(obj.nodes):
                    problems.append(
                        RowProblem(str(path.name), f"way/{obj.id}",
                                   f"clipped by the extract: kept {len(coords)} of "
                                   f"{len(obj.nodes)} nodes")  # fmt: skip
                    )
                for n in names:
                    records[n].append(("way", obj.id, tags, LineString(coords)))
            elif obj.is_area():
                tags = dict(obj.tags)
                if obj.from_way():
                    if obj.orig_id() in ways_wanted:
                        try:
                            way_areas[obj.orig_id()] = shapely.from_wkb(wkb.create_multipolygon(obj))
                        except RuntimeError as exc:
                            problems.append(RowProblem(str(path.name), f"way/{obj.orig_id()}", f"broken area: {exc}"))
                    continue
                names = wanted("relation", tags)
                if not names:
                    continue
                try:
                    geom = shapely.from_wkb(wkb.create_multipolygon(obj))
                except RuntimeError as exc:
                    problems.append(
                        RowProblem(str(path.name), f"relation/{obj.orig_id()}", f"broken multipolygon: {exc}")
                    )
                    continue
                if len(geom.geoms) == 1:
                    geom = geom.geoms[0]
                for n in names:
                    records[n].append(("relation", obj.orig_id(), tags, geom))
    except RuntimeError as exc:
        raise SourceError(f"{path}: cannot read the OSM extract ({exc})") from None

    # closed ways that are areas: use the assembled polygon (or report)
    for way_id, (names, tags) in ways_wanted.items():
        geom = way_areas.get(way_id)
        if geom is None:
            problems.append(
                RowProblem(str(path.name), f"way/{way_id}", "area could not be assembled; left out")
            )
            continue
        if len(geom.geoms) == 1:
            geom = geom.geoms[0]
        for n in names:
            records[n].append(("way", way_id, tags, geom))
    frames = {}
    for name, recs in records.items():
        frames[name] = raw_frame(recs)
    for p in problems:
        log.info("%s %s: %s", p.source, p.row, p.reason)
    return OsmExtract(frames=frames, osm_base=newest, bounds=bounds, problems=problems)
