"""uMap styles civicmap cannot draw as uMap does are said, not dropped silently (issue 27)."""

from __future__ import annotations

import json

from paths import DATA

import civicmap
from civicmap.sources.umap import popup_template


def _umap(tmp_path, layers):
    path = tmp_path / "m.umap"
    path.write_text(json.dumps({"type": "umap", "properties": {}, "layers": layers}), "utf-8")
    return path


def _layer(name, **props):
    return {
        "type": "FeatureCollection",
        "properties": {"name": name, **props},
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [139.70, 35.70]},
                "properties": {"name": f"{name} 1", "n": 3},
            }
        ],
    }


def test_styles_we_cannot_reproduce_are_warnings_naming_the_layer(tmp_path):
    path = _umap(
        tmp_path,
        [
            _layer("ヒート", type="Heat"),
            _layer("写真", iconUrl="https://example.org/pin.png"),
            _layer("色", color="rgb(1,2,3)"),
            _layer("旧", popupShape="Wikipedia"),
        ],
    )
    res = civicmap.read_path(path, layer="x")
    reasons = {w["row"]: w["reason"] for w in res.info["warnings"]}
    assert "Heat" in reasons["layer ヒート"]
    assert "picture icon" in reasons["layer 写真"]
    assert "rgb(1,2,3)" in reasons["layer 色"]
    assert "Wikipedia" in reasons["layer 旧"]
    # our palette where the file says nothing we can read
    layers = res.info["source_layers"]
    assert [s.color for s in layers] == ["", "", "", ""]


def test_a_child_layer_inherits_its_parents_and_the_maps_options_as_in_umap(tmp_path):
    parent = _layer("親", weight=7)
    parent["layers"] = [_layer("子")]
    path = tmp_path / "m.umap"
    path.write_text(
        json.dumps({"type": "umap", "properties": {"color": "Crimson"}, "layers": [parent]}),
        "utf-8",
    )
    layers = civicmap.read_path(path, layer="x").info["source_layers"]
    assert [(s.name, s.color, s.weight) for s in layers] == [
        ("親", "#dc143c", 7.0),
        ("子", "#dc143c", 7.0),
    ]


def test_umap_popup_templates_become_civicmap_templates():
    assert popup_template("# {name}\n**{時間}** {note|なし}") == "{name}\n{時間} {note}"
    assert popup_template("[[https://x.example/{id}|詳しく]] {{https://x/img.png}}") == "詳しく"
    assert popup_template("{name") is None  # an unmatched brace: not a template


def test_civicmaps_own_export_back_from_umap_keeps_its_symbols_without_icon_warnings():
    path = DATA / "umap" / "umap373_import_of_civicmap_demo.umap"
    doc = json.loads(path.read_text(encoding="utf-8"))
    res = civicmap.read_path(path, layer="x")
    assert [w for w in res.info["warnings"] if w["column"] == "iconUrl"] == []
    expected = [lay["properties"]["civicmap_symbol"] for lay in doc["layers"]]
    assert [s.symbol for s in res.info["source_layers"]] == expected
