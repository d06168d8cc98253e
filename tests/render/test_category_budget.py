"""The category budget on the web map, read from the page's payload as text.

A layer with more categories than ``settings.max_categories_web`` keeps a row (and a
filter checkbox, which the page makes from the same rows) for the layer file's
declared categories and the largest others; the rest share one row "Other (N kinds,
M places)" in the layer's own look. The places keep their category text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from civicmap import settings
from civicmap.pipeline import collect
from civicmap.render import assets
from civicmap.render.export import export_text
from civicmap.render.symbols import category_counts, kept_categories
from civicmap.render.web import render_html
from civicmap.spec.mapfile import load_map

pytestmark = pytest.mark.skipif(
    bool(assets.missing()), reason="run `python -m civicmap.render.assets install` first"
)

_DATA = re.compile(r'<script type="application/json" id="civicmap-data">(.*?)</script>', re.S)

#: Places per category, in the CSV's order: C and E are the largest, B/D/F tie at 2.
PLACES = {"A": 1, "B": 2, "C": 5, "D": 2, "E": 5, "F": 2, "G": 1, "H": 1}


def _map(folder: Path, categories: str = "", language: str = "en") -> Path:
    rows = ["name,lat,lon,category"]
    i = 0
    for cat, n in PLACES.items():
        for _k in range(n):
            rows.append(f"p{i},{35.70 + i * 1e-3:.4f},139.70,{cat}")
            i += 1
    (folder / "p.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "p.yaml").write_text(
        "id: p\ntitle: {ja: 施設, en: Places}\nsources:\n  - csv: {path: p.csv}\n"
        f'style: {{color: "#2f9e44", symbol: circle}}\nfilters: [category]\n{categories}',
        encoding="utf-8",
    )
    (folder / "map.yaml").write_text(
        f"title: t\nlanguage: {language}\narea: {{bbox: [139.69, 35.69, 139.73, 35.73]}}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [p.yaml]\noutputs:\n  web: {file: out/map.html}\n",
        encoding="utf-8",
    )
    return folder / "map.yaml"


def _layer(folder: Path, categories: str = "", language: str = "en"):
    data = collect(load_map(_map(folder, categories, language)))
    page = render_html(data)
    (layer,) = json.loads(_DATA.search(page).group(1))["layers"]
    return data, layer


def test_past_the_web_budget_the_largest_keep_rows_and_the_rest_share_one(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_categories_web", 5)
    data, layer = _layer(tmp_path)
    titles = [s["title"] for s in layer["styles"]]
    # 4 own rows: C and E (5 places), then B and D (2, first to appear of the three 2s)
    assert sorted(titles[:-1]) == ["B", "C", "D", "E"]
    assert titles[-1] == "Other (4 kinds, 5 places)"  # A, F, G, H
    other = layer["styles"][-1]
    assert (other["color"], other["symbol"]) == ("#2f9e44", "circle")  # the layer's look
    assert any(f["kind"] == "category" for f in layer["filters"])  # one box per row
    assert data.layers[0].report.warnings[0]["reason"].startswith("Layer “Places” has 8")


def test_the_layer_files_categories_count_first(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_categories_web", 5)
    _data, layer = _layer(tmp_path, "categories:\n  - {name: H}\n  - {name: G}\n")
    titles = [s["title"] for s in layer["styles"]]
    assert titles == ["H", "G", "C", "E", "Other (4 kinds, 7 places)"]  # A, B, D, F


def test_within_the_budget_every_category_keeps_its_row(tmp_path):
    data, layer = _layer(tmp_path)
    assert [s["title"] for s in layer["styles"]] == list(PLACES)
    assert (
        kept_categories(data.layers[0].spec, category_counts(data.layers[0].features), 30) is None
    )
    assert not data.layers[0].report.warnings


def test_exports_give_each_place_the_look_it_has_on_the_page(tmp_path, monkeypatch):
    """uMap/GeoJSON exports used their own style table: past the budget each category got
    its own derived colour there, while the page drew them all in the layer's look."""
    monkeypatch.setattr(settings, "max_categories_web", 5)
    data, layer = _layer(tmp_path)
    look = {
        s["title"]: (s["color"], s["symbol"])
        for s in layer["styles"]
        if not s["title"].startswith("Other")
    }
    exported = json.loads(export_text(data, fmt="geojson"))["features"]
    assert len(exported) == sum(PLACES.values())
    for f in exported:
        p = f["properties"]
        want = look.get(p["category"], ("#2f9e44", "circle"))  # the rest: the layer's look
        assert (p["marker-color"], p["marker-symbol"]) == want, p
    umap = json.loads(export_text(data, fmt="umap"))
    colours = {
        f["properties"]["category"]: f["properties"]["_umap_options"].get("color")
        for f in umap["layers"][0]["features"]
    }
    assert {c: colours[c] for c in look} == {c: v[0] for c, v in look.items()}
    assert {colours[c] for c in "AFGH"} == {"#2f9e44"}


def test_the_other_row_speaks_the_pages_language(tmp_path, monkeypatch):
    """The row's words came from the message catalog (ja and en only): a vi page said
    "Other (4 kinds, 5 places)" in English. They are a glossary entry now."""
    monkeypatch.setattr(settings, "max_categories_web", 5)
    _data, layer = _layer(tmp_path, language="vi")
    assert layer["styles"][-1]["title"] == "Khác (4 loại, 5 địa điểm)"
