"""A KML written by 地理院地図's own 作図・ファイル tool (issue 29).

``gsimaps_sakuzu_kodaira.kml`` was drawn in the real 地理院地図 (gsi-cyberjapan/gsimaps,
served on 127.0.0.1, driven in headless Chromium by ``scripts/gsimaps_sakuzu/``) and saved
with its KML形式 save button: five points, one line, one polygon. What the app writes, unlike
the hand-made ``gsi_sakuzu_description.kml``: no ``<name>`` element at all when 名称 is left
empty; the 項目名/値 rows as ``<table>`` in ``<description>``; free text with its line breaks
removed; ``&``/``<`` escaped in ``<name>``; styles as ``aabbggrr`` colours. The expected
values below are read from the file with ElementTree, never from civicmap.
"""

from __future__ import annotations

import re
import subprocess
from xml.etree import ElementTree

import pytest
from paths import DATA
from test_layered_maps import pdf_colours

import civicmap
from civicmap.check import check_file
from civicmap.render.paper import render_paper
from civicmap.render.web import payload
from civicmap.sources import read_path

KML_FILE = DATA / "kml" / "gsimaps_sakuzu_kodaira.kml"
NS = "{http://www.opengis.net/kml/2.2}"
_CELLS = re.compile(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>")


def _placemarks() -> list[dict]:
    """Each placemark as the app wrote it: <name> (None when absent), table rows or text."""
    styles = {}
    root = ElementTree.parse(KML_FILE).getroot()
    for st in root.iter(f"{NS}Style"):
        styles[st.get("id")] = {
            "line": st.findtext(f"{NS}LineStyle/{NS}color"),
            "width": st.findtext(f"{NS}LineStyle/{NS}width"),
            "fill": st.findtext(f"{NS}PolyStyle/{NS}color"),
        }
    out = []
    for pm in root.iter(f"{NS}Placemark"):
        desc = (pm.findtext(f"{NS}description") or "").strip()
        kind = next(g.tag.removeprefix(NS) for g in pm if g.tag.removeprefix(NS) in (
            "Point", "LineString", "Polygon"))  # fmt: skip
        out.append({
            "name": pm.findtext(f"{NS}name"),
            "rows": dict(_CELLS.findall(desc)),
            "text": "" if desc.startswith("<table>") else desc,
            "kind": kind,
            "style": styles[pm.findtext(f"{NS}styleUrl").lstrip("#")],
        })  # fmt: skip
    return out


def _rgb(abgr: str) -> str:
    """KML ``aabbggrr`` → ``#rrggbb``."""
    return f"#{abgr[6:8]}{abgr[4:6]}{abgr[2:4]}".lower()


def _expected_name(pm: dict) -> str:
    # the name the user typed in 名称, else the table's 名称 row, else the free text
    return pm["name"] or pm["rows"].get("名称") or pm["text"]


def _map(tmp_path):
    f = tmp_path / "map.yaml"
    f.write_text(
        "title: 作図\narea: {bbox: [139.470, 35.725, 139.484, 35.733]}\nosm: false\n"
        f"layers:\n  - id: sakuzu\n    title: 町内会の作図\n    sources:\n"
        f"      - kml: {{path: {KML_FILE}}}\n",
        encoding="utf-8",
    )
    return civicmap.collect(civicmap.load_map(f))


@pytest.fixture(scope="module")
def sakuzu(tmp_path_factory):
    return _map(tmp_path_factory.mktemp("sakuzu"))


def test_the_file_is_what_the_app_writes():
    """Guards the fixture: the cases below are in it (a missing <name>, a 名称 row, free text)."""
    pms = _placemarks()
    assert [p["kind"] for p in pms] == ["Point"] * 5 + ["LineString", "Polygon"]
    assert [p["name"] is None for p in pms].count(True) == 2
    assert "<name></name>" not in KML_FILE.read_text(encoding="utf-8")
    assert any(p["name"] is None and "名称" in p["rows"] for p in pms)
    assert any(p["name"] is None and p["text"] for p in pms)


def test_every_placemark_is_read_with_its_name_fields_and_description():
    pms = _placemarks()
    r = read_path(KML_FILE, layer="sakuzu")
    f = r.features
    assert len(f) + len(r.rejected) == r.info["rows"] == len(pms) == 7
    assert not r.rejected
    # the 作図 point with no 名称 and a 名称 row in its table was left unnamed before
    assert list(f["name"]) == [_expected_name(p) for p in pms]
    assert (f["name"] != "").all()
    assert f["name"].iloc[4] == "山田＆佐藤クリニック <内科>"  # unescaped once, not twice
    assert r.info["name_from_description"] == 2
    for (_, row), pm in zip(f.iterrows(), pms, strict=True):
        for key, value in pm["rows"].items():
            assert row[key] == value, key
        if pm["rows"]:
            # the description was only its table, whose rows are columns now: a popup
            # showing both said everything twice
            assert row["description"] == ""
        else:
            assert row["description"] == pm["text"]
    assert f["address"].iloc[0] == pms[0]["rows"]["住所"]
    assert f["category"].iloc[0] == pms[0]["rows"]["種別"]
    assert f["capacity"].iloc[0] == int(pms[0]["rows"]["収容人数"])


def test_check_reports_every_place_named():
    report = check_file(KML_FILE)
    assert report["rows"] == report["mapped"] == 7 and not report["rejected"]
    assert report["columns"]["name"] == "name"
    assert report["place_counts"]["named"] == 7  # 6 before: the 名称 row was not read
    assert report["name_from_description"] == 2


def test_web_draws_the_line_and_the_polygon_in_the_files_style(sakuzu):
    pms = _placemarks()
    line, area = pms[5], pms[6]
    layer = payload(sakuzu)["layers"][0]
    feats = {f["n"]: f for f in layer["features"]}
    route = feats[line["name"]]
    # the route is red in the file: a colour per category (避難経路) must not repaint it
    assert route["c"] == _rgb(line["style"]["line"])
    assert route["ss"]["w"] == float(line["style"]["width"])
    zone = feats[area["name"]]
    assert zone["c"] == _rgb(area["style"]["line"])
    assert zone["ss"] == {"w": float(area["style"]["width"]), "f": _rgb(area["style"]["fill"])}
    assert layer["fillOpacity"] == pytest.approx(int(area["style"]["fill"][:2], 16) / 255, abs=0.01)
    names = {_expected_name(p) for p in pms}
    assert set(feats) == names
    # popups list the table's fields; no internal marker among them
    keys = {k for f in layer["features"] for k, *_ in f["p"]}
    assert "種別" in keys and not any("\0" in k for k in keys)


def test_paper_numbers_every_point_and_draws_line_and_polygon_in_their_colours(sakuzu, tmp_path):
    pms = _placemarks()
    pdf, plan = render_paper(sakuzu)
    points = [_expected_name(p) for p in pms if p["kind"] == "Point"]
    assert sorted(e.name for e in plan.entries) == sorted(points)
    fills, strokes = pdf_colours(pdf)
    line, area = pms[5]["style"], pms[6]["style"]
    assert strokes[_rgb(line["line"])] >= 1  # the route, red
    assert strokes[_rgb(area["line"])] >= 1 and fills[_rgb(area["fill"])] >= 1
    (tmp_path / "m.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(tmp_path / "m.pdf"), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    flat = re.sub(r"\s+", "", text)
    for name in [*points, pms[5]["name"], pms[6]["name"]]:
        assert re.sub(r"\s+", "", name) in flat, name  # index entries, legend for line/area
