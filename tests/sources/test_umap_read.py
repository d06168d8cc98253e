"""uMap backups in both layouts, child layers, remote data and styles (issue 16).

okinawa_current_layout.umap is DERIVED from the real 沖縄 export in tests/data/umap (layer
options moved into each layer's ``properties`` as current uMap writes them, one layer nested
as a child, a remote-data layer added, one layer labelled through ``labelKey``).
"""

from __future__ import annotations

import json

import pytest
from paths import TESTS

from civicmap.errors import SourceError
from civicmap.sources import read_path
from civicmap.sources.umap import read_umap

DATA = TESTS / "data"
DER = DATA / "opendata/derived"


@pytest.fixture(scope="module")
def current():
    return read_umap(DER / "okinawa_current_layout.umap", layer="okinawa")


def _walk(layers):
    for dl in layers:
        yield dl
        yield from _walk(dl.get("layers") or [])


def test_properties_layout_keeps_layer_names_and_reads_child_layers(current):
    raw = json.loads((DER / "okinawa_current_layout.umap").read_text("utf-8"))
    layers = list(_walk(raw["layers"]))
    names = [dl["properties"]["name"] for dl in layers]
    assert current.info["umap_layers"] == names
    assert "layer 1" not in names
    n_features = sum(len(dl["features"]) for dl in layers)
    assert current.info["rows"] == len(current.features) == n_features == 33
    child = raw["layers"][0]["layers"][0]
    got = current.features[current.features["category"] == child["properties"]["name"]]
    assert len(got) == len(child["features"]) == 18
    assert current.info["umap_layout"] == "properties"


def test_remote_data_layer_is_reported_with_its_url_not_a_crash(current):
    assert current.info["umap_remote"] == [
        {"layer": "道路情報（外部）", "url": "https://example.org/okinawa/roads.geojson"}
    ]
    (w,) = [w for w in current.info["warnings"] if w["column"] == "remoteData"]
    assert "https://example.org/okinawa/roads.geojson" in w["reason"]


def test_label_key_names_features_and_layer_colours_are_kept(current):
    raw = json.loads((DER / "okinawa_current_layout.umap").read_text("utf-8"))
    labelled = next(dl for dl in raw["layers"] if dl["properties"].get("labelKey"))
    titles = [f["properties"]["title"] for f in labelled["features"]]
    rows = current.features[current.features["category"] == labelled["properties"]["name"]]
    assert list(rows["name"]) == titles and all(titles)
    assert set(rows["umap_color"]) == {labelled["properties"]["color"]}
    assert set(rows["umap_iconClass"]) == {"Default"}


def test_legacy_layout_still_reads_the_same_places():
    legacy = read_umap(DATA / "umap/mapprint_sample_legacy.umap", layer="x")
    current = read_umap(DER / "okinawa_current_layout.umap", layer="x")
    assert sorted(map(str, legacy.features.geometry)) == sorted(map(str, current.features.geometry))


def test_a_malformed_umap_is_a_clear_error_naming_the_file_never_a_traceback(tmp_path):
    bad = tmp_path / "壊れた.umap"
    bad.write_text(
        json.dumps({"type": "umap", "layers": [{"properties": {"name": "a"}, "features": ["x"]}]}),
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match=r"壊れた\.umap: could not read this umap file"):
        read_path(bad, layer="x")


def test_umap_with_every_feature_outside_japan_rejects_each_one():
    """uMap's own fixtures are in Belgium and France: 0 mapped, each feature reported (issue 29).

    Before, the reader's own ``columns: {name: name}`` met an empty table and the file failed
    with "columns.name: 'name' という列はありません" and an empty list of columns.
    """
    result = read_path(DATA / "umap/handmade_outside_japan.umap", layer="t")
    assert len(result.features) == 0
    assert result.info["rows"] == len(result.rejected) == 3
    assert all(p.code == "outside_extent" for p in result.rejected)
    assert "Grand-Place" in result.rejected[0].reason


def test_umap_whose_only_layer_is_remote_lists_the_url_and_is_no_error():
    result = read_path(DATA / "umap/handmade_remote_only.umap", layer="t")
    assert len(result.features) == 0 and not result.rejected
    assert result.info["umap_remote"] == [
        {"layer": "避難所（外部）", "url": "https://example.org/shelters.geojson"}
    ]
