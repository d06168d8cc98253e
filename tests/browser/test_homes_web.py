"""Several homes (``homes:``) in headless Chromium, and their route table on paper (issue #17).

A 町内会 lists its meeting points; the web map must draw each one's routes to
its nearest shelters (the nearest on foot emphasised, once per home), label
each home marker with its name, and list that home's routes in its popup; the
paper map's route table must list every home. Built once from the bundled
demo (real OSM walking network, real 新宿区 shelters) with three homes.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import pytest
from pages import console_errors, open_map, settle, wait_for

from civicmap.render import web
from civicmap.spec.paper import PaperOptions
from civicmap.spec.web import WebOptions

# three meeting points inside the demo extract (西早稲田・戸山), written as a 町内会 would
HOMES = (
    ("集合場所A 西早稲田", 35.7066, 139.7062),
    ("集合場所B 戸山公園口", 35.7082, 139.7035),
    ("集合場所C 大久保通り", 35.7048, 139.7088),
)
PHONE = (390, 844)  # CSS pixels of a common phone in portrait


@pytest.fixture(scope="module")
def homes_map(tmp_path_factory):
    from civicmap.pipeline import collect, demo_map_path
    from civicmap.spec.mapfile import load_map

    out = tmp_path_factory.mktemp("homes")
    data = collect(replace(load_map(demo_map_path()), home=None, homes=HOMES))
    page = web.write_web(
        data,
        out / "homes.html",
        options=WebOptions.from_dict({"self_contained": True}, language=data.language),
        overwrite=False,
    )
    return data, page, out


def test_each_home_has_its_routes_marker_and_popup_on_the_web_map(browser, homes_map, artifacts):
    data, page, _ = homes_map
    names = [h[0] for h in HOMES]
    # what the build ranked, per home (the page must draw exactly these)
    per_home = {n: int((data.routes["place_name"] == n).sum()) for n in names}
    assert all(k >= 1 for k in per_home.values())

    open_map(browser, page)
    settle(browser)
    assert console_errors(browser) == []
    # one drawn line per route; one emphasised "nearest on foot" line per home
    lines = browser.find_elements("css selector", "path.cm-route")
    assert len(lines) == sum(per_home.values())
    assert len(browser.find_elements("css selector", "path.cm-route-nearest")) == len(HOMES)
    drawn = browser.execute_script(
        "var c = {}; window.civicmapData.routes.eachLayer(function (l) {"
        " if (l.cmRoute) { var h = l.cmRoute.h; c[h] = (c[h] || 0) + 1; } }); return c;"
    )
    assert [drawn.get(str(i), 0) for i in range(len(HOMES))] == [per_home[n] for n in names]
    # each home marker carries its own name
    labels = browser.find_elements("css selector", ".cm-home-icon .cm-home-label")
    assert sorted(e.text for e in labels) == sorted(names)

    # each home's popup names it and lists its own routes (the shelters ranked for it)
    for name in names:
        icon = next(
            e
            for e in browser.find_elements("css selector", ".cm-home-icon")
            if e.find_element("css selector", ".cm-home-label").text == name
        )
        browser.execute_script("arguments[0].click();", icon)
        popup = wait_for(
            lambda title=f"自宅：{name}": [
                e
                for e in browser.find_elements("css selector", ".leaflet-popup-content")
                if e.text.startswith(title)
            ]
        )
        assert popup, f"no popup for {name}"
        items = popup[0].find_elements("css selector", "ol.cm-route-list li")
        assert len(items) == per_home[name]
        shelters = set(data.routes.loc[data.routes["place_name"] == name, "shelter_name"])
        assert {li.text.split("：")[0] for li in items} == shelters
        browser.execute_script("window.civicmapData.map.closePopup();")
    legend = browser.find_element("css selector", ".cm-legend").text
    assert "自宅" in legend and "徒歩で最も近い避難所" in legend

    # on a phone (page loaded at phone size: the legend starts folded), every home
    # marker is on screen and not covered by a control
    browser.set_window_size(*PHONE)
    open_map(browser, page)
    settle(browser)
    assert console_errors(browser) == []
    assert not browser.execute_script("return document.querySelector('.cm-legend details').open")
    width, height = browser.execute_script("return [window.innerWidth, window.innerHeight];")
    assert width <= PHONE[0]
    for icon in browser.find_elements("css selector", ".cm-home-icon"):
        name = icon.find_element("css selector", ".cm-home-label").text
        left, top, right, bottom = browser.execute_script(
            "var r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];",
            icon,
        )
        assert 0 <= left and right <= width and 0 <= top and bottom <= height, (name, left, top)
        on_top = browser.execute_script(
            "var r = arguments[0].getBoundingClientRect();"
            "var e = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);"
            "return arguments[0].contains(e);",
            icon,
        )
        assert on_top, f"{name}: covered by another element on a phone"
    browser.save_screenshot(str(artifacts / "web_homes_phone.png"))


def test_a_window_made_narrow_folds_the_legend_off_the_homes(browser, homes_map):
    """A page opened wide, then narrowed (a phone turned, a window resized): legend folds."""
    _, page, _ = homes_map
    browser.set_window_size(1280, 900)
    open_map(browser, page)
    is_open = "return document.querySelector('.cm-legend details').open"
    assert browser.execute_script(is_open)
    browser.set_window_size(*PHONE)
    assert wait_for(lambda: not browser.execute_script(is_open), timeout=5)
    browser.set_window_size(1280, 900)
    assert wait_for(lambda: browser.execute_script(is_open), timeout=5)


@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler missing")
def test_the_paper_route_table_lists_every_home(homes_map):
    from civicmap.render.paper.render import write_paper

    data, _, out = homes_map
    pdf = write_paper(
        data,
        out / "homes.pdf",
        options=PaperOptions.from_dict({"size": "A4"}, file="<test>"),
        overwrite=False,
    )[0]
    # reading order (not -layout): the route table's column comes out in one piece
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    heads = [f"【{name}】" for name, *_ in HOMES]
    starts = [flat.find(h) for h in heads]
    assert all(s >= 0 for s in starts), dict(zip(heads, starts, strict=True))
    assert starts == sorted(starts)  # in the homes' order
    for i, (name, *_) in enumerate(HOMES):
        section = flat[starts[i] : starts[i + 1] if i + 1 < len(starts) else len(flat)]
        ranked = data.routes[data.routes["place_name"] == name].sort_values("walk_m")
        # each home's shelters, nearest on foot first, under its own heading
        names = ranked["shelter_name"].tolist()
        positions = [section.find(n) for n in names]
        assert all(p >= 0 for p in positions), (name, names)
        assert positions[0] == min(positions)
        best = ranked.iloc[0]
        assert f"徒歩 {round(best['walk_m'])} m" in section
