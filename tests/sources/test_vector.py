"""GeoJSON (GSI shelters, nurseries), Google My Maps KML and .umap files."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from paths import TESTS
from pyproj import Transformer

from civicmap.errors import SourceError
from civicmap.schema import DISASTER_TYPES, check_schema, serves_column
from civicmap.sources import read_path
from civicmap.sources.vector import html_to_text, read_geojson, read_kml, read_umap

DATA = TESTS / "data"
K = "{http://www.opengis.net/kml/2.2}"


@pytest.mark.parametrize(
    "name",
    [
        "emergency_131041",
        "emergency_172014",
        "emergency_172057",
        "evacuation_131041",
        "evacuation_172014",
        "evacuation_172057",
    ],
)
def test_gsi_shelters_all_features_map_with_flags_and_category(name):
    path = DATA / "shelters/gsi" / f"{name}.json"
    feats = json.loads(path.read_text(encoding="utf-8"))["features"]
    r = read_geojson(path, layer="shelters")
    assert check_schema(r.features) == []
    assert r.info["layout"] == "gsi"
    assert len(r.features) == len(feats) and r.rejected == []
    # display names keep the publisher's text (全角 digits and brackets stay)
    assert list(r.features["name"]) == [f["properties"]["施設・場所名"].strip() for f in feats]
    if name.startswith("emergency"):
        assert set(r.features["category"]) == {"指定緊急避難場所"}
        for key, ja in DISASTER_TYPES.items():
            want = [f["properties"][ja] == "1" for f in feats]
            assert list(r.features[serves_column(key)]) == want
    else:
        assert set(r.features["category"]) == {"指定避難所"}


def test_nursery_geojson_files_map_every_feature():
    for rel, n in (
        ("childcare/shinjuku/shinjuku_nurseryFacilities.geojson", 133),
        ("childcare/tokyo23/tokyo23_nurseryFacilities_2016.geojson", 1871),
    ):
        path = DATA / rel
        assert len(json.loads(path.read_text(encoding="utf-8"))["features"]) == n
        r = read_path(path, layer="childcare")
        assert len(r.features) == n
        assert r.features.iloc[0]["address"].startswith("東京都")


def test_google_my_maps_kml_folders_become_categories_and_empty_placemarks_are_reported():
    path = DATA / "kml/hiroshima2018_water-supply_google-mymaps.kml"
    root = ET.parse(path).getroot()
    expected = Counter()
    empty = 0
    for folder in root.iter(f"{K}Folder"):
        for pm in folder.findall(f"{K}Placemark"):
            if pm.find(f"{K}Point") is not None:
                expected[folder.findtext(f"{K}name")] += 1
            else:
                empty += 1
    r = read_kml(path, layer="water")
    assert r.info["rows"] == 389 == sum(expected.values()) + empty
    assert len(r.features) == sum(expected.values()) == 345
    assert len(r.rejected) == empty == 44 and all("no geometry" in p.reason for p in r.rejected)
    assert Counter(r.features["category"]) == expected
    # ExtendedData became columns; HTML descriptions became plain text
    mihara = r.features[r.features["category"] == "給水_三原"].iloc[0]
    assert mihara["水提供時間"] == "9:00-19:00"
    assert all("<br>" not in d for d in r.features["description"])
    assert "\n" in r.features.iloc[0]["description"]


def test_small_kml_html_is_made_safe_nested_folders_and_lines():
    r = read_kml(DATA / "opendata/mymaps_small.kml", layer="x")
    assert list(r.features["category"]) == ["給水所", "臨時トイレ", ""]
    first = r.features.iloc[0]
    assert "<" not in first["description"] and "alert" not in first["description"]
    assert first["description"].startswith("給水時間: 9:00-17:00\n容器持参")
    assert "& 駐車場なし" in first["description"]
    assert first["data_name"] == "collides with name" and first["name"] == "新宿区役所 給水"
    assert r.features.iloc[2].geometry.geom_type == "LineString"
    (rej,) = r.rejected
    assert rej.row == 3 and "位置未定" in rej.reason


def test_html_to_text():
    assert html_to_text("a<br>b<script>x()</script>&lt;c&gt;") == "a\nb<c>"


def test_umap_legacy_layout_layers_become_categories():
    path = DATA / "umap/mapprint_sample_legacy.umap"
    raw = json.loads(path.read_text(encoding="utf-8"))
    want = Counter({dl["_umap_options"]["name"]: len(dl["features"]) for dl in raw["layers"]})
    r = read_umap(path, layer="x")
    assert Counter(r.features["category"]) == want
    assert len(r.features) == sum(want.values()) == 33
    assert r.info["umap_layout"] == "_umap_options"


def test_umap_current_layout_polygons_null_geometry_and_remote_layers_reported():
    r = read_umap(DATA / "umap/civicmap_sample_current.umap", layer="x")
    assert list(r.features["category"]) == ["保育園", "保育園", "避難場所"]
    assert r.features.iloc[2].geometry.geom_type == "Polygon"
    assert r.features.iloc[1]["name"] == "<img src=x onerror=alert(1)>"
    assert "_umap_options" not in r.features.columns
    (rej,) = r.rejected
    assert rej.row == 4 and "no geometry" in rej.reason
    assert any("remote data" in w["reason"] for w in r.info["warnings"])


def test_pre_1_0_umap_storage_key_is_read(tmp_path):
    raw = json.loads((DATA / "umap/mapprint_sample_legacy.umap").read_text(encoding="utf-8"))
    for dl in raw["layers"]:
        dl["_storage"] = dl.pop("_umap_options")
    p = tmp_path / "old.umap"
    p.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    r = read_umap(p, layer="x")
    assert len(r.features) == 33 and r.info["umap_layout"].startswith("pre-1.0")


def test_bad_files_give_clear_errors(tmp_path):
    p = tmp_path / "x.umap"
    p.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(SourceError, match="not a uMap backup"):
        read_umap(p, layer="x")
    g = tmp_path / "x.geojson"
    g.write_text("{broken", encoding="utf-8")
    with pytest.raises(SourceError, match=r"x.geojson: not valid JSON"):
        read_geojson(g, layer="x")
    k = tmp_path / "x.kml"
    k.write_text("<kml><unclosed></kml>", encoding="utf-8")
    with pytest.raises(SourceError, match="not valid KML"):
        read_kml(k, layer="x")


def test_layout_filter_and_join_options_apply_to_geojson_as_to_csv(tmp_path):
    path = DATA / "shelters/gsi/evacuation_172014.json"
    feats = json.loads(path.read_text(encoding="utf-8"))["features"]
    with pytest.raises(SourceError, match=r"evacuation_172014.json: layout: got 'mine'"):
        read_geojson(path, layer="x", options={"layout": "mine"})
    first = feats[0]["properties"]["施設・場所名"]
    r = read_geojson(path, layer="x", options={"filter": {"施設・場所名": first}})
    want = [i for i, f in enumerate(feats, 1) if f["properties"]["施設・場所名"] == first]
    assert list(r.features["source_ref"]) == [f"{path.name}:{i}" for i in want]
    assert r.info["filtered_out"] == len(feats) - len(want)
    assert "rows left out" in r.info["warnings"][0]["reason"]
    table = tmp_path / "extra.csv"
    table.write_text(f"施設・場所名,メモ\n{first},ここ\n", encoding="utf-8")
    r = read_geojson(path, layer="x", options={"join": {"path": str(table), "on": "施設・場所名"}})
    assert r.features.iloc[want[0] - 1]["メモ"] == "ここ"
    assert len(r.features) == len(feats)


def test_csv_only_options_on_a_vector_file_are_reported_not_silently_ignored():
    r = read_kml(DATA / "opendata/mymaps_small.kml", layer="x", options={"encoding": "cp932"})
    (w,) = r.info["warnings"]
    assert w["column"] == "encoding" and "mymaps_small.kml" in w["reason"]


# --- files whose .cpg or .prj lies (issue 31, via issue 29) ----------------------------------

_REAL = TESTS / "data" / "opendata" / "real"


def test_cpg_saying_utf8_beside_shift_jis_text_is_detected(tmp_path):
    """A .cpg that says UTF-8 over Shift_JIS attributes gave silent mojibake in every name."""
    for ext in (".shp", ".shx", ".dbf", ".prj"):
        shutil.copyfile(_REAL / f"yaizu_ic_taxi_facilities{ext}", tmp_path / f"t{ext}")
    (tmp_path / "t.cpg").write_text("UTF-8", encoding="ascii")
    honest = read_path(_REAL / "yaizu_ic_taxi_facilities.shp", layer="t")
    lying = read_path(tmp_path / "t.shp", layer="t")
    assert lying.features["name"].tolist() == honest.features["name"].tolist()
    assert "富士屋東名店" in lying.features["name"].tolist()
    assert any("t.cpg says UTF-8" in w["reason"] for w in lying.info["warnings"])


def test_crs_member_naming_the_wrong_zone_is_reported_against_own_lat_lon(tmp_path):
    """Points converted with a wrong declared zone land tens of km away from their own 緯度/経度."""
    src = json.loads((TESTS / "data/shelters/gsi/evacuation_131041.json").read_text("utf-8"))
    to9 = Transformer.from_crs(4326, 6677, always_xy=True)
    for f in src["features"]:
        lon, lat = f["geometry"]["coordinates"][:2]
        f["properties"]["緯度"], f["properties"]["経度"] = lat, lon
        f["geometry"]["coordinates"] = list(to9.transform(lon, lat))
    src["crs"] = {
        "type": "name",
        "properties": {"name": "urn:ogc:def:crs:EPSG::6676"},
    }  # VIII: a lie
    path = tmp_path / "wrong_zone.geojson"
    path.write_text(json.dumps(src, ensure_ascii=False), encoding="utf-8")
    result = read_path(path, layer="t")
    (w,) = [w for w in result.info["warnings"] if "probably wrong" in w["reason"]]
    assert w["value"] > 30 and "緯度/経度" in w["reason"]
    src["crs"]["properties"]["name"] = "urn:ogc:def:crs:EPSG::6677"  # the truth: no warning
    path.write_text(json.dumps(src, ensure_ascii=False), encoding="utf-8")
    honest = read_path(path, layer="t")
    assert not [w for w in honest.info.get("warnings", []) if "probably wrong" in w["reason"]]
