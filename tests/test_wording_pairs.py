"""A bilingual sheet's language pair (``ja+vi``) in the glossary lookups and place names."""

from __future__ import annotations

import pandas as pd

from civicmap import wording
from civicmap.render.paper.texts import TEXT
from civicmap.render.place_names import place_name
from civicmap.spec.layers import load_layer


def test_texts_that_stand_alone_read_in_both_languages():
    pair = wording.pair("ja", "vi")
    assert wording.text(pair, "paper.legend") == "凡例 / Chú giải"
    assert TEXT[pair]["index"] == "索引 / Danh mục"
    assert wording.words(pair)["category.指定避難所"] == "指定避難所 / " + wording.text(
        "vi", "category.指定避難所"
    )
    assert wording.translate(pair, "category", "指定避難所") == wording.text(
        pair, "category.指定避難所"
    )
    # a template with numbers only: each language keeps its own placeholders
    walk = TEXT[pair]["route_walk"].format(m="350", min=5)
    assert walk == "徒歩 350 m・5分 / đi bộ 350 m, 5 phút"


def test_pieces_of_a_line_and_separators_stay_japanese():
    pair = wording.pair("ja", "en")
    t = TEXT[pair]
    assert (t["cont"], t["north"], t["page"]) == ("（続き）", "北", "ページ")
    assert wording.paren(pair, "x") == "（x）" and wording.list_sep(pair) == "・"
    # sentences put together from several entries are made per language by the caller
    assert wording.text(pair, "hazard.not_safe") == wording.text("ja", "hazard.not_safe")
    assert wording.both(pair, lambda lang: wording.text(lang, "hazard.not_safe")) == (
        wording.text("ja", "hazard.not_safe") + " / " + wording.text("en", "hazard.not_safe")
    )


def test_both_prints_a_text_once_when_the_translation_is_the_same():
    assert wording.both("ja+en", lambda lang: "AED") == "AED"
    assert wording.both("ja", lambda lang: lang) == "ja"


def test_layer_titles_and_categories_of_a_pair(tmp_path):
    shelters = load_layer("shelters")
    assert shelters.title_in("ja+en") == "避難場所・避難所 / " + shelters.title_in("en")
    assert shelters.category_title("指定避難所", "ja+en") == "指定避難所 / " + (
        shelters.category_title("指定避難所", "en")
    )
    (tmp_path / "x.csv").write_text("名称,緯度,経度\n集会所,35.7,139.7\n", encoding="utf-8")
    own = tmp_path / "own.yaml"
    own.write_text(
        "id: own\ntitle: {ja: 集会所}\nsources: [{csv: {path: x.csv}}]\n", encoding="utf-8"
    )
    # a layer file with no title in the second language: its Japanese title once
    assert load_layer(str(own)).title_in("ja+vi") == "集会所"


def test_place_names_of_a_pair_keep_the_japanese_first():
    row = pd.Series({"name": "戸山小学校"})
    assert place_name(row, "戸山小学校", "ja+vi") == "戸山小学校（Toyama Shogakko）"
    assert place_name(row, "戸山小学校", "vi") == "Toyama Shogakko (戸山小学校)"
    # the place's own name in the language where OSM has one; none for Korean without it
    named = pd.Series({"name": "戸山小学校", "name:ko": "도야마 초등학교"})
    assert place_name(named, "戸山小学校", "ja+ko") == "戸山小学校（도야마 초등학교）"
    assert place_name(row, "戸山小学校", "ja+ko") == "戸山小学校"
