"""The web map of a map made in uMap draws its routes and zone as uMap styles them, and the
route opens its popup when clicked (issue 27); greyed markers for closed or stale places."""

from __future__ import annotations

import pytest
from pages import console_errors, open_map, wait_for
from paths import DATA

import civicmap
from civicmap.render import web
from civicmap.spec.web import WebOptions

pytestmark = [pytest.mark.browser, pytest.mark.slow]
UMAP = DATA / "umap" / "umap381_styled_kamimap.umap"


@pytest.fixture
def page(tmp_path):
    f = tmp_path / "map.yaml"
    f.write_text(
        "title: 紙マップ\narea: {bbox: [139.700, 35.702, 139.714, 35.711]}\nosm: false\n"
        f"layers:\n  - id: kami\n    sources:\n      - umap: {{path: {UMAP}}}\n",
        encoding="utf-8",
    )
    data = civicmap.collect(civicmap.load_map(f))
    opts = WebOptions.from_dict({"self_contained": True}, language=data.language)
    return web.write_web(data, tmp_path / "map.html", options=opts, overwrite=False)


def test_routes_and_zone_are_drawn_in_umaps_style_and_open_their_popup(browser, page):
    open_map(browser, page)
    shapes = browser.execute_script(
        "return Array.from(document.querySelectorAll('path.leaflet-interactive'))"
        ".map(p => [p.getAttribute('stroke'), p.getAttribute('stroke-dasharray'),"
        " p.getAttribute('stroke-width'), p.getAttribute('fill')])"
    )
    assert ["#800080", "10,5", "5", "none"] in shapes  # 避難経路 A: the layer's style
    assert ["#8b008b", "10,5", "3", "none"] in shapes  # 避難経路 B: its own colour and width
    assert any(s[0] == "#ff0000" and s[3] == "#ff0000" for s in shapes)  # 浸水区域
    route = browser.find_elements("css selector", "path.leaflet-interactive")[0]
    browser.execute_script(
        "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", route
    )
    # the popup's content, once filled in (it opens before its text is set on a slow run)
    popup = wait_for(
        lambda: [
            p
            for p in browser.find_elements("css selector", ".leaflet-popup-content")
            if "避難経路" in (p.get_attribute("textContent") or "")
        ]
    )
    assert popup, "the route's popup did not open with its name"
    # no marker symbol sits on a route or the zone: they are drawn as themselves
    hidden = browser.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-marker-icon'))"
        ".filter(m => m.style.opacity === '0').length"
    )
    assert hidden == 3
    # the legend shows the routes as a dashed line and the zone as an area, not as markers
    marks = browser.execute_script(
        "return Array.from(document.querySelectorAll('.cm-legend-layer')).map(li => {"
        " var m = li.querySelector('svg').firstChild;"
        " return [li.textContent.trim().split(' ')[0], m.tagName, m.getAttribute('stroke'),"
        " m.getAttribute('stroke-dasharray')]; })"
    )
    assert ["避難経路", "line", "#800080", "10,5"] in marks
    assert ["浸水区域", "rect", "#ff0000", None] in marks
    assert console_errors(browser) == []
