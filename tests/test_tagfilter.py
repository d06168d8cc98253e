"""Tag filters: AND / OR / NOT in YAML, matching, and Overpass selectors."""

from __future__ import annotations

import pytest

from civicmap.tagfilter import AnyTagged, FilterSyntaxError, TagFilter


def test_mapping_is_and_list_is_or():
    f = TagFilter.parse([{"amenity": "kindergarten", "name": True}, {"amenity": "childcare"}])
    assert f.matches({"amenity": "kindergarten", "name": "わせだ幼稚園"})
    assert not f.matches({"amenity": "kindergarten"})
    assert f.matches({"amenity": "childcare"})
    assert f.overpass_selectors() == [
        '["amenity"="kindergarten"]["name"]',
        '["amenity"="childcare"]',
    ]


def test_not_of_a_mapping_is_de_morgan():
    # not (highway=motorway AND foot=no) == highway!=motorway OR foot!=no
    f = TagFilter.parse(
        {"all": [{"highway": True}, {"not": {"highway": "motorway", "foot": "no"}}]}
    )
    assert f.matches({"highway": "motorway"})
    assert f.matches({"highway": "footway", "foot": "no"})
    assert not f.matches({"highway": "motorway", "foot": "no"})
    assert f.overpass_selectors() == [
        '["highway"]["highway"!="motorway"]',
        '["highway"]["foot"!="no"]',
    ]


def test_value_forms_and_their_overpass_selectors():
    f = TagFilter.parse(
        {
            "amenity": ["school", "kindergarten"],
            "access": {"not": ["private", "no"]},
            "name": {"regex": "交番|駐在所"},
            "disused": False,
        }
    )
    assert f.matches({"amenity": "school", "name": "戸山交番"})
    assert not f.matches({"amenity": "school", "name": "戸山交番", "access": "private"})
    assert not f.matches({"amenity": "school", "name": "戸山交番", "disused": "yes"})
    assert f.overpass_selectors() == [
        '["amenity"~"^(school|kindergarten)$"]["access"!~"^(private|no)$"]["name"~"交番|駐在所"][!"disused"]'
    ]
    assert f.positive_keys() == {"amenity", "name"} and f.is_bounded()
    assert f.required_keys() == [{"amenity", "name"}]  # not access/disused: they may be absent


def test_quotes_in_values_are_escaped_for_overpass():
    f = TagFilter.parse({"name": 'say "hi"'})
    assert f.overpass_selectors() == ['["name"="say \\"hi\\""]']


def test_unbounded_filter_is_detected():
    assert not TagFilter.parse({"amenity": {"not": "school"}}).is_bounded()
    mixed = TagFilter.parse([{"amenity": "school"}, {"name": {"not": "x"}}])
    assert mixed.required_keys() == [{"amenity"}, set()] and not mixed.is_bounded()
    assert not AnyTagged().is_bounded()
    assert AnyTagged().matches({"a": "b"}) and not AnyTagged().matches({})


@pytest.mark.parametrize(
    ("spec", "key", "text"),
    [
        ({}, "match", "empty mapping"),
        ([], "match", "empty list"),
        ({"amenity": {"regex": "("}}, "match.amenity.regex", "invalid regular expression"),
        ({"amenity": {"maybe": 1}}, "match.amenity", "got {'maybe': 1}; expected a value"),
        ({"any": "x"}, "match.any", "non-empty list"),
        ("amenity=school", "match", "expected a mapping of tags"),
    ],
)
def test_bad_filters_name_the_key(spec, key, text):
    with pytest.raises(FilterSyntaxError) as info:
        TagFilter.parse(spec)
    assert info.value.key == key and text in str(info.value)
