"""Exports: .umap in uMap's layout, GeoJSON with style, KML folders; read back with read_path."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import yaml
from click.testing import CliRunner
from paths import TESTS

from civicmap.cli import main
from civicmap.errors import CivicMapError, OutputExistsError
from civicmap.pipeline import collect, demo_map_path
from civicmap.render.export import write_export
from civicmap.sources import read_path
from civicmap.spec.mapfile import parse_map

DATA = TESTS / "data"
PAYLOAD_CSV = DATA / "web" / "payload.csv"
KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture(scope="module")
def data():
    demo = demo_map_path()
    raw = yaml.safe_load(demo.read_text(encoding="utf-8"))
    raw["layers"][0]["extra_sources"].append(
        {"csv": {"path": str(PAYLOAD_CSV), "category": "認可外"}}
    )
    d = collect(parse_map(raw, file=str(demo), base_dir=demo.parent))
    sh = d.layer("shelters").features
    sh["approximate"] = False
    sh.loc[sh.index[0], "approximate"] = True
    return d


def _names(d) -> list[str]:
    return sorted(n for layer in d.layers for n in layer.features["name"])


def test_umap_has_the_layout_umap_imports(data, tmp_path):
    out = write_export(data, tmp_path / "map.umap", fmt="umap", overwrite=False)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["type"] == "umap"
    props = doc["properties"]
    assert props["name"] == "西早稲田・大久保 子育て・防災マップ"
    assert 14 <= props["zoom"] <= 17
    lon, lat = doc["geometry"]["coordinates"]
    assert 139.69 < lon < 139.72 and 35.70 < lat < 35.72
    # uMap keeps a licence as {name, url}: its About panel links the name (a string was empty)
    assert props["licence"] == {
        "name": "ODbL 1.0",
        "url": "https://www.openstreetmap.org/copyright",
    }
    assert props["shortCredit"] == "© OpenStreetMap contributors"
    assert "新宿区オープンデータ 保育施設一覧 / 2018" in props["longCredit"]
    assert [lay["_umap_options"]["name"] for lay in doc["layers"]] == [
        "保育園・幼稚園・認定こども園",
        "避難場所・避難所",
    ]
    child, shelters = doc["layers"]
    assert child["type"] == "FeatureCollection"
    assert child["_umap_options"]["color"] == "#f6aa00"
    assert len(child["features"]) == len(data.layer("childcare").features)
    approx = [
        f
        for f in shelters["features"]
        if f["properties"].get("_umap_options", {}).get("iconClass") == "Ball"
    ]
    assert len(approx) == 1 and approx[0]["properties"]["approximate"] is True


def test_geojson_carries_layer_and_style(data, tmp_path):
    out = write_export(data, tmp_path / "map.geojson", fmt="geojson", overwrite=False)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    feats = doc["features"]
    assert len(feats) == sum(len(layer.features) for layer in data.layers)
    tri = [f for f in feats if f["properties"]["layer"] == "shelters"]
    # as the page draws them: 指定避難所 with the building pictogram in safety green
    assert {f["properties"]["marker-symbol"] for f in tri} == {"shelter_building"}
    assert {f["properties"]["marker-color"] for f in tri} == {"#00935a"}


def test_kml_has_one_folder_per_layer_with_escaped_names(data, tmp_path):
    out = write_export(data, tmp_path / "map.kml", fmt="kml", overwrite=False)
    text = out.read_text(encoding="utf-8")
    assert "<name><img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    root = ET.fromstring(text.encode("utf-8"))
    folders = root.findall(f"{KML}Document/{KML}Folder")
    assert [f.find(f"{KML}name").text for f in folders] == [
        "保育園・幼稚園・認定こども園",
        "避難場所・避難所",
    ]
    assert len(folders[0].findall(f"{KML}Placemark")) == len(data.layer("childcare").features)
    style = root.find(f"{KML}Document/{KML}Style[@id='style-childcare']")
    assert style.find(f"{KML}IconStyle/{KML}color").text == "ff00aaf6"  # #f6aa00 as aabbggrr


@pytest.mark.parametrize("fmt", ["umap", "geojson", "kml"])
def test_round_trip_through_read_path_gives_the_same_features(data, tmp_path, fmt):
    out = write_export(data, tmp_path / f"map.{fmt}", fmt=fmt, overwrite=False)
    # Our features also carry source columns such as 名称/Name; a file civicmap
    # wrote must still read back with the schema's own name and category.
    back = read_path(out, layer="back")
    assert back.rejected == []
    assert sorted(back.features["name"]) == _names(data)
    if fmt != "kml":  # KML folders are layers, so KML reads back with the layer as category
        cats = sorted(c for layer in data.layers for c in layer.features["category"])
        assert sorted(back.features["category"]) == cats
    for layer in data.layers:
        got = back.features[back.features["name"].isin(layer.features["name"])]
        exp = layer.features
        merged = (
            got.to_crs(6677).geometry.union_all().distance(exp.to_crs(6677).geometry.union_all())
        )
        assert merged < 0.01
    # each original point is found within 1 cm of an exported one
    ours = data.layer("childcare").features.to_crs(6677)
    theirs = back.features.to_crs(6677)
    assert max(theirs.distance(p).min() for p in ours.geometry) < 0.01


def test_refuses_to_overwrite_and_unknown_format(data, tmp_path):
    out = tmp_path / "map.kml"
    write_export(data, out, fmt="kml", overwrite=False)
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_export(data, out, fmt="kml", overwrite=False)
    with pytest.raises(CivicMapError, match="got 'shp', expected one of umap, geojson, kml"):
        write_export(data, tmp_path / "x.shp", fmt="shp", overwrite=False)
    assert not (tmp_path / "x.shp").exists()


def test_cli_export(tmp_path):
    out = tmp_path / "demo.umap"
    runner = CliRunner()
    res = runner.invoke(main, ["export", str(demo_map_path()), "--format", "umap", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text(encoding="utf-8"))["type"] == "umap"
    again = runner.invoke(
        main, ["export", str(demo_map_path()), "--format", "umap", "-o", str(out)]
    )
    assert again.exit_code == 2 and "--overwrite" in again.output
    ok = runner.invoke(
        main, ["export", str(demo_map_path()), "--format", "umap", "-o", str(out), "--overwrite"]
    )
    assert ok.exit_code == 0, ok.output


def test_umap_popups_have_no_empty_lines_and_keep_category_styles(data, tmp_path):
    """What uMap 3.8 shows: per-feature popup templates only name fields with a value.

    uMap's ``greedyTemplate`` replaces a missing/empty ``{field}`` by "" and keeps the
    line (``modules/utils.js``), so the template itself must leave those lines out.
    """
    import base64
    import re

    from civicmap.render.export import to_umap

    doc = to_umap(data)
    child, shelters = doc["layers"]
    frame = data.layer("childcare").features
    for f in child["features"] + shelters["features"]:
        props = f["properties"]
        tpl = props["_umap_options"]["popupContentTemplate"]
        assert tpl.startswith("# {name}")
        for field in re.findall(r"\{([^{}|]+)\}", tpl):
            value = props.get(field)
            assert value not in (None, ""), (field, tpl)
    # labels, not raw column names; telephone numbers as tel: links
    okubo = next(f for f in child["features"] if f["properties"]["name"] == "大久保第一保育園")
    tpl = okubo["properties"]["_umap_options"]["popupContentTemplate"]
    assert "**電話番号**: [[tel:0332030346|{TEL}]]" in tpl
    assert "**定員**: {Capall}" in tpl
    # per-category colour and symbol (a data:image uMap draws inside its pin)
    by_cat: dict[str, set] = {}
    for f in child["features"]:
        o = f["properties"]["_umap_options"]
        by_cat.setdefault(f["properties"]["category"], set()).add((o["color"], o["iconUrl"]))
    assert set(by_cat) == set(frame["category"])
    assert all(len(v) == 1 for v in by_cat.values())
    assert len({next(iter(v)) for v in by_cat.values()}) == len(by_cat)
    icon = child["_umap_options"]["iconUrl"]
    assert icon.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(icon.split(",", 1)[1]).startswith(b"<svg")
    assert child["_umap_options"]["iconClass"] == "Default"
