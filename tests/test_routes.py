"""The way to the shelter with the data people have: real 金沢市 lists, no street network there.

金沢市's 指定避難所 (GSI) carry no disaster flags; its 指定緊急避難場所 (GSI and
the 石川県 CSV) do. The only OSM extract we have is in 新宿, so in 金沢 the map
must fall back to straight lines and say so, on both maps.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from shapely.geometry import Point
from site_counts import independent_site_count

import civicmap
from civicmap.diff import collect_diff
from civicmap.errors import CivicMapError, ConfigError
from civicmap.pipeline import collect, render
from civicmap.report import quality_rows
from civicmap.spec.mapfile import load_map

DATA = Path(__file__).parent / "data"
HOME = [36.5613, 136.6562]  # 金沢市 広坂, near 兼六園
GSI = DATA / "shelters/gsi"
CSV = DATA / "shelters/ishikawa/170003_evacuation_space.csv"


def _official_refs() -> set[str]:
    """Every official row's reference (file:row), read with plain json/pandas."""
    refs = set()
    for f in ("evacuation_172014.json", "emergency_172014.json"):
        n = len(json.loads((GSI / f).read_text(encoding="utf-8"))["features"])
        refs |= {f"{f}:{i}" for i in range(1, n + 1)}
    csv = pd.read_csv(CSV, dtype=str)
    rows = [
        i + 1 for i, code in enumerate(csv["所在地_全国地方公共団体コード"]) if code == "172014"
    ]
    return refs | {f"{CSV.name}:{i}" for i in rows}


def _map(tmp: Path, *, area: dict, home: dict | None = None, homes=None) -> Path:
    shutil.copy(DATA / "osm/SmallAroundWaseda.osm", tmp / "extract.osm")
    raw = {
        "title": "金沢 避難マップ",
        "area": area,
        "osm": {"file": "extract.osm"},  # a 新宿 extract: no street of 金沢 in it
        "basemap": {"draw": False},
        "layers": [
            {
                "use": "shelters",
                "extra_sources": [
                    {"geojson": {"path": str(GSI / "evacuation_172014.json"),
                                 "category": "指定避難所"}},
                    {"geojson": {"path": str(GSI / "emergency_172014.json"),
                                 "category": "指定緊急避難場所"}},
                    {"csv": {"path": str(CSV), "category": "指定緊急避難場所",
                             "filter": {"所在地_全国地方公共団体コード": "172014"}}},
                ],
            }
        ],
        "outputs": {"web": {"file": "out/map.html", "self_contained": True},
                    "paper": {"file": "out/map.pdf", "size": "A4"}},
    }  # fmt: skip
    if home is not None:
        raw["home"] = home
    if homes is not None:
        raw["homes"] = homes
    path = tmp / "map.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kanazawa(tmp_path_factory):
    """The whole city (a bbox around every row: nothing clipped), home with 地震."""
    tmp = tmp_path_factory.mktemp("kanazawa")
    path = _map(tmp, area={"bbox": [136.4, 36.35, 136.85, 36.75]},
                home={"point": HOME, "disaster": "地震"})  # fmt: skip
    spec = load_map(path)
    return spec, collect(spec)


def test_every_official_row_is_in_the_diff_and_each_place_is_one_site(kanazawa):
    _, data = kanazawa
    layer = data.layer("shelters")
    n_rows, n_sites = independent_site_count(DATA)
    assert len(layer.features) == n_sites
    assert len(layer.report.site_merges) == n_rows - n_sites
    assert layer.report.shown == len(layer.features)
    diff = collect_diff(data)
    assert set(diff["ref_official"]) - {""} == _official_refs()
    # the quality report says which rows merged into which site, and why
    merged = [r for r in quality_rows(data) if r["kind"] == "merged"]
    assert len(merged) == n_rows - n_sites
    assert all(
        re.search(r"merged into site .+ m away: same (name|spot)", r["reason"]) for r in merged
    )


def test_earthquake_routes_rank_designated_sites_by_straight_line_and_say_why(kanazawa):
    _, data = kanazawa
    routes = data.routes
    assert routes is not None and len(routes) >= 3
    assert (routes["route"] == "straight").all()
    sites = data.layer("shelters").features.set_index("source_ref")
    assert all(sites.loc[r, "serves_earthquake"] is True for r in routes["shelter_ref"])
    assert list(routes["rank_straight"]) == sorted(routes["rank_straight"])
    notes = " ".join(data.route_notes)
    assert "避難先として数えたもの: 避難場所・避難所" in notes  # by title, never the id
    assert "道路データがないため直線距離です。実際の道順ではありません" in notes
    assert "extract.osm" not in notes  # the map is for the public: no file names on it
    # what was missing (the extract has no street here) is for the builder
    assert "extract.osm" in " ".join(data.build_messages)
    # 指定避難所 with no flag are named as such, not silently dropped
    after = int(sites["after_emergency_only"].astype(bool).sum())
    unknown = int(sites["serves_earthquake"].isna().sum())
    assert f"{len(sites)}か所中 {unknown}か所は地震への対応の情報がありません" in notes
    assert f"うち{after}か所は発災後の避難生活のための指定避難所" in notes


def test_tsunami_ranks_only_sites_designated_for_tsunami(kanazawa):
    spec, _ = kanazawa
    data = collect(dataclasses.replace(spec, home_disaster="津波"))
    sites = data.layer("shelters").features.set_index("source_ref")
    assert len(data.routes) >= 3
    assert all(sites.loc[r, "serves_tsunami"] is True for r in data.routes["shelter_ref"])
    # and the nearest for 津波 is the nearest tsunami site in a straight line
    tsunami = sites[sites["serves_tsunami"].map(lambda v: v is True)]
    home = gpd.GeoSeries([Point(HOME[1], HOME[0])], crs="EPSG:4326").to_crs("EPSG:6675")
    d = tsunami.geometry.to_crs("EPSG:6675").distance(home.iloc[0])
    assert data.routes.iloc[0]["shelter_ref"] == d.idxmin()
    assert data.routes.iloc[0]["straight_m"] == pytest.approx(d.min(), abs=1)


def test_a_disaster_no_site_is_designated_for_is_an_error_not_a_silent_map(kanazawa):
    spec, data = kanazawa
    sites = data.layer("shelters").features
    assert not (sites["serves_volcano"].map(lambda v: v is True)).any()  # 金沢: no 火山 sites
    with pytest.raises(CivicMapError, match=r"home\.disaster: 火山現象: none of the .* sites"):
        collect(dataclasses.replace(spec, home_disaster="火山現象"))


def _pdf_text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True)
    return out.stdout


@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler missing")
def test_both_maps_label_the_straight_lines_and_list_every_home(tmp_path):
    path = _map(
        tmp_path,
        area={"point": HOME, "radius": 700},
        homes={"disaster": "地震", "points": [{"name": "集合場所A", "point": HOME},
                                             {"name": "集合場所B", "point": [36.5650, 136.6600]}]},
    )  # fmt: skip
    spec = load_map(path)
    data = collect(spec)
    assert list(dict.fromkeys(data.routes["place_name"])) == ["集合場所A", "集合場所B"]
    written = render(data)
    html = written["web"][0].read_text(encoding="utf-8")
    assert "直線距離・道順ではありません" in html and "集合場所B" in html
    text = " ".join(_pdf_text(written["paper"][0]).split())
    assert "直線距離・道順ではありません" in text
    assert "集合場所A" in text and "集合場所B" in text
    # the note may wrap (8 pt route notes): compare without the line breaks
    raw = subprocess.run(
        ["pdftotext", str(written["paper"][0]), "-"], capture_output=True, text=True
    ).stdout  # reading order, not layout
    assert "道路データがないため直線距離です。実際の道順ではありません" in "".join(raw.split())
    assert "extract.osm" not in text  # the reason is for the builder (log, --report)


def test_demo_home_outside_the_extract_gets_straight_lines_and_the_message():
    spec = civicmap.load_map(civicmap.demo_map_path())
    far = (35.7150, 139.7200)  # 930 m from the nearest street of the demo extract
    data = collect(dataclasses.replace(spec, home=far))
    assert (data.routes["route"] == "straight").all()
    notes = " ".join(data.route_notes)
    assert "自宅: 近くに道路データがないため直線距離です。実際の道順ではありません" in notes
    assert "SmallAroundWaseda.osm.bz2" in " ".join(data.build_messages)  # which network


def test_offline_without_extract_or_pack_falls_back_and_names_what_is_missing(
    tmp_path, monkeypatch
):
    """No extract, no pack, offline: the build still ranks, and the map says why."""
    from civicmap import settings

    monkeypatch.setattr(settings, "offline", True)
    layer = {
        "id": "tsunami_buildings",  # any id: the role is what counts
        "title": {"ja": "津波避難ビル"},
        "role": "shelter",
        "sources": [{"geojson": {"path": str(GSI / "emergency_172014.json"),
                                 "category": "指定緊急避難場所"}}],
    }  # fmt: skip
    (tmp_path / "tsunami.yaml").write_text(yaml.safe_dump(layer, allow_unicode=True), "utf-8")
    raw = {
        "title": "金沢",
        "area": {"point": HOME, "radius": 1500},
        "basemap": {"draw": False},
        "layers": ["tsunami.yaml"],
        "home": {"point": HOME, "disaster": "tsunami"},
        "outputs": {"web": {"file": "out/map.html"}},
    }
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    data = collect(load_map(tmp_path / "map.yaml"))
    assert len(data.routes) >= 3 and (data.routes["route"] == "straight").all()
    notes = " ".join(data.route_notes)
    assert "避難先として数えたもの: 津波避難ビル" in notes and "tsunami_buildings" not in notes
    assert "道路データがないため直線距離です。実際の道順ではありません" in notes
    assert "no extract, and Overpass gave no street network" in " ".join(data.build_messages)


def test_homes_from_a_csv_of_meeting_points_and_bad_homes_are_reported(tmp_path):
    csv = tmp_path / "points.csv"
    csv.write_text("名称,緯度,経度\r\n集合場所A,36.5613,136.6562\r\n集合場所B,36.5650,136.66\r\n",
                   encoding="utf-8")  # fmt: skip
    path = _map(tmp_path, area={"point": HOME, "radius": 700},
                homes={"file": "points.csv", "disaster": "地震"})  # fmt: skip
    data = collect(load_map(path))
    assert list(dict.fromkeys(data.routes["place_name"])) == ["集合場所A", "集合場所B"]
    assert data.routes.groupby("place_name").size().min() >= 3
    bad = _map(tmp_path, area={"point": HOME, "radius": 700},
               homes={"points": [{"name": "X", "point": [136.6, 36.5, 1]}], "disaster": "隕石"})  # fmt: skip
    with pytest.raises(ConfigError) as exc:
        load_map(bad)
    text = str(exc.value)
    assert "homes.points[0]" in text and "homes.disaster" in text


def test_the_readme_example_with_a_disaster_produces_routes(tmp_path):
    """The README's map file, its data/ paths pointed at the real files in tests/data."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"A map file:\n\n```yaml\n(.*?)```", readme, re.S).group(1)
    raw = yaml.safe_load(block)
    assert raw["home"]["disaster"] == "地震"
    files = {"data/area.osm.pbf": DATA / "osm/SmallAroundWaseda.osm.pbf"}
    files |= {f"data/{f.name}": f for f in GSI.glob("*_131041.json")}
    text = block
    for rel, real in files.items():
        text = text.replace(rel, str(real))
    (tmp_path / "map.yaml").write_text(text, encoding="utf-8")
    data = collect(load_map(tmp_path / "map.yaml"))
    assert data.routes is not None and len(data.routes) >= 1
    sites = data.layer("shelters").features.set_index("source_ref")
    assert all(sites.loc[r, "serves_earthquake"] is True for r in data.routes["shelter_ref"])


@pytest.mark.usefixtures("geocoder")
def test_homes_from_addresses_are_geocoded_and_an_unknown_address_names_its_row(kanazawa, tmp_path):
    """A 町内会's list of 要配慮者 addresses: geocoded (fake GSI search on 127.0.0.1)."""
    spec, _ = kanazawa
    good = tmp_path / "addresses.csv"
    good.write_text("名称,住所\r\n鞍月の集合場所,金沢市鞍月東2丁目1番地\r\n", encoding="utf-8")
    data = collect(dataclasses.replace(spec, home=None, homes_file=str(good), homes_geocode=True))
    assert set(data.routes["place_name"]) == {"鞍月の集合場所（住所から推定）"}
    start = data.routes.geometry.iloc[0].coords[0]
    assert start == pytest.approx((136.6297, 36.6070))
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "名称,住所\r\nA,金沢市鞍月東2丁目1番地\r\nB,存在しない町999\r\n", encoding="utf-8"
    )
    with pytest.raises(CivicMapError, match=r"homes: bad\.csv row 2: .*存在しない町999"):
        collect(dataclasses.replace(spec, home=None, homes_file=str(bad), homes_geocode=True))


def test_a_shelter_like_layer_without_the_role_is_named_not_silently_ignored(caplog):
    from civicmap.mapdata import LayerData
    from civicmap.schema import empty_frame
    from civicmap.shelter_routes import shelter_layers
    from civicmap.spec.layers import parse_layer

    def layer(raw):
        spec = parse_layer(raw, file="t.yaml", base_dir=DATA)
        return LayerData(spec=spec, features=empty_frame())

    src = [{"geojson": {"path": "shelters/gsi/emergency_172014.json"}}]
    with_role = layer({"id": "hinan", "title": "避難所", "role": "shelter", "sources": src})
    without = layer({"id": "tsunami_buildings", "title": "津波避難ビル", "sources": src})
    other = layer({"id": "water", "title": "給水所", "sources": src})
    with caplog.at_level("WARNING"):
        assert shelter_layers([with_role, without, other]) == [with_role]
    assert "tsunami_buildings looks like shelters but has no 'role: shelter'" in caplog.text
    assert "water" not in caplog.text
    with pytest.raises(ConfigError, match="role"):
        parse_layer({"id": "x", "role": "shelters", "sources": src}, file="t", base_dir=DATA)
