"""The built-in layer library: every layer loads, has bilingual titles, distinct looks and sound tags."""

from __future__ import annotations

import pytest
import yaml

from civicmap.check import column_problems
from civicmap.errors import ConfigError
from civicmap.schema import COLUMNS
from civicmap.spec.layers import SYMBOLS, builtin_dir, builtin_layer_ids, load_layer, parse_layer

EXPECTED = {
    "childcare", "shelters", "water", "toilets", "aed", "hospitals",
    "playgrounds", "police", "fire_stations",
}  # fmt: skip


def test_library_has_every_layer_the_product_promises():
    assert EXPECTED <= set(builtin_layer_ids())


@pytest.mark.parametrize("layer_id", sorted(EXPECTED))
def test_builtin_layer_is_complete(layer_id):
    layer = load_layer(layer_id)
    assert layer.title.get("ja") and layer.title.get("en")
    assert layer.style.symbol in SYMBOLS
    assert layer.style.color.startswith("#")
    assert any(s.kind == "osm" and s.tag_filter is not None for s in layer.sources)
    # the file explains why these tags were chosen
    text = (builtin_dir() / f"{layer_id}.yaml").read_text(encoding="utf-8")
    assert text.lstrip().startswith("#") and layer.notes


def test_shelters_use_japanese_tagging_and_not_weather_shelters():
    (osm,) = [s for s in load_layer("shelters").sources if s.kind == "osm"]
    f = osm.tag_filter
    assert f.matches({"leisure": "park", "emergency": "assembly_point"})
    assert f.matches({"amenity": "school", "emergency:social_facility": "shelter"})
    assert f.matches(
        {"amenity": "school", "emegency:social_facility": "shelter"}
    )  # old misspelling
    assert not f.matches({"amenity": "shelter", "shelter_type": "weather_shelter"})
    rules = dict(osm.category_rules)
    assert rules["指定避難所"].matches({"emergency:social_facility": "shelter"})
    assert rules["指定緊急避難場所"].matches({"emergency": "assembly_point"})


def test_childcare_categories():
    (osm,) = [s for s in load_layer("childcare").sources if s.kind == "osm"]
    rules = osm.category_rules

    def category(tags):  # the first matching rule wins, as in the readers
        return next((name for name, f in rules if f.matches(tags)), None)

    assert category({"amenity": "kindergarten", "name": "西早稲田こども園"}) == "認定こども園"
    assert category({"amenity": "kindergarten", "name": "大久保第一保育園"}) == "保育所"
    assert category({"amenity": "childcare", "name": "学童クラブ"}) == "保育所"
    assert category({"amenity": "kindergarten", "name": "早稲田幼稚園"}) == "幼稚園"


def test_symbols_differ_between_the_layers_a_disaster_map_combines():
    ids = ["childcare", "shelters", "water", "aed", "hospitals", "toilets"]
    symbols = [load_layer(i).style.symbol for i in ids]
    assert len(set(symbols)) == len(symbols)


def test_unknown_layer_lists_the_builtin_ones():
    with pytest.raises(ConfigError) as info:
        load_layer("kindergartens")
    assert "childcare" in str(info.value) and "shelters" in str(info.value)


@pytest.mark.parametrize("layer_id", sorted(EXPECTED))
def test_a_built_in_layers_own_fields_are_not_the_users_problem(layer_id, tmp_path):
    """Fields a source lacks are simply not shown; the same layer as the user's file warns."""
    builtin = load_layer(layer_id)
    columns = [*COLUMNS, "TEL"]  # a user's CSV: the common schema and a phone column
    assert column_problems(builtin, columns, file="map.yaml", key="layers[0]") == []
    raw = yaml.safe_load((builtin_dir() / f"{layer_id}.yaml").read_text(encoding="utf-8"))
    raw["popup"] = [*raw.get("popup", []), "電話番号ｘ"]  # a typo of the user's own
    own = parse_layer(raw, file=str(tmp_path / "mine.yaml"), base_dir=tmp_path)
    problems = column_problems(own, columns, file="map.yaml", key="layers[0]")
    assert any("電話番号ｘ" in p.message for p in problems)
