"""The offline web map in a real headless Chromium with the network switched off."""

from __future__ import annotations

import pytest
from pages import console_errors, settle
from pages import open_map as _open
from pages import wait_for as _wait_for

from civicmap.render import assets, web
from civicmap.spec.web import WebOptions

XSS_NAME = "<img src=x onerror=alert(1)>"


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        bool(assets.missing()), reason="run `python -m civicmap.render.assets install` first"
    ),
]


@pytest.fixture
def offline_page(payload_data, tmp_path):
    return web.write_web(
        payload_data,
        tmp_path / "map.html",
        options=WebOptions.from_dict({"self_contained": True}, language=payload_data.language),
        overwrite=False,
    )


def test_offline_map_loads_from_file_with_every_layer(
    browser, offline_page, payload_data, artifacts
):
    _open(browser, offline_page)
    settle(browser)
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
    # OSM basemap: hundreds of shapes, drawn on one canvas
    assert browser.execute_script("return window.civicmapData.basemapCount") > 100
    assert browser.find_elements("css selector", ".leaflet-cmBasemap-pane canvas")
    browser.save_screenshot(str(artifacts / "web_demo_offline.png"))
    browser.set_window_size(390, 844)
    settle(browser)
    browser.save_screenshot(str(artifacts / "web_demo_phone.png"))


def test_payload_in_a_popup_shows_as_text_and_runs_nothing(browser, offline_page, artifacts):
    _open(browser, offline_page)
    marker = next(
        e
        for e in browser.find_elements("css selector", ".cm-icon")
        if e.get_attribute("title") == XSS_NAME
    )
    marker.click()
    title = _wait_for(
        lambda: "".join(
            e.text
            for e in browser.find_elements("css selector", ".leaflet-popup-content .cm-popup-title")
        )
    )
    assert title == XSS_NAME
    popup = browser.find_element("css selector", ".leaflet-popup-content")
    assert popup.find_elements("css selector", "img") == []
    assert browser.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    browser.save_screenshot(str(artifacts / "web_popup_payload.png"))
    # the label tooltips and the search list show it as text too
    box = browser.find_element("css selector", ".cm-search input")
    box.send_keys("ひよこ")
    hits = _wait_for(lambda: browser.find_elements("css selector", ".cm-results li.cm-hit"))
    names = [h.find_element("css selector", ".cm-hit-name").text for h in hits]
    assert names == ['<script>alert(2)</script> ひよこ保育室 & "Co"']
    hits[0].click()
    title = _wait_for(
        lambda: "".join(
            e.text
            for e in browser.find_elements("css selector", ".leaflet-popup-content .cm-popup-title")
            if e.text.startswith("<script>")
        )
    )
    assert title.startswith("<script>alert(2)</script>")
    assert browser.execute_script("return window.__alerts") == []
    assert console_errors(browser) == []


@pytest.fixture
def home_page(tmp_path):
    """The demo with a home point (real walking routes); one shelter name is a payload."""
    from dataclasses import replace

    from civicmap.pipeline import collect, demo_map_path
    from civicmap.spec.mapfile import load_map

    data = collect(replace(load_map(demo_map_path()), home=(35.7066, 139.7062)))
    data.routes.loc[data.routes.index[1], "shelter_name"] = XSS_NAME
    return data, web.write_web(
        data,
        tmp_path / "home.html",
        options=WebOptions.from_dict({"self_contained": True}, language=data.language),
        overwrite=False,
    )


def test_home_point_and_walking_routes_are_drawn_with_tooltips(browser, home_page, artifacts):
    data, page = home_page
    _open(browser, page)
    settle(browser)
    assert console_errors(browser) == []
    # one home marker labelled 自宅, one drawn line per route, the nearest on foot emphasised
    home = browser.find_elements("css selector", ".cm-home-icon")
    assert len(home) == 1 and "自宅" in home[0].text
    lines = browser.find_elements("css selector", "path.cm-route")
    assert len(lines) == len(data.routes)
    nearest = browser.find_elements("css selector", "path.cm-route-nearest")
    assert len(nearest) == 1
    widths = sorted(float(e.get_attribute("stroke-width")) for e in lines)
    assert float(nearest[0].get_attribute("stroke-width")) == widths[-1] > widths[0]
    assert browser.find_elements("css selector", "path.cm-route-straight") == []  # all walked
    # hovering the nearest route names the shelter, minutes on foot and the straight distance
    from selenium.webdriver.common.action_chains import ActionChains

    browser.execute_script(
        "var r = null; window.civicmapData.routes.eachLayer(function (l) {"
        " if (l.cmRoute && l.cmRoute.nearest) r = l; });"
        "r.openTooltip(r.getLatLngs()[Math.floor(r.getLatLngs().length / 2)]);"
    )
    tip = _wait_for(
        lambda: " ".join(
            e.text
            for e in browser.find_elements("css selector", ".leaflet-tooltip .cm-route-popup")
        )
    )
    best = data.routes.sort_values("walk_m").iloc[0]
    assert best["shelter_name"] in tip and "徒歩で最も近い" in tip
    assert f"{round(best['walk_m'])} m" in tip and "分" in tip
    assert f"直線 {round(best['straight_m'])} m" in tip
    # the payload shelter name: shown as text in the home popup, nothing runs
    ActionChains(browser).move_to_element(home[0]).click().perform()
    # Leaflet fades popups in; Selenium sees no text until it is visible
    popup = _wait_for(
        lambda: " ".join(
            e.text for e in browser.find_elements("css selector", ".leaflet-popup-content")
        )
    )
    assert XSS_NAME in popup and "避難所までの道のり" in popup
    assert browser.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert browser.execute_script("return window.__alerts") == []
    legend = browser.find_element("css selector", ".cm-legend").text
    assert "自宅" in legend and "徒歩で最も近い避難所" in legend
    browser.save_screenshot(str(artifacts / "web_home_routes.png"))
