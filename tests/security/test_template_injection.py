"""Data is never template source: Jinja syntax in any cell reaches the page as text.

branca compiles a MacroElement's rendered script as a Jinja2 template a second time, so
before this fix a nursery named ``{{ ... }}`` ran code at build time. Every payload here
is generated; a payload that would create a file must not create it.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from civicmap.cli import main
from civicmap.render import assets


def _payloads(marker: Path) -> list[str]:
    run = f"lipsum.__globals__.os.popen('touch {marker}').read()"
    return [
        "{{ " + run + " }}",
        "{{7*7}}",
        "{% for x in range(3) %}x{% endfor %}",
        "{# comment #}hidden",
        "{{ broken",
        "{% if %}",
        "</script><script>document.title='pwned'</script>",
        "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}",
    ]


def _write_map(tmp: Path, names: list[str], *, title: str = "安全テスト") -> Path:
    with (tmp / "places.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["名称", "住所", "緯度", "経度", "備考"])
        for i, name in enumerate(names):
            w.writerow([name, name, 35.70 + i * 0.0005, 139.70 + i * 0.0005, name])
    (tmp / "places.yaml").write_text(
        "id: places\ntitle: {ja: 施設, en: Places}\nsources:\n  - csv: {path: places.csv}\n"
        'style: {color: "#d6336c", symbol: circle}\npopup: [name, address, 備考]\n',
        encoding="utf-8",
    )
    (tmp / "map.yaml").write_text(
        f"title: {json.dumps(title, ensure_ascii=False)}\n"
        "area: {bbox: [139.69, 35.69, 139.72, 35.72]}\n"
        "layers: [places.yaml]\nbasemap: {draw: false}\n"
        "outputs:\n  web: {file: out/map.html, self_contained: true}\n"
        "  umap: {file: out/map.umap}\n  kml: {file: out/map.kml}\n"
        "  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    return tmp / "map.yaml"


@pytest.mark.skipif(bool(assets.missing()), reason="Leaflet files not installed")
def test_jinja_in_csv_cells_never_runs_and_shows_literally(tmp_path):
    marker = tmp_path / "PWNED"
    payloads = _payloads(marker)
    mapfile = _write_map(tmp_path, payloads, title="{{7*7}} {% raw %}")
    result = CliRunner().invoke(main, ["build", str(mapfile)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert not marker.exists(), "a template payload in the data ran code at build time"
    page = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    head = _without_paths(page.split('id="civicmap-data">', 1)[1][:4000], tmp_path)
    assert "49" not in re.sub(r"[0-9.]{5,}", "", head)
    block = re.search(
        r'<script type="application/json" id="civicmap-data">(.*?)</script>', page, re.S
    )
    data = json.loads(block.group(1))
    names = {f["n"] for layer in data["layers"] for f in layer["features"]}
    for p in payloads:
        assert p in names, f"{p!r} did not reach the page literally"
    assert data["title"] == "{{7*7}} {% raw %}"
    # No raw closing tag from the data inside the page script.
    assert "</script><script>document.title" not in page
    # The exports carry the text unchanged too.
    for out in ("map.umap", "map.kml", "map.geojson"):
        text = (tmp_path / "out" / out).read_text(encoding="utf-8")
        assert "{{7*7}}" in text, out
        assert "{% for x in range(3) %}" in text, out


# --- every text channel at once -----------------------------------------------

CHANNELS = ("csv", "geojson", "kml", "kmlfolder", "umap", "umaplayer", "osm")


def _channel_payloads(marker: Path, channel: str) -> list[str]:
    """Template payloads tagged with their channel (so each is told apart on the page)."""
    return [f"{channel}:{p}" for p in _payloads(marker) if "script>" not in p]


def _kml_doc(folder: str, names: list[str]) -> str:
    from xml.sax.saxutils import escape

    marks = "".join(
        f"<Placemark><name>{escape(n)}</name><description>{escape(n)}</description>"
        f'<ExtendedData><Data name="備考"><value>{escape(n)}</value></Data></ExtendedData>'
        f"<Point><coordinates>{139.700 + i * 4e-4},{35.705}</coordinates></Point></Placemark>"
        for i, n in enumerate(names)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
        f"<Document><Folder><name>{escape(folder)}</name>{marks}</Folder></Document></kml>"
    )


def _osm_doc(names: list[str]) -> str:
    from xml.sax.saxutils import quoteattr

    nodes = "".join(
        f'<node id="{i + 1}" lat="35.712" lon="{139.700 + i * 4e-4}" version="1">'
        f'<tag k="amenity" v="kindergarten"/><tag k="name" v={quoteattr(n)}/></node>\n'
        for i, n in enumerate(names)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'
        '<bounds minlat="35.69" minlon="139.69" maxlat="35.72" maxlon="139.72"/>\n'
        f"{nodes}</osm>\n"
    )


TITLE = "title:{{7*7}} {% raw %}{# x #}"
SUBTITLE = "subtitle:{{ config }}"
LAYER_TITLE = "layer:{{7*7}}{% if 1 %}"
CREDIT = "credit:{{7*7}}{% for c in 'ab' %}{{c}}{% endfor %}"
POPUP = "{name} {{7*7}} {% if %}[{category}]"


def _every_channel_map(tmp: Path, marker: Path) -> tuple[Path, dict[str, list[str]]]:
    names = {ch: _channel_payloads(marker, ch) for ch in CHANNELS}
    with (tmp / "places.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["名称", "住所", "緯度", "経度", "備考"])
        for i, n in enumerate(names["csv"]):
            w.writerow([n, n, 35.700, 139.700 + i * 4e-4, n])
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": n, "address": n, "備考": n},
                "geometry": {"type": "Point", "coordinates": [139.700 + i * 4e-4, 35.702]},
            }
            for i, n in enumerate(names["geojson"])
        ],
    }
    (tmp / "places.geojson").write_text(json.dumps(gj, ensure_ascii=False), encoding="utf-8")
    (tmp / "places.kml").write_text(_kml_doc(names["kmlfolder"][0], names["kml"]), encoding="utf-8")
    umap = {
        "type": "umap",
        "properties": {"name": "m"},
        "layers": [
            {
                "type": "FeatureCollection",
                "_umap_options": {"name": names["umaplayer"][0]},
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": n, "description": n},
                        "geometry": {"type": "Point", "coordinates": [139.700 + i * 4e-4, 35.708]},
                    }
                    for i, n in enumerate(names["umap"])
                ],
            }
        ],
    }
    (tmp / "places.umap").write_text(json.dumps(umap, ensure_ascii=False), encoding="utf-8")
    (tmp / "tiny.osm").write_text(_osm_doc(names["osm"]), encoding="utf-8")
    layer = {
        "id": "places",
        "title": {"ja": LAYER_TITLE, "en": LAYER_TITLE},
        "sources": [
            {"csv": {"path": "places.csv", "credit": {"source": CREDIT, "credit": CREDIT}}},
            {"geojson": {"path": "places.geojson"}},
            {"kml": {"path": "places.kml"}},
            {"umap": {"path": "places.umap"}},
        ],
        "style": {"color": "#d6336c", "symbol": "circle"},
        "popup": POPUP,
        "cluster": False,
    }
    (tmp / "places.yaml").write_text(json.dumps(layer, ensure_ascii=False), encoding="utf-8")
    spec = {
        "title": TITLE,
        "subtitle": SUBTITLE,
        "area": {"bbox": [139.69, 35.69, 139.72, 35.72]},
        "osm": {"file": "tiny.osm"},
        "basemap": {"draw": False},
        "layers": ["places.yaml", "childcare"],
        "outputs": {
            "web": {"file": "out/map.html", "self_contained": True},
            "umap": {"file": "out/map.umap"},
            "kml": {"file": "out/map.kml"},
            "geojson": {"file": "out/map.geojson"},
        },
    }
    (tmp / "map.yaml").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return tmp / "map.yaml", names


def _without_paths(text: str, tmp: Path) -> str:
    """The text without the test's own folder names: pytest's ``pytest-49`` is not Jinja's 49."""
    return text.replace(str(tmp.parent), "").replace(str(tmp.parent.parent), "")


def _page_data(page: str) -> dict:
    block = re.search(
        r'<script type="application/json" id="civicmap-data">(.*?)</script>', page, re.S
    )
    return json.loads(block.group(1))


@pytest.fixture(scope="module")
def every_channel(tmp_path_factory):
    """One build whose every text channel carries template payloads (built once)."""
    if assets.missing():
        pytest.skip("Leaflet files not installed")
    tmp = tmp_path_factory.mktemp("channels")
    marker = tmp / "PWNED"
    mapfile, names = _every_channel_map(tmp, marker)
    result = CliRunner().invoke(main, ["build", str(mapfile)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return tmp, marker, names


def test_every_text_channel_reaches_the_page_literally_and_runs_nothing(every_channel):
    tmp, marker, names = every_channel
    assert not marker.exists(), "a template payload in the data ran code at build time"
    page = (tmp / "out" / "map.html").read_text(encoding="utf-8")
    data = _page_data(page)
    feats = [f for layer in data["layers"] for f in layer["features"]]
    shown = {f["n"] for f in feats}
    for ch in ("csv", "geojson", "kml", "umap", "osm"):
        for p in names[ch]:
            assert p in shown, f"{ch}: {p!r} did not reach the page literally"
    assert data["title"] == TITLE and data["subtitle"] == SUBTITLE
    assert any(CREDIT in line for line in data["credits"])
    places = next(layer for layer in data["layers"] if layer["title"] == LAYER_TITLE)
    # popup template: field names filled, {{ }} a literal brace, never evaluated
    popups = {f["n"]: f["p"] for f in places["features"]}
    for n in names["csv"]:
        assert popups[n].startswith(f"{n} {{7*7}} ["), popups[n]
    for n in names["kml"]:  # the KML folder is the category
        assert popups[n] == f"{n} {{7*7}} [{names['kmlfolder'][0]}]", popups[n]
    for n in names["umap"]:  # the uMap datalayer is the category
        assert popups[n] == f"{n} {{7*7}} [{names['umaplayer'][0]}]", popups[n]
    # nothing Jinja would produce: 49, a loop's output, or the raw-block's disappearance
    visible = re.sub(r"[0-9.]{5,}", "", _without_paths(block_of(page), tmp))
    assert "49" not in visible and "xxx" not in visible and "credit:ab" not in visible


def block_of(page: str) -> str:
    return page.split('id="civicmap-data">', 1)[1].split("</script>", 1)[0]


@pytest.mark.parametrize("out", ["map.umap", "map.kml", "map.geojson"])
def test_every_text_channel_reaches_the_exports_unchanged(every_channel, out):
    tmp, _, names = every_channel
    text = (tmp / "out" / out).read_text(encoding="utf-8")
    if out == "map.kml":
        from xml.etree import ElementTree as ET

        root = ET.fromstring(text.encode("utf-8"))
        strings = {el.text for el in root.iter() if el.text}
    else:
        strings = set()
        stack = [json.loads(text)]
        while stack:
            v = stack.pop()
            if isinstance(v, dict):
                stack.extend(v.values())
            elif isinstance(v, list):
                stack.extend(v)
            elif isinstance(v, str):
                strings.add(v)
    joined = "\n".join(strings)
    for ch in ("csv", "geojson", "kml", "umap", "osm"):
        for p in names[ch]:
            assert p in joined, f"{out}: {ch} payload {p!r} missing or changed"


@pytest.mark.browser
def test_payloads_show_literally_in_chromium(every_channel, browser, artifacts):
    """In a real browser every payload is text: marker titles, popups, legend, credits."""
    import time

    tmp, marker, names = every_channel
    browser.get((tmp / "out" / "map.html").as_uri())
    deadline = time.monotonic() + 30
    while not browser.execute_script("return !!(window.civicmapData && window.civicmapData.map)"):
        assert time.monotonic() < deadline, browser.get_log("browser")
        time.sleep(0.05)
    titles = {e.get_attribute("title") for e in browser.find_elements("css selector", ".cm-icon")}
    for ch in ("csv", "geojson", "kml", "umap", "osm"):
        for p in names[ch]:
            assert p in titles, f"{ch}: marker title {p!r} not shown literally"
    body = browser.find_element("tag name", "body").text
    assert LAYER_TITLE in body  # legend / layer control
    assert TITLE.split(" ")[0] in browser.title or TITLE in body
    # a popup from the template: the literal text, no 49
    icon = next(
        e
        for e in browser.find_elements("css selector", ".cm-icon")
        if e.get_attribute("title") == names["csv"][0]
    )
    browser.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", icon)
    deadline = time.monotonic() + 20
    content = ""
    while time.monotonic() < deadline and names["csv"][0] not in content:
        content = "".join(
            e.text for e in browser.find_elements("css selector", ".leaflet-popup-content")
        )
        time.sleep(0.05)
    assert names["csv"][0] in content and "{7*7}" in content, content
    assert "49" not in content
    browser.save_screenshot(str(artifacts / "security_template_payloads.png"))
    assert browser.execute_script("return window.__alerts") == []
    assert not marker.exists()
