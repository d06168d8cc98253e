"""civicmap reads files exported by a real uMap (3.8.1 and 3.7.3), not hand-made imitations.

Each fixture was downloaded from uMap's own "full backup" view (``MapDownload``) by
``scripts/umap_roundtrip/run.sh``, once with uMap 3.7.3 (PyPI) and once with 3.8.1 (built from
its source); every test runs on both:

- ``umap381_made_in_umap.umap``, ``umap373_made_in_umap.umap``: a map built in uMap's editor code, with a child layer,
  per-feature colours/icons, a ``labelKey`` other than ``name`` in one layer and ``name``
  in another, a LineString; today's layout (options in each layer's ``properties``).
- ``umap381_import_of_civicmap_demo.umap``, ``umap373_import_of_civicmap_demo.umap``: our demo's ``.umap`` after uMap's importer
  stored it, downloaded again (the round trip).

Expected values come from the JSON itself (plain ``json``), never from civicmap.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from paths import TESTS

import civicmap

DATA = TESTS / "data" / "umap"
VERSIONS = ["umap381", "umap373"]


def _walk(layers):
    for layer in layers:
        yield layer
        yield from _walk(layer.get("layers") or [])


def _expected(path: Path):
    """Per feature, in file order (parents before children): layer name, name, colour, icon."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for layer in _walk(data["layers"]):
        opts = layer["properties"]
        for feat in layer["features"]:
            props = feat["properties"]
            own = props.get("_umap_options") or {}
            label = opts.get("labelKey") or "name"
            rows.append(
                {
                    "layer": opts["name"],
                    "name": props.get("name") or props.get(label, ""),
                    "color": own.get("color", opts.get("color")),
                    "icon": own.get("iconClass", opts.get("iconClass")),
                }
            )
    return data, rows


@pytest.fixture(scope="module", params=VERSIONS)
def made_file(request) -> Path:
    return DATA / f"{request.param}_made_in_umap.umap"


@pytest.fixture(scope="module")
def made(made_file):
    return civicmap.read_path(made_file, layer="umap"), *_expected(made_file)


@pytest.fixture(scope="module", params=VERSIONS)
def roundtrip(request):
    path = DATA / f"{request.param}_import_of_civicmap_demo.umap"
    return civicmap.read_path(path, layer="umap"), *_expected(path)


def test_fixture_is_todays_layout_with_a_child_layer(made_file):
    data = json.loads(made_file.read_text(encoding="utf-8"))
    assert data["type"] == "umap"
    assert all("_umap_options" not in layer for layer in _walk(data["layers"]))
    assert any(layer.get("layers") for layer in data["layers"]), "no child layer in fixture"


def test_made_in_umap_layer_names_and_every_feature(made):
    res, data, rows = made
    names = [layer["properties"]["name"] for layer in _walk(data["layers"])]
    assert res.info["umap_layers"] == names
    assert res.info["umap_layout"] == "properties"
    assert len(res.features) == len(rows)
    assert not res.rejected
    # the child layer's feature is read, in its own (child) layer
    child = next(layer for layer in data["layers"] if layer.get("layers"))["layers"][0]
    assert len(child["features"]) >= 1
    got = res.features.reset_index(drop=True)
    assert list(got["name"]) == [r["name"] for r in rows]
    assert (got["name"] != "").all(), "a feature lost its name"


def test_made_in_umap_styles(made):
    res, _data, rows = made
    got = res.features.reset_index(drop=True)
    assert list(got["umap_color"]) == [r["color"] for r in rows]
    assert list(got["umap_iconClass"]) == [r["icon"] for r in rows]
    # the per-feature override (a red drop among dark-green circles) is kept
    assert len(set(got["umap_color"])) == len({r["color"] for r in rows}) > 1


def test_made_in_umap_keeps_other_properties_and_geometry_types(made):
    res, data, _rows = made
    feats = [f for layer in _walk(data["layers"]) for f in layer["features"]]
    kinds = sorted(f["geometry"]["type"] for f in feats)
    assert sorted(res.features.geometry.geom_type) == kinds
    # ``name`` is filled from labelKey where missing (checked above); every other key as is
    for key in {k for f in feats for k in f["properties"]} - {"_umap_options", "name"}:
        want = [f["properties"].get(key) for f in feats]
        col = res.features.reset_index(drop=True).get(key)
        assert col is not None, f"property {key} dropped"
        have = [None if v is None or v != v else str(v) for v in col]
        assert have == [None if w is None else str(w) for w in want], key


def test_round_trip_of_our_export_through_umap(roundtrip):
    res, data, rows = roundtrip
    assert res.info["umap_layers"] == [layer["properties"]["name"] for layer in data["layers"]]
    assert len(res.features) == len(rows) and not res.rejected
    # our categories survive as each feature's `category` property
    want = {}
    for layer in data["layers"]:
        for f in layer["features"]:
            c = f["properties"]["category"]
            want[c] = want.get(c, 0) + 1
    assert res.features["category"].value_counts().to_dict() == want
    # per-category colours and symbols written by civicmap survive uMap's storage:
    # each category keeps its own colour (feature option, else the layer's) and iconUrl
    want_style = set()
    for layer in data["layers"]:
        for f in layer["features"]:
            own = f["properties"].get("_umap_options") or {}
            colour = own.get("color", layer["properties"]["color"])
            icon = own.get("iconUrl", layer["properties"].get("iconUrl"))
            want_style.add((f["properties"]["category"], colour, icon))
    got = set(
        zip(
            res.features["category"],
            res.features["umap_color"],
            res.features["umap_iconUrl"],
            strict=True,
        )
    )
    assert got == want_style
    childcare = {c for c, _, _ in want_style if "保育" in c}
    assert len({col for c, col, _ in want_style if c in childcare}) == len(childcare) == 3


def test_round_trip_keeps_popup_templates(roundtrip):
    _res, data, _rows = roundtrip
    for layer in data["layers"]:
        assert layer["properties"]["popupContentTemplate"].startswith("# {name}")
        per_feature = [
            (f["properties"].get("_umap_options") or {}).get("popupContentTemplate")
            for f in layer["features"]
        ]
        assert all(t and t.startswith("# {name}") for t in per_feature)


@pytest.fixture(scope="module")
def demo_umap():
    import yaml

    from civicmap.pipeline import collect, demo_map_path
    from civicmap.render.export import to_umap
    from civicmap.spec.mapfile import parse_map

    demo = demo_map_path()
    raw = yaml.safe_load(demo.read_text(encoding="utf-8"))
    return to_umap(collect(parse_map(raw, file=str(demo), base_dir=demo.parent)))


def test_popups_label_merged_site_fields_not_with_raw_keys(demo_umap):
    # uMap 3.7.3 showed "designations: 指定避難所…" in our shelters' popups
    templates = [
        (f["properties"].get("_umap_options") or {}).get("popupContentTemplate", "")
        for layer in demo_umap["layers"]
        for f in layer["features"]
    ]
    with_designations = [t for t in templates if "{designations}" in t]
    assert with_designations, "the demo's shelters should list their designations"
    assert all("**指定**: {designations}" in t for t in with_designations)
    assert not any("**designations**" in t or "**other_names**" in t for t in templates)
