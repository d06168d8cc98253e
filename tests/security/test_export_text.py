"""Exports carry data as text, never as markup, and never hold control characters.

KML viewers (Google Earth, My Maps) show a Placemark's ``description`` as HTML:
a cell that is markup must arrive escaped for HTML, not only for XML. And a map
file's own texts (title, layer titles) may hold control characters (a pasted
form feed, ``"\\x01"`` in a YAML string): XML 1.0 cannot hold them, so one in
the title made the whole KML unreadable. Every export (KML, GeoJSON, .umap)
is read back here with a real parser.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from civicmap.pipeline import build
from civicmap.spec.mapfile import load_map

HOSTILE_NAME = '<img src=x onerror="alert(1)">保育園'
HOSTILE_ADDRESS = "<script>alert(2)</script>新宿区 & <b>大久保</b>"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
NS = {"k": "http://www.opengis.net/kml/2.2"}


def _map(tmp: Path, *, control: bool = True) -> Path:
    (tmp / "places.csv").write_text(
        "名称,住所,緯度,経度\n"
        f'"{HOSTILE_NAME.replace(chr(34), chr(34) * 2)}",{HOSTILE_ADDRESS},35.7060,139.7060\n'
        "ふつうの保育園,新宿区大久保1-1,35.7065,139.7065\n",
        encoding="utf-8",
    )
    # YAML double-quoted escapes: a form feed, a start-of-heading, a bell, a NEL
    text = (
        'title: "西早稲田\\f子育て\\x01マップ\\a"\n'
        'subtitle: "試し\\x1bの地図\\N"\n'
        "area: {bbox: [139.703, 35.704, 139.710, 35.709]}\n"
        "osm: false\n"
        "basemap: {tiles: none}\n"
        "layers:\n"
        "  - id: places\n"
        '    title: {ja: "保育\\x02施設", en: Childcare}\n'
        "    sources: [{csv: {path: places.csv}}]\n"
        "outputs:\n"
        "  kml: {file: out/map.kml}\n"
        "  geojson: {file: out/map.geojson}\n"
        "  umap: {file: out/map.umap}\n"
    )
    if not control:
        text = re.sub(r"\\(?:f|a|N|x[0-9a-f]{2})", "", text)
    (tmp / "map.yaml").write_text(text, encoding="utf-8")
    assert ("\x01" in yaml.safe_load(text)["title"]) is control  # they reach the map
    return tmp / "map.yaml"


def test_kml_with_control_characters_in_the_map_files_texts_is_valid_xml(tmp_path):
    written = build(load_map(_map(tmp_path)))
    raw = written["kml"][0].read_text(encoding="utf-8")
    assert not CONTROL.search(raw)
    root = ET.fromstring(raw.encode("utf-8"))  # a parser accepts the file
    doc = root.find("k:Document", NS)
    assert doc.find("k:name", NS).text == "西早稲田子育てマップ"
    assert doc.find("k:Folder/k:name", NS).text == "保育施設"


def test_kml_descriptions_carry_data_as_text_not_html(tmp_path):
    written = build(load_map(_map(tmp_path, control=False)))
    root = ET.fromstring(written["kml"][0].read_bytes())
    marks = root.findall(".//k:Placemark", NS)
    hostile = next(m for m in marks if "onerror" in (m.find("k:name", NS).text or ""))
    desc = hostile.find("k:description", NS).text  # what a viewer renders as HTML
    assert "<script" not in desc and "<b>" not in desc and "<img" not in desc
    assert "&lt;script&gt;alert(2)&lt;/script&gt;新宿区 &amp; &lt;b&gt;大久保&lt;/b&gt;" in desc
    # the name stays the data's own text (a name is shown as text)
    assert hostile.find("k:name", NS).text == HOSTILE_NAME


def test_json_exports_hold_no_control_characters(tmp_path):
    written = build(load_map(_map(tmp_path)))
    geo = json.loads(written["geojson"][0].read_text(encoding="utf-8"))
    umap = json.loads(written["umap"][0].read_text(encoding="utf-8"))
    assert geo["name"] == "西早稲田子育てマップ"
    assert umap["properties"]["name"] == "西早稲田子育てマップ"
    assert umap["properties"]["description"] == "試しの地図"
    texts = json.dumps([geo, umap], ensure_ascii=False)  # \u escapes of the characters
    assert not re.search(r"\\u00[01][0-9a-f]|\\u007f|\\u008[0-9a-f]|\\u009[0-9a-f]", texts)
    assert {f["properties"]["layer_title"] for f in geo["features"]} == {"保育施設"}
