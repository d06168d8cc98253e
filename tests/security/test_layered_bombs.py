"""Layered files (uMap datalayers, KML folders) that would become thousands of map layers.

A layer whose one source is a ``.umap`` or KML gives one map layer per layer of the
file. A hostile or generated file with thousands of layers, or child layers nested
as deep as the JSON limit allows, must still build in bounded time, with at most
``settings.max_file_layers`` map layers, no place lost, one warning naming the file,
and never a traceback. Every file is generated here (no payload files committed).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner

from civicmap import settings
from civicmap.cli import main
from civicmap.render import assets

BBOX = "[139.69, 35.69, 139.73, 35.73]"
KML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'


def _point(i: int) -> list[float]:
    return [139.700 + (i % 100) * 2e-4, 35.700 + (i // 100) * 2e-4]


def _umap_many(path: Path, n: int) -> None:
    """A .umap of ``n`` datalayers, one place each, every other one coloured."""
    layers = [
        {
            "type": "FeatureCollection",
            "_umap_options": {"name": f"層{i}", **({"color": "Red"} if i % 2 else {})},
            "features": [
                {
                    "type": "Feature",
                    "properties": {"name": f"p{i}"},
                    "geometry": {"type": "Point", "coordinates": _point(i)},
                }
            ],
        }
        for i in range(n)
    ]
    path.write_text(json.dumps({"type": "umap", "layers": layers}), encoding="utf-8")


def _umap_deep(path: Path, depth: int) -> None:
    """A .umap whose layer 1 holds layer 2 … down to ``depth``, one place each (written as
    text: the json module itself cannot write 2,000 levels)."""
    head = "".join(
        json.dumps(
            {
                "type": "FeatureCollection",
                "_umap_options": {"name": f"D{d}"},
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": f"d{d}"},
                        "geometry": {"type": "Point", "coordinates": _point(d)},
                    }
                ],
            }
        )[:-1]  # the object left open for its child layers
        + ', "layers": ['
        for d in range(1, depth + 1)
    )
    path.write_text('{"type": "umap", "layers": [' + head + "]}" * depth + "]}", encoding="utf-8")


def _kml_many(path: Path, n: int) -> None:
    """A KML of ``n`` folders (My Maps layers), one placemark each."""
    folders = "".join(
        f"<Folder><name>{escape(f'フォルダ{i}')}</name><Placemark><name>k{i}</name>"
        f"<Point><coordinates>{_point(i)[0]},{_point(i)[1]}</coordinates></Point>"
        "</Placemark></Folder>"
        for i in range(n)
    )
    path.write_text(f"{KML_HEAD}<Document><name>d</name>{folders}</Document></kml>", "utf-8")


def _map(folder: Path, source: str, outputs: str) -> Path:
    (folder / "map.yaml").write_text(
        f"title: 多層テスト\narea: {{bbox: {BBOX}}}\nbasemap: {{draw: false}}\nosm: false\n"
        f"layers:\n  - {{id: x, title: {{ja: X, en: X}}, sources: [{source}], "
        'style: {color: "#d6336c", symbol: circle}}\n'
        f"outputs: {outputs}\n",
        encoding="utf-8",
    )
    return folder / "map.yaml"


def _build(mapfile: Path):
    start = time.monotonic()
    res = CliRunner().invoke(main, ["--lang", "en", "build", str(mapfile)], catch_exceptions=False)
    return res, time.monotonic() - start


def _geojson_layers(folder: Path) -> dict[str, int]:
    """Map layer id → places, from the build's GeoJSON export."""
    data = json.loads((folder / "out" / "map.geojson").read_text(encoding="utf-8"))
    out: dict[str, int] = {}
    for f in data["features"]:
        out[f["properties"]["layer"]] = out.get(f["properties"]["layer"], 0) + 1
    return out


def _page_layers(folder: Path) -> list[dict]:
    page = (folder / "out" / "map.html").read_text(encoding="utf-8")
    block = re.search(r'id="civicmap-data">(.*?)</script>', page, re.S)
    return json.loads(block.group(1))["layers"]


# --- many layers ----------------------------------------------------------------


def test_a_file_over_the_layer_cap_keeps_its_first_layers_and_folds_the_rest(tmp_path, monkeypatch):
    """12 datalayers, cap 5: layers 1-4 as in the file, the other 8 one layer, one warning."""
    monkeypatch.setattr(settings, "max_file_layers", 5)
    _umap_many(tmp_path / "many.umap", 12)
    res, _s = _build(
        _map(tmp_path, "{umap: {path: many.umap}}", "{geojson: {file: out/map.geojson}}")
    )
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    layers = _geojson_layers(tmp_path)
    assert layers == {"x-1": 1, "x-2": 1, "x-3": 1, "x-4": 1, "x-5": 8}
    warnings = [line for line in res.output.splitlines() if "many.umap has 12 layers" in line]
    assert len(warnings) == 1, res.output
    assert "layers: categories" in warnings[0] and "max_file_layers" in warnings[0]
    # the folded layers' names are the last layer's categories
    data = json.loads((tmp_path / "out" / "map.geojson").read_text(encoding="utf-8"))
    cats = [
        f["properties"]["category"] for f in data["features"] if f["properties"]["layer"] == "x-5"
    ]
    assert cats == [f"層{i}" for i in range(4, 12)]


def test_a_file_at_the_cap_is_unchanged(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_file_layers", 5)
    _umap_many(tmp_path / "five.umap", 5)
    res, _s = _build(
        _map(tmp_path, "{umap: {path: five.umap}}", "{geojson: {file: out/map.geojson}}")
    )
    assert res.exit_code == 0, res.output
    assert _geojson_layers(tmp_path) == {f"x-{i}": 1 for i in range(1, 6)}
    assert "max_file_layers" not in res.output


def test_layers_categories_is_not_capped_it_is_one_layer(tmp_path, monkeypatch):
    """The fix the warning names: ``layers: categories`` keeps one layer, no warning."""
    monkeypatch.setattr(settings, "max_file_layers", 5)
    _umap_many(tmp_path / "many.umap", 12)
    res, _s = _build(
        _map(tmp_path, "{umap: {path: many.umap, layers: categories}}",
             "{geojson: {file: out/map.geojson}}")
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert _geojson_layers(tmp_path) == {"x": 12}
    assert "max_file_layers" not in res.output


@pytest.mark.slow
@pytest.mark.skipif(bool(assets.missing()), reason="Leaflet files not installed")
def test_umap_with_5000_datalayers_builds_40_layers_quickly(tmp_path):
    _umap_many(tmp_path / "bomb.umap", 5000)
    mapfile = _map(
        tmp_path, "{umap: {path: bomb.umap}}",
        "{web: {file: out/map.html}, geojson: {file: out/map.geojson}, umap: {file: out/map.umap}}",
    )  # fmt: skip
    res, seconds = _build(mapfile)
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert seconds < 120, f"{seconds:.0f} s"
    assert len(_page_layers(tmp_path)) == settings.max_file_layers == 40
    layers = _geojson_layers(tmp_path)
    assert len(layers) == 40 and sum(layers.values()) == 5000  # no place lost
    assert layers["x-40"] == 4961
    export = json.loads((tmp_path / "out" / "map.umap").read_text(encoding="utf-8"))
    assert len(export["layers"]) == 40
    assert sum("bomb.umap has 5000 layers" in line for line in res.output.splitlines()) == 1


@pytest.mark.slow
@pytest.mark.skipif(bool(assets.missing()), reason="Leaflet files not installed")
def test_kml_with_3000_folders_builds_40_layers_quickly(tmp_path):
    _kml_many(tmp_path / "bomb.kml", 3000)
    mapfile = _map(
        tmp_path, "{kml: {path: bomb.kml}}",
        "{web: {file: out/map.html}, geojson: {file: out/map.geojson}, kml: {file: out/map.kml}}",
    )  # fmt: skip
    res, seconds = _build(mapfile)
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert seconds < 120, f"{seconds:.0f} s"
    assert len(_page_layers(tmp_path)) == 40
    layers = _geojson_layers(tmp_path)
    assert len(layers) == 40 and sum(layers.values()) == 3000
    kml = (tmp_path / "out" / "map.kml").read_text(encoding="utf-8")
    assert kml.count("<Folder>") == 40
    assert sum("bomb.kml has 3000 layers" in line for line in res.output.splitlines()) == 1


# --- deep child layers -------------------------------------------------------------


def test_child_layers_deeper_than_the_cap_join_their_ancestor(tmp_path):
    """30 levels of child layers (within the JSON limit): 10 layers, all 30 places, one warning."""
    _umap_deep(tmp_path / "deep.umap", 30)
    res, _s = _build(
        _map(tmp_path, "{umap: {path: deep.umap}}", "{geojson: {file: out/map.geojson}}")
    )
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    layers = _geojson_layers(tmp_path)
    assert len(layers) == settings.max_child_layer_depth == 10
    assert sum(layers.values()) == 30 and layers["x-10"] == 21  # level 10 and the 20 below it
    data = json.loads((tmp_path / "out" / "map.geojson").read_text(encoding="utf-8"))
    cats = {
        f["properties"]["category"] for f in data["features"] if f["properties"]["layer"] == "x-10"
    }
    assert cats == {f"D{d}" for d in range(10, 31)}  # each deeper layer is named by category
    lines = [line for line in res.output.splitlines() if "nested more than 10 levels" in line]
    assert len(lines) == 1, res.output
    assert "deep.umap" in lines[0] and "20 uMap child layers" in lines[0]
    assert "max_child_layer_depth" in lines[0]


def test_2000_deep_child_layers_are_one_clear_error_quickly(tmp_path):
    _umap_deep(tmp_path / "deep.umap", 2000)
    res, seconds = _build(
        _map(tmp_path, "{umap: {path: deep.umap}}", "{geojson: {file: out/map.geojson}}")
    )
    assert res.exit_code in (1, 2), res.output
    assert "Traceback" not in res.output and "RecursionError" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "deep.umap" in errors[0] and "nested more than" in errors[0]
    assert seconds < 60
    assert not (tmp_path / "out" / "map.geojson").exists()


def test_deep_child_layers_under_a_raised_json_limit_never_recurse(tmp_path, monkeypatch):
    """A user who raised ``max_nesting``: 450 levels read with a stack, capped at 10 layers."""
    monkeypatch.setattr(settings, "max_nesting", 5000)
    _umap_deep(tmp_path / "deep.umap", 450)
    res, _s = _build(
        _map(tmp_path, "{umap: {path: deep.umap}}", "{geojson: {file: out/map.geojson}}")
    )
    assert res.exit_code == 0, res.output
    layers = _geojson_layers(tmp_path)
    assert len(layers) == 10 and sum(layers.values()) == 450


# --- the file's popup template is data, never code ----------------------------------

HOSTILE_TEMPLATE = (
    "# {name}\n{name.__class__}|{0}|{name[0]}|{note!r:>99}|{note}\n<script>alert(1)</script>"
)
HOSTILE_NOTE = "<script>alert(2)</script>{name}{0}"


@pytest.mark.skipif(bool(assets.missing()), reason="Leaflet files not installed")
def test_umap_popup_template_fills_field_names_only_on_web_and_in_exports(tmp_path):
    umap = {
        "type": "umap",
        "layers": [
            {
                "type": "FeatureCollection",
                "_umap_options": {"name": "層", "popupContentTemplate": HOSTILE_TEMPLATE},
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "給水所", "note": HOSTILE_NOTE},
                        "geometry": {"type": "Point", "coordinates": [139.705, 35.705]},
                    }
                ],
            }
        ],
    }
    (tmp_path / "t.umap").write_text(json.dumps(umap, ensure_ascii=False), encoding="utf-8")
    mapfile = _map(
        tmp_path, "{umap: {path: t.umap}}",
        "{web: {file: out/map.html}, umap: {file: out/map.umap}, kml: {file: out/map.kml}, "
        "geojson: {file: out/map.geojson}}",
    )  # fmt: skip
    res, _s = _build(mapfile)
    assert res.exit_code == 0, res.output
    page = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    (feature,) = _page_layers(tmp_path)[0]["features"]
    # fields are column names only: attribute, index, conversion and format syntax name no
    # column and stay empty; the value goes in once, as text ({name} in it is not filled)
    assert feature["p"] == f"給水所\n||||{HOSTILE_NOTE}\n<script>alert(1)</script>"
    assert "<class" not in page
    assert "<script>alert" not in page  # never raw markup in the page, only escaped JSON
    # exports: uMap gets the template as the file had it, for uMap to fill; values as they are
    export = json.loads((tmp_path / "out" / "map.umap").read_text(encoding="utf-8"))
    layer = export["layers"][0]
    opts = layer.get("_umap_options") or layer.get("properties")
    assert opts["popupContentTemplate"] == (
        "{name}\n{name.__class__}|{0}|{name[0]}|{note!r:>99}|{note}\n<script>alert(1)</script>"
    )
    assert layer["features"][0]["properties"]["note"] == HOSTILE_NOTE
    geo = json.loads((tmp_path / "out" / "map.geojson").read_text(encoding="utf-8"))
    assert geo["features"][0]["properties"]["note"] == HOSTILE_NOTE
    kml = (tmp_path / "out" / "map.kml").read_text(encoding="utf-8")
    assert "<script>" not in kml and "&lt;script&gt;alert(2)" in kml
