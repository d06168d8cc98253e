"""Conflation and the way to the shelter, on the demo data and on hand-made cases."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import Point

import civicmap
from civicmap.errors import CivicMapError
from civicmap.join import conflate, name_similarity, nearest_shelters
from civicmap.schema import CRS, conform
from civicmap.sources import read_path
from civicmap.sources._osmschema import to_schema
from civicmap.sources.osmfile import read_extract
from civicmap.tagfilter import TagFilter

LAT, LON = 35.7066, 139.7062
# JGD2011 plane rectangular zone IX (Tokyo): hand-made places in metres
TO_LL = Transformer.from_crs("EPSG:6677", CRS, always_xy=True)
TO_XY = Transformer.from_crs(CRS, "EPSG:6677", always_xy=True)
X0, Y0 = TO_XY.transform(LON, LAT)


def at(east_m: float, north_m: float) -> Point:
    return Point(*TO_LL.transform(X0 + east_m, Y0 + north_m))


def places(rows, *, source="hand.csv", **extra) -> gpd.GeoDataFrame:
    """rows: (name, east_m, north_m[, ref])."""
    data = {
        "name": [r[0] for r in rows],
        "source": source,
        "source_ref": [r[3] if len(r) > 3 else f"{source}:{i + 1}" for i, r in enumerate(rows)],
        **extra,
    }
    gdf = gpd.GeoDataFrame(data, geometry=[at(r[1], r[2]) for r in rows], crs=CRS)
    return conform(gdf, layer="t", source=source)


@pytest.fixture(scope="module")
def demo():
    spec = civicmap.load_map(civicmap.demo_map_path())
    return civicmap.collect(replace(spec, home=(35.7066, 139.7062)))


def _gsi(data_dir) -> gpd.GeoDataFrame:
    res = read_path(
        data_dir / "shelters/gsi/evacuation_131041.json",
        layer="shelters",
        options={"category": "指定避難所"},
    )
    return res.features


def _osm_schools(data_dir) -> gpd.GeoDataFrame:
    ext = read_extract(
        data_dir / "osm/SmallAroundWaseda.osm", {"s": TagFilter.parse({"amenity": "school"})}
    )
    return to_schema(ext.frames["s"], layer="shelters")


# --------------------------------------------------------------------------- conflation, real data


def test_demo_shows_the_nursery_in_both_lists_once_with_both_references(demo):
    layer = demo.layer("childcare")
    feats = layer.features
    okubo = feats[feats["name"] == "大久保第一保育園"]
    assert len(okubo) == 1
    row = okubo.iloc[0]
    assert row["ref_osm"] == "node/1420772842"
    assert row["ref_official"] == "shinjuku_nurseryFacilities.csv:1"
    assert row["source_ref"] == "shinjuku_nurseryFacilities.csv:1+node/1420772842"
    assert row["name_kana"] == "おおくぼだいいちほいくえん"  # from the ward's list
    assert row["match_status"] == "matched"
    assert layer.report.merged == 1
    assert layer.report.shown == len(feats)
    assert set(layer.report.diff["status"]) == {"only_official"}
    assert "高田馬場第ニ保育園" in set(layer.report.diff["name_official"])


def test_gsi_shelters_inside_osm_school_polygons_match_at_distance_zero(data_dir):
    result = conflate(_gsi(data_dir), _osm_schools(data_dir))
    merged = result.merged.set_index("ref_osm")
    toyama = merged.loc["way/96219905"]  # 東京都立 戸山高等学校 (polygon)
    assert toyama["name"] == "都立戸山高等学校"  # official display name kept
    assert toyama["name_osm"] == "東京都立 戸山高等学校"
    assert toyama["match_distance_m"] == 0.0
    assert toyama.geometry.geom_type == "Polygon"  # keeps its shape for the web map
    assert merged.loc["way/96222030", "name"] == "西早稲田中学校"
    only_osm = set(result.diff.loc[result.diff["status"] == "only_osm", "name_osm"])
    assert only_osm == {
        "私立 保善高等学校",
        "私立 海城中学校 高等学校",
    }  # private schools: not shelters
    assert result.matched == 2
    assert len(result.merged) == len(_gsi(data_dir)) + 4 - 2


# --------------------------------------------------------------------------- conflation, each rule


def test_two_nurseries_20m_apart_with_different_names_do_not_merge():
    official = places([("さくら保育園", 0, 0)])
    osm = places([("ひまわり保育園", 20, 0, "node/1")], source="osm")
    result = conflate(official, osm)
    assert result.matched == 0
    assert len(result.merged) == 2
    assert sorted(result.diff["status"]) == ["only_official", "only_osm"]


def test_same_nursery_far_apart_is_merged_and_flagged_location_mismatch():
    official = places([("さくら保育園", 0, 0)])
    osm = places([("さくら保育園", 80, 0, "node/1")], source="osm")
    result = conflate(official, osm)
    assert result.matched == 1 and len(result.merged) == 1
    (row,) = result.diff.itertuples()
    assert row.status == "location_mismatch"
    assert row.distance_m == pytest.approx(80, abs=1)


def test_same_spot_different_name_is_merged_and_flagged_name_mismatch():
    official = places([("新宿こども園", 0, 0)])
    osm = places([("ひかり幼稚園", 3, 0, "way/7")], source="osm")
    result = conflate(official, osm)
    assert result.matched == 1
    assert list(result.diff["status"]) == ["name_mismatch"]
    assert result.merged.iloc[0]["name"] == "新宿こども園"
    assert result.merged.iloc[0]["name_osm"] == "ひかり幼稚園"


def test_matching_is_one_to_one_and_prefers_the_better_pair():
    official = places([("にじいろ保育園高田馬場西", 0, 0), ("にじいろ保育園高田馬場東", 60, 0)])
    osm = places([("にじいろ保育園 高田馬場東", 58, 2, "node/9")], source="osm")
    result = conflate(official, osm)
    assert result.matched == 1
    merged = result.merged.set_index("ref_official")
    assert merged.loc["hand.csv:2", "ref_osm"] == "node/9"
    assert merged.loc["hand.csv:1", "match_status"] == "only_official"


def test_reading_matches_when_osm_writes_the_name_in_kana():
    assert name_similarity("若葉保育園", "わかばほいくえん", a_kana="ワカバホイクエン") == 1.0
    assert name_similarity("若葉保育園", "さくらほいくえん", a_kana="ワカバホイクエン") < 0.8


# --------------------------------------------------------------------------- nearest shelters


def river_graph() -> nx.MultiDiGraph:
    """A river at y=75 m; the only bridge is 700 m east.

    Shelter A (north bank, 150 m away) is 1,550 m on foot; shelter B
    (south, 400 m away) is 450 m on foot along a winding street.
    """
    g = nx.MultiDiGraph(crs="EPSG:6677")
    for n, (x, y) in {1: (0, 0), 2: (700, 0), 3: (700, 150), 4: (0, 150), 5: (0, -400)}.items():
        g.add_node(n, x=X0 + x, y=Y0 + y)
    for u, v, length in [(1, 2, 700), (2, 3, 150), (3, 4, 700), (1, 5, 450)]:
        g.add_edge(u, v, length=length)
        g.add_edge(v, u, length=length)
    return g


def test_shelter_across_the_river_is_near_in_a_line_but_far_on_foot():
    home = places([("自宅", 0, 0, "home")])
    shelters = places([("A小学校", 0, 150, "A"), ("B中学校", 0, -400, "B")], source="gsi")
    result = nearest_shelters(home, shelters, k=1, graph=river_graph())
    t = result.table.set_index("shelter_ref")
    assert t.loc["A", "rank_straight"] == 1 and t.loc["A", "rank_walk"] == 2
    assert t.loc["B", "rank_walk"] == 1 and t.loc["B", "rank_straight"] == 2
    assert t.loc["A", "straight_m"] == pytest.approx(150, rel=0.01)
    assert t.loc["A", "walk_m"] == pytest.approx(1550, rel=0.01)
    assert t.loc["B", "walk_m"] == pytest.approx(450, rel=0.01)
    assert t.loc["B", "walk_min"] == pytest.approx(450 / 80, rel=0.01)
    assert list(result.table["shelter_ref"]) == ["B", "A"]  # walking order first
    lines = result.lines.set_index("shelter_ref")
    assert (lines["route"] == "walk").all()
    # the drawn route of A goes over the bridge: about as long as the walk
    route_a = gpd.GeoSeries([lines.loc["A", "geometry"]], crs=CRS).to_crs("EPSG:6677").iloc[0]
    assert route_a.length == pytest.approx(1550, rel=0.01)
    assert max(x for x, _ in route_a.coords) == pytest.approx(X0 + 700, abs=1)


def test_disaster_type_filter_says_what_is_unknown():
    home = places([("自宅", 0, 0, "home")])
    shelters = places(
        [("高台公園", 0, 300, "hill"), ("低地小学校", 0, 100, "low"), ("不明会館", 0, 50, "unk")],
        source="gsi",
        serves_tsunami=[True, False, None],
    )
    result = nearest_shelters(home, shelters, disaster="津波", k=3)
    assert list(result.table["shelter_ref"]) == ["hill"]
    assert any("1 of 3 shelters have no information on 津波" in n for n in result.notes)
    with_unknown = nearest_shelters(home, shelters, disaster="tsunami", k=3, include_unknown=True)
    assert list(with_unknown.table["shelter_ref"]) == ["unk", "hill"]
    assert with_unknown.table["serves"].tolist() == [None, True]
    # a column nobody filled: nothing is known to serve floods, and it says so
    none = nearest_shelters(home, shelters, disaster="洪水")
    assert none.table.empty
    assert any("3 of 3" in n for n in none.notes) and any("no shelter" in n for n in none.notes)
    with pytest.raises(CivicMapError, match="unknown disaster type 'meteor'"):
        nearest_shelters(home, shelters, disaster="meteor")


def test_walking_to_real_gsi_shelters_on_the_osm_street_network(data_dir, demo):
    import osmnx as ox

    graph = ox.graph_from_xml(data_dir / "osm/SmallAroundWaseda.osm", retain_all=True)
    nurseries = demo.layer("childcare").features
    result = nearest_shelters(nurseries, _gsi(data_dir), k=2, graph=graph)
    t = result.table
    assert set(t["place_name"]) == set(nurseries["name"])
    walked = t.dropna(subset=["walk_m"])
    assert len(walked) >= len(nurseries) * 2
    # walking is never shorter than the straight line (1 % for projection rounding)
    assert (walked["walk_m"] >= walked["straight_m"] * 0.99).all()
    assert np.allclose(walked["walk_min"], walked["walk_m"] / 80, atol=0.06)
    first = result.lines.iloc[0]
    place = nurseries.set_index("source_ref").loc[first["place_ref"], "geometry"]
    assert Point(first.geometry.coords[0]).distance(place) < 1e-6
    assert len(first.geometry.coords) > 3  # follows streets, not a straight line


def test_home_point_in_the_map_file_gives_route_lines(demo):
    routes = demo.routes
    assert routes is not None and len(routes) >= 3
    assert (routes.geometry.geom_type == "LineString").all()
    start = Point(routes.geometry.iloc[0].coords[0])
    assert start.distance(Point(139.7062, 35.7066)) < 1e-6
    assert set(routes["shelter_name"]) <= set(demo.layer("shelters").features["name"])
    # the map's own extract gives the street network: routes are walked, ranked on foot
    assert (routes["route"] == "walk").all()
    assert routes["walk_m"].is_monotonic_increasing
    assert (routes["walk_m"] >= routes["straight_m"]).all()
    # on the demo, the nearest on foot (西早稲田中学校) is not the nearest in a straight line
    assert routes.iloc[0]["shelter_name"] == "西早稲田中学校"
    assert routes.iloc[0]["rank_straight"] > 1


def test_graph_steps_snap_and_early_stopping_dijkstra_agree_with_networkx():
    """The named steps of routing (civicmap.join._graph), each checked on its own."""
    from civicmap.join._graph import dijkstra, prepare_graph, snap

    g = river_graph()
    prepared = prepare_graph(g, "EPSG:6677")
    pts = gpd.GeoSeries([at(10, 5), at(690, 160)], crs=CRS).to_crs("EPSG:6677")
    nodes, dist = snap(prepared, pts)
    assert nodes == [1, 3] and dist == pytest.approx([np.hypot(10, 5), np.hypot(10, 10)])
    settled, _ = dijkstra(prepared, 1, {4: 0.0, 5: 0.0}, want=2, must=set(), cutoff=10_000)
    full = nx.single_source_dijkstra_path_length(g, 1, weight="length")
    assert settled[4] == full[4] == 1550 and settled[5] == full[5] == 450
    # it stops early: with one shelter wanted, the far bank is never settled
    near_only, _ = dijkstra(prepared, 1, {4: 0.0, 5: 0.0}, want=1, must=set(), cutoff=10_000)
    assert 5 in near_only and 4 not in near_only


def test_a_shelter_off_the_street_network_gets_a_straight_line_not_a_fake_walk():
    home = places([("自宅", 0, 0, "home")])
    shelters = places([("橋の先", 0, 140, "A"), ("地図の外", 2000, 2000, "far")], source="gsi")
    result = nearest_shelters(home, shelters, k=2, graph=river_graph(), max_snap_m=300)
    t = result.table.set_index("shelter_ref")
    assert t.loc["A", "walk_m"] == pytest.approx(1550 + 10, abs=1)
    assert np.isnan(t.loc["far", "walk_m"])  # not snapped to a street 2 km away
    assert result.shelters_outside == 1 and result.outside_network == []
    away = nearest_shelters(places([("遠い家", 3000, 0, "h")]), shelters, graph=river_graph())
    assert away.outside_network == [("遠い家", pytest.approx(2300, abs=1))]
    assert (away.lines["route"] == "straight").all()


def test_one_to_one_assignment_takes_the_best_pair_first_and_each_record_once():
    from civicmap.join.conflate import assign_one_to_one

    # official 0 fits OSM 0 and 1; official 1 fits only OSM 0, worse: 0 takes OSM 0
    oi, mi = np.array([0, 0, 1]), np.array([0, 1, 0])
    dist = np.array([5.0, 40.0, 10.0])
    names = np.array([1.0, 0.9, 0.7])
    score = np.array([0.95, 0.8, 0.7])
    pairs = assign_one_to_one(oi, mi, dist, names, score, np.array([True, True, True]))
    assert [(i, j) for i, j, *_ in pairs] == [(0, 0)]
    # a pair not allowed (names differ, not the same spot) is never taken
    pairs = assign_one_to_one(oi, mi, dist, names, score, np.array([False, True, True]))
    assert [(i, j) for i, j, *_ in pairs] == [(0, 1), (1, 0)]


def test_official_list_with_no_row_left_in_the_area_keeps_its_columns_and_the_osm_places():
    """A file whose every row fell outside the map (e.g. 富山市's list on a 早稲田 extract)."""
    official = places([("さくら保育園", 0, 0)], HID=["H-1"]).iloc[0:0]
    osm = places([("ひまわり保育園", 20, 0, "node/1")], source="osm")
    result = conflate(official, osm)
    assert list(result.merged["name"]) == ["ひまわり保育園"]
    assert "HID" in result.merged.columns  # the file's own column, empty, not a KeyError
    assert list(result.diff["status"]) == ["only_osm"]
