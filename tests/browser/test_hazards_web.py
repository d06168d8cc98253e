"""Hazard zones on the web map in headless Chromium: the overlay toggles, the legend, the popup (issue 25).

Built from the real 金沢市 GSI shelter lists and the 石川県 list, with the hand-made
A31a file and a generated 3–5 m zone around 旧野町小学校 (see tests/test_hazards.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from pages import console_errors, displayed, open_map, settle, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import test_hazards_tiles
from test_hazards import FLOOD, LANDSLIDE, SCHOOL, _deep_zone, _map

from civicmap import settings
from civicmap.pack import fetch_pack, with_pack
from civicmap.pipeline import collect, render
from civicmap.spec.mapfile import load_map

#: The portal's flood-max tiles on 127.0.0.1 (tests/test_hazards_tiles.py).
hazard_server = test_hazards_tiles.hazard_server

pytestmark = pytest.mark.slow


def _zones(browser) -> int:
    return len(browser.find_elements("css selector", ".leaflet-cm-hazards-pane path"))


def test_the_hazard_overlay_toggles_and_the_legend_and_popup_say_it(browser, tmp_path, artifacts):
    deep = _deep_zone(tmp_path)
    spec = load_map(
        _map(
            tmp_path,
            hazards=[{"file": str(FLOOD), "kind": "flood", "year": 2023},
                     {"file": str(deep), "kind": "flood", "title": "洪水（生成した区域）"}],
            outputs={"web": {"file": "out/map.html", "self_contained": True}},
        )
    )  # fmt: skip
    data = collect(spec)
    render(data)
    open_map(browser, tmp_path / "out/map.html")
    settle(browser)
    assert console_errors(browser) == []
    drawn = wait_for(lambda: _zones(browser))
    n_zones = sum(len(layer.zones) for layer in data.hazards.layers)
    assert drawn == n_zones  # every zone of both files inside the area
    # the layer control lists one overlay per hazard; unticking hides only that one
    browser.execute_script(
        "document.querySelector('.leaflet-control-layers').classList.add("
        "'leaflet-control-layers-expanded');"
    )
    rows = browser.find_elements("css selector", ".leaflet-control-layers-overlays label")
    hazard_rows = [r for r in rows if r.find_elements("css selector", ".cm-hazard-name")]
    assert [r.text.strip() for r in hazard_rows] == ["洪水の想定", "洪水（生成した区域）"]
    box = hazard_rows[0].find_element("css selector", "input")
    browser.execute_script("arguments[0].click();", box)
    less = n_zones - len(data.hazards.layers[0].zones)
    assert wait_for(lambda: _zones(browser) == less), _zones(browser)
    browser.execute_script("arguments[0].click();", box)
    assert wait_for(lambda: _zones(browser) == n_zones), _zones(browser)
    browser.save_screenshot(str(artifacts / "hazards_web.png"))
    # the legend: classes and the two honest sentences
    legend = browser.find_element("css selector", ".cm-legend").get_attribute("textContent")
    for words in (
        "0.5 m未満",
        "3–5 m",
        "20 m以上",
        "想定区域の外でも安全とは限りません。",
        "詳しくは市町村のハザードマップで確認してください。",
    ):
        assert words in legend, words  # fmt: skip
    # the flagged school's popup says what the hazard is and that it may not serve
    rows = [
        f
        for layer in browser.execute_script("return window.civicmapData.data.layers;")
        for f in layer["features"]
        if f["n"] == SCHOOL
    ]
    assert rows and any(
        r[1] == "この災害では使えない可能性があります（洪水）" for f in rows for r in f["p"]
    )


def _markers(browser) -> int:
    return len(browser.find_elements("css selector", ".leaflet-marker-pane .leaflet-marker-icon"))


def test_the_disaster_choice_shows_only_suited_shelters_with_that_hazard_on(
    browser, tmp_path, artifacts
):
    """Choosing 洪水 hides the sites not suited to it and the landslide zones; すべて brings back all."""
    deep = _deep_zone(tmp_path)
    spec = load_map(
        _map(
            tmp_path,
            hazards=[{"file": str(deep), "kind": "flood"},
                     {"file": str(LANDSLIDE), "kind": "landslide"}],
            outputs={"web": {"file": "out/map.html", "self_contained": True, "cluster": False}},
        )
    )  # fmt: skip
    data = collect(spec)
    render(data)
    open_map(browser, tmp_path / "out/map.html")
    total = wait_for(lambda: _markers(browser))
    assert console_errors(browser) == []
    zones_all = _zones(browser)
    flood_zones = len(data.hazards.layers[0].zones)
    assert zones_all == flood_zones + len(data.hazards.layers[1].zones)
    features = [
        f
        for layer in browser.execute_script("return window.civicmapData.data.layers;")
        for f in layer["features"]
    ]
    assert len(features) == total

    def suits(f):
        return (
            "d" not in f
            or "flood" in f["d"]
            or any("flood" in g.get("d", []) for g in f.get("m", []))
        )

    want = sum(1 for f in features if suits(f))
    assert 0 < want < total
    assert not suits(next(f for f in features if f["n"] == SCHOOL))  # in a 3–5 m zone
    select = browser.find_element("css selector", ".cm-disaster select")
    options = [o.text for o in select.find_elements("css selector", "option")]
    assert options[0] == "すべての避難先" and "洪水" in options and "土砂災害" in options
    browser.execute_script(
        "arguments[0].value = 'flood'; arguments[0].dispatchEvent(new Event('change'));", select
    )
    assert wait_for(lambda: _markers(browser) == want and _zones(browser) == flood_zones), (
        _markers(browser),
        _zones(browser),
    )  # the unsuited sites and the landslide zones are off
    browser.save_screenshot(str(artifacts / "hazards_disaster_view.png"))
    browser.execute_script(
        "arguments[0].value = ''; arguments[0].dispatchEvent(new Event('change'));", select
    )
    assert wait_for(lambda: _markers(browser) == total and _zones(browser) == zones_all)
    # labels: none at the city-wide view; zoomed in on the school, its name is shown beside
    # it (just right of its symbol, centred on it)
    school = next(f for f in features if f["n"] == SCHOOL and f.get("l"))
    assert browser.execute_script("return window.civicmapData.map.getZoom();") < 16
    assert displayed(browser, browser.find_elements("css selector", ".cm-label")) == []
    label = wait_for(
        lambda: browser.execute_script(
            "var d = window.civicmapData, want = arguments[0], m = null;"
            "Object.keys(d.layers).forEach(function (k) { d.layers[k].eachLayer(function g(l) {"
            " if (l.eachLayer) l.eachLayer(g);"
            " else if (!m && l.cmFeature && l.cmFeature.n === want && l.cmFeature.l) m = l; }); });"
            "d.map.setView(m.getLatLng(), 17, {animate: false});"
            "var t = m.getTooltip(); if (!t || !t.getElement()) return null;"
            "var a = t.getElement().getBoundingClientRect(), b = m.getElement().getBoundingClientRect();"
            "return [t.getElement(), a.left - b.right, (a.top + a.bottom - b.top - b.bottom) / 2];",
            SCHOOL,
        )
    )
    assert label, "no label beside the school at zoom 17"
    element, gap, off_centre = label
    assert element.is_displayed() and element.text == school["l"]
    assert 0 <= gap <= 12 and abs(off_centre) <= 2, (gap, off_centre)


def _hazard_tiles(browser) -> list[dict]:
    return browser.execute_script(
        "return Array.prototype.map.call("
        " document.querySelectorAll('.leaflet-cm-hazards-pane img.leaflet-tile'),"
        " function (i) { return {src: i.getAttribute('src'), done: i.complete,"
        "                        w: i.naturalWidth}; });"
    )


def test_an_offline_page_carries_the_portal_tiles_from_the_pack(
    browser, tmp_path, request, monkeypatch, artifacts
):
    """Self-contained, built offline from the pack: the overlay's tiles load with no network."""
    path = _map(tmp_path, hazards=["flood-max"],
                outputs={"web": {"file": "out/map.html", "self_contained": True}})  # fmt: skip
    asked = request.getfixturevalue("hazard_server")["asked"]  # the portal on loopback
    info = fetch_pack(load_map(path))
    monkeypatch.setattr(settings, "offline", True)
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "empty-cache")
    asked.clear()
    render(collect(with_pack(load_map(path), info.folder)))
    assert asked == []  # built from the pack alone
    open_map(browser, tmp_path / "out/map.html")  # the browser has no network at all

    def loaded():
        return [t for t in _hazard_tiles(browser)
                if t["done"] and t["w"] == 256 and t["src"].startswith("data:image/png")]  # fmt: skip

    tiles_in = wait_for(loaded)
    assert tiles_in, _hazard_tiles(browser)  # the pack's zone tiles, drawn (naturalWidth 256)
    assert console_errors(browser) == []
    browser.save_screenshot(str(artifacts / "hazards_offline_tiles.png"))
    legend = browser.find_element("css selector", ".cm-legend").get_attribute("textContent")
    assert "洪水 想定最大規模" in legend and "ネットワーク" not in legend


def test_a_page_without_the_pack_says_its_hazard_layer_needs_a_network(
    browser, tmp_path, monkeypatch
):
    """Built offline with no pack: the legend says the portal layer needs a network, no internals."""
    monkeypatch.setattr(settings, "offline", True)
    path = _map(tmp_path, hazards=["flood-max"],
                outputs={"web": {"file": "out/map.html", "self_contained": True}})  # fmt: skip
    render(collect(load_map(path)))
    open_map(browser, tmp_path / "out/map.html")
    legend = browser.find_element("css selector", ".cm-legend").get_attribute("textContent")
    assert "（この層の表示にはネットワーク接続が必要です）" in legend
    for internal in ("http", "127.0.0.1", "disaportal", "{z}", str(tmp_path), "flood-max"):
        assert internal not in legend, internal


def _legend_counts(browser) -> dict[str, int]:
    out = {}
    for li in browser.find_elements("css selector", ".cm-legend-layer"):
        text = li.find_element("css selector", ".cm-count").get_attribute("textContent")
        out[li.get_attribute("data-layer")] = int("".join(ch for ch in text if ch.isdigit()))
    return out


def test_a_disaster_map_keeps_every_site_and_all_brings_them_back_on_a_phone(
    browser, tmp_path, artifacts
):
    """disaster: 洪水 on the web (390×844): unsuited sites hidden at load, not left out.

    「すべての避難先」 shows them again; the legend's per-layer counts follow the choice,
    checked against counts computed here from the shelter rows and the hazard check.
    """
    browser.set_window_size(390, 844)
    deep = _deep_zone(tmp_path)
    path = _map(
        tmp_path,
        hazards=[
            {"file": str(deep), "kind": "flood"},
            {"file": str(LANDSLIDE), "kind": "landslide"},
        ],
        outputs={"web": {"file": "out/map.html", "self_contained": True, "cluster": False}},
    )
    raw = yaml.safe_load(path.read_text("utf-8"))
    raw["disaster"] = "洪水"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    data = collect(load_map(path))
    render(data)
    every = {layer.id: layer.features for layer in data.every_site}
    suited = {
        lid: sum(
            1
            for label in f.index
            if f.loc[label].get("serves_flood") is True
            and "flood" not in data.hazards.sites[(lid, label)].unusable
        )
        for lid, f in every.items()
    }
    totals = {lid: len(f) for lid, f in every.items()}
    assert all(0 < suited[k] < totals[k] for k in totals)

    open_map(browser, tmp_path / "out/map.html")
    assert console_errors(browser) == []
    assert browser.execute_script("return window.innerWidth;") <= 400
    payload = browser.execute_script("return window.civicmapData.data.layers;")
    items = [f for layer in payload for f in layer["features"]]
    sites = len(items) + sum(len(f.get("m", [])) for f in items)
    assert sites == sum(totals.values())  # every site is in the page, not only the suited

    def shows(f):
        return "flood" in f.get("d", []) or any("flood" in g.get("d", []) for g in f.get("m", []))

    at_load = sum(1 for f in items if shows(f))
    assert wait_for(lambda: _markers(browser) == at_load)
    select = browser.find_element("css selector", ".cm-disaster select")
    assert select.get_attribute("value") == "flood"
    assert _legend_counts(browser) == suited
    browser.save_screenshot(str(artifacts / "hazards_disaster_phone.png"))

    browser.execute_script(
        "arguments[0].value = ''; arguments[0].dispatchEvent(new Event('change'));", select
    )
    assert wait_for(lambda: _markers(browser) == len(items))  # 「すべての避難先」: all back
    assert _legend_counts(browser) == totals
    browser.execute_script(
        "arguments[0].value = 'flood'; arguments[0].dispatchEvent(new Event('change'));", select
    )
    assert wait_for(lambda: _markers(browser) == at_load)
    assert _legend_counts(browser) == suited
