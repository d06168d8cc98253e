"""What a reader of the demo web map sees and touches: legend, popups, links, search, print.

Headless Chromium, network off. Expected values come from the CSV files (read with
pandas here), not from the page's own payload.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from pages import console_errors, enter_text, settle
from pages import open_map as _open
from pages import wait_for as _wait_for

from civicmap.pipeline import collect, demo_map_path
from civicmap.render import assets, web
from civicmap.spec.mapfile import parse_map
from civicmap.spec.web import WebOptions

DATA = Path(__file__).resolve().parents[1] / "data"
LINKS_CSV = DATA / "web" / "links.csv"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        bool(assets.missing()), reason="run `python -m civicmap.render.assets install` first"
    ),
]


def _open_popup_of(browser, name: str) -> str:
    """Open the popup of the marker titled ``name``; its text once visible."""
    el = _popup_el(browser, name)
    return el.text if el else ""


def _popup_el(browser, name: str):
    """Open the popup of the marker titled ``name``; its content element once visible."""
    browser.execute_script(
        "var want = arguments[0]; var L_ = window.civicmapData.layers;"
        "Object.keys(L_).forEach(function (id) { L_[id].eachLayer(function (g) {"
        " if (!g.getLayers) return; g.getLayers().forEach(function (m) {"
        "  if (m.cmFeature && m.cmFeature.n === want) m.openPopup(); }); }); });",
        name,
    )
    return _wait_for(
        lambda: next(
            (
                e
                for e in browser.find_elements("css selector", ".leaflet-popup-content")
                if e.text.split("\n")[0] == name
            ),
            None,
        )
    )


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory):
    """The demo plus a hand-made layer of safe and unsafe links and an unnamed place."""
    tmp = tmp_path_factory.mktemp("items")
    demo = demo_map_path()
    raw = yaml.safe_load(demo.read_text(encoding="utf-8"))
    raw["layers"].append(
        {
            "id": "links",
            "title": {"ja": "相談窓口", "en": "Help desks"},
            "popup": ["name", "address", "phone", "email", "website"],
            "style": {"color": "#0b7285", "symbol": "star"},
            "sources": [{"csv": {"path": str(LINKS_CSV), "category": "相談窓口"}}],
        }
    )
    data = collect(parse_map(raw, file=str(demo), base_dir=demo.parent))
    page = web.write_web(
        data,
        tmp / "demo.html",
        options=WebOptions.from_dict({"self_contained": True}, language=data.language),
        overwrite=False,
    )
    return data, page


def test_legend_has_a_row_per_category_with_its_count_and_symbol(browser, demo_page, artifacts):
    data, page = demo_page
    _open(browser, page)
    # Independently: the layer's features counted by category with pandas.
    expected = data.layer("childcare").features["category"].value_counts().to_dict()
    assert len(expected) >= 3
    rows = browser.find_elements("css selector", ".cm-legend li.cm-legend-category")
    got = {}
    shapes = {}
    for r in rows:
        if r.get_attribute("data-layer") != "childcare":
            continue
        cat = r.get_attribute("data-category")
        got[cat] = int(r.find_element("css selector", ".cm-count").text.rstrip("件"))
        path = r.find_element("css selector", "svg path")
        shapes[cat] = (path.get_attribute("d"), path.get_attribute("fill"))
    assert got == expected
    # categories differ in shape AND colour
    assert len({d for d, _ in shapes.values()}) == len(shapes)
    assert len({c for _, c in shapes.values()}) == len(shapes)
    # the markers on the map use the category symbols
    marker_paths = {
        e.get_attribute("d") for e in browser.find_elements("css selector", ".cm-icon svg path")
    }
    assert {d for d, _ in shapes.values()} <= marker_paths
    assert console_errors(browser) == []
    browser.save_screenshot(str(artifacts / "web_items_legend_desktop.png"))


def test_links_are_clickable_only_for_safe_schemes(browser, demo_page, artifacts):
    _data, page = demo_page
    _open(browser, page)
    rows = pd.read_csv(LINKS_CSV, dtype=str).fillna("")
    safe = rows.iloc[0]
    text = _open_popup_of(browser, safe["名称"])
    assert "電話番号" in text and "メール" in text and "ウェブサイト" in text
    hrefs = {
        a.text: a.get_attribute("href")
        for a in browser.find_elements("css selector", ".leaflet-popup-content a")
    }
    assert hrefs[safe["電話番号"]] == "tel:" + safe["電話番号"].replace("-", "")
    assert hrefs[safe["email"]] == "mailto:" + safe["email"]
    assert hrefs[safe["website"]] == safe["website"]
    # directions: a geo: URI and a map-app link to the place
    assert "ここへの道順" in text
    geo = browser.find_element("css selector", ".leaflet-popup-content a.cm-geo")
    assert geo.get_attribute("href").startswith(f"geo:{float(safe['緯度'])},{float(safe['経度'])}")
    app = browser.find_element("css selector", ".leaflet-popup-content a.cm-mapapp")
    assert app.get_attribute("href").startswith("https://")
    browser.save_screenshot(str(artifacts / "web_items_popup_links.png"))
    for _, bad in rows.iloc[1:3].iterrows():
        browser.execute_script("window.civicmapData.map.closePopup();")
        _popup_el(browser, bad["名称"])
        # read text and links in one step (Leaflet may re-render the popup while panning)
        text, links = browser.execute_script(
            "var want = arguments[0]; var out = null;"
            "document.querySelectorAll('.leaflet-popup-content').forEach(function (e) {"
            " var t = e.querySelector('.cm-popup-title');"
            " if (t && t.textContent === want) out = [e.textContent, Array.from("
            "  e.querySelectorAll('a:not(.cm-geo):not(.cm-mapapp)')).map("
            "   function (a) { return a.getAttribute('href'); })]; });"
            "return out;",
            bad["名称"],
        )
        assert bad["website"] in text  # shown as text ...
        assert links == []  # ... never as a link
    assert browser.execute_script("return window.__alerts") == []
    assert console_errors(browser) == []


def test_unnamed_place_is_named_by_its_kind(browser, demo_page):
    data, page = demo_page
    _open(browser, page)
    unnamed = data.layer("links").features
    assert (unnamed["name"] == "").sum() == 1
    titles = [e.get_attribute("title") for e in browser.find_elements("css selector", ".cm-icon")]
    assert "相談窓口" in titles  # its category, not an id
    assert not any(t.startswith(("node/", "way/", "links.csv")) for t in titles)


def test_search_by_address_and_by_kana_in_either_script(browser, demo_page, artifacts):
    data, page = demo_page
    _open(browser, page)
    csv = pd.read_csv(demo_map_path().parent / "shinjuku_nurseryFacilities.csv")
    on_map = set(data.layer("childcare").features["name"])
    csv = csv[csv["Name"].isin(on_map)].reset_index(drop=True)
    box = browser.find_element("css selector", ".cm-search input")

    def hits(q):
        enter_text(browser, box, q)
        found = _wait_for(
            lambda: (
                browser.find_elements("css selector", ".cm-results li.cm-hit")
                or browser.find_elements("css selector", ".cm-results li.cm-none")
            )
        )
        return [
            h.find_element("css selector", ".cm-hit-name").text
            for h in found
            if "cm-hit" in h.get_attribute("class")
        ]

    # kana: the CSV's hiragana reading, typed in katakana
    row = csv.iloc[0]
    kata = "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in row["Name_kana"])
    assert row["Name"] in hits(kata)
    assert row["Name"] in hits(row["Name_kana"][:5])
    # address: every nursery whose address contains a town name, per the CSV
    town = "大久保"
    address = csv["Add1"].fillna("") + csv["Add2"].fillna("").astype(str)
    want = set(csv.loc[address.str.contains(town), "Name"])
    got = set(hits(town))
    assert want and want <= got
    # grouped by layer: a heading per layer, hits under it
    heads = [
        e.get_attribute("data-layer")
        for e in browser.find_elements("css selector", ".cm-results li.cm-results-layer")
    ]
    assert heads[0] == "childcare" and len(heads) == len(set(heads))
    browser.save_screenshot(str(artifacts / "web_items_search.png"))
    # category: a kind of place finds its places
    assert len(hits("認証保育所")) == (csv["Type"] == "認証").sum()
    assert console_errors(browser) == []


def test_print_media_hides_controls_and_shows_legend_credits_and_list(
    browser, demo_page, artifacts
):
    _data, page = demo_page
    _open(browser, page)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    # the page has switched to its printed layout (the legend moved below the map)
    _wait_for(lambda: browser.find_elements("css selector", ".cm-legend-printed"))
    settle(browser)

    def shown(sel):
        return browser.execute_script(
            "var e = document.querySelector(arguments[0]);"
            "return !!e && getComputedStyle(e).display !== 'none' && e.offsetParent !== null;",
            sel,
        )

    for control in (".leaflet-control-zoom", ".cm-search", ".leaflet-control-layers"):
        assert not shown(control), control
    assert shown(".cm-legend") and shown(".leaflet-control-attribution")
    assert shown(".cm-print-list")
    items = browser.find_elements("css selector", ".cm-print-list li")
    drawn = browser.execute_script(
        "var n = 0; window.civicmapData.data.layers.forEach(function (l) {"
        " n += l.features.length; }); return n;"
    )
    assert len(items) == drawn
    listed = browser.find_element("css selector", ".cm-print-list").text
    assert "西早稲田中学校" in listed
    browser.set_window_size(1000, 1400)
    browser.save_screenshot(str(artifacts / "web_items_print.png"))
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert not shown(".cm-print-list")


@pytest.mark.parametrize("size", [(390, 844), (1280, 900)])
def test_layout_at_phone_and_desktop_size(browser, demo_page, artifacts, size):
    _data, page = demo_page
    browser.set_window_size(*size)
    _open(browser, page)
    settle(browser)

    def rect(sel):
        return browser.execute_script(
            "var r = document.querySelector(arguments[0]).getBoundingClientRect();"
            "return [r.left, r.top, r.right, r.bottom];",
            sel,
        )

    width, height = browser.execute_script("return [window.innerWidth, window.innerHeight]")
    attr = rect(".leaflet-control-attribution")
    note = rect(".cm-note")
    # the offline banner and the credits do not overlap; both are inside the window
    assert note[3] <= attr[1] or note[1] >= attr[3] or note[2] <= attr[0] or note[0] >= attr[2]
    assert 0 <= attr[0] and attr[2] <= width + 1 and attr[3] <= height + 1
    font = browser.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector("
        "'.leaflet-control-attribution')).fontSize)"
    )
    assert font >= 10
    # one full-screen button, and the locate button shows its arrow
    assert len(browser.find_elements("css selector", "a.leaflet-control-zoom-fullscreen")) == 1
    arrow = browser.execute_script(
        "var s = document.querySelector('.leaflet-control-locate-location-arrow');"
        "var r = s.getBoundingClientRect(); var cs = getComputedStyle(s);"
        "return [r.width, r.height, cs.backgroundImage.slice(0, 31)];"
    )
    assert arrow[0] >= 16 and arrow[1] >= 16 and arrow[2] == 'url("data:image/svg+xml;base64,'
    # the legend's category rows and the title are inside the window
    title = rect(".cm-title")
    assert title[2] <= width + 1 and title[0] >= 0
    browser.save_screenshot(str(artifacts / f"web_items_{size[0]}x{size[1]}.png"))
    assert console_errors(browser) == []


def test_overlapping_markers_cluster_below_the_count(browser, tmp_path):
    """159 places within ~150 m: fewer than the layer's 200, but they overlap, so they cluster."""
    rows = [
        {
            "名称": f"トイレ{i}",
            "緯度": 35.7060 + (i % 13) * 0.0001,
            "経度": 139.7060 + (i // 13) * 0.0001,
        }
        for i in range(159)
    ]
    csv = tmp_path / "dense.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    demo = demo_map_path()
    raw = yaml.safe_load(demo.read_text(encoding="utf-8"))
    raw["layers"] = [
        raw["layers"][1],
        {"id": "dense", "title": "密集", "sources": [{"csv": {"path": str(csv)}}]},
    ]
    data = collect(parse_map(raw, file=str(demo), base_dir=demo.parent))
    page = web.write_web(
        data,
        tmp_path / "dense.html",
        options=WebOptions.from_dict({"self_contained": True}, language=data.language),
        overwrite=False,
    )
    _open(browser, page)
    clustered = browser.execute_script(
        "var o = {}; window.civicmapData.data.layers.forEach(function (l) {"
        " o[l.id] = [l.cluster, l.clustered]; }); return o;"
    )
    assert clustered["dense"] == ["auto", True]
    assert clustered["shelters"] == ["auto", False]  # 11 shelters apart: drawn one by one
    assert browser.find_elements("css selector", ".cm-cluster")
    assert console_errors(browser) == []
