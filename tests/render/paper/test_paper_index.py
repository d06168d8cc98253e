"""The paper index read back from the PDF: a reader finds a place where a 五十音 index files it.

Real lists: 富山市's nurseries have no カナ column (read by the analyser),
金沢市's GSI lists write 金沢市立森本小学校 and 金沢市森本公民館, and the
prefecture's list places 金沢市芳斎公民館 79 m from GSI's 芳斎公民館.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from paper_maps import GSI, TOYAMA_CSV, kanazawa_raw, toyama_raw

import civicmap
from civicmap.errors import ConfigError
from civicmap.pipeline import collect
from civicmap.render.paper import render_paper
from civicmap.render.paper.index_keys import heading
from civicmap.spec.mapfile import parse_map
from civicmap.spec.paper import PaperOptions

pytestmark = [
    pytest.mark.pdf,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed"),
]

ISHIKAWA_CSV = GSI.parent / "ishikawa" / "170003_evacuation_space.csv"
HEADINGS = ("あ", "か", "さ", "た", "な", "は", "ま", "や", "ら", "わ")


def _lines(pdf: bytes, tmp: Path) -> list[str]:
    path = tmp / "map.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return [line.strip() for line in out.splitlines()]


def _collect(raw: dict, tmp: Path):
    return collect(parse_map(raw, file=str(tmp / "map.yaml"), base_dir=tmp))


@pytest.fixture(scope="module")
def toyama_index(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toyama_index")
    pdf, plan = render_paper(
        _collect(toyama_raw(), tmp), options=PaperOptions.from_dict({"size": "A3"}, file="<test>")
    )
    return _lines(pdf, tmp), plan


def test_toyama_names_without_kana_are_in_gojuon_order_under_headings(toyama_index):
    lines, _plan = toyama_index
    # 認可保育所 of 富山市: 愛宕 (あたご) before 大久保 (おおくぼ) before 呉羽 (くれは),
    # not code-point order (呉羽 U+5449 < 大 U+5927 < 愛 U+611B).
    pos = [lines.index(n) for n in ("愛宕保育所", "大久保保育所", "呉羽保育所")]
    assert pos == sorted(pos), pos
    # 【地域型保育事業】うさかスマイル保育園 is filed under う, not first of its category
    first = next(i for i, s in enumerate(lines) if s == "■ 認可保育所")
    usaka = next(i for i, s in enumerate(lines) if s.startswith("【地域型保育事業】うさか"))
    assert lines.index("愛宕保育所") < usaka < lines.index("大久保保育所")
    # the 五十音 headings stand on lines of their own, in order within a category
    heads = [s for s in lines[first:] if s in HEADINGS]
    assert {"あ", "か", "さ", "た", "は", "ま"} <= set(heads)
    assert heads[: heads.index("わ") + 1] == sorted(
        heads[: heads.index("わ") + 1], key=HEADINGS.index
    )
    # said once: readings come from a dictionary where the list gives none
    text = "".join(lines)
    assert text.count("辞書で推定した読み") == 1


def test_kanazawa_names_are_filed_without_kanazawa_shiritsu(tmp_path):
    raw = kanazawa_raw()
    raw["area"] = {"bbox": [136.686, 36.612, 136.70, 36.625]}  # 森本
    raw["layers"] = raw["layers"][1:]  # the 指定緊急避難場所 list: 金沢市立…, 金沢市…, 金沢市営…
    pdf, plan = render_paper(
        _collect(raw, tmp_path), options=PaperOptions.from_dict({"size": "A4"}, file="<test>")
    )
    lines = _lines(pdf, tmp_path)
    names = [e.name for e in plan.entries]
    assert "金沢市立森本小学校" in names and "森本こどもグラウンド" in names
    # 金沢市立森本小学校 sits among the other 森本 names (も), under ま, not under か
    kodomo, school = lines.index("森本こどもグラウンド"), lines.index("金沢市立森本小学校")
    chuu = lines.index("金沢市立森本中学校")
    assert kodomo < school < chuu
    heads_before = [s for s in lines[:school] if s in HEADINGS]
    assert heads_before[-1] == "ま"
    # every 金沢市…森本 name is filed under ま with the plain 森本 names
    for name in ("金沢市森本公民館", "金沢市営森本市民体育館", "金沢市立森本中学校"):
        assert [s for s in lines[: lines.index(name)] if s in HEADINGS][-1] == "ま", name


def test_one_site_from_two_lists_79_m_apart_is_one_entry(tmp_path, caplog):
    raw = {
        "title": "芳斉の避難所",
        "area": {"bbox": [136.6455, 36.5695, 136.6525, 36.5745]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [
            {"id": "basho", "title": {"ja": "指定緊急避難場所", "en": "Evacuation sites"},
             "style": {"symbol": "square", "color": "#e8590c"},
             "sources": [{"csv": {"path": str(ISHIKAWA_CSV),
                                  "filter": {"所在地_全国地方公共団体コード": "172014"}}}]},
            {"id": "hinanjo", "title": {"ja": "指定避難所", "en": "Shelters"},
             "style": {"symbol": "triangle", "color": "#2b8a3e"},
             "sources": [{"geojson": {"path": str(GSI / "evacuation_172014.json")}}]},
        ],
    }  # fmt: skip
    data = _collect(raw, tmp_path)
    with caplog.at_level(logging.WARNING, logger="civicmap"):
        pdf, plan = render_paper(
            data, options=PaperOptions.from_dict({"size": "A4"}, file="<test>")
        )
    lines = _lines(pdf, tmp_path)
    hosai = [e for e in plan.entries if "芳斎公民館" in e.name]
    assert len(hosai) == 1, [(e.number, e.name) for e in hosai]
    entry = hosai[0]
    assert {layer.id for layer in [entry.layer, *entry.also]} == {"basho", "hinanjo"}
    # the PDF lists it once as a name line; the other list's name is a detail of it
    assert sum(1 for s in lines if re.fullmatch(r"(金沢市)?芳斎公民館", s)) == 1
    said = [r.getMessage() for r in caplog.records if "芳斎公民館" in r.getMessage()]
    assert len(said) == 1 and "79 m" in said[0]  # on the console by default (a warning)


def test_index_ignore_is_checked_at_load_and_names_the_key(tmp_path):
    opts = PaperOptions.from_dict({"index_ignore": ["社会福祉法人富山愛育会"]}, file="m.yaml")
    assert opts.index_ignore == ("社会福祉法人富山愛育会",) and opts.index_prefixes
    assert PaperOptions.from_dict({"index_ignore": False}, file="m.yaml").index_prefixes is False
    with pytest.raises(ConfigError, match=r"outputs\.paper\.index_ignore"):
        PaperOptions.from_dict({"index_ignore": "市立"}, file="m.yaml")


# --------------------------------------------------------------------------- symbols

#: GSI's flag columns in DISASTER_TYPES order, and the strip's names for them.
GSI_FLAGS = ("洪水", "崖崩れ、土石流及び地滑り", "高潮", "地震", "津波", "大規模な火事",
             "内水氾濫", "火山現象")  # fmt: skip
STRIP_NAMES = ("洪水", "土砂", "高潮", "地震", "津波", "火事", "内水", "火山")


@pytest.fixture(scope="module")
def morimoto(tmp_path_factory):
    """金沢市 森本: the built-in shelters layer fed GSI's two lists, and a childcare layer."""
    tmp = tmp_path_factory.mktemp("morimoto")
    raw = {
        "title": "森本の避難場所・避難所",
        "area": {"bbox": [136.68, 36.605, 136.71, 36.63]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [
            {"use": "shelters", "extra_sources": [
                {"geojson": {"path": str(GSI / "evacuation_172014.json"), "category": "指定避難所"}},
                {"geojson": {"path": str(GSI / "emergency_172014.json"),
                             "category": "指定緊急避難場所"}}]},
            {"use": "childcare", "extra_sources": [{"csv": {"path": str(TOYAMA_CSV)}}]},
        ],
    }  # fmt: skip
    data = _collect(raw, tmp)
    pdf, plan = render_paper(data, options=PaperOptions.from_dict({"size": "A4"}, file="<test>"))
    path = tmp / "map.pdf"
    path.write_bytes(pdf)
    return data, path, plan, tmp


def _legend_symbol(path: Path, label: str, marker: float, tmp: Path):
    """The greyscale pixels of the legend symbol left of the legend line ``label``."""
    from PIL import Image

    xml = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-bbox", str(path), "-"],
        capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    words = re.findall(
        r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)<', xml
    )
    hits = [(float(x), float(y0), float(y1)) for x, y0, y1, w in words if w == label]
    assert hits, label
    x, y0, y1 = max(hits)  # the legend is in the right-hand panel
    cy = (y0 + y1) / 2
    dpi = 300
    k = dpi / 72
    box = (x - 5 - marker - 1, cy - marker / 2 - 1, marker + 2, marker + 2)
    out = tmp / f"sym{abs(hash(label))}"
    subprocess.run(
        ["pdftoppm", "-gray", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile",
         "-x", str(round(box[0] * k)), "-y", str(round(box[1] * k)),
         "-W", str(round(box[2] * k)), "-H", str(round(box[3] * k)), str(path), str(out)],
        check=True,
    )  # fmt: skip
    return Image.open(f"{out}.png").convert("L")


def test_shelter_categories_get_distinct_evacuation_symbols_in_the_legend(morimoto):
    _data, path, plan, tmp = morimoto
    looks = {e.look.symbol for e in plan.entries if e.layer.id == "shelters"}
    assert looks == {
        "shelter_open",
        "shelter_both",
    }  # 公園 only; schools both (no building-only here)
    labels = ["指定緊急避難場所", "指定緊急避難場所と指定避難所を兼ねる場所"]
    # the childcare layer has no place in 森本 (its CSV is 富山's): no symbol, it says so
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "保育園・幼稚園・認定こども園：この範囲にはありません" in "".join(text.split())
    syms = [_legend_symbol(path, label, 8.0, tmp) for label in labels]
    # each symbol is drawn (dark pixels) and differs from every other in greyscale
    for img in syms:
        assert sum(1 for v in img.tobytes() if v < 128) > 50
    for i in range(len(syms)):
        for j in range(i + 1, len(syms)):
            a, b = syms[i], syms[j].resize(syms[i].size)
            differ = sum(
                1 for p, q in zip(a.tobytes(), b.tobytes(), strict=True) if abs(p - q) > 60
            )
            assert differ > 0.1 * a.width * a.height, (labels[i], labels[j], differ)


def test_web_and_paper_read_one_style_table(morimoto):
    from civicmap.render.symbols import taken_symbols
    from civicmap.render.web import category_styles

    data, _path, plan, _tmp = morimoto
    layer = data.layer("shelters")
    table, _ = category_styles(
        layer, language="ja", taken=taken_symbols([x.spec for x in data.layers], but=layer.id)
    )
    web = {(s["name"], s["symbol"], s["color"]) for s in table}
    paper = {(e.category, e.look.symbol, e.look.color) for e in plan.entries
             if e.layer is layer and e.look.symbol != "shelter_both"}  # fmt: skip
    assert paper and paper <= web


def test_derived_category_symbols_never_reuse_another_layers_symbol():
    from civicmap.render.symbols import category_looks, taken_symbols
    from civicmap.spec.layers import parse_layer

    src = [{"geojson": {"path": str(GSI / "emergency_172014.json")}}]
    a = parse_layer({"id": "a", "title": "A", "style": {"symbol": "circle"}, "sources": src,
                     "categories": [{"name": "x"}, {"name": "y"}, {"name": "z"}]},
                    file="a.yaml", base_dir=GSI)  # fmt: skip
    b = parse_layer({"id": "b", "title": "B", "style": {"symbol": "square"}, "sources": src},
                    file="b.yaml", base_dir=GSI)  # fmt: skip
    looks = category_looks(a, ["x", "y", "z"], taken=taken_symbols([a, b], but="a"))
    symbols = [s.symbol for s in looks]
    assert symbols[0] == "circle" and "square" not in symbols and len(set(symbols)) == 3


def test_shelter_index_entries_carry_the_disaster_strip(morimoto):
    _data, path, plan, _tmp = morimoto
    text = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    lines = [s.strip() for s in text.splitlines()]
    # 森本小学校's flags, independently from GSI's file
    doc = json.loads((GSI / "emergency_172014.json").read_text(encoding="utf-8"))
    props = next(f["properties"] for f in doc["features"]
                 if f["properties"]["施設・場所名"] == "金沢市立森本小学校")  # fmt: skip
    strip = "".join(
        f"{n}{'○' if props[c] == '1' else '×'}" for n, c in zip(STRIP_NAMES, GSI_FLAGS, strict=True)
    )
    assert strip == "洪水○土砂○高潮×地震○津波○火事×内水×火山×"
    i = lines.index("森本小学校")
    # one line, or broken between two disasters (never between a name and its ○/×)
    assert strip in (lines[i + 1], lines[i + 1] + lines[i + 2])
    assert re.fullmatch(r"((洪水|土砂|高潮|地震|津波|火事|内水|火山)[○×])+", lines[i + 1])
    # every shelter entry has one, and the legend says what ○/× mean
    assert sum(
        1 for s in lines if re.fullmatch(r"(洪水|土砂|高潮|地震|津波|火事|内水|火山)[○×]{1}.*", s)
    ) >= len([e for e in plan.entries if e.layer.id == "shelters"])
    assert "索引の○×" in text


def test_area_atlas_index_names_each_entrys_area(tmp_path):
    """One index for the booklet: each entry says which 町丁目 it is in (no address says it)."""
    import geopandas as gpd

    shp = GSI.parent.parent / "boundaries" / "chome_hiezu" / "hiezu_chome.shp"
    areas = gpd.read_file(shp, encoding="cp932").to_crs("EPSG:4326")
    pts = [g.representative_point() for g in areas.geometry]
    feats = [{"type": "Feature", "properties": {"name": f"集会所{i + 1}"},
              "geometry": {"type": "Point", "coordinates": [p.x, p.y]}}
             for i, p in enumerate(pts)]  # fmt: skip
    (tmp_path / "places.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8"
    )
    w, s, e, n = areas.total_bounds
    raw = {
        "title": "日吉津村",
        "area": {"bbox": [w - 0.005, s - 0.005, e + 0.005, n + 0.005]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [{"id": "places", "title": {"ja": "集会所", "en": "Halls"},
                    "sources": [{"geojson": {"path": "places.geojson"}}]}],
    }  # fmt: skip
    data = _collect(raw, tmp_path)
    pdf, plan = render_paper(
        data,
        options=PaperOptions.from_dict(
            {"atlas": {"areas": str(shp), "name": "MOJI"}}, file="<test>"
        ),
    )
    lines = _lines(pdf, tmp_path)
    index = lines[max(i for i, s in enumerate(lines) if s.endswith("索引")) :]
    for i, name in enumerate(areas["MOJI"]):
        entry = next(x for x in plan.entries if x.name == f"集会所{i + 1}")
        assert plan.atlas_areas[entry.page] == name
        k = index.index(f"集会所{i + 1}")
        assert index[k + 1] == f"地区 {name}", index[k - 1 : k + 3]


def test_prefixes_say_who_runs_a_place_not_which_place_it_is():
    from civicmap.render.paper.index_keys import Prefixes, heading, sort_reading, strip_prefixes

    p = Prefixes(municipalities=("金沢市", "富山市"), extra=("ＪＡ",))
    assert strip_prefixes("金沢市立森本小学校", p)[1] == "森本小学校"
    assert strip_prefixes("石川県立図書館", p)[1] == "図書館"
    assert strip_prefixes("【地域型保育事業】きぼう保育園", p)[1] == "きぼう保育園"
    assert strip_prefixes("社会福祉法人 富山愛育会 愛宕保育所", p)[1] == "愛宕保育所"
    assert strip_prefixes("ＪＡ保育園さくら", p)[1] == "保育園さくら"
    # the municipality is part of the name here: 金沢市民芸術村, 金沢市役所
    assert strip_prefixes("金沢市民芸術村", p)[1] == "金沢市民芸術村"
    assert strip_prefixes("金沢市役所", p)[1] == "金沢市役所"
    assert strip_prefixes("金沢市立森本小学校", Prefixes(enabled=False))[1] == "金沢市立森本小学校"
    # a カナ column wins, without the prefix's reading; half-width kana fold
    assert sort_reading("金沢市芳斎公民館", "ｶﾅｻﾞﾜｼﾎｳｻｲｺｳﾐﾝｶﾝ", p) == ("ほうさいこうみんかん", False)
    assert sort_reading("大久保保育所", "", p) == ("おおくぼほいくしょ", True)
    assert [heading(k) for k in ("あたご", "がっこう", "ぱん", "ゔぃら", "Ｂ棟", "2号館", "〒")] == [
        "あ", "か", "は", "あ", "英数字", "英数字", "その他"
    ]  # fmt: skip


def test_a_layer_without_categories_gets_no_empty_category_heading(tmp_path):
    (tmp_path / "halls.csv").write_text(
        "name,lat,lon\n唐川の集会所,35.5500,134.3000\n外邑の集会所,35.5520,134.3020\n",
        encoding="utf-8",
    )
    raw = {
        "title": "集会所",
        "area": {"bbox": [134.29, 35.545, 134.31, 35.56]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [{"id": "halls", "title": {"ja": "集会所", "en": "Halls"},
                    "sources": [{"csv": {"path": "halls.csv"}}]}],
    }  # fmt: skip
    pdf, _plan = render_paper(
        _collect(raw, tmp_path), options=PaperOptions.from_dict({}, file="<test>")
    )
    lines = _lines(pdf, tmp_path)
    assert any("唐川の集会所" in line for line in lines)
    assert not [line for line in lines if line.startswith("■")], lines  # was "■ —"


def test_compact_index_puts_the_demo_on_one_a4_with_its_gojuon_tabs(tmp_path):
    """A 24-place map on one sheet, like a municipal 紙マップ: number, name and cell."""
    demo = civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))
    pdfs = {}
    for mode in ("auto", "compact", "full"):
        opts = PaperOptions.from_dict({"size": "A4", "index": mode}, file="<test>")
        pdfs[mode] = render_paper(demo, options=opts)
    pdf, plan = pdfs["compact"]
    assert plan.pages == 1 and not plan.index_pages
    path = tmp_path / "compact.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    kana = None
    for e in plan.entries:
        # the number, the name and the cell on one line; a 五十音 tab (あ か …) where a row begins
        tab = heading(e.sort_key) if heading(e.sort_key) != kana else None
        kana = heading(e.sort_key)
        head = rf"(^|\s){tab}\s+{e.number}\s+" if tab else rf"(^|\s){e.number}\s+"
        name = re.escape(e.name[:4])
        assert re.search(rf"{head}{name}[^\n]*?\s{e.ref}(\s|$)", text, re.M), (e.number, tab)
    assert "東京都新宿区" not in text  # addresses are left out ...
    full_pdf, full_plan = pdfs["full"]
    assert "東京都新宿区" in "\n".join(_lines(full_pdf, tmp_path))  # ... the full index has them
    assert full_plan.pages == 2 and full_plan.scale > plan.scale
    # auto chooses the compact index here: it keeps the map at the larger scale
    assert pdfs["auto"][1].scale == plan.scale and pdfs["auto"][1].pages == 1


def test_compact_index_keeps_the_shelters_disaster_strip(morimoto):
    data, _path, _plan, tmp = morimoto
    pdf, _ = render_paper(
        data, options=PaperOptions.from_dict({"size": "A4", "index": "compact"}, file="<test>")
    )
    lines = _lines(pdf, tmp)
    i = next(k for k, s in enumerate(lines) if s.endswith("森本小学校") or "森本小学校 " in s)
    assert "洪水○土砂○高潮×地震○津波○火事×内水×火山×" in lines[i + 1] + lines[i + 2]
    assert "索引の○×" in "\n".join(lines)


def test_a_sheet_with_no_place_prints_no_index_heading_and_no_number_key(tmp_path):
    """No numbered place: neither 「索引」 over an empty column nor 「12 番号 → 索引」 in the legend.

    A 防災 volunteer's area with none of the list's places in it (the layer says
    「この範囲にはありません」) must not send readers to look up numbers that are not there.
    """
    raw = {**toyama_raw(), "area": {"bbox": [137.30, 36.60, 137.31, 36.61]}}  # no nursery here
    pdf, plan = render_paper(
        _collect(raw, tmp_path), options=PaperOptions.from_dict({"size": "A4"}, file="<test>")
    )
    text = "".join("".join(_lines(pdf, tmp_path)).split())
    assert not plan.entries and "保育施設：この範囲にはありません" in text
    assert "索引" not in text and "番号" not in text
    # a sheet with places keeps both
    pdf, plan = render_paper(
        _collect(toyama_raw(), tmp_path),
        options=PaperOptions.from_dict({"size": "A3"}, file="<test>"),
    )
    text = "".join("".join(_lines(pdf, tmp_path)).split())
    assert plan.entries and "索引" in text and "番号→索引" in text


@pytest.mark.parametrize("lang", ["ja", "en", "vi", "ja-easy"])
def test_the_compact_index_keeps_a_ruled_out_warning_in_the_maps_language(lang):
    """The compact index drops depth lines but keeps 「この災害では使えない可能性があります」.

    The warning is recognised in the map's language (the language check_sites writes the
    hazard lines in), without reading every other language's glossary.
    """
    from civicmap import wording
    from civicmap.hazards import texts
    from civicmap.render.paper.hazards import is_warning

    t = texts(lang)
    warning = t["unusable"].format(kind=t["flood"])
    assert is_warning(wording.plain(warning), lang)
    assert not is_warning(f"{t['flood']}: 3–5 m", lang)
