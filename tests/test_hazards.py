"""Hazard zones (国土数値情報 files) and every shelter checked against its disaster (issue 25)."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pytest
import yaml
from click.testing import CliRunner
from paths import DATA
from shapely.geometry import Point

from civicmap.check import check_map
from civicmap.cli.main import main
from civicmap.errors import ConfigError, SourceError
from civicmap.hazards import (
    DEPTH_CLASSES,
    LANDSLIDE_CLASSES,
    HazardResult,
    check_sites,
    credit_for,
    depth_bounds,
    load_hazard,
)
from civicmap.pipeline import collect, render
from civicmap.render.paper import render_paper
from civicmap.report import quality_rows
from civicmap.spec.hazards import HazardSpec
from civicmap.spec.mapfile import load_map

HAZ = DATA / "hazards"
GSI = DATA / "shelters" / "gsi"
ISHIKAWA = DATA / "shelters" / "ishikawa" / "170003_evacuation_space.csv"
FLOOD = HAZ / "A31a-23_17_20_HANDMADE.geojson"
LANDSLIDE = HAZ / "A33-23_17_HANDMADE.shp"

#: 旧金沢市立野町小学校 (石川県 170003, row 1; GSI: 旧野町小学校, one site): designated for 洪水,
#: no 2階以上可.
NOMACHI = (36.55282538, 136.6481028)
SCHOOL = "旧野町小学校"


def _luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_depth_classes_keep_a_lightness_order_for_greyscale_copies():
    for classes in (DEPTH_CLASSES, LANDSLIDE_CLASSES):
        lum = [_luminance(c.color) for c in classes]
        assert lum == sorted(lum, reverse=True), lum  # deeper is darker
        assert min(a - b for a, b in itertools.pairwise(lum)) > 0.02


#: The 水害ハザードマップ作成の手引き's standard 浸水深 colours (RGB), as the 国土交通省 slide
#: "H28 下水道による都市浸水対策について" (p. 44) quotes its table: ~0.5 m … 20 m~.
TEBIKI_RGB = [(247, 245, 169), (255, 216, 192), (255, 183, 183), (255, 145, 145), (242, 133, 201),
              (220, 122, 220)]  # fmt: skip


def test_depth_classes_are_the_tebiki_thresholds_and_colours():
    assert [(c.min_m, c.max_m) for c in DEPTH_CLASSES] == [
        (0.0, 0.5), (0.5, 3.0), (3.0, 5.0), (5.0, 10.0), (10.0, 20.0), (20.0, None)
    ]  # fmt: skip
    rgb = [tuple(int(c.color[i : i + 2], 16) for i in (1, 3, 5)) for c in DEPTH_CLASSES]
    assert rgb == TEBIKI_RGB


def test_a31a_depth_rank_codes_read_through_the_official_code_list():
    layer = load_hazard(HazardSpec(file=FLOOD, kind="flood", year="2023"))
    raw = json.loads(FLOOD.read_text("utf-8"))
    ranks = sorted(f["properties"]["A31a_205"] for f in raw["features"])
    assert sorted(layer.zones["cls"] + 1) == ranks
    assert [layer.classes[c].ja for c in layer.classes_used()] == [
        "0.5 m未満", "0.5–3 m", "3–5 m", "5–10 m"
    ]  # fmt: skip
    assert (
        layer.credit.line()
        == "国土数値情報（洪水浸水想定区域データ）（国土交通省） / CC BY 4.0 / 2023"
    )


def test_the_hazard_credit_is_worded_in_the_maps_language():
    # the dataset name and the credit come from the glossaries, not from hazards.py
    en = load_hazard(HazardSpec(file=FLOOD, kind="flood", year="2023"), language="en")
    assert en.credit.line() == (
        "National Land Numerical Information (flood inundation assumed area data), Ministry of "
        "Land, Infrastructure, Transport and Tourism / CC BY 4.0 / 2023"
    )
    easy = credit_for(HazardSpec(file=LANDSLIDE, kind="landslide"), language="ja-easy")
    assert easy.credit == "国土数値情報（土砂災害警戒区域データ）（国土交通省）"  # readings dropped
    own = credit_for(
        HazardSpec(file=FLOOD, kind="flood", credit="○○市 洪水ハザード"), language="en"
    )
    assert own.credit == "○○市 洪水ハザード"  # a map file's own credit is printed as written


def test_shift_jis_geojson_and_a_projected_shift_jis_shapefile_read_alike():
    utf8 = load_hazard(HazardSpec(file=FLOOD, kind="flood"))
    sjis = load_hazard(HazardSpec(file=HAZ / "A31a-23_17_20_HANDMADE_sjis.geojson", kind="flood"))
    assert list(utf8.zones["cls"]) == list(sjis.zones["cls"])
    # A33 in 平面直角座標系 VII, attribute text Shift_JIS without a .cpg
    slide = load_hazard(HazardSpec(file=LANDSLIDE, kind="landslide"))
    assert sorted(slide.zones["cls"]) == [0, 0, 1]
    w, s, e, n = slide.zones.total_bounds
    assert 136.6 < w < e < 136.71 and 36.5 < s < n < 36.6  # metres turned into degrees
    covered, cls, _ = slide.at(136.6715, 36.5755)
    assert covered and LANDSLIDE_CLASSES[cls].ja == "土砂災害特別警戒区域"


def test_tsunami_depth_text_is_classed_by_its_lower_bound():
    assert depth_bounds("1m以上2m未満") == (1.0, 2.0)
    assert depth_bounds("０．３ｍ未満") == (0.0, 0.3)
    assert depth_bounds("20m以上") == (20.0, None)
    assert depth_bounds("不明") is None


def _map(tmp_path: Path, *, hazards, home=None, outputs=None) -> Path:
    raw = {
        "title": "金沢市 洪水と避難場所",
        "area": {"municipality": "17201"},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [
            {"id": "hinanjo", "title": {"ja": "指定避難所", "en": "Shelters"}, "role": "shelter",
             "style": {"symbol": "triangle", "color": "#2b8a3e"},
             "sources": [{"geojson": {"path": str(GSI / "evacuation_172014.json")}}]},
            {"id": "basho", "title": {"ja": "指定緊急避難場所", "en": "Evacuation sites"},
             "role": "shelter", "style": {"symbol": "square", "color": "#e8590c"},
             "sources": [{"geojson": {"path": str(GSI / "emergency_172014.json")}},
                         {"csv": {"path": str(ISHIKAWA)}}]},
        ],
        "hazards": hazards,
    }  # fmt: skip
    if home:
        # an extract far from 金沢: no street network there, straight lines, no network call
        shutil.copy(DATA / "osm/SmallAroundWaseda.osm", tmp_path / "extract.osm")
        raw["osm"] = {"file": "extract.osm"}
        raw["home"] = home
    if outputs:
        raw["outputs"] = outputs
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


def _deep_zone(tmp_path: Path) -> Path:
    """A generated 3–5 m zone (浸水深ランク 3) around 旧金沢市立野町小学校."""
    lat, lon = NOMACHI
    d = 0.0015
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d],
            [lon - d, lat - d]]  # fmt: skip
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"A31a_202": "犀川", "A31a_205": 3},
             "geometry": {"type": "Polygon", "coordinates": [ring]}},
            # a 0.5 m zone far away widens what the file covers (想定区域外, not 情報なし)
            {"type": "Feature", "properties": {"A31a_202": "犀川", "A31a_205": 1},
             "geometry": {"type": "Polygon", "coordinates": [[[136.55, 36.45], [136.56, 36.45],
                          [136.56, 36.46], [136.55, 36.45]]]}},
            {"type": "Feature", "properties": {"A31a_202": "犀川", "A31a_205": 1},
             "geometry": {"type": "Polygon", "coordinates": [[[136.80, 36.66], [136.81, 36.66],
                          [136.81, 36.67], [136.80, 36.66]]]}},
        ],
    }  # fmt: skip
    path = tmp_path / "A31a_deep.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    return path


def test_every_real_kanazawa_site_gets_a_hazard_line_or_no_information(tmp_path):
    spec = load_map(_map(tmp_path, hazards=[{"file": str(FLOOD), "kind": "flood", "year": 2023},
                                            {"file": str(LANDSLIDE), "kind": "landslide"}]))  # fmt: skip
    data = collect(spec)
    assert data.hazards is not None
    n_sites = sum(len(layer.features) for layer in data.layers)
    assert n_sites > 500
    checked = data.hazards.sites
    assert len(checked) == n_sites  # every site of both shelter layers
    counts: dict[str, int] = {}
    for site in checked.values():
        flood, slide = site.lines[0], site.lines[1]
        assert flood.startswith("洪水：") and (
            "想定浸水深" in flood or flood in ("洪水：想定区域外", "洪水：情報なし")
        )
        assert slide.startswith("土砂災害") and slide.endswith(("区域内", "区域外", "情報なし"))
        counts[flood.split(" ")[0]] = counts.get(flood.split(" ")[0], 0) + 1
    # the hand-made file covers the centre only: some sites in zones, some outside, most unknown
    assert counts["洪水：想定浸水深"] > 10 and counts["洪水：情報なし"] > 100
    assert "洪水：想定区域外" in counts


def test_a_flood_site_in_a_3m_zone_is_flagged_skipped_by_flood_routes_and_kept_for_earthquake(
    tmp_path,
):
    deep = _deep_zone(tmp_path)
    home = [NOMACHI[0] + 0.004, NOMACHI[1]]
    spec = load_map(_map(tmp_path, hazards=[{"file": str(deep), "kind": "flood"}],
                         home={"point": home, "disaster": "洪水"}))  # fmt: skip
    data = collect(spec)
    flagged = [(k, s) for k, s in data.hazards.sites.items() if s.unusable]
    names = {data.layer(k[0]).features.loc[k[1], "name"] for k, _ in flagged}
    assert SCHOOL in names
    (site,) = [s for k, s in flagged if data.layer(k[0]).features.loc[k[1], "name"] == SCHOOL]  # fmt: skip
    assert site.lines == ["洪水：想定浸水深 3–5 m", "この災害では使えない可能性があります（洪水）"]
    # --report lists it, and the flood routes skip it and say why (builder, not the sheet)
    rows = quality_rows(data)
    reasons = [r["reason"] for r in rows]
    assert any(SCHOOL in r and "may not be usable" in r for r in reasons)
    # a hazard row per site a hazard speaks of, with the lines the maps print; none "outside"
    hazard_rows = {r["row"]: r["reason"] for r in rows if r["kind"] == "hazard"}
    assert hazard_rows[SCHOOL] == (
        "洪水：想定浸水深 3–5 m / この災害では使えない可能性があります（洪水）"
    )
    assert not any("想定区域外" in r for r in hazard_rows.values())
    assert 1 <= len(hazard_rows) < 20  # the few sites in the generated zones, not every site
    assert any(f"skipped {SCHOOL}" in r for r in reasons)
    assert SCHOOL not in set(data.routes["shelter_name"])
    assert not any(SCHOOL in n for n in data.route_notes)
    # the home gets its own hazard line beside its routes (paper route table, web home popup)
    assert "自宅：洪水：想定区域外" in data.route_notes
    # the same place for 地震: kept and ranked (it is the nearest)
    spec = load_map(_map(tmp_path, hazards=[{"file": str(deep), "kind": "flood"}],
                         home={"point": home, "disaster": "地震"}))  # fmt: skip
    quake = collect(spec)
    assert SCHOOL in set(quake.routes["shelter_name"])


def test_without_the_hazard_file_the_site_is_not_flagged(tmp_path):
    """The flag comes from the zone, not from the site: the same map without hazards says nothing."""
    spec = load_map(_map(tmp_path, hazards=None))
    data = collect(spec)
    assert data.hazards is None
    assert not any("may not be usable" in r["reason"] for r in quality_rows(data))


@pytest.mark.parametrize(
    ("entry", "key", "words"),
    [
        ({"file": "nope.geojson", "kind": "flood"}, "hazards[0].file", "file not found"),
        ({"file": str(FLOOD), "kind": "quake"}, "hazards[0].kind", "flood, landslide"),
        (
            {"file": str(FLOOD), "kind": "flood", "colour": "red"},
            "hazards[0].colour",
            "unknown key",
        ),
        ("A31a.geojson", "hazards[0]", "expected {file:"),
    ],
)
def test_bad_hazards_entries_name_the_key_and_the_fix(tmp_path, entry, key, words):
    with pytest.raises(ConfigError) as err:
        load_map(_map(tmp_path, hazards=[entry]))
    (problem,) = [p for p in err.value.problems if p.key.startswith("hazards")]
    assert problem.key == key and words in problem.message


def test_a_file_without_the_class_column_says_which_key_to_give(tmp_path):
    spec = HazardSpec(file=FLOOD, kind="landslide")
    with pytest.raises(SourceError, match=r"A33_002.*give field:"):
        load_hazard(spec)


def _built(tmp_path: Path, hazards) -> tuple:
    spec = load_map(
        _map(tmp_path, hazards=hazards,
             # index: full, as the test reads the depth lines: auto picks the compact index
             # for these 500 places, which keeps only the strip and a ruled-out warning. main's
             # compact index kept them by accident (a prefix test: 「洪水：想定浸水深 …」 starts
             # like the strip's 「洪水○」); lang28's is_strip matches the whole strip only.
             outputs={"paper": {"file": "out/map.pdf", "size": "A3", "unreadable": "print",
                                "index": "full"},
                      "web": {"file": "out/map.html", "self_contained": True}})
    )  # fmt: skip
    data = collect(spec)
    render(data)
    return data, tmp_path / "out/map.pdf", tmp_path / "out/map.html"


@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler missing")
def test_paper_and_web_show_the_hazard_lines_legend_credit_and_the_two_honest_notes(tmp_path):
    deep = _deep_zone(tmp_path)
    data, pdf, page = _built(
        tmp_path,
        [
            {"file": str(deep), "kind": "flood", "year": 2023},
            {"file": str(LANDSLIDE), "kind": "landslide", "year": 2023},
        ],
    )
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    # the index: under the flagged school's entry (same column), its hazard line and the flag
    lines = text.splitlines()
    (i,) = [k for k, line in enumerate(lines) if f" {SCHOOL} " in f" {line} "]
    col = lines[i].index(SCHOOL)
    below = "".join(line[max(col - 4, 0) : col + 40] for line in lines[i + 1 : i + 6])
    assert "洪水：想定浸水深 3–5 m" in below
    assert "この災害では使えない可能性があります（洪水）" in below
    flagged = sum("flood" in s.unusable for s in data.hazards.sites.values())
    # once per index entry: two lists' records of one site (金沢市野町公民館 / 野町公民館, 90 m
    # apart) print as one entry, so there may be fewer flags than flagged records
    assert 1 <= flat.count("この災害では使えない可能性があります（洪水）") <= flagged
    # every index entry has its flood line (a few records merge into one entry, see above)
    assert flat.count("洪水：") >= 0.99 * sum(len(layer.features) for layer in data.layers)
    # legend classes, the credit with its year, the two honest sentences
    for words in (
        "洪水の想定",
        "0.5m未満",
        "3–5m",
        "20m以上",
        "土砂災害特別警戒区域",
        "国土数値情報（洪水浸水想定区域データ）（国土交通省）/CCBY4.0/2023",
        "想定区域の外でも安全とは限りません。",
        "詳しくは市町村のハザードマップで確認してください。",
    ):
        assert words in flat, words  # fmt: skip
    html_text = page.read_text("utf-8")
    assert '["ハザード","この災害では使えない可能性があります（洪水）"]' in html_text
    assert '"title":"洪水の想定"' in html_text and '"土砂災害特別警戒区域"' in html_text
    assert "想定区域の外でも安全とは限りません。" in html_text
    assert "国土数値情報（洪水浸水想定区域データ）（国土交通省） / CC BY 4.0 / 2023" in html_text


def test_check_lists_the_hazards_a_map_uses_with_their_classes(tmp_path):
    path = _map(
        tmp_path,
        hazards=[
            {"file": str(FLOOD), "kind": "flood", "year": 2023},
            {"file": str(LANDSLIDE), "kind": "landslide"},
        ],
        outputs={"web": {"file": "out/map.html"}},
    )
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output
    report = yaml.safe_load(result.output.split("OK (map)\n", 1)[1])  # after the warnings
    flood, slide = report["hazards"]
    assert flood["kind"] == "flood" and flood["file"] == FLOOD.name and flood["year"] == "2023"
    assert flood["zones"] == {"0.5 m未満": 1, "0.5–3 m": 1, "3–5 m": 1, "5–10 m": 1,
                              "10–20 m": 0, "20 m以上": 0}  # fmt: skip
    assert slide["zones"] == {"土砂災害警戒区域": 2, "土砂災害特別警戒区域": 1}
    assert "disaster" not in report  # no disaster: view
    # a landslide file given as kind: flood is a problem of the map, naming the entry
    bad = _map(tmp_path, hazards=[{"file": str(LANDSLIDE), "kind": "flood"}],
               outputs={"web": {"file": "out/map.html"}})  # fmt: skip
    result = CliRunner().invoke(main, ["check", str(bad)])
    assert result.exit_code != 0
    assert "hazards[0]" in result.output and "A31a_205" in result.output


def test_a40_tsunami_depth_text_gives_the_line_and_flags_a_deep_tsunami_site(tmp_path):
    """A40_003 holds the depth as text; the line quotes it, and ≥ 3 m flags a 津波 site."""
    ring = [[136.60, 36.60], [136.61, 36.60], [136.61, 36.61], [136.60, 36.61], [136.60, 36.60]]
    far = [[136.70, 36.70], [136.71, 36.70], [136.71, 36.71], [136.70, 36.70]]
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"A40_001": "石川県", "A40_003": "3m以上5m未満"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}},
        {"type": "Feature", "properties": {"A40_001": "石川県", "A40_003": "0.3m未満"},
         "geometry": {"type": "Polygon", "coordinates": [far]}},
    ]}  # fmt: skip
    path = tmp_path / "A40-16_17.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    layer = load_hazard(HazardSpec(file=path, kind="tsunami", year="2016"))
    assert layer.credit.credit == "国土数値情報（津波浸水想定データ）（国土交通省）"
    sites = gpd.GeoDataFrame(
        {"name": ["A", "B", "C"], "serves_tsunami": [True, None, True],
         "upstairs_only": ["", "", "垂直避難可"]},
        geometry=[Point(136.605, 36.605), Point(136.605, 36.606), Point(136.606, 36.605)],
        crs="EPSG:4326",
    )  # fmt: skip
    result = HazardResult(layers=[layer])
    check_sites(result, "tsunami_sites", sites, language="ja")
    a, b, c = (result.sites[("tsunami_sites", i)] for i in range(3))
    assert a.lines == [
        "津波：想定浸水深 3m以上5m未満",
        "この災害では使えない可能性があります（津波）",
    ]
    assert b.lines == ["津波：想定浸水深 3m以上5m未満"] and b.unusable == []  # not designated
    assert c.lines == ["津波：想定浸水深 3m以上5m未満（垂直避難可）"] and c.unusable == []


@pytest.mark.slow
@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler missing")
def test_route_table_and_every_export_carry_the_hazard_lines(tmp_path):
    """The paper route table says what the water does at each shelter; exports carry the flag."""
    deep = _deep_zone(tmp_path)
    home = [NOMACHI[0] + 0.004, NOMACHI[1]]
    spec = load_map(
        _map(tmp_path, hazards=[{"file": str(deep), "kind": "flood"}],
             home={"point": home, "disaster": "洪水"},
             outputs={"paper": {"file": "out/map.pdf", "size": "A3", "unreadable": "print"},
                      "geojson": {"file": "out/map.geojson"}, "kml": {"file": "out/map.kml"},
                      "umap": {"file": "out/map.umap"}})
    )  # fmt: skip
    data = collect(spec)
    render(data, kinds=["geojson", "kml", "umap"])
    # the paper map as render() writes it (write_paper draws it so), drawn once with its plan
    pdf, plan = render_paper(data, options=spec.paper)
    (tmp_path / "sheet.pdf").write_bytes(pdf)
    legs = plan.routes
    assert legs and SCHOOL not in {leg.name for leg in legs}
    # each ranked shelter's line for the routes' disaster (洪水), printed under its distance
    assert {leg.hazard for leg in legs} == {"洪水：想定区域外"}
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "sheet.pdf"), "-"], capture_output=True, text=True
    ).stdout
    box = text[text.index("避難所までの道のり") :]
    start = box.index(f"1. {legs[0].name}")
    below = [ln.strip() for ln in box[start:].splitlines()[1:5]]
    assert any(ln.endswith("洪水：想定区域外") for ln in below), below
    # exports: the flagged school says why, in GeoJSON, KML (description too) and uMap's popup
    gj = json.loads((tmp_path / "out/map.geojson").read_text("utf-8"))
    school = [f["properties"] for f in gj["features"] if f["properties"].get("name") == SCHOOL]
    assert school and all(
        p["hazards"] == "洪水：想定浸水深 3–5 m / この災害では使えない可能性があります（洪水）"
        for p in school
    )
    kml = (tmp_path / "out/map.kml").read_text("utf-8")
    assert "ハザード: 洪水：想定浸水深 3–5 m / この災害では使えない可能性があります（洪水）" in kml
    umap = json.loads((tmp_path / "out/map.umap").read_text("utf-8"))
    popups = [
        f["properties"]
        for layer in umap["layers"]
        for f in layer["features"]
        if f["properties"].get("name") == SCHOOL
    ]
    assert popups and all(
        "**ハザード**: {hazards}" in p["_umap_options"]["popupContentTemplate"] for p in popups
    )


@pytest.mark.slow
@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler missing")
def test_disaster_view_shows_only_suited_sites_and_draws_that_disasters_hazard(tmp_path):
    """disaster: 洪水 — flood-designated sites not ruled out by the zone; flood layers drawn only."""
    deep = _deep_zone(tmp_path)
    hazards = [{"file": str(deep), "kind": "flood"}, {"file": str(LANDSLIDE), "kind": "landslide"}]
    path = _map(tmp_path, hazards=hazards)
    everything = collect(load_map(path))
    raw = yaml.safe_load(path.read_text("utf-8"))
    raw["disaster"] = "洪水"
    raw["outputs"] = {"paper": {"file": "out/map.pdf", "size": "A3", "unreadable": "print"}}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    spec = load_map(path)
    assert spec.disaster == "flood" and spec.home_disaster == "洪水"
    assert check_map(path)["disaster"] == "flood"  # check says which view the map is
    data = collect(spec)
    render(data)
    for before, after in zip(everything.layers, data.layers, strict=True):
        f = before.features
        suited = [
            label
            for label in f.index
            if f.loc[label].get("serves_flood") is True
            and "flood" not in everything.hazards.sites[(before.id, label)].unusable
        ]
        assert list(after.features.index) == suited  # exactly the suited sites, in order
        assert 0 < len(suited) < len(f)
    names = {n for layer in data.layers for n in layer.features["name"]}
    assert SCHOOL not in names  # designated for 洪水 but in a 3–5 m zone
    # only the flood layer is drawn (paper) and on at load (web); both still give lines
    assert [h.kind for h in data.hazards.shown()] == ["flood"]
    site = next(iter(data.hazards.sites.values()))
    assert site.lines[1].startswith("土砂災害")
    # the sheet says what it shows, with the flood legend and the two notes, no landslide legend
    text = subprocess.run(["pdftotext", str(tmp_path / "out/map.pdf"), "-"],
                          capture_output=True, text=True).stdout  # fmt: skip
    flat = "".join(text.split())
    assert "洪水のときの避難先だけを表示しています" in flat
    assert "洪水の想定" in flat and "土砂災害の想定" not in flat
    assert "想定区域の外でも安全とは限りません。" in flat


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"disaster": "雷"}, "洪水 (flood)"),
        (
            {"disaster": "津波", "home": {"point": [36.55, 136.65], "disaster": "洪水"}},
            "one disaster",
        ),
    ],
)
def test_a_bad_disaster_names_the_key_and_the_choices(tmp_path, extra, words):
    path = _map(tmp_path, hazards=None)
    raw = yaml.safe_load(path.read_text("utf-8"))
    raw.update(extra)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    with pytest.raises(ConfigError) as err:
        load_map(path)
    (problem,) = [p for p in err.value.problems if p.key == "disaster"]
    assert words in problem.message


def test_landslide_flag_red_zone_always_yellow_zone_unless_the_building_serves(tmp_path):
    """特別警戒区域: flagged; 警戒区域: flagged unless the site has a 土砂災害 upper-floor note.

    And each disaster reads its own note: a 津波 note does not make a site usable for 洪水.
    """
    slide = load_hazard(HazardSpec(file=LANDSLIDE, kind="landslide"))
    reds = slide.zones[slide.zones["cls"] == 1].geometry.union_all()
    yellows = slide.zones[slide.zones["cls"] == 0].geometry.union_all()
    yellow = yellows.difference(reds).representative_point()  # a red zone lies in a yellow one
    red = reds.representative_point()
    deep = load_hazard(HazardSpec(file=_deep_zone(tmp_path), kind="flood"))
    school = Point(NOMACHI[1], NOMACHI[0])
    note = "崖崩れ、土石流及び地滑り: 2階以上可"
    sites = gpd.GeoDataFrame(
        {"name": ["Y", "Y2", "R2", "F"],
         "serves_landslide": [True, True, True, None],
         "serves_flood": [None, None, None, True],
         "upstairs_only": ["", note, note, "津波: 3階以上可"]},
        geometry=[yellow, yellow, red, school],
        crs="EPSG:4326",
    )  # fmt: skip
    result = HazardResult(layers=[slide, deep])
    check_sites(result, "s", sites, language="ja")
    y, y2, r2, f = (result.sites[("s", i)] for i in range(4))
    assert y.unusable == ["landslide"] and y.lines[0] == "土砂災害警戒区域内"
    assert y2.unusable == [] and y2.lines[0] == "土砂災害警戒区域内（2階以上可）"
    assert r2.unusable == ["landslide"] and r2.lines[0] == "土砂災害特別警戒区域内（2階以上可）"
    assert f.unusable == ["flood"] and f.lines[1] == "洪水：想定浸水深 3–5 m"
