"""Back to uMap and My Maps (issue 27): licence as uMap keeps it, stable layer ids, whole-number
ids, KML in the map's language, one layer at a time for uMap's "Replace layer content"."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner
from paths import DATA

import civicmap
from civicmap.cli import main
from civicmap.errors import CivicMapError
from civicmap.render.export import only_layers, to_geojson, to_kml, to_umap, write_export
from civicmap.sources import read_path

UMAP = DATA / "umap" / "umap381_styled_kamimap.umap"
KML_NS = "{http://www.opengis.net/kml/2.2}"


def _map_file(tmp_path, language="ja", extra_csv: str | None = None):
    f = tmp_path / "map.yaml"
    layers = f"  - id: kami\n    sources:\n      - umap: {{path: {UMAP}}}\n"
    if extra_csv:
        csv = tmp_path / "places.csv"
        csv.write_text(extra_csv, encoding="utf-8")
        layers += f"  - id: places\n    sources:\n      - csv: {{path: {csv}}}\n"
    f.write_text(
        f"title: 紙マップ\nlanguage: {language}\narea: {{bbox: [139.700, 35.702, 139.714, 35.711]}}\n"
        f"osm: false\nlayers:\n{layers}",
        encoding="utf-8",
    )
    return f


@pytest.fixture(scope="module")
def kami(tmp_path_factory):
    return civicmap.collect(civicmap.load_map(_map_file(tmp_path_factory.mktemp("k"))))


def test_umap_export_keeps_layer_ids_stable_and_numbers_features_with_whole_numbers(kami):
    a, b = to_umap(kami), to_umap(kami)
    ids = [lay["_umap_options"]["id"] for lay in a["layers"]]
    assert ids == [lay["_umap_options"]["id"] for lay in b["layers"]]  # same on every export
    assert len(set(ids)) == len(ids) == 7
    assert [lay["_umap_options"]["rank"] for lay in a["layers"]] == list(range(7))
    fids = [f["id"] for lay in a["layers"] for f in lay["features"]]
    assert fids == list(range(1, 15))  # integers, unique in the map


def test_umap_export_read_back_keeps_every_layer_and_its_colours(kami, tmp_path):
    out = write_export(kami, tmp_path / "back.umap", fmt="umap", overwrite=False)
    doc = json.loads(out.read_text(encoding="utf-8"))
    routes = next(lay for lay in doc["layers"] if lay["_umap_options"]["name"] == "避難経路")
    assert routes["_umap_options"]["weight"] == 5 and routes["_umap_options"]["dashArray"] == "10,5"
    own = [f["properties"]["_umap_options"].get("color") for f in routes["features"]]
    assert "#8b008b" in own
    res = read_path(out, layer="x")
    assert res.info["umap_layers"] == [layer.spec.title_in("ja") for layer in kami.layers]
    before = {layer.spec.title_in("ja"): layer.spec.style.color for layer in kami.layers}
    after = {s.name: s.color for s in res.info["source_layers"]}
    assert after == before


def test_kml_labels_and_yes_no_in_the_maps_language_and_ids_as_integers(tmp_path):
    csv = "名称,緯度,経度,営業,番号\n戸山の店,35.705,139.705,True,12\n大久保の店,35.706,139.706,False,\n"
    for lang, yes, no, label in (("ja", "はい", "いいえ", "種別"), ("en", "yes", "no", "Category")):
        data = civicmap.collect(civicmap.load_map(_map_file(tmp_path, lang, extra_csv=csv)))
        feats = data.layer("places").features
        feats["営業"] = [True, False]
        feats["番号"] = [12.0, float("nan")]  # an id column pandas holds as float (one empty)
        root = ET.fromstring(to_kml(data).split("\n", 1)[1])
        values = {}
        for pm in root.iter(f"{KML_NS}Placemark"):
            for d in pm.iter(f"{KML_NS}Data"):
                values.setdefault(d.get("name"), []).append(d.findtext(f"{KML_NS}value"))
        assert values["営業"] == [yes, no]
        assert values["番号"] == ["12"]
        descs = [
            pm.findtext(f"{KML_NS}description") or "" for pm in root.iter(f"{KML_NS}Placemark")
        ]
        assert any(d.startswith(f"{label}: ") for d in descs)
        assert not any(d.startswith("category: ") for d in descs)


def test_one_layer_can_be_exported_for_umaps_replace_layer_content(kami, tmp_path):
    only = only_layers(kami, ["避難経路"])
    assert [layer.spec.title_in("ja") for layer in only.layers] == ["避難経路"]
    with pytest.raises(CivicMapError, match="給水所, 給水車"):
        only_layers(kami, ["ない"])
    out = tmp_path / "r.geojson"
    res = CliRunner().invoke(
        main,
        ["export", str(_map_file(tmp_path)), "--format", "geojson", "--layer", "浸水区域",
         "-o", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    feats = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["name"] for f in feats] == ["浸水区域（想定）"]
    routes = to_geojson(only)["features"]  # uMap keeps each feature's own colour on import
    assert [f["properties"].get("_umap_options", {}).get("color") for f in routes] == [
        None,
        "#8b008b",
    ]
