"""A living uMap / My Maps map built by civicmap looks as it does there (issue 27).

``umap381_styled_kamimap.umap`` was made in a real uMap 3.8.1 (built from its source, on
loopback, by ``scripts/umap_roundtrip/run.sh`` step 6: ``umap_browser.py build-styled``) and
downloaded with uMap's own backup view: 8 layers (one a child layer; a Categorized layer; a
layer with rules; lines; a polygon; a remote-data layer), 14 features.
``golden/umap381_styled_kamimap.drawn.json`` holds the style uMap 3.8.1 itself gives each
feature when it shows the saved map. ``umap373_styled_kamimap.umap`` is the same map made in uMap 3.7.3; the map-level tests
run on both (3.8.1 no longer saves a Categorized layer's categories). The expected names and
colours come from the files themselves (plain ``json``), from what uMap drew and from
ColorBrewer's published Set1, never from civicmap. The My Maps KML is the real 2018 西日本豪雨
export of the 紙マップ volunteers.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections import Counter
from pathlib import Path

import pytest
from paths import DATA

import civicmap
from civicmap.check import build_warnings
from civicmap.render.export import to_umap
from civicmap.render.paper import render_paper
from civicmap.render.web import payload
from civicmap.spec.paper import PaperOptions

#: the same 紙マップ made in two uMap versions, as each one's backup download
UMAPS = {
    "uMap381": DATA / "umap" / "umap381_styled_kamimap.umap",
    "uMap373": DATA / "umap" / "umap373_styled_kamimap.umap",
}
UMAP = UMAPS["uMap381"]
#: per feature, the style uMap 3.8.1 drew the saved map with (``umap_browser.py drawn``)
DRAWN = DATA / "golden" / "umap381_styled_kamimap.drawn.json"
KML = DATA / "kml" / "hiroshima2018_water-supply_google-mymaps.kml"
#: uMap's CSS colour names in that file, as CSS defines them.
CSS = {"DodgerBlue": "#1e90ff", "Orange": "#ffa500", "Black": "#000000", "Purple": "#800080",
       "Red": "#ff0000", "Teal": "#008080", "Navy": "#000080", "DarkMagenta": "#8b008b",
       "Green": "#008000", "Gray": "#808080"}  # fmt: skip
#: ColorBrewer Set1 for 3 classes (colorbrewer2.org), what uMap colours 3 categories with.
SET1_3 = ["#e41a1c", "#377eb8", "#4daf4a"]


def _hex(value: str) -> str:
    return CSS.get(value, value).lower()


def _walk(layers):
    for layer in layers:
        yield layer
        yield from _walk(layer.get("layers") or [])


def _umap_layers(path: Path = UMAP) -> list[dict]:
    return list(_walk(json.loads(path.read_text(encoding="utf-8"))["layers"]))


def _drawn() -> dict[tuple[str, str], dict]:
    """``(layer name, feature name) -> style`` as uMap 3.8.1 drew the saved map."""
    layers = json.loads(DRAWN.read_text(encoding="utf-8"))
    return {(lay["name"], f["name"]): f for lay in layers for f in lay["features"]}


def _web_colours(data) -> dict[tuple[str, str], str]:
    """``(layer title, feature name) -> colour`` of each place on civicmap's web map."""
    out = {}
    for lay in payload(data)["layers"]:
        for f in lay["features"]:
            out[lay["title"], f["n"]] = f.get("c") or lay["styles"][f["k"]]["color"]
    return out


def page_pixels(pdf: bytes, tmp_path: Path) -> Counter:
    """Colours of the printed page's pixels (pdftoppm at 150 dpi, no anti-aliasing), as hex."""
    import subprocess

    import numpy as np

    (tmp_path / "page.pdf").write_bytes(pdf)
    ppm = subprocess.run(
        ["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-aa", "no", "-aaVector", "no",
         str(tmp_path / "page.pdf")],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    head = ppm.split(b"\n", 3)  # P6, width height, maxval, pixels
    width, height = (int(v) for v in head[1].split())
    pixels = np.frombuffer(head[3], dtype=np.uint8)[: width * height * 3].reshape(-1, 3)
    rgb = pixels.astype(np.uint32)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    values, counts = np.unique(packed, return_counts=True)
    return Counter({f"#{int(v):06x}": int(c) for v, c in zip(values, counts, strict=True)})


def _map(tmp_path: Path, source: str, path: Path, bbox: list[float], extra: str = "") -> Path:
    f = tmp_path / "map.yaml"
    f.write_text(
        f"title: 紙マップ\narea: {{bbox: {bbox}}}\nosm: false\n"
        f"layers:\n  - id: kami\n    sources:\n      - {source}: {{path: {path}{extra}}}\n",
        encoding="utf-8",
    )
    return f


def pdf_colours(pdf: bytes) -> tuple[Counter, Counter]:
    """Fill (``rg``) and stroke (``RG``) colours set in the PDF's content streams, as hex."""
    fills: Counter = Counter()
    strokes: Counter = Counter()
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        raw = m.group(1).strip()
        try:
            if raw.endswith(b"~>"):  # reportlab: ASCII85, then Flate
                raw = base64.a85decode(raw, adobe=True)
            body = zlib.decompressobj().decompress(raw)
        except (zlib.error, ValueError):
            continue
        for r, g, b, op in re.findall(rb"([\d.]+) ([\d.]+) ([\d.]+) (rg|RG)\b", body):
            hx = "#" + "".join(f"{round(float(v) * 255):02x}" for v in (r, g, b))
            (fills if op == b"rg" else strokes)[hx] += 1
    return fills, strokes


@pytest.fixture(scope="module", params=list(UMAPS))
def umap_file(request) -> Path:
    return UMAPS[request.param]


@pytest.fixture(scope="module")
def kami(tmp_path_factory, umap_file):
    path = _map(
        tmp_path_factory.mktemp("kami"), "umap", umap_file, [139.700, 35.702, 139.714, 35.711]
    )
    return civicmap.collect(civicmap.load_map(path))


def test_each_umap_layer_becomes_a_map_layer_in_uMaps_order_with_its_name(kami, umap_file):
    expected = [
        (layer["properties"]["name"], len(layer["features"]))
        for layer in _umap_layers(umap_file)
        if layer["features"]  # the remote-data layer holds nothing to draw (reported)
    ]
    got = [(layer.spec.title_in("ja"), len(layer.features)) for layer in kami.layers]
    assert got == expected
    assert len(expected) == 7 and sum(n for _n, n in got) == 14
    web = [(lay["title"], len(lay["features"])) for lay in payload(kami)["layers"]]
    assert web == expected  # the web map: the same layers, in uMap's order
    remote = [
        w for layer in kami.layers for w in layer.report.warnings if w["column"] == "remoteData"
    ]
    assert remote and "example.org" in remote[0]["value"]


def test_layer_and_feature_colours_are_umaps_own(kami, umap_file):
    by_title = {layer.spec.title_in("ja"): layer for layer in kami.layers}
    for layer in _umap_layers(umap_file):
        props = layer["properties"]
        if not layer["features"] or "color" not in props:
            continue
        assert by_title[props["name"]].spec.style.color == _hex(props["color"]), props["name"]
    # a child layer keeps its own colour; a feature's own colour wins
    for layer in _umap_layers(umap_file):
        for feat in layer["features"]:
            own = (feat["properties"].get("_umap_options") or {}).get("color")
            if own:
                got = by_title[layer["properties"]["name"]].features
                name = feat["properties"].get("name") or feat["properties"].get("施設名")
                row = got[got["name"] == name].iloc[0]
                assert row["style_color"] == _hex(own)


def test_categorized_and_rule_colours_match_umap(kami, umap_file):
    layers = {layer["properties"]["name"]: layer["properties"] for layer in _umap_layers(umap_file)}
    cat = layers["入浴"]["categorized"]
    if "categories" in cat:  # uMap 3.7.3 saved the categories it computed
        expected = dict(zip(cat["categories"].split(","), SET1_3, strict=True))
    else:  # uMap 3.8.1 computes them when it draws: the colour it drew each value in
        bath = next(lay for lay in _umap_layers(umap_file) if lay["properties"]["name"] == "入浴")
        value = {
            f["properties"]["name"]: f["properties"][cat["property"]] for f in bath["features"]
        }
        expected = {value[n]: _hex(s["color"]) for (lay, n), s in _drawn().items() if lay == "入浴"}
        assert sorted(expected.values()) == sorted(SET1_3)
    data = {layer.spec.title_in("ja"): layer for layer in kami.layers}
    web = {lay["title"]: lay for lay in payload(kami)["layers"]}
    assert {s["name"]: s["color"] for s in web["入浴"]["styles"]} == expected
    rules = {r["name"]: _hex(r["properties"]["color"]) for r in layers["営業中の店"]["rules"]}
    styles = {s["name"]: s["color"] for s in web["営業中の店"]["styles"]}
    assert {k: styles[k] for k in rules} == rules
    # the shop matching no rule keeps the layer's own colour, as in uMap
    assert styles["営業中の店"] == _hex(layers["営業中の店"]["color"])
    assert data["入浴"].spec.style.category_overrides


def test_web_draws_lines_and_the_polygon_in_their_style(kami):
    web = {lay["title"]: lay for lay in payload(kami)["layers"]}
    route = web["避難経路"]
    assert route["weight"] == 5 and route["dash"] == "10,5" and route["color"] == "#800080"
    own = [f for f in route["features"] if f.get("c")]
    assert [f["c"] for f in own] == ["#8b008b"] and own[0]["ss"]["w"] == 3
    zone = web["浸水区域"]
    assert zone["fillOpacity"] == 0.3 and zone["color"] == "#ff0000"
    assert all("ss" in f for f in zone["features"] + route["features"])


def test_paper_draws_routes_and_zones_as_shapes_in_their_colours_not_numbers(kami):
    pdf, plan = render_paper(kami)
    numbered = {e.name for e in plan.entries}
    assert "避難経路 A" not in numbered and "浸水区域（想定）" not in numbered
    assert len(plan.entries) == 14 - 3  # every place but the two lines and the polygon
    fills, strokes = pdf_colours(pdf)
    assert strokes["#800080"] >= 1 and strokes["#8b008b"] >= 1  # the two routes
    assert fills["#ff0000"] >= 1 and strokes["#ff0000"] >= 1  # the zone, filled and outlined
    for colour in [*SET1_3, "#1e90ff", "#ffa500", "#000080", "#008000", "#808080", "#e8590c"]:
        assert fills[colour] >= 1, colour  # markers (and legend symbols) in uMap's colours


def test_web_and_paper_draw_every_feature_in_the_colour_umap_381_draws_it(tmp_path):
    """Each of the 14 features, in the colour uMap 3.8.1 gave it (layer, child layer,
    feature's own, Categorized, rules), on the web map, in the PDF's drawing operators and
    as pixels of the printed page; the two routes with uMap's weight and dash."""
    drawn = _drawn()
    assert len(drawn) == 14
    path = _map(tmp_path, "umap", UMAP, [139.700, 35.702, 139.714, 35.711])
    data = civicmap.collect(civicmap.load_map(path))
    web = _web_colours(data)
    assert {key: web.get(key) for key in drawn} == {
        key: _hex(style["color"]) for key, style in drawn.items()
    }
    layers = {lay["title"]: lay for lay in payload(data)["layers"]}
    for (layer, name), style in drawn.items():
        if style["geometry"] == "LineString":
            feat = next(f for f in layers[layer]["features"] if f["n"] == name)
            weight = feat["ss"].get("w", layers[layer]["weight"])
            assert (weight, layers[layer]["dash"]) == (style["weight"], style["dashArray"]), name
    pdf, _plan = render_paper(data)
    fills, strokes = pdf_colours(pdf)
    pixels = page_pixels(pdf, tmp_path)
    for (_layer, name), style in drawn.items():
        colour = _hex(style["color"])
        if style["geometry"] == "Point":
            assert fills[colour] >= 1, (name, colour)  # the marker, filled in its colour
        elif style["geometry"] == "LineString":
            assert strokes[colour] >= 1, (name, colour)  # drawn as a line, not a marker
        else:
            assert fills[_hex(style["fillColor"])] >= 1 and strokes[colour] >= 1, name
        assert pixels[colour] >= 20, (name, colour)  # and it shows on the printed page


def test_paper_legend_lists_the_lines_and_the_polygon(kami, umap_file, tmp_path):
    import subprocess

    pdf, _plan = render_paper(kami)
    (tmp_path / "m.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(tmp_path / "m.pdf"), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for words in ("避難経路 A (1)", "避難経路 B (1)", "浸水区域 (1)", "給水車 (1)"):
        assert words in text, words
    # every uMap layer with places is in the legend, with as many places as in uMap
    for layer in _umap_layers(umap_file):
        if layer["features"]:
            words = f"{layer['properties']['name']} ({len(layer['features'])})"
            assert words in text, words


def test_layers_categories_keeps_one_layer_with_the_umap_layers_as_coloured_categories(tmp_path):
    path = _map(tmp_path, "umap", UMAP, [139.700, 35.702, 139.714, 35.711], ", layers: categories")
    data = civicmap.collect(civicmap.load_map(path))
    assert [layer.id for layer in data.layers] == ["kami"]
    styles = {s["name"]: s["color"] for s in payload(data)["layers"][0]["styles"]}
    assert styles["給水車"] == "#ffa500" and styles["避難経路"] == "#800080"


def test_layers_as_categories_keep_each_umap_layers_own_popup(tmp_path):
    """As categories, the 給水所 places still show 給水所's popup template (its 施設名 and
    時間), as they do with a layer each; they showed the folded layer's default before."""
    box = [139.700, 35.702, 139.714, 35.711]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    as_layers = civicmap.collect(civicmap.load_map(_map(tmp_path / "a", "umap", UMAP, box)))
    folded = civicmap.collect(
        civicmap.load_map(_map(tmp_path / "b", "umap", UMAP, box, ", layers: categories"))
    )
    doc = json.loads(UMAP.read_text(encoding="utf-8"))
    water = next(x for x in doc["layers"] if x["properties"]["name"] == "給水所")
    # the template as the reader keeps it (uMap's Markdown heading mark dropped)
    template = next(
        lay.spec.popup for lay in as_layers.layers if lay.spec.title_in("ja") == "給水所"
    )
    assert "{施設名}" in template and "{施設名}" in water["properties"]["popupContentTemplate"]
    popups = {f["n"]: f["p"] for lay in payload(as_layers)["layers"] for f in lay["features"]}
    got = {f["n"]: f["p"] for f in payload(folded)["layers"][0]["features"]}
    named = [f["properties"]["施設名"] for f in water["features"]]
    for name in named:
        assert got[name] == popups[name], name
        times = next(f["properties"].get("時間", "") for f in water["features"]
                     if f["properties"]["施設名"] == name)  # fmt: skip
        assert name in got[name] and times in got[name]
    # the uMap export of the folded layer carries the template on those places
    exported = to_umap(folded)["layers"][0]["features"]
    own = [f for f in exported if f["properties"].get("name") in named]
    assert own and all(f["properties"]["_umap_options"]["popupContentTemplate"] == template
                       for f in own)  # fmt: skip


@pytest.mark.slow
def test_my_maps_kml_is_built_with_its_layers_and_colours(tmp_path):
    text = KML.read_text(encoding="utf-8")
    # each folder's colour, from the file: the IconStyle colour (aabbggrr) most placemarks use
    styles = {
        sid: c
        for sid, c in re.findall(
            r'<Style id="([^"]+)">\s*<IconStyle>\s*<color>([0-9a-f]{8})</color>', text
        )
    }
    expected = {}
    for folder in text.split("<Folder>")[1:]:
        name = re.search(r"<name>([^<]*)</name>", folder).group(1)
        used = Counter(
            styles[u + "-normal"] if u + "-normal" in styles else styles[u]
            for u in re.findall(r"<styleUrl>#([^<]+)</styleUrl>", folder)
        )
        abgr = used.most_common(1)[0][0]
        expected[name] = f"#{abgr[6:8]}{abgr[4:6]}{abgr[2:4]}"
    path = _map(tmp_path, "kml", KML, [132.9, 34.3, 133.4, 34.5])
    data = civicmap.collect(civicmap.load_map(path))
    got = {layer.spec.title_in("ja"): layer.spec.style.color for layer in data.layers}
    assert got == {k: v for k, v in expected.items() if k in got}
    assert len(got) >= 6
    # 244 places of the 2018 西日本豪雨 map over 50 km on one A4: too crowded to hand out, but
    # this test reads the colours the sheet draws, so it asks for the sheet as it is
    crowded = PaperOptions.from_dict({"unreadable": "print"}, file="<test>")
    pdf, _plan = render_paper(data, options=crowded)
    fills, _strokes = pdf_colours(pdf)
    for colour in set(got.values()):
        assert fills[colour] >= 1, colour
    # a warning about one folder names the map file's entry, not the n-th drawn layer
    warned = build_warnings(data)
    keys = {p.key.split(" ")[0] for p in warned if "gives no credit" not in p.message}
    assert keys == {"layers[0]"}, keys  # 東広島市 lies outside this bbox: one warning
    # the file gives no credit: one reminder for the entry, not one per folder
    assert sum("gives no credit" in p.message for p in warned) == 1


def test_a_layer_of_routes_is_not_taken_for_shelters(tmp_path, caplog):
    path = _map(tmp_path, "umap", UMAP, [139.700, 35.702, 139.714, 35.711])
    with caplog.at_level("WARNING"):
        civicmap.collect(civicmap.load_map(path))
    assert "looks like shelters" not in caplog.text  # 避難経路: lines, not places
