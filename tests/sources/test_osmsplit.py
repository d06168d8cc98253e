"""Reading a split folder: the parts an area needs give what the whole extract gives there."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import pytest
import shapely
from paths import DATA

from civicmap.area import Area
from civicmap.errors import ConfigError
from civicmap.i18n import use_language
from civicmap.pipeline import BASEMAP_FILTERS, collect
from civicmap.schema import CRS
from civicmap.sources import osmsplit, streets
from civicmap.sources.osmfile import read_extract
from civicmap.sources.osmsplit import (
    INDEX,
    SplitFolderError,
    area_extract,
    frame_layer,
    open_split,
    read_parts,
)
from civicmap.spec.mapfile import load_map
from civicmap.split import builtin_filters, split_extract
from civicmap.tagfilter import TagFilter

EXTRACT = DATA / "osm" / "SmallAroundWaseda.osm.pbf"
#: the extract's data runs from 139.7010 to 139.7188 E: a west half and an east half that
#: stops short of its eastern edge
MIDDLE = 139.7099


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    folder = tmp_path_factory.mktemp("osmsplit")
    cells = [shapely.box(139.69, 35.65, MIDDLE, 35.74), shapely.box(MIDDLE, 35.65, 139.715, 35.74)]
    gpd.GeoDataFrame({"name": ["西", "東"]}, geometry=cells, crs=CRS).to_file(
        folder / "halves.geojson", driver="GeoJSON"
    )
    split_extract(EXTRACT, folder / "parts", by=str(folder / "halves.geojson"), margin_m=100)
    return folder / "parts"


def _rows(frame, area) -> list:
    hit = frame[shapely.intersects(frame.geometry.values, area)]
    return [
        (t, i, tuple(sorted(tags.items())), g.wkb)
        for t, i, tags, g in zip(hit.osm_type, hit.osm_id, hit.tags, hit.geometry, strict=True)
    ]


def test_an_area_across_two_parts_reads_both_and_gets_the_whole_extracts_rows_in_order(halves):
    index = open_split(halves)
    across = shapely.box(MIDDLE - 0.003, 35.70, MIDDLE + 0.003, 35.71)
    parts = index.parts_for(across, what="across")
    assert [p.name for p in parts.files] == ["西.osm.pbf", "東.osm.pbf"]
    west_only = index.parts_for(shapely.box(139.702, 35.70, 139.704, 35.71), what="west")
    assert [p.name for p in west_only.files] == ["西.osm.pbf"]
    whole = read_extract(EXTRACT, BASEMAP_FILTERS)
    got = read_parts(parts, BASEMAP_FILTERS)
    assert got.bounds == whole.bounds and got.osm_base == whole.osm_base
    compared = 0
    for name in BASEMAP_FILTERS:
        assert _rows(got.frames[name], across) == _rows(whole.frames[name], across), name
        compared += len(_rows(whole.frames[name], across))
    assert compared > 100


def test_the_walking_network_from_the_parts_is_the_whole_extracts(halves):
    area = Area(shapely.box(MIDDLE - 0.004, 35.700, MIDDLE + 0.004, 35.708), "across", "bbox")
    with area_extract(halves, area) as path:
        got = streets.walking_graph_from_extract(path, area)
    whole = streets.walking_graph_from_extract(EXTRACT, area)
    assert got.number_of_edges() > 50
    assert list(got.nodes(data=True)) == list(whole.nodes(data=True))
    assert list(got.edges(data=True)) == list(whole.edges(data=True))


def test_an_area_beyond_every_part_or_missing_its_part_is_a_clear_error(halves, tmp_path):
    index = open_split(halves)
    # past the east part's margin, but inside the extract's data
    with pytest.raises(SplitFolderError, match="reaches beyond every part"):
        index.parts_for(shapely.box(139.70, 35.70, 139.7188, 35.71), what="far east")
    # beyond the extract's data there is nothing to read: no part, no error
    assert index.parts_for(shapely.box(140.0, 36.0, 140.1, 36.1), what="sea").files == ()
    copy = tmp_path / "parts"
    shutil.copytree(halves, copy)
    (copy / "東.osm.pbf").unlink()
    with pytest.raises(SplitFolderError, match=r"東\.osm\.pbf") as err:
        open_split(copy).parts_for(shapely.box(139.712, 35.70, 139.714, 35.71), what="east")
    assert "civicmap split" in str(err.value)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda doc: doc.pop("version"), "another version"),
        (
            lambda doc: doc["parts"][0].update(file="../../secret.osm.pbf"),
            "not a file of its folder",
        ),
        (lambda doc: doc["parts"][0].update(region="zz"), "damaged"),
        (lambda doc: doc.pop("parts"), "damaged"),
        # a --geoparquet split's layer files and reported elements
        (
            lambda doc: doc["parts"][0].update(layers={"toilets": "../../secret.parquet"}),
            "not a file of its folder",
        ),
        (
            lambda doc: doc["parts"][0].update(
                layer_problems={"toilets": {"ja": {"rejected": {"toilets#0": [["x", 1]]}}}}
            ),
            "damaged",
        ),
    ],
)
def test_an_index_from_another_version_or_damaged_is_refused_with_the_fix(
    halves, tmp_path, damage, says
):
    copy = tmp_path / "parts"
    shutil.copytree(halves, copy)
    doc = json.loads((copy / INDEX).read_text(encoding="utf-8"))
    damage(doc)
    (copy / INDEX).write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(SplitFolderError, match=says):
        open_split(copy)


def test_osm_file_may_name_a_split_folder_but_no_other_folder(halves, tmp_path):
    def mapfile(osm: str):
        path = tmp_path / "map.yaml"
        path.write_text(
            f"title: t\narea: {{bbox: [139.70, 35.70, 139.71, 35.71]}}\nosm: {{file: {osm}}}\n"
            "layers: [toilets]\noutputs: {geojson: {file: out/map.geojson}}\n",
            encoding="utf-8",
        )
        return path

    shutil.copytree(halves, tmp_path / "parts")
    assert load_map(mapfile("parts")).osm.split
    (tmp_path / "other").mkdir()
    shutil.copy(EXTRACT, tmp_path / "other" / EXTRACT.name)
    with pytest.raises(ConfigError) as err:
        load_map(mapfile("other"))
    assert "osm.file" in str(err.value) and "civicmap split" in str(err.value)
    with pytest.raises(SplitFolderError, match="not a split"):
        open_split(tmp_path / "other")


def test_a_map_whose_osm_file_is_a_split_folder_reads_the_parts_of_its_area(halves, tmp_path):
    shutil.copytree(halves, tmp_path / "parts")
    shutil.copy(EXTRACT, tmp_path / EXTRACT.name)
    area = f"[{MIDDLE - 0.006}, 35.700, {MIDDLE + 0.004}, 35.710]"  # across the two parts
    maps = {}
    for name, osm in (("whole", EXTRACT.name), ("split", "parts")):
        (tmp_path / f"{name}.yaml").write_text(
            f"title: t\narea: {{bbox: {area}}}\nosm: {{file: {osm}}}\n"
            "layers: [childcare, toilets, water, playgrounds, fire_stations]\n"
            "outputs: {geojson: {file: out/map.geojson}}\n",
            encoding="utf-8",
        )
        maps[name] = collect(load_map(tmp_path / f"{name}.yaml"), offline=True)
    whole, split = maps["whole"], maps["split"]
    assert split.osm_base == whole.osm_base and split.data_edge == whole.data_edge
    places = [(ld.id, ld.features.geometry.to_wkb().tolist()) for ld in whole.layers]
    assert sum(len(p) for _i, p in places) > 0
    assert [(ld.id, ld.features.geometry.to_wkb().tolist()) for ld in split.layers] == places
    box = shapely.box(MIDDLE - 0.006, 35.700, MIDDLE + 0.004, 35.710)
    drawn = [
        sorted(g.wkb for g in data.basemap.geometry if g.intersects(box)) for data in (whole, split)
    ]
    assert drawn[0] and drawn[0] == drawn[1]


def test_geoparquet_layers_hold_the_rows_the_part_gives_and_other_conditions_read_the_part(
    tmp_path, monkeypatch
):
    split_extract(EXTRACT, tmp_path / "parts", by="municipality", geoparquet=True)
    index = open_split(tmp_path / "parts")
    filters, types = builtin_filters()
    compared = reported = 0
    for i, name in enumerate(index.files):
        if name is None or not index.layers[i]:
            continue
        region = index.regions[i]
        parts = index.parts_for(region.buffer(-0.0001), what=name)
        assert parts.files == (tmp_path / "parts" / name,) and parts.layers
        stored = {f: filters[f] for f in filters if frame_layer(f) in parts.layers}
        fast = read_parts(parts, stored, types=types)
        whole = read_extract(parts.files[0], stored, types=types)
        assert list(fast.frames) == list(whole.frames)
        for f in stored:
            a, b = fast.frames[f], whole.frames[f]
            assert a.dtypes.to_dict() == b.dtypes.to_dict(), f
            assert a.index.equals(b.index), f
            assert a["osm_type"].tolist() == b["osm_type"].tolist(), f
            assert a["osm_id"].tolist() == b["osm_id"].tolist(), f
            assert [list(t.items()) for t in a["tags"]] == [list(t.items()) for t in b["tags"]]
            assert shapely.equals_exact(a.geometry.values, b.geometry.values, 0).all(), f
            compared += len(a)
        assert fast.osm_base == index.osm_base and fast.bounds == index.bounds
        for lang in ("ja", "en"):  # the elements the reading reported, in each language
            with use_language(lang):
                fast = read_parts(parts, stored, types=types)
                whole = read_extract(parts.files[0], stored, types=types)
            for kind in ("rejected", "repaired"):
                got, want = getattr(fast, kind), getattr(whole, kind)
                assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}
                reported += sum(len(v) for v in want.values())
    assert compared > 100 and reported > 0
    # a map's own "toilets" with other conditions is not answered by the stored file
    read = []
    monkeypatch.setattr(osmsplit, "read_extract",
                        lambda *a, **k: read.append(a[0]) or read_extract(*a, **k))  # fmt: skip
    own = {"toilets#0": TagFilter.parse({"amenity": "toilets", "fee": "no"})}
    mine = read_parts(parts, own)
    assert read and mine.frames["toilets#0"]["tags"].map(lambda t: t.get("fee") == "no").all()
    # a layer file removed since the split: the part is read instead, with the same rows
    read.clear()
    shinjuku = index.keys.index("131041")
    parts = index.parts_for(index.regions[shinjuku].buffer(-0.0001), what="新宿区")
    toilets = {"toilets#0": filters["toilets#0"]}
    stored = read_parts(parts, toilets, types=types)
    assert not read
    parts.layers["toilets"].unlink()
    again = read_parts(parts, toilets, types=types)
    assert read and len(stored.frames["toilets#0"])
    assert again.frames["toilets#0"]["osm_id"].tolist() == (
        stored.frames["toilets#0"]["osm_id"].tolist()
    )
