"""Issue 24 (web): on a phone no control hides a popup; printing numbers places as the PDF does.

Headless Chromium at 390×844 (an iPhone 12-14 screen). A popup counts as visible when the
centres of its title and of its close button are inside the window and
``document.elementFromPoint`` there finds the popup itself, not a control lying over it.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest
from pages import console_errors, enter_text, open_map, settle, wait_for

from civicmap.pipeline import collect, demo_map_path
from civicmap.render import web
from civicmap.render.paper.render import render_paper
from civicmap.spec.mapfile import load_map
from civicmap.spec.web import WebOptions

PHONE = (390, 844)
TABLET = (768, 1024)

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler missing")

#: Where a popup's title and close button are, and what the page shows at their centres.
_VISIBLE = """
// the popup opened last: a closed one stays in the page while it fades out (Leaflet)
var popups = document.querySelectorAll('.leaflet-popup');
var box = document.querySelector('.cm-sheet:not([hidden])') || popups[popups.length - 1];
if (!box) return null;
var title = box.querySelector('.cm-popup-title');
var close = box.querySelector('.cm-sheet-close, .leaflet-popup-close-button');
function look(e) {
  if (!e) return null;
  var r = e.getBoundingClientRect();
  var x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2;
  var inside = r.width > 0 && r.height > 0 && x >= 0 && y >= 0 &&
    x <= window.innerWidth && y <= window.innerHeight;
  var hit = inside ? document.elementFromPoint(x, y) : null;
  return {inside: inside, own: !!hit && (hit === e || e.contains(hit) || box.contains(hit)),
          over: hit ? (hit.className && hit.className.baseVal !== undefined
                       ? hit.className.baseVal : String(hit.className)) : ''};
}
return {text: title ? title.textContent : '', title: look(title), close: look(close)};
"""


def _visible(browser) -> dict | None:
    return browser.execute_script(_VISIBLE)


def _clear(seen: dict | None) -> bool:
    return all(
        seen[part] and seen[part]["inside"] and seen[part]["own"] for part in ("title", "close")
    )


def _popup_of(browser, name: str) -> dict | None:
    """What the page shows once ``name``'s popup is open and clear of every control.

    Waits for that (a tablet's popup pans into view first); past the wait, what the page
    shows then, for :func:`_assert_clear` to say what is wrong.
    """
    seen = wait_for(lambda: (v := _visible(browser)) and v["text"] == name and _clear(v) and v)
    return seen or _visible(browser)


def _assert_clear(seen: dict | None, what: str, name: str) -> None:
    assert seen, f"{what}: no popup opened"
    assert seen["text"] == name, f"{what}: the open popup is {seen['text']!r}"
    for part in ("title", "close"):
        look = seen[part]
        assert look is not None, f"{what}: popup has no {part}"
        assert look["inside"], f"{what}: the popup's {part} is outside the window"
        assert look["own"], f"{what}: the popup's {part} is covered by {look['over']!r}"


@pytest.fixture(scope="module")
def demo():
    return collect(load_map(demo_map_path()))


@pytest.fixture(scope="module")
def demo_page(demo, tmp_path_factory):
    """The demo's self-contained page, written once: the tests only open it."""
    return web.write_web(
        demo,
        tmp_path_factory.mktemp("popups") / "demo.html",
        options=WebOptions.from_dict({"self_contained": True}, language=demo.language),
        overwrite=False,
    )


@pytest.fixture(scope="module")
def paper_numbers(demo, tmp_path_factory) -> dict[str, int]:
    """The demo's paper PDF, printed once, its index read back (see _paper_numbers)."""
    return _paper_numbers(demo, tmp_path_factory.mktemp("popups_pdf"))


def _paper_numbers(demo, tmp_path) -> dict[str, int]:
    """The PDF's index read back: the number printed before each place's name."""
    pdf, _plan = render_paper(demo)
    path = tmp_path / "demo.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    names = {f for layer in demo.layers for f in layer.features["name"].dropna().astype(str)}
    lines = text.splitlines()
    found: dict[str, int] = {}
    # "3 B2" (number, grid cell; the compact index puts a 五十音 tab first: "た 5 C1"), then
    # the name (maybe wrapped)
    for i, line in enumerate(lines):
        m = re.fullmatch(r"(?:[^\d\s] )?(\d+) [A-Z]\d+", line.strip())
        if not m:
            continue
        after = "".join(lines[i + 1 : i + 4]).replace(" ", "")
        for name in names:
            if after.startswith(name.replace(" ", "")):
                found.setdefault(name, int(m.group(1)))
    return found


@pytest.mark.parametrize("size", [PHONE, TABLET])
def test_every_marker_tap_shows_title_and_close_clear_of_controls(
    browser, demo_page, artifacts, size
):
    """A phone: the bottom sheet; a tablet: a Leaflet popup panned clear of the controls."""
    browser.set_window_size(*size)
    open_map(browser, demo_page)
    settle(browser)
    names = browser.execute_script(
        "var out = []; var d = window.civicmapData;"
        "Object.keys(d.layers).forEach(function (id) { d.layers[id].eachLayer(function g(l) {"
        " if (l.eachLayer) l.eachLayer(g); else if (l.cmFeature) out.push(l.cmFeature.n); }); });"
        "return out;"
    )
    assert len(names) >= 20
    for i, name in enumerate(names):
        # a tap on the marker (fired on it: a marker under a control cannot be tapped)
        browser.execute_script(
            "var d = window.civicmapData; var want = arguments[0]; var done = false;"
            "d.map.closePopup(); document.querySelectorAll('.cm-sheet-close').forEach("
            " function (b) { b.click(); });"
            "Object.keys(d.layers).forEach(function (id) { d.layers[id].eachLayer(function g(l) {"
            " if (l.eachLayer) l.eachLayer(g);"
            " else if (!done && l.cmFeature && l.cmFeature.n === want) { done = true;"
            "  l.fire('click'); } }); });",
            name,
        )
        _assert_clear(_popup_of(browser, name), f"tap on {name}", name)
        if i == 0:
            settle(browser)  # the pan and fade-in finished, for the picture
            browser.save_screenshot(str(artifacts / f"web24_marker_tap_{size[0]}.png"))
    assert console_errors(browser) == []


def test_search_pick_closes_the_list_and_shows_the_popup_title(browser, demo_page, artifacts):
    browser.set_window_size(*PHONE)
    open_map(browser, demo_page)
    names = browser.execute_script(
        "var out = []; window.civicmapData.data.layers.forEach(function (l) {"
        " l.features.forEach(function (f) { out.push(f.n); }); }); return out;"
    )
    box = browser.find_element("css selector", ".cm-search input")
    for name in names:
        enter_text(browser, box, name)
        # the listed hit whose name reads ``name`` (its text as shown, innerText)
        hit = wait_for(
            lambda n=name: browser.execute_script(
                "var n = arguments[0]; return Array.prototype.find.call("
                " document.querySelectorAll('.cm-results li.cm-hit'), function (h) {"
                "  return h.querySelector('.cm-hit-name').innerText === n; }) || null;",
                n,
            )
        )
        assert hit, f"search for {name} found nothing"
        hit.click()
        _assert_clear(_popup_of(browser, name), f"search pick of {name}", name)
        # the list closed: nothing of the search box but the box itself is left
        assert browser.find_elements("css selector", ".cm-results li") == []
        if name == "大久保第一保育園":
            browser.save_screenshot(str(artifacts / "web24_phone_search_pick.png"))
    assert console_errors(browser) == []


def test_printed_markers_carry_the_pdf_index_numbers(browser, paper_numbers, demo_page, artifacts):
    paper = paper_numbers
    assert paper.get("大久保第一保育園") == 3  # the issue's example, as the PDF prints it
    browser.set_window_size(1000, 1400)
    open_map(browser, demo_page)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    # the page has switched to its printed layout (the legend moved below the map)
    wait_for(lambda: browser.find_elements("css selector", ".cm-legend-printed"))
    settle(browser)
    printed = browser.execute_script(
        "var map = document.querySelector('.leaflet-container').getBoundingClientRect();"
        "var out = [];"
        "document.querySelectorAll('.cm-icon').forEach(function (m) {"
        " var n = m.querySelector('.cm-num'); var r = m.getBoundingClientRect();"
        " out.push({name: m.getAttribute('title'), no: n && getComputedStyle(n).display !== 'none'"
        "  ? n.textContent : null, inside: r.left >= map.left && r.right <= map.right &&"
        "  r.top >= map.top && r.bottom <= map.bottom, x: r.left, y: r.top,"
        "  seen: m.contains(document.elementFromPoint((r.left + r.right) / 2,"
        "   (r.top + r.bottom) / 2))}); });"
        "return [out, [map.left, map.top, map.right, map.bottom]];"
    )
    markers, box = printed
    assert markers
    for m in markers:
        assert m["no"] is not None, f"{m['name']}: no number on the printed marker"
        assert int(m["no"]) == paper[m["name"]], m["name"]
        assert m["inside"], f"{m['name']}: outside the printed map"  # fitted to the places
        assert m["seen"], f"{m['name']}: covered on the printed map (by the title?)"
    # fitted: the places span the printed map (at least 70 % of its shorter side), not a
    # corner of it
    xs = [m["x"] for m in markers]
    ys = [m["y"] for m in markers]
    assert max(max(xs) - min(xs), max(ys) - min(ys)) > 0.7 * min(box[2] - box[0], box[3] - box[1])
    # the legend is below the map, not over it
    legend = browser.execute_script(
        "var r = document.querySelector('.cm-legend').getBoundingClientRect(); return r.top;"
    )
    assert legend >= box[3] - 1
    # the printed list numbers as the PDF does
    listed = browser.execute_script(
        "return Array.from(document.querySelectorAll('.cm-print-list li')).map("
        " function (li) { return [li.value, li.firstChild.textContent]; });"
    )
    by_name = {text.split("　")[0]: value for value, text in listed}
    assert by_name["大久保第一保育園"] == 3
    assert all(by_name[name] == no for name, no in paper.items() if name in by_name)
    browser.save_screenshot(str(artifacts / "web24_print.png"))
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert console_errors(browser) == []


def test_browser_print_to_pdf_numbers_the_map_as_the_paper_pdf(
    browser, paper_numbers, demo_page, tmp_path
):
    """The real print path (beforeprint): Chromium's own PDF of the page, read with pdftotext."""
    paper = paper_numbers
    browser.set_window_size(1000, 1400)
    open_map(browser, demo_page)
    pdf = browser.execute_cdp_cmd(
        "Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": True}
    )
    path = tmp_path / "web.pdf"
    path.write_bytes(base64.b64decode(pdf["data"]))
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    words = [
        (m.group(5), float(m.group(1)), float(m.group(2)))
        for m in re.finditer(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            html,
        )
    ]
    legend_y = min(y for w, _x, y in words if w == "凡例")
    credits_y = min(y for w, _x, y in words if w.startswith("Leaflet"))
    # the numbers printed on the map (above the credits line; the legend is below it)
    on_map = [(int(w), x, y) for w, x, y in words if w.isdigit() and y < credits_y]
    assert credits_y < legend_y
    assert sorted(n for n, _x, _y in on_map) == sorted(set(paper.values()))
    # fitted: the numbered places spread over the printed map, not bunched in a corner
    xs = [x for _n, x, _y in on_map]
    ys = [y for _n, _x, y in on_map]
    assert max(ys) - min(ys) > 0.5 * credits_y
    assert max(xs) - min(xs) > 0.3 * (8.27 * 72)
