"""The offline web map of a real city (金沢市: every GSI shelter) in headless Chromium.

The demo is too small to show what goes wrong at city size: clustering, the initial
view, search and co-located shelters are checked here on 722 real points.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pages import console_errors, settle
from pages import open_map as _open
from pages import wait_for as _wait_for

from civicmap.pipeline import collect
from civicmap.render import assets, web
from civicmap.spec.mapfile import parse_map
from civicmap.spec.web import WebOptions

GSI = Path(__file__).resolve().parents[1] / "data" / "shelters" / "gsi"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        bool(assets.missing()), reason="run `python -m civicmap.render.assets install` first"
    ),
]


def _features(name: str) -> list[dict]:
    return json.loads((GSI / name).read_text(encoding="utf-8"))["features"]


@pytest.fixture(scope="module")
def kanazawa(tmp_path_factory):
    """All 金沢市 shelters as two layers, no OSM and no tiles: a fully offline city map."""
    tmp = tmp_path_factory.mktemp("kanazawa")
    raw = {
        "title": "金沢市 避難所マップ",
        "area": {"bbox": [136.4, 36.4, 136.95, 36.75]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [
            {"id": "hinanjo", "title": {"ja": "指定避難所", "en": "Shelters"},
             "style": {"color": "#2b8a3e", "symbol": "triangle"},
             "sources": [{"geojson": {"path": str(GSI / "evacuation_172014.json"),
                                      "category": "指定避難所"}}]},
            {"id": "basho", "title": {"ja": "指定緊急避難場所", "en": "Evacuation sites"},
             "style": {"color": "#e67700", "symbol": "diamond"},
             "sources": [{"geojson": {"path": str(GSI / "emergency_172014.json"),
                                      "category": "指定緊急避難場所"}}]},
        ],
    }  # fmt: skip
    data = collect(parse_map(raw, file=str(tmp / "kanazawa.yaml"), base_dir=tmp))
    page = web.write_web(
        data,
        tmp / "kanazawa.html",
        options=WebOptions.from_dict({"self_contained": True}, language=data.language),
        overwrite=False,
    )
    return data, page


def test_offline_city_map_draws_every_marker_or_cluster_without_errors(
    browser, kanazawa, artifacts
):
    _data, page = kanazawa
    n_evac = len(_features("evacuation_172014.json"))
    n_emerg = len(_features("emergency_172014.json"))
    assert n_evac > 200 and n_emerg > 200
    _open(browser, page)
    settle(browser)
    assert console_errors(browser) == []
    # Markers in the layers: one per place, co-located places share one (f.m lists the others).
    markers, places = browser.execute_script(
        "var m = 0, p = 0; var L_ = window.civicmapData.layers;"
        "Object.keys(L_).forEach(function (id) { L_[id].eachLayer(function (g) {"
        " if (!g.getLayers) return; g.getLayers().forEach(function (x) {"
        "  if (!x.cmFeature) return; m++; p += 1 + (x.cmFeature.m || []).length; }); }); });"
        "return [m, p];"
    )
    assert places == n_evac + n_emerg
    assert markers < places  # 指定避難所 and 指定緊急避難場所 at one school: one marker
    # On screen: every marker is drawn on its own or counted in a cluster.
    shown = browser.execute_script(
        "var n = 0; document.querySelectorAll('.cm-cluster').forEach(function (c) {"
        " n += parseInt(c.textContent, 10); });"
        "return n + document.querySelectorAll('.leaflet-marker-icon.cm-icon').length;"
    )
    assert browser.find_elements("css selector", ".cm-cluster"), "nothing clustered"
    assert shown == markers
    browser.save_screenshot(str(artifacts / "web_kanazawa_desktop.png"))


def test_initial_view_contains_every_place(browser, kanazawa, artifacts):
    _data, page = kanazawa
    _open(browser, page)
    coords = [
        (f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0])
        for name in ("evacuation_172014.json", "emergency_172014.json")
        for f in _features(name)
    ]
    outside = browser.execute_script(
        "var b = window.civicmapData.map.getBounds(); var out = [];"
        "arguments[0].forEach(function (c) { if (!b.contains(c)) out.push(c); });"
        "return out;",
        [list(c) for c in coords],
    )
    assert outside == []
    # the view is about the places, not the whole (much larger) area bbox
    zoom = browser.execute_script("return window.civicmapData.map.getZoom()")
    south, west = min(c[0] for c in coords), min(c[1] for c in coords)
    north, east = max(c[0] for c in coords), max(c[1] for c in coords)
    area_fit = browser.execute_script(
        "return window.civicmapData.map.getBoundsZoom(arguments[0]);",
        [[36.4, 136.4], [36.75, 136.95]],
    )
    places_fit = browser.execute_script(
        "return window.civicmapData.map.getBoundsZoom(arguments[0]);",
        [[south, west], [north, east]],
    )
    assert zoom >= places_fit - 1 and places_fit > area_fit
    # the area outline is still drawn
    assert browser.find_elements("css selector", "path.cm-area")


def test_colocated_shelter_is_one_marker_whose_popup_lists_both_designations(
    browser, kanazawa, artifacts
):
    _data, page = kanazawa
    # Independently: an evacuation shelter with an emergency site at the same coordinates.
    emerg = {tuple(f["geometry"]["coordinates"][:2]): f for f in _features("emergency_172014.json")}
    evac = next(
        f
        for f in _features("evacuation_172014.json")
        if tuple(f["geometry"]["coordinates"][:2]) in emerg
    )
    name = evac["properties"]["施設・場所名"]
    _open(browser, page)
    found = browser.execute_script(
        "var want = arguments[0]; var hit = null; var L_ = window.civicmapData.layers;"
        "Object.keys(L_).forEach(function (id) { L_[id].eachLayer(function (g) {"
        " if (!g.getLayers) return; g.getLayers().forEach(function (m) {"
        "  if (!hit && m.cmFeature && m.cmFeature.n === want && m.cmFeature.m) hit = m; }); });"
        "});"
        "if (!hit) return null;"
        "var grp = null; Object.keys(L_).forEach(function (id) { L_[id].eachLayer(function (g) {"
        " if (g.zoomToShowLayer && g.hasLayer(hit)) grp = g; }); });"
        "window.__hit = hit;"
        "if (grp) grp.zoomToShowLayer(hit, function () { hit.openPopup(); });"
        "else hit.openPopup();"
        "return hit.cmFeature.m.length;",
        name,
    )
    assert found and found >= 1
    popup = _wait_for(
        lambda: " ".join(
            e.text for e in browser.find_elements("css selector", ".leaflet-popup-content")
        )
    )
    assert name in popup
    assert "指定避難所" in popup and "指定緊急避難場所" in popup
    # the one marker shows both layers' symbols
    icon = browser.execute_script("return window.__hit.getElement().querySelectorAll('svg').length")
    assert icon == 2
    browser.save_screenshot(str(artifacts / "web_kanazawa_colocated.png"))
    assert console_errors(browser) == []
