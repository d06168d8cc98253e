"""The web page in several languages: the switch keeps the view and the open popup; furigana.

The demo is built with ``language: [ja, ja-easy, vi]`` (three pages side by side) and
driven in headless Chromium at 390×844, where a popup is the bottom sheet.
"""

from __future__ import annotations

import re
import shutil

import pytest
from pages import console_errors, open_map, settle, wait_for
from paths import ROOT

from civicmap.pipeline import build

pytestmark = pytest.mark.slow

PHONE = (390, 844)
KANJI = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("languages")
    for f in (ROOT / "civicmap" / "data" / "demo").iterdir():
        shutil.copy(f, folder / f.name)
    text = (folder / "demo.yaml").read_text(encoding="utf-8")
    (folder / "demo.yaml").write_text(
        text.replace("language: ja", "language: [ja, ja-easy, vi]"), encoding="utf-8"
    )
    written = build(folder / "demo.yaml", overwrite=True, formats=("web",))
    return {p.name: p for p in written["web"]}


def _sheet(browser):
    return browser.execute_script(
        "var s = document.querySelector('.cm-sheet');"
        "if (!s || s.hidden) return null;"
        "var t = s.querySelector('.cm-popup-title, h3, strong');"
        "return (t || s).textContent;"
    )


def _view(browser):
    return browser.execute_script(
        "var m = window.civicmapData.map, c = m.getCenter();return [c.lat, c.lng, m.getZoom()];"
    )


def test_the_pages_are_written_side_by_side(pages):
    assert sorted(pages) == ["demo.html", "demo.ja-easy.html", "demo.vi.html"]


def test_the_language_switch_keeps_the_view_and_the_open_popup_on_a_phone(
    browser, pages, artifacts
):
    browser.set_window_size(*PHONE)
    open_map(browser, pages["demo.html"])
    # a shelter, zoomed in so it is a marker of its own, its popup open (the bottom sheet)
    name = browser.execute_script(
        "var d = window.civicmapData, found = null;"
        "d.layers.shelters.eachLayer(function g(l) { if (l.eachLayer) l.eachLayer(g);"
        " else if (!found && l.cmFeature && l.cmFeature.n === '戸山小学校') found = l; });"
        "d.map.setView(found.getLatLng(), 18, {animate: false});"
        "found.fire('click'); return found.cmFeature.n;"
    )
    assert wait_for(lambda: _sheet(browser)), "the popup did not open"
    settle(browser)  # the sheet's pan has finished
    before = _view(browser)
    # the switch: open it, pick Tiếng Việt
    browser.execute_script("document.querySelector('.cm-languages summary').click();")
    link = browser.execute_script(
        "return [].slice.call(document.querySelectorAll('.cm-languages a'))"
        ".map(function (a) { return a.textContent; });"
    )
    assert link == ["日本語", "やさしい日本語", "Tiếng Việt"]
    browser.execute_script(
        "[].slice.call(document.querySelectorAll('.cm-languages a'))"
        ".filter(function (a) { return a.lang === 'vi'; })[0].click();"
    )
    wait_for(lambda: browser.current_url.split("#")[0].endswith("demo.vi.html"))
    assert wait_for(
        lambda: browser.execute_script("return !!(window.civicmapData && window.civicmapData.map)")
    )
    sheet = wait_for(lambda: _sheet(browser))
    assert sheet, "the popup is not open after the switch"
    # the same place, named for a Vietnamese reader with its Japanese name kept
    assert name in sheet and re.search(r"[A-Za-z]{4}", sheet), sheet
    settle(browser)
    after = _view(browser)
    assert after[2] == before[2]
    assert abs(after[0] - before[0]) < 2e-5 and abs(after[1] - before[1]) < 2e-5
    assert browser.execute_script("return document.documentElement.lang") == "vi"
    browser.save_screenshot(str(artifacts / "web28_switch_vi_390.png"))
    assert console_errors(browser) == []


def test_ja_easy_fixed_texts_carry_furigana(browser, pages, artifacts):
    browser.set_window_size(*PHONE)
    open_map(browser, pages["demo.ja-easy.html"])
    browser.execute_script("document.querySelector('.cm-legend summary').click();")
    settle(browser)
    found = browser.execute_script(
        r"""
        var d = window.civicmapData.data;
        // every data string of the page (names, addresses, title, credits), not its texts
        var blob = JSON.stringify(Object.assign({}, d, {texts: null}));
        var out = {ruby: document.querySelectorAll('ruby rt').length, bare: []};
        var w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, null);
        while (w.nextNode()) {
          var n = w.currentNode, t = n.nodeValue.trim();
          if (!/[\u3400-\u9fff]/.test(t)) continue;
          if (n.parentNode.closest('ruby, script, style')) continue;
          var el = n.parentNode;
          if (!el.getClientRects().length) continue;  // not shown
          // data (names, addresses, credits; a credit line joins several with , and /)
          var bare = t.split(/, | \/ /).filter(function (piece) {
            return /[\u3400-\u9fff]/.test(piece) && blob.indexOf(piece.trim()) < 0;
          });
          if (bare.length) out.bare.push(t);
        }
        return out;
        """
    )
    browser.save_screenshot(str(artifacts / "web28_ja_easy_390.png"))
    assert found["ruby"] > 10
    assert found["bare"] == [], f"fixed texts with kanji but no furigana: {found['bare']}"
    legend = browser.execute_script(
        "return document.querySelector('.cm-legend summary').innerHTML;"
    )
    assert "<ruby>記号<rt>きごう</rt></ruby>" in legend
    assert KANJI.search(legend)
