"""A remote source's options in a layer file (issue 27): checked at load, key and fix named."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicmap.errors import ConfigError
from civicmap.spec.layers import parse_duration, parse_layer, remote_file_name


def layer(source: dict) -> dict:
    return {"id": "living", "title": "開設状況", "sources": [source]}


def problems(source: dict) -> list:
    with pytest.raises(ConfigError) as err:
        parse_layer(layer(source), file="living.yaml", base_dir=Path("."))
    return [(p.key, p.message) for p in err.value.problems]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("1h", 3600), ("1h30m", 5400), ("2d", 172800), ("90s", 90), (600, 600)],
)
def test_refresh_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "1 hour", "-5", "h", True, -1])
def test_a_bad_refresh_names_its_key_and_the_fix(bad):
    ((key, message),) = problems({"csv": {"url": "https://example.jp/a.csv", "refresh": bad}})
    assert key == "sources[0].csv.refresh"
    assert "30m, 1h" in message


def test_url_and_refresh_become_a_typed_remote_source():
    spec = parse_layer(
        layer({"csv": {"url": "https://example.jp/data/避難所.csv?output=csv", "refresh": "15m"}}),
        file="living.yaml",
        base_dir=Path("."),
    )
    (src,) = spec.sources
    assert src.remote is not None and src.remote.refresh == 900 and src.remote.kind == "csv"
    assert src.remote.name == "避難所.csv" and src.path is None and src.label == "避難所.csv"


def test_a_url_written_alone_is_a_remote_source_with_the_default_refresh():
    spec = parse_layer(
        layer({"kml": "https://www.google.com/maps/d/kml?mid=abc&forcekml=1"}),
        file="l.yaml",
        base_dir=Path("."),
    )
    assert spec.sources[0].remote.refresh == 3600 and spec.sources[0].remote.name == "kml.kml"


@pytest.mark.parametrize(
    ("source", "key", "words"),
    [
        ({"csv": {"url": "https://e.jp/a.csv", "path": "a.csv"}}, "sources[0].csv", "not both"),
        ({"csv": {"refresh": "1h", "path": "a.csv"}}, "sources[0].csv.refresh", "goes with url:"),
        (
            {"csv": {"url": "https://e.jp/a.csv", "date": "2024-04-01"}},
            "sources[0].csv.date",
            "fetched",
        ),
        ({"shapefile": {"url": "https://e.jp/a.shp"}}, "sources[0].shapefile.url", "several files"),
        ({"file": {"url": "https://e.jp/export?id=3"}}, "sources[0].file.url", "csv:, geojson:"),
    ],
)
def test_remote_option_mistakes_name_the_key_and_the_fix(source, key, words):
    found = problems(source)
    assert any(k == key and words in m for k, m in found), found


def test_file_kind_comes_from_the_url_suffix():
    spec = parse_layer(
        layer({"file": {"url": "https://e.jp/open/shelters.geojson"}}),
        file="l.yaml",
        base_dir=Path("."),
    )
    assert spec.sources[0].remote.kind == "geojson"


def test_a_copy_name_never_leaves_its_folder():
    assert remote_file_name("https://e.jp/../../etc/passwd", "csv") == "passwd.csv"
    assert remote_file_name("https://e.jp/%2e%2e%2fx.csv", "csv") == "x.csv"
    assert remote_file_name("https://e.jp/", "geojson") == "data.geojson"
