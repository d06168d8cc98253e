"""uMap styles civicmap cannot draw as uMap does are said, not dropped silently (issue 27)."""

from __future__ import annotations

import json

from paths import DATA

import civicmap
from civicmap.render.web import payload
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


def test_umap_marker_shapes_become_the_nearest_of_our_symbols_on_web_and_paper(tmp_path):
    # the 紙マップ made in uMap 3.8.1: each layer's iconClass (or its parent's), as uMap saved it
    umap = DATA / "umap" / "umap381_styled_kamimap.umap"
    doc = json.loads(umap.read_text(encoding="utf-8"))
    shape = {}
    for layer in doc["layers"]:
        props = layer["properties"]
        shape[props["name"]] = props.get("iconClass", "")
        for child in layer.get("layers") or []:
            shape[child["properties"]["name"]] = child["properties"].get(
                "iconClass", props.get("iconClass", "")
            )
    assert {shape["給水所"], shape["給水車"], shape["仮設トイレ"], shape["営業中の店"]} == {
        "Circle", "Ball", "Drop", "Default"
    }  # fmt: skip
    nearest = {"Circle": "circle", "Ball": "circle", "Drop": "triangle_down", "Default": "square"}
    f = tmp_path / "map.yaml"
    f.write_text(
        "title: 紙マップ\narea: {bbox: [139.700, 35.702, 139.714, 35.711]}\nosm: false\n"
        f"layers:\n  - id: kami\n    sources:\n      - umap: {{path: {umap}}}\n",
        encoding="utf-8",
    )
    data = civicmap.collect(civicmap.load_map(f))
    paper = {layer.spec.title_in("ja"): layer.spec.style.symbol for layer in data.layers}
    web = {lay["title"]: lay["symbol"] for lay in payload(data)["layers"]}
    for name, cls in shape.items():
        if cls and name in paper:  # (the remote-data layer has no places to draw)
            assert paper[name] == web[name] == nearest[cls], name
    # 入浴 names no shape: our palette's symbol, unlike every layer around it
    assert shape["入浴"] == "" and paper["入浴"] not in {"circle", "square", "triangle_down"}


def test_a_places_own_marker_shape_is_a_warning_not_dropped_silently():
    # 給水所 (Circle) holds one place with its own Drop, as made in uMap 3.8.1
    umap = DATA / "umap" / "umap381_styled_kamimap.umap"
    res = civicmap.read_path(umap, layer="x")
    shapes = [w for w in res.info["warnings"] if w["column"] == "iconClass"]
    assert [(w["row"], w["value"]) for w in shapes] == [("layer 給水所", "Drop")]
    assert "1 place" in shapes[0]["reason"]


def test_civicmaps_own_ball_for_an_approximate_place_is_not_a_shape_warning(tmp_path):
    # our export marks a place whose position is approximate with uMap's Ball
    ours = _layer("保育園", civicmap_symbol="square", iconClass="Default")
    ours["features"][0]["properties"]["_umap_options"] = {"iconClass": "Ball"}
    theirs = _layer("店", iconClass="Default")
    theirs["features"][0]["properties"]["_umap_options"] = {"iconClass": "Ball"}
    res = civicmap.read_path(_umap(tmp_path, [ours, theirs]), layer="x")
    assert [w["row"] for w in res.info["warnings"] if w["column"] == "iconClass"] == ["layer 店"]
