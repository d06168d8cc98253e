"""Field shortcuts, display labels, safe links and per-category styles (pure functions)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from civicmap import fields
from civicmap.errors import ConfigError
from civicmap.render.symbols import category_looks
from civicmap.spec.layers import SYMBOLS, builtin_layer_ids, load_layer, parse_layer


@pytest.mark.parametrize(
    ("column", "value", "href"),
    [
        ("TEL", "03-5273-4592", "tel:0352734592"),
        ("phone", "+81 3 5273 4592", "tel:+81352734592"),
        ("email", "info@example.jp", "mailto:info@example.jp"),
        (
            "website",
            "https://www.city.kanazawa.ishikawa.jp/",
            "https://www.city.kanazawa.ishikawa.jp/",
        ),
        ("url", "http://example.jp/a?b=1", "http://example.jp/a?b=1"),
        ("website", "javascript:alert(1)", ""),
        ("website", "JaVaScRiPt:alert(1)", ""),
        ("website", "data:text/html;base64,PHNjcmlwdD4=", ""),
        ("website", "vbscript:msgbox", ""),
        ("website", 'https://x.jp/"onmouseover=alert(1)', ""),
        ("TEL", "javascript:alert(4)", ""),
        ("email", "javascript:alert(5)//@x.jp", ""),
        ("備考", "2階", ""),
        ("定員", "120", ""),
    ],
)
def test_only_safe_schemes_become_links(column, value, href):
    assert fields.link_for(column, value) == href


def test_shortcuts_take_the_first_non_empty_column_and_labels_are_japanese():
    row = pd.Series({"phone": "", "TEL": "076-220-2111", "Capall": 60.0, "name": "x"})
    assert fields.field_value(row, "phone") == "076-220-2111"
    assert fields.field_value(row, "capacity") == "60"
    assert fields.field_value(row, "TEL") == "076-220-2111"
    assert fields.label("TEL", "ja") == "電話番号"
    assert fields.label("Capall", "ja") == "定員"
    assert fields.label("disasters", "ja") == "対応災害"
    assert fields.label("Capall", "en") == "Capacity"
    assert fields.label("独自列", "ja") == "独自列"  # unknown: the column itself
    assert fields.label("TEL", "ja", given="連絡先") == "連絡先"


def test_every_builtin_layer_has_its_own_shape():
    symbols = {lid: load_layer(lid).style.symbol for lid in builtin_layer_ids()}
    assert len(set(symbols.values())) == len(symbols), symbols
    assert set(symbols.values()) <= set(SYMBOLS)


def test_derived_category_styles_differ_in_shape_and_colour():
    spec = load_layer("childcare")
    names = [c["name"] for c in spec.categories]
    assert len(names) >= 6
    styles = category_looks(spec, names)
    assert len({s.symbol for s in styles}) == len(styles)
    assert len({s.color for s in styles}) == len(styles)
    assert styles[0].color == spec.style.color and styles[0].symbol == spec.style.symbol
    # stable: the same category gets the same style whatever else is present
    again = category_looks(spec, names[:3])
    assert again == styles[:3]


def _layer(extra: dict) -> dict:
    return {"id": "t", "sources": [{"osm": {"match": {"amenity": "school"}}}], **extra}


def test_category_styles_and_labels_from_the_layer_file():
    spec = parse_layer(
        _layer(
            {
                "style": {"color": "#2b8a3e", "symbol": "triangle"},
                "categories": [
                    {"name": "指定避難所", "color": "#1971c2", "symbol": "square"},
                    {"name": "指定緊急避難場所"},
                ],
                "labels": {"Capall": "定員", "kind": {"ja": "種類", "en": "Kind"}},
            }
        ),
        file="t.yaml",
        base_dir=Path("."),
    )
    a, b = category_looks(spec, ["指定避難所", "指定緊急避難場所"])
    assert (a.color, a.symbol) == ("#1971c2", "square")
    assert b.symbol != a.symbol and b.color != a.color
    assert spec.column_label("kind", "en") == "Kind"
    assert spec.column_label("Capall", "ja") == "定員"
    assert spec.style.symbol == "triangle" and spec.style.as_dict()["color"] == "#2b8a3e"


def test_bad_category_style_names_the_key_and_the_fix():
    with pytest.raises(ConfigError) as exc:
        parse_layer(
            _layer({"categories": [{"name": "a", "color": "red", "symbol": "blob", "size": 3}]}),
            file="t.yaml",
            base_dir=Path("."),
        )
    text = str(exc.value)
    assert "categories[0].color" in text and "#d6336c" in text
    assert "categories[0].symbol" in text and "triangle_down" in text
    assert "categories[0]" in text and "size" in text
