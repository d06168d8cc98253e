"""Filters a parent sets on the page (issue 26), in a phone-sized Chromium (390×844).

The expected places come from the data files read with csv/json here, independently of
civicmap (tests/filter_maps.py): the 富山 nurseries that take a baby, that have 一時保育;
珠洲's evacuation sites that serve 洪水. The test counts the markers the map holds (in their
cluster groups: a clustered marker is still on the map) and reads the legend as shown.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from filter_maps import (
    both_cities_map,
    category_of,
    has_temporary_care,
    suzu_features,
    suzu_shelter_map,
    takes_a_baby,
    toyama_filter_map,
    toyama_rows,
)
from pages import PHONE, console_errors, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_hazards import LANDSLIDE, _deep_zone, _map

from civicmap.cli.serve import serving
from civicmap.pipeline import build
from civicmap.render import assets
from civicmap.spec.mapfile import load_map

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(assets.missing()), reason="run `python -m civicmap.render.assets install` first"
    ),
]


@pytest.fixture
def phone(shared_phone):
    """Headless Chromium emulating a 390×844 phone; only loopback answers (no internet).

    One browser for the worker, put back to new before each test (pages.SharedPhone).
    """
    return shared_phone.fresh(block_https=True)


@pytest.fixture(scope="module")
def toyama_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toyama_filters_page")
    spec = load_map(toyama_filter_map(folder))
    build(spec, offline=True)
    return spec.output_path("web")


def open_page(driver, url: str) -> None:
    driver.get(url)
    drawn = wait_for(
        lambda: driver.execute_script("return !!(window.civicmapData && window.civicmapFilters)"),
        timeout=30,
    )
    assert drawn, f"the map did not start; console: {driver.get_log('browser')}"


def shown(driver, layer: str) -> list[dict]:
    """The markers the map holds for ``layer`` (clustered or not): name and number."""
    return driver.execute_script(
        "var out = [];"
        "civicmapData.layers[arguments[0]].eachLayer(function (g) {"
        "  (g.getLayers ? g.getLayers() : []).forEach(function (m) {"
        "    if (m.cmFeature) out.push({n: m.cmFeature.n, no: m.cmFeature.no || null}); }); });"
        "return out;",
        layer,
    )


def legend_counts(driver, layer: str) -> dict[str, str]:
    """The legend's counts as shown: the layer's ("") and each category's."""
    return driver.execute_script(
        "var out = {};"
        "document.querySelectorAll('.cm-legend li[data-layer=\"' + arguments[0] + '\"]')"
        ".forEach(function (li) { var c = li.querySelector('.cm-count');"
        "  if (c) out[li.getAttribute('data-category') || ''] = c.textContent; });"
        "return out;",
        layer,
    )


def open_filters(driver):
    driver.find_element("css selector", ".cm-filter-toggle").click()
    panel = driver.find_element("css selector", "#cm-filter-panel")
    assert wait_for(lambda: panel.is_displayed())
    return panel


def check(driver, xpath: str) -> None:
    box = driver.find_element("xpath", xpath)
    box.click()
    assert box.is_selected()


AGE0 = "//fieldset[contains(@class,'cm-filter-ages')]//input[@data-option='0']"
TEMP = "//label[span[text()='一時保育']]/input"


def test_age_and_temporary_care_leave_the_nurseries_the_csv_says(phone, toyama_page, artifacts):
    rows = toyama_rows()
    open_page(phone, toyama_page.as_uri())
    before = {m["n"]: m["no"] for m in shown(phone, "childcare")}
    assert sorted(before) == sorted(r["Name"] for r in rows)
    assert legend_counts(phone, "childcare")[""] == f"{len(rows)}件"
    open_filters(phone)

    check(phone, AGE0)
    babies = [r for r in rows if takes_a_baby(r)]
    assert wait_for(lambda: len(shown(phone, "childcare")) == len(babies))
    assert sorted(m["n"] for m in shown(phone, "childcare")) == sorted(r["Name"] for r in babies)
    counts = legend_counts(phone, "childcare")
    assert counts[""] == f"{len(babies)}件（全{len(rows)}件）" == "115件（全159件）"
    per = Counter(category_of(r) for r in babies)
    total = Counter(category_of(r) for r in rows)
    for cat, n in total.items():
        assert counts[cat] == f"{per[cat]}件（全{n}件）"

    check(phone, TEMP)
    both = [r for r in babies if has_temporary_care(r)]
    assert wait_for(lambda: len(shown(phone, "childcare")) == len(both))
    markers = shown(phone, "childcare")
    assert sorted(m["n"] for m in markers) == sorted(r["Name"] for r in both)
    assert legend_counts(phone, "childcare")[""] == f"{len(both)}件（全{len(rows)}件）"
    status = phone.find_element("css selector", ".cm-filter-status").text
    assert status == f"条件に合う場所 {len(both)}件"
    # filtering hides markers: the numbers stay the paper index's
    assert all(m["no"] == before[m["n"]] for m in markers)
    assert "#f=" in phone.current_url
    phone.save_screenshot(str(artifacts / "filters_toyama_phone.png"))

    # a hidden nursery is not offered by the search either
    hidden = next(r["Name"] for r in rows if not takes_a_baby(r))
    phone.find_element("css selector", ".cm-filter-close").click()
    phone.find_element("css selector", ".cm-search input").send_keys(hidden)
    assert wait_for(lambda: phone.find_elements("css selector", ".cm-results .cm-none"))

    # clearing shows every nursery again, and the legend its plain counts
    open_filters(phone)
    phone.find_element("css selector", ".cm-filter-clear").click()
    assert wait_for(lambda: len(shown(phone, "childcare")) == len(rows))
    assert legend_counts(phone, "childcare")[""] == f"{len(rows)}件"
    assert "#f=" not in phone.current_url
    assert console_errors(phone) == []


def test_a_shared_filtered_link_opens_filtered(phone, toyama_page):
    rows = toyama_rows()
    open_page(phone, toyama_page.as_uri())
    open_filters(phone)
    check(phone, AGE0)
    check(phone, TEMP)
    link = phone.current_url
    assert "#f=" in link
    phone.get("about:blank")
    open_page(phone, link)  # as a parent opens the link a friend sent
    both = [r for r in rows if takes_a_baby(r) and has_temporary_care(r)]
    assert sorted(m["n"] for m in shown(phone, "childcare")) == sorted(r["Name"] for r in both)
    assert legend_counts(phone, "childcare")[""] == f"{len(both)}件（全{len(rows)}件）"
    badge = phone.find_element("css selector", ".cm-filter-badge").text
    assert badge == "2"  # the button says two conditions are set, before it is opened
    open_filters(phone)
    assert phone.find_element("xpath", AGE0).is_selected()
    assert phone.find_element("xpath", TEMP).is_selected()


def test_the_filter_panel_fits_a_phone_and_every_control_has_a_name(phone, toyama_page):
    open_page(phone, toyama_page.as_uri())
    toggle = phone.find_element("css selector", ".cm-filter-toggle")
    assert toggle.get_attribute("aria-expanded") == "false" and toggle.text == "絞り込み"
    panel = open_filters(phone)
    assert toggle.get_attribute("aria-expanded") == "true"
    width = phone.execute_script("return window.innerWidth")
    assert width == PHONE["width"]
    assert phone.execute_script("return document.documentElement.scrollWidth") <= width
    box = panel.rect
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert box["y"] + box["height"] <= PHONE["height"] + 1  # a sheet at the bottom
    assert phone.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth",
                                phone.find_element("css selector", ".cm-filter-body"))  # fmt: skip
    unnamed = phone.execute_script(
        "var bad = [];"
        "document.querySelectorAll('#cm-filter-panel input, #cm-filter-panel select,"
        " #cm-filter-panel button, .cm-filter-toggle').forEach(function (c) {"
        "  var name = c.getAttribute('aria-label') ||"
        "    (c.labels && c.labels.length ? c.labels[0].textContent : '') || c.textContent;"
        "  if (!name.trim()) bad.push(c.outerHTML); });"
        "return bad;"
    )
    assert unnamed == []
    # a range from the 定員 column: the nurseries of 100 places or more
    capacity = phone.find_element("css selector", "input[aria-label='定員 以上']")
    capacity.send_keys("100")
    expected = [r for r in toyama_rows() if r["Full"].strip() and int(r["Full"]) >= 100]
    assert wait_for(lambda: len(shown(phone, "childcare")) == len(expected))


def test_shelters_filtered_by_flood(phone, tmp_path):
    spec = load_map(suzu_shelter_map(tmp_path))
    build(spec, offline=True)
    open_page(phone, spec.output_path("web").as_uri())
    features = suzu_features()
    assert len(shown(phone, "shelters")) == len(features)
    open_filters(phone)
    check(phone, "//fieldset[contains(@class,'cm-filter-disasters')]//input[@data-option='flood']")
    flood = [f["properties"]["施設・場所名"] for f in features if f["properties"]["洪水"] == "1"]
    assert wait_for(lambda: len(shown(phone, "shelters")) == len(flood))
    assert sorted(m["n"] for m in shown(phone, "shelters")) == sorted(flood)
    assert legend_counts(phone, "shelters")[""] == f"{len(flood)}件（全{len(features)}件）"


def test_each_layer_filters_its_own_places_and_counts(phone, tmp_path):
    """Two layers: a filter on one leaves the other's markers and legend count alone."""
    spec = load_map(both_cities_map(tmp_path))
    build(spec, offline=True)
    open_page(phone, spec.output_path("web").as_uri())
    rows, features = toyama_rows(), suzu_features()
    babies = [r for r in rows if takes_a_baby(r)]
    flood = [f for f in features if f["properties"]["洪水"] == "1"]
    open_filters(phone)
    check(phone, AGE0)
    assert wait_for(lambda: len(shown(phone, "childcare")) == len(babies))
    assert len(shown(phone, "shelters")) == len(features)
    assert legend_counts(phone, "shelters")[""] == f"{len(features)}件"
    status = phone.find_element("css selector", ".cm-filter-status")
    assert status.text == f"条件に合う場所 {len(babies)}件"
    check(phone, "//fieldset[contains(@class,'cm-filter-disasters')]//input[@data-option='flood']")
    assert wait_for(lambda: len(shown(phone, "shelters")) == len(flood))
    assert len(shown(phone, "childcare")) == len(babies)
    assert legend_counts(phone, "shelters")[""] == f"{len(flood)}件（全{len(features)}件）"
    assert legend_counts(phone, "childcare")[""] == f"{len(babies)}件（全{len(rows)}件）"
    assert status.text == f"条件に合う場所 {len(babies) + len(flood)}件"


def test_the_site_shares_its_filtered_link_and_opens_filtered(phone, tmp_path):
    site = tmp_path / "site"
    spec = load_map(toyama_filter_map(tmp_path, outputs={"site": {"folder": str(site)}}))
    build(spec, offline=True)
    rows = toyama_rows()
    babies = sorted(r["Name"] for r in rows if takes_a_baby(r))
    with serving(site) as server:
        phone.get(server.url)
        assert wait_for(
            lambda: phone.execute_script("return !!(window.civicmapSite && civicmapSite.drawn)"),
            timeout=30,
        )
        open_filters(phone)
        check(phone, AGE0)
        assert wait_for(lambda: len(shown(phone, "childcare")) == len(babies))
        phone.find_element("css selector", ".cm-filter-close").click()
        phone.find_element("css selector", ".cm-site-menu-button").click()
        link = phone.find_element("css selector", ".cm-site-url").text
        assert link.startswith(server.url) and "#f=" in link
        phone.get("about:blank")
        phone.get(link)
        assert wait_for(
            lambda: phone.execute_script("return !!(window.civicmapSite && civicmapSite.drawn)"),
            timeout=30,
        )
        assert wait_for(lambda: sorted(m["n"] for m in shown(phone, "childcare")) == babies)
        assert legend_counts(phone, "childcare")[""] == f"{len(babies)}件（全{len(rows)}件）"


def test_the_disaster_choice_and_a_filter_count_together(phone, tmp_path):
    """金沢's sites: the disaster view (洪水, its hazard zones) and a 地震 filter on one layer."""
    path = _map(
        tmp_path,
        hazards=[{"file": str(_deep_zone(tmp_path)), "kind": "flood"},
                 {"file": str(LANDSLIDE), "kind": "landslide"}],
        outputs={"web": {"file": "out/map.html", "self_contained": True, "cluster": False}},
    )  # fmt: skip
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["layers"][1]["filters"] = ["disasters"]  # basho: the GSI 指定緊急避難場所 with flags
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    spec = load_map(path)
    build(spec, offline=True)
    open_page(phone, spec.output_path("web").as_uri())
    layer = next(
        lay
        for lay in phone.execute_script("return civicmapData.data.layers;")
        if lay["id"] == "basho"
    )
    (flags,) = layer["filters"]
    quake = 1 << [k for k, _t in flags["options"]].index("earthquake")

    def suited(f):
        return "d" not in f or "flood" in f["d"]

    own = layer["features"]  # basho's own markers (none of its places merge into hinanjo's)
    phone.execute_script(
        "var s = document.querySelector('.cm-disaster select'); s.value = 'flood';"
        "s.dispatchEvent(new Event('change'));"
    )
    flood = [f for f in own if suited(f)]
    assert wait_for(lambda: len(shown(phone, "basho")) == len(flood))
    assert legend_counts(phone, "basho")[""] == f"{len(flood)}件"
    open_filters(phone)
    check(
        phone,
        "//fieldset[contains(@class,'cm-filter-disasters')]//input[@data-option='earthquake']",
    )
    both = [f for f in flood if flags["v"][f["i"]] & quake]
    assert 0 < len(both) < len(flood)
    assert wait_for(lambda: len(shown(phone, "basho")) == len(both))
    assert legend_counts(phone, "basho")[""] == f"{len(both)}件（全{layer['count']}件）"
    # すべての避難先 again: the filter alone
    phone.execute_script(
        "var s = document.querySelector('.cm-disaster select'); s.value = '';"
        "s.dispatchEvent(new Event('change'));"
    )
    quakes = [f for f in own if flags["v"][f["i"]] & quake]
    assert wait_for(lambda: len(shown(phone, "basho")) == len(quakes))
    assert legend_counts(phone, "basho")[""] == f"{len(quakes)}件（全{layer['count']}件）"
