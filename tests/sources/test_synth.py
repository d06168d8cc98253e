"""The benchmark data generator (bench/synth.py) keeps its promises.

The scale figures in bench/RESULTS.md are only worth something if the
synthetic extracts look like Tokyo to civicmap: the densities the docstring
promises, readable by civicmap's own reader, and tagged so that every built-in
layer and every one of its OSM categories finds something.
"""

from __future__ import annotations

import sys
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import osmium
import pytest
import shapely
from paths import ROOT
from pyproj import Transformer
from shapely.geometry import box

import civicmap
from civicmap.sources.opendata import read_csv
from civicmap.sources.osmfile import read_extract

sys.path.insert(0, str(ROOT / "bench"))
import synth

KM2 = 0.25


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    ext = synth.write_extract(folder / "extract.osm.pbf", km2=KM2, seed=3)
    csvs = synth.write_opendata_csvs(folder, ext, seed=3)
    return folder, ext, csvs


_TO_METRIC = Transformer.from_crs("EPSG:4326", synth.METRIC_CRS, always_xy=True)


def _metric(geom):
    to_metric = _TO_METRIC
    return shapely.transform(
        geom, lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1]))
    )


def _scan(path: Path) -> Counter:
    """Count what is in the file itself, independently of the generator's own counts."""
    c: Counter = Counter()
    for obj in osmium.FileProcessor(str(path)):
        tags = dict(obj.tags)
        if obj.is_way() and "building" in tags:
            c["building"] += 1
        elif obj.is_way() and "highway" in tags:
            c["highway"] += 1
        elif obj.is_node() and any(k in tags for k in ("amenity", "emergency", "leisure", "shop")):
            c["poi"] += 1
        elif obj.is_relation() and tags.get("type") == "multipolygon":
            c["multipolygon"] += 1
    return c


def test_extract_has_the_promised_tokyo_densities(generated):
    _, ext, _ = generated
    bounds = _metric(box(*ext.bbox))
    assert bounds.area / 1e6 == pytest.approx(KM2, rel=0.02)
    found = _scan(ext.path)
    per_km2 = {k: v / KM2 for k, v in found.items()}
    assert per_km2["building"] == pytest.approx(synth.BUILDINGS_PER_KM2, rel=0.03)
    assert 200 <= per_km2["poi"] <= 700, per_km2  # "a few hundred POIs per km²"
    assert per_km2["highway"] >= 100  # a street grid, not a handful of roads
    assert found["multipolygon"] >= 1  # a park with a pond, as a relation


def test_header_box_is_the_bbox_the_map_file_uses(generated):
    _, ext, _ = generated
    reader = osmium.io.Reader(str(ext.path))
    header_box = reader.header().box()
    reader.close()
    got = (
        header_box.bottom_left.lon,
        header_box.bottom_left.lat,
        header_box.top_right.lon,
        header_box.top_right.lat,
    )
    assert got == pytest.approx(ext.bbox, abs=1e-6)


def test_every_builtin_layer_reads_back_with_the_promised_counts_and_categories(generated):
    _, ext, _ = generated
    layers = [civicmap.load_layer(i) for i in civicmap.builtin_layer_ids()]
    filters, rules = {}, {}
    for layer in layers:
        (src,) = [s for s in layer.sources if s.kind == "osm"]
        filters[layer.id] = src.tag_filter
        rules[layer.id] = src.category_rules
    result = read_extract(ext.path, filters)
    assert result.problems == []  # nothing clipped: the extract is complete
    for layer in layers:
        frame = result.frames[layer.id]
        assert len(frame) == ext.layer_counts[layer.id], layer.id
        assert len(frame) >= 1, f"{layer.id} finds nothing in the synthetic extract"
        # the first matching rule names the category, as the pipeline does
        cats = {next((n for n, f in rules[layer.id] if f.matches(t)), None) for t in frame["tags"]}
        wanted = {n for n, _ in rules[layer.id]}
        assert wanted <= cats, f"{layer.id}: categories never produced: {wanted - cats}"
    # every point lies inside the extract
    area = box(*ext.bbox)
    for frame in result.frames.values():
        assert frame.geometry.within(area).all()


def test_opendata_csvs_match_the_osm_points_and_report_rows_without_coordinates(generated):
    _, ext, csvs = generated
    by_layer = {c.layer: c for c in csvs}
    assert set(by_layer) == {"childcare", "aed"}
    area = _metric(box(*ext.bbox)).buffer(50)  # matching rows are moved up to 30 m
    for c in csvs:
        res = read_csv(c.path, layer=c.layer)
        assert res.info["encoding"] == "utf-8-sig"
        assert res.info["columns"]["lat"] == "緯度" and res.info["columns"]["name"] == "名称"
        assert len(res.features) + len(res.rejected) == c.rows
        assert len(res.rejected) == c.no_coordinates
        assert all("no coordinates" in p.reason for p in res.rejected)
        assert c.rows == c.matching_osm + c.csv_only
        assert _metric(res.features.geometry.union_all()).within(area)
    # the childcare rows name the same facilities as OSM (what conflation must match)
    osm_names = {p["name"] for p in ext.pois if p["layer"] == "childcare"}
    res = read_csv(by_layer["childcare"].path, layer="childcare")
    csv_names = {unicodedata.normalize("NFKC", n).replace(" ", "") for n in res.features["name"]}
    assert (
        len(osm_names & csv_names)
        >= by_layer["childcare"].matching_osm - by_layer["childcare"].no_coordinates
    )
    assert set(res.features["種別"]) <= {"認可保育所", "幼稚園", "認定こども園"}


def test_the_generated_map_file_collects_every_layer(generated, tmp_path):
    folder, ext, csvs = generated
    doc = synth.map_document(ext, csvs, folder=folder)
    spec = civicmap.load_map(synth.write_map_file(folder / "map.yaml", doc, overwrite=True))
    data = civicmap.collect(spec)
    assert [layer.id for layer in data.layers] == civicmap.builtin_layer_ids()
    assert all(len(layer.features) > 0 for layer in data.layers)
    assert data.basemap is not None
    kinds = Counter(data.basemap["kind"])
    assert kinds["building"] == pytest.approx(synth.BUILDINGS_PER_KM2 * KM2, rel=0.03)
    assert {"water", "park", "railway", "road_major", "road_minor"} <= set(kinds)


def test_same_seed_same_file_and_bad_arguments_are_refused(generated, tmp_path):
    _, ext, _ = generated
    again = synth.write_extract(tmp_path / "again.osm.pbf", km2=KM2, seed=3)
    assert again.path.read_bytes() == ext.path.read_bytes()
    other = synth.write_extract(tmp_path / "other.osm.pbf", km2=KM2, seed=4)
    assert other.path.read_bytes() != ext.path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        synth.write_extract(again.path, km2=KM2)
    with pytest.raises(ValueError, match=r"km2=0\.01.*expected 0\.05 to 256"):
        synth.write_extract(tmp_path / "tiny.osm.pbf", km2=0.01)
    assert not (tmp_path / "tiny.osm.pbf").exists()


def test_xml_copy_holds_the_same_elements(generated, tmp_path):
    _, ext, _ = generated
    xml = synth.pbf_to_xml(ext.path, tmp_path / "extract.osm")
    assert xml.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert _scan(xml) == _scan(ext.path)
