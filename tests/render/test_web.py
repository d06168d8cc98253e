"""The web map as HTML text: self-contained offline, escaped, styled per layer, bilingual."""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import replace

import geopandas as gpd
import pytest
import yaml
from paths import TESTS
from shapely.geometry import Point

from civicmap.errors import ConfigError, OutputExistsError
from civicmap.pipeline import build, collect, demo_map_path, with_output_dir
from civicmap.render import assets, web
from civicmap.render.paper.render import render_paper
from civicmap.schema import DISASTER_TYPES
from civicmap.spec.mapfile import parse_map
from civicmap.spec.web import WebOptions

DATA = TESTS / "data"
PAYLOAD_CSV = DATA / "web" / "payload.csv"
XSS = "<img src=x onerror=alert(1)>"

needs_assets = pytest.mark.skipif(
    bool(assets.missing()), reason="run `python -m civicmap.render.assets install` first"
)


def _demo_raw() -> dict:
    return yaml.safe_load(demo_map_path().read_text(encoding="utf-8"))


def _collect(raw: dict):
    demo = demo_map_path()
    return collect(parse_map(raw, file=str(demo), base_dir=demo.parent))


@pytest.fixture(scope="module")
def payload_data():
    raw = _demo_raw()
    raw["layers"][0]["extra_sources"].append(
        {"csv": {"path": str(PAYLOAD_CSV), "category": "認可外"}}
    )
    data = _collect(raw)
    sh = data.layer("shelters").features
    sh["approximate"] = False
    sh.loc[sh.index[0], "approximate"] = True
    return data


def page_payload(page: str) -> dict:
    assert re.search(r"civicmap\.draw\(map_\w+,", page), "the page does not call civicmap.draw"
    m = re.search(r'<script type="application/json" id="civicmap-data">(.*?)</script>', page, re.S)
    assert m, "the page has no civicmap-data block"
    return json.loads(m.group(1))


@needs_assets
def test_offline_page_loads_nothing_from_the_network(payload_data):
    page = web.render_html(
        payload_data,
        options=WebOptions.from_dict({"self_contained": True}, language=payload_data.language),
    )
    assert not re.findall(r"<(?:script|img)[^>]+src=\"https?:", page)
    assert not re.findall(r"<link[^>]+href=\"https?:", page)
    assert "leaflet.markercluster" in page.lower() or "MarkerClusterGroup" in page
    assert "L.Control.Locate" in page and "fullscreen" in page.lower()
    # leaflet.css images are inlined as data: URIs, not left as relative paths
    assert "url(images/" not in page
    assert 'name="viewport"' in page and 'content="width=device-width' in page
    assert page.startswith('<!DOCTYPE html>\n<html lang="ja">')


def test_online_page_links_pinned_cdn_versions(payload_data):
    page = web.render_html(
        payload_data, options=WebOptions.from_dict({}, language=payload_data.language)
    )
    assert '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js">' in page
    assert "jquery" not in page.lower() and "bootstrap" not in page.lower()
    p = page_payload(page)
    assert p["tile"] == "gsi" and p["offline"] is False
    gsi = next(t for t in p["tiles"] if t["id"] == "gsi")
    assert (
        "地理院タイル" in gsi["attribution"] and "cyberjapandata.gsi.go.jp/xyz/pale" in gsi["url"]
    )


def test_a_cdn_page_opened_without_network_says_why_instead_of_staying_blank(payload_data):
    """Leaflet from the CDN did not load (no network): the reader sees why, in the map's words.

    The notice is in the page body after the CDN scripts, and only ``window.L`` (Leaflet
    loaded) takes it away; a self-contained page never needs it.
    """
    notice = "この地図を表示するにはインターネット接続が必要です"
    page = web.render_html(
        payload_data, options=WebOptions.from_dict({}, language=payload_data.language)
    )
    body = page[page.index("<body>") :]
    assert notice in re.sub(r"<script\b.*?</script>", "", body, flags=re.S)
    last_cdn = max(m.end() for m in re.finditer(r'<script src="https://cdn[^"]+">', page))
    assert page.index(notice) > last_cdn
    removal = re.search(r"<script>if \(window\.L\) document\.getElementById\(\"([\w-]+)\"\)", page)
    assert removal and f'id="{removal.group(1)}"' in page
    english = replace(payload_data, spec=replace(payload_data.spec, language="en"))
    page_en = web.render_html(english, options=WebOptions.from_dict({}, language="en"))
    shown_en = re.sub(r"<script\b.*?</script>", "", page_en, flags=re.S)
    assert "needs an internet connection" in shown_en and notice not in shown_en
    if not assets.missing():
        inlined = web.render_html(
            payload_data,
            options=WebOptions.from_dict({"self_contained": True}, language="ja"),
        )
        assert notice not in re.sub(r"<script\b.*?</script>", "", inlined, flags=re.S)


def test_names_from_data_never_reach_the_page_as_html(payload_data):
    page = web.render_html(
        payload_data, options=WebOptions.from_dict({}, language=payload_data.language)
    )
    assert XSS not in page
    assert "<script>alert(2)" not in page
    names = [f["n"] for layer in page_payload(page)["layers"] for f in layer["features"]]
    assert XSS in names  # kept as text, shown via textContent
    assert '<script>alert(2)</script> ひよこ保育室 & "Co"' in names
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page


def test_every_layer_with_its_style_counts_and_credits(payload_data):
    p = page_payload(
        web.render_html(
            payload_data, options=WebOptions.from_dict({}, language=payload_data.language)
        )
    )
    by_id = {layer["id"]: layer for layer in p["layers"]}
    assert list(by_id) == ["childcare", "shelters"]
    for layer in payload_data.layers:
        got = by_id[layer.id]
        assert got["count"] == len(layer.features) == len(got["features"])
        assert got["color"] == layer.spec.style.color
        assert got["symbol"] == layer.spec.style.symbol
    assert by_id["childcare"]["path"].startswith("M")  # circle
    assert by_id["shelters"]["symbol"] == "triangle"
    assert p["title"] == "西早稲田・大久保 子育て・防災マップ"
    assert p["credits"][0].startswith("© OpenStreetMap contributors")
    assert any("新宿区オープンデータ 保育施設一覧" in c and "2018" in c for c in p["credits"])
    assert any("国土地理院" in c for c in p["credits"])
    # approximate places are marked; the OSM data edge is drawn
    assert sum(1 for f in by_id["shelters"]["features"] if f.get("a")) == 1
    assert p["edge"]["type"] == "LineString"
    kinds = {k for k, _ in p["basemap"]["k"]}
    assert {"building", "road_major", "park"} <= kinds


def test_popup_rows_follow_the_layer_popup_fields(payload_data):
    p = page_payload(
        web.render_html(
            payload_data, options=WebOptions.from_dict({}, language=payload_data.language)
        )
    )
    child = next(layer for layer in p["layers"] if layer["id"] == "childcare")
    okubo = next(f for f in child["features"] if f["n"] == "大久保第一保育園" and f["p"])
    labels = [r[0] for r in okubo["p"]]
    assert "住所" in labels and "種別" in labels
    assert all(r[1] for r in okubo["p"])  # no empty rows


def test_popup_template_and_english(payload_data):
    data = copy.copy(payload_data)
    data.spec = replace(payload_data.spec, language="en")
    child = data.layer("childcare")
    feats = child.features.copy()
    feats["name:en"] = ""
    feats.loc[feats["name"] == "大久保第一保育園", "name:en"] = "Okubo Daiichi Nursery"
    en_child = replace(
        child, features=feats, spec=replace(child.spec, popup="{name} ({category})\nTEL {TEL}")
    )
    data.layers = [en_child, data.layer("shelters")]
    p = page_payload(
        web.render_html(data, options=WebOptions.from_dict({}, language=data.language))
    )
    assert p["lang"] == "en" and p["texts"]["legend"] == "Legend" and p["tile"] == "osm"
    layer = p["layers"][0]
    assert layer["title"] == "Childcare"
    f = next(f for f in layer["features"] if f["n"] == "Okubo Daiichi Nursery")
    assert f["o"] == "大久保第一保育園"
    assert f["p"].startswith("Okubo Daiichi Nursery (")
    csv_row = next(f for f in layer["features"] if f["n"] == XSS)
    assert csv_row["p"].endswith("TEL ")  # missing column: blank, not an error


def test_large_layers_cluster_and_the_option_overrides(payload_data):
    layer = payload_data.layer("childcare")
    pts = [Point(139.70 + i * 1e-5, 35.70) for i in range(250)]
    big = gpd.GeoDataFrame({"name": [f"p{i}" for i in range(250)]}, geometry=pts, crs="EPSG:4326")
    big_layer = replace(layer, features=big)
    assert (
        web.layer_payload(
            big_layer, language="ja", options=WebOptions.from_dict({}, language="ja")
        )["cluster"]
        is True
    )
    # small layers: "auto", the page clusters them only where markers overlap
    assert (
        web.layer_payload(layer, language="ja", options=WebOptions.from_dict({}, language="ja"))[
            "cluster"
        ]
        == "auto"
    )
    assert (
        web.layer_payload(
            layer, language="ja", options=WebOptions.from_dict({"cluster": True}, language="ja")
        )["cluster"]
        is True
    )
    assert (
        web.layer_payload(
            big_layer,
            language="ja",
            options=WebOptions.from_dict({"cluster": False}, language="ja"),
        )["cluster"]
        is False
    )
    assert (
        web.layer_payload(
            layer, language="ja", options=WebOptions.from_dict({"labels": False}, language="ja")
        )["labels"]
        is False
    )


def test_bad_option_names_the_key(payload_data):
    with pytest.raises(
        ConfigError, match=r"outputs\.web\.tiles: got 'google', expected gsi .*, osm .* or none"
    ):
        web.render_html(
            payload_data,
            options=WebOptions.from_dict({"tiles": "google"}, language=payload_data.language),
        )


def test_missing_assets_say_how_to_install(payload_data, tmp_path, monkeypatch):
    monkeypatch.setattr(assets, "VENDOR_DIR", tmp_path / "vendor")
    out = tmp_path / "map.html"
    with pytest.raises(
        assets.AssetsMissingError, match=r"python -m civicmap\.render\.assets install"
    ):
        web.write_web(
            payload_data,
            out,
            options=WebOptions.from_dict({"self_contained": True}, language=payload_data.language),
            overwrite=False,
        )
    assert not out.exists() and list(tmp_path.iterdir()) == []


@needs_assets
def test_write_is_atomic_and_refuses_to_overwrite(payload_data, tmp_path):
    out = tmp_path / "map.html"
    web.write_web(
        payload_data,
        out,
        options=WebOptions.from_dict({"self_contained": True}, language=payload_data.language),
        overwrite=False,
    )
    first = out.read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        web.write_web(
            payload_data,
            out,
            options=WebOptions.from_dict({}, language=payload_data.language),
            overwrite=False,
        )
    assert out.read_bytes() == first
    web.write_web(
        payload_data,
        out,
        options=WebOptions.from_dict({}, language=payload_data.language),
        overwrite=True,
    )
    assert out.read_bytes() != first


@needs_assets
def test_demo_build_writes_an_offline_web_map(tmp_path):
    spec = with_output_dir(
        parse_map(_demo_raw(), file=str(demo_map_path()), base_dir=demo_map_path().parent), tmp_path
    )
    written = build(spec, formats=("web",))
    page = written["web"][0].read_text(encoding="utf-8")
    assert page_payload(page)["offline"] is True
    assert not re.findall(r"<script[^>]+src=\"https?:", page)
    assert 1 < len(page.encode()) < 3_000_000


@pytest.fixture(scope="module")
def home_data():
    spec = parse_map(_demo_raw(), file=str(demo_map_path()), base_dir=demo_map_path().parent)
    return collect(replace(spec, home=(35.7066, 139.7062)))


def test_home_routes_reach_the_page_nearest_on_foot_first(home_data):
    routes = home_data.routes.copy()
    routes.loc[routes.index[2], "shelter_name"] = XSS
    data = replace(home_data, routes=routes)
    page = web.render_html(data, options=WebOptions.from_dict({}, language=data.language))
    assert XSS not in page  # only ever as escaped JSON text
    r = page_payload(page)["routes"]
    assert r["home"] == [35.7066, 139.7062]
    assert len(r["items"]) == len(routes)
    first = r["items"][0]
    # 西早稲田中学校 is nearest on foot though 都立戸山高等学校 is nearer in a straight line
    assert first["n"] == "西早稲田中学校" and first["nearest"] and first["walk"]
    assert [i["nearest"] for i in r["items"]].count(True) == 1
    best = routes.sort_values("walk_m").iloc[0]
    assert first["t"][0] == f"徒歩 {math.ceil(best['walk_min'])}分 / {round(best['walk_m'])} m"
    assert first["t"][1] == f"直線 {round(best['straight_m'])} m"
    assert first["t"][2] == "徒歩で近い順 1"
    assert XSS in [i["n"] for i in r["items"]]
    # the line starts at home and follows the streets
    assert first["g"][0] == pytest.approx([35.7066, 139.7062], abs=1e-6) and len(first["g"]) > 3
    assert (
        page_payload(
            web.render_html(
                replace(home_data, routes=None),
                options=WebOptions.from_dict({}, language=replace(home_data, routes=None).language),
            )
        )["routes"]
        is None
    )


def test_straight_fallback_routes_are_marked_and_english_texts(home_data):
    from civicmap.pipeline import home_routes

    straight = home_routes((35.7066, 139.7062), home_data.layers, graph=None)
    assert (straight["route"] == "straight").all()
    r = web.routes_payload(straight, (35.7066, 139.7062), language="en")
    assert all(not i["walk"] and not i["nearest"] for i in r["items"])
    assert all(len(i["g"]) == 2 for i in r["items"])
    first = r["items"][0]
    assert first["n"] == "都立戸山高等学校"  # nearest in a straight line
    assert first["t"][0].startswith("straight line ") and "no walking route" in first["t"][0]
    assert web.TEXTS["en"]["home"] == "Home" and web.TEXTS["ja"]["home"] == "自宅"


def test_disasters_pseudo_field_lists_what_a_shelter_serves(home_data):
    from civicmap.mapdata import LayerData
    from civicmap.sources.vector import read_geojson

    spec = home_data.layer("shelters").spec
    assert "disasters" in spec.popup and "disasters" in spec.index
    # GSI 指定緊急避難場所 (real data): each site says which disasters it serves
    gsi = read_geojson(
        DATA / "shelters/gsi/emergency_131041.json",
        layer="shelters",
        options={"category": "指定緊急避難場所"},
    ).features
    shelters = LayerData(spec=spec, features=gsi)
    row = gsi[gsi["name"] == "おとめ山公園地区一帯"].iloc[0]
    rows = {r[0]: r[1] for r in web.popup_rows(shelters, row, language="ja")}
    assert rows["対応災害"] == "地震・大規模な火事"
    en = {r[0]: r[1] for r in web.popup_rows(shelters, row, language="en")}
    assert en["Serves"] == "earthquake, fire"
    p = web.layer_payload(shelters, language="ja", options=WebOptions.from_dict({}, language="ja"))
    assert all(["対応災害", "地震・大規模な火事"] in f["p"] for f in p["features"] if f["p"])
    # a place known to serve nothing gets no empty row
    none = row.copy()
    for k in DISASTER_TYPES:
        none[f"serves_{k}"] = False
    assert "対応災害" not in {r[0] for r in web.popup_rows(shelters, none, language="ja")}


def test_basemap_is_encoded_compactly_and_decodes_to_the_same_places(payload_data):
    """Integer deltas of 1e-5° decode back to within ~1.5 m of every OSM vertex kept."""
    bm = payload_data.basemap
    enc = web.basemap_payload(bm)
    compact = len(json.dumps(enc, separators=(",", ":")))
    geojson = len(json.dumps(bm.__geo_interface__, separators=(",", ":")))
    assert compact < geojson / 3
    ox, oy = enc["o"]
    sc = enc["s"]
    decoded = []
    for _kind, geoms in enc["k"]:
        for g in geoms:
            for part in g[1:]:
                x = y = 0
                for i in range(0, len(part), 2):
                    x += part[i]
                    y += part[i + 1]
                    decoded.append((ox + x / sc, oy + y / sc))
    # every decoded vertex lies on (within ~1.5 m of) an original geometry
    from shapely.geometry import MultiPoint

    union = bm.geometry.union_all()
    pts = MultiPoint(decoded[:: max(1, len(decoded) // 2000)])
    assert union.buffer(0.000015).contains(pts)
    counts = bm["kind"].value_counts().to_dict()
    got = {k: len(g) for k, g in enc["k"]}
    for kind, n in counts.items():
        assert got[kind] >= n  # multi-geometries become several entries, nothing dropped


def test_popup_labels_shortcuts_links_and_unnamed_places(payload_data):
    """Japanese labels for raw columns, the layer file's labels first, English on en maps."""
    child = payload_data.layer("childcare")
    feats = child.features.copy()
    row = feats[feats["name"] == "大久保第一保育園"].iloc[0].copy()
    rows = {r[0]: r for r in web.popup_rows(child, row, language="ja")}
    assert rows["電話番号"][1] == row["TEL"] and rows["電話番号"][2].startswith("tel:")
    assert rows["定員"][1] == str(int(float(row["Capall"])))
    assert "TEL" not in rows and "Capall" not in rows
    en = {r[0] for r in web.popup_rows(child, row, language="en")}
    assert {"Phone", "Capacity", "Address"} <= en
    # the layer file's own label wins; a shortcut finds whichever column has the value
    spec = replace(child.spec, popup=("phone", "Capall"), labels={"Capall": {"ja": "園児の定員"}})
    custom = {r[0]: r[1] for r in web.popup_rows(replace(child, spec=spec), row, language="ja")}
    assert custom == {"電話番号": row["TEL"], "園児の定員": str(int(float(row["Capall"])))}
    # an unnamed place is named by its category, flagged, and gets no label
    row["name"] = ""
    nameless = replace(child, features=feats.assign(name="")).features
    p = web.layer_payload(
        replace(child, features=nameless),
        language="ja",
        options=WebOptions.from_dict({}, language="ja"),
    )
    f = p["features"][0]
    assert f["n"] == nameless.iloc[0]["category"] and f["u"] == 1 and not f.get("l")


def test_payload_numbers_places_as_the_paper_index(payload_data):
    """Issue 24: 大久保第一保育園 was 1 on the printed web page and 3 on paper."""
    page = web.render_html(payload_data, options=WebOptions.from_dict({}, language="ja"))
    body = page_payload(page)
    _pdf, plan = render_paper(payload_data)
    # what the paper index prints: the number of each place and of the places drawn with it
    on_paper = {}
    for e in plan.entries:
        on_paper.setdefault((e.layer.id, e.name), e.number)
    web_numbers = {}
    for layer in body["layers"]:
        for f in layer["features"]:
            web_numbers[(layer["id"], f["n"])] = f.get("no")
    named = {k: v for k, v in on_paper.items() if k in web_numbers}
    assert len(named) >= 20
    assert {k: web_numbers[k] for k in named} == named
    assert (
        web_numbers[("childcare", "大久保第一保育園")]
        == on_paper[("childcare", "大久保第一保育園")]
    )
    # every drawn marker has a number, and one number is one site
    assert all(f.get("no") for layer in body["layers"] for f in layer["features"])
