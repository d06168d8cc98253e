"""The offline web map in a real headless Chromium with the network switched off."""

from __future__ import annotations

import time

import pytest

from civicmap.render import assets, web

XSS_NAME = "<img src=x onerror=alert(1)>"


def console_errors(driver) -> list[str]:
    """SEVERE console entries since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        bool(assets.missing()), reason="run `python -m civicmap.render.assets install` first"
    ),
]


def _open(browser, path):
    browser.get(path.as_uri())
    for _ in range(100):
        if browser.execute_script("return !!(window.civicmapData && window.civicmapData.map)"):
            return
        time.sleep(0.05)
    raise AssertionError(f"the map did not start; console: {browser.get_log('browser')}")


@pytest.fixture
def offline_page(payload_data, tmp_path):
    return web.write_web(
        payload_data, tmp_path / "map.html", options={"offline": True}, overwrite=False
    )


def test_offline_map_loads_from_file_with_every_layer(
    browser, offline_page, payload_data, artifacts
):
    _open(browser, offline_page)
    time.sleep(0.5)
    assert console_errors(browser) == []
    assert browser.execute_script("return navigator.onLine") is False
    for layer in payload_data.layers:
        n = browser.execute_script(
            "var g = window.civicmapData.layers[arguments[0]]; var c = 0;"
            "g.eachLayer(function (l) { if (l.getLayers) l.eachLayer(function () { c++; }); });"
            "return c;",
            layer.id,
        )
        # markers (plus one outline per non-point feature)
        assert n >= len(layer.features), layer.id
    icons = browser.find_elements("css selector", ".cm-icon")
    assert len(icons) == sum(len(layer.features) for layer in payload_data.layers)
    legend = browser.find_element("css selector", ".cm-legend").text
    assert "保育園・幼稚園・認定こども園" in legend and "避難場所・避難所" in legend
    assert "新宿区オープンデータ 保育施設一覧 / 2018" in legend
    assert "位置はおおよそ" in legend and "OSMデータの範囲" in legend
    attribution = browser.find_element("css selector", ".leaflet-control-attribution").text
    assert "© OpenStreetMap contributors" in attribution
    # offline: the tile layer is not used, the note says why
    assert "ネットワークに接続できない" in browser.find_element("css selector", ".cm-note").text
    assert browser.find_elements("css selector", ".leaflet-tile") == []
    assert len(browser.find_elements("css selector", ".leaflet-pane path")) > 100  # OSM basemap
    browser.save_screenshot(str(artifacts / "web_demo_offline.png"))
    browser.set_window_size(390, 844)
    time.sleep(0.3)
    browser.save_screenshot(str(artifacts / "web_demo_phone.png"))


def test_payload_in_a_popup_shows_as_text_and_runs_nothing(browser, offline_page, artifacts):
    _open(browser, offline_page)
    marker = next(
        e
        for e in browser.find_elements("css selector", ".cm-icon")
        if e.get_attribute("title") == XSS_NAME
    )
    marker.click()
    popup = browser.find_element("css selector", ".leaflet-popup-content")
    assert popup.find_element("css selector", ".cm-popup-title").text == XSS_NAME
    assert popup.find_elements("css selector", "img") == []
    assert browser.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    browser.save_screenshot(str(artifacts / "web_popup_payload.png"))
    # the label tooltips and the search list show it as text too
    box = browser.find_element("css selector", ".cm-search input")
    box.send_keys("ひよこ")
    hits = browser.find_elements("css selector", ".cm-results li")
    assert [h.text for h in hits] == ['<script>alert(2)</script> ひよこ保育室 & "Co"']
    hits[0].click()
    time.sleep(0.5)
    title = browser.find_element("css selector", ".leaflet-popup-content .cm-popup-title").text
    assert title.startswith("<script>alert(2)</script>")
    assert browser.execute_script("return window.__alerts") == []
    assert console_errors(browser) == []
