"""Walking street networks from a local extract and from Overpass."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import osmnx as ox
from shapely.geometry import Point

from civicmap.area import resolve_area
from civicmap.sources.streets import walking_graph_from_extract, walking_graph_from_overpass
from civicmap.spec.area import parse_area

WASEDA_BBOX = [139.7031784, 35.7039554, 139.7098839, 35.7093917]


def _area(buffer=0):
    return resolve_area(
        parse_area({"bbox": WASEDA_BBOX, "buffer": buffer}, base_dir=Path(".")), base_dir=Path(".")
    )


def test_extract_graph_lengths_are_metres_and_osmnx_routes_on_it(data_dir):
    g = walking_graph_from_extract(data_dir / "osm" / "SmallAroundWaseda.osm.pbf", _area())
    assert isinstance(g, nx.MultiDiGraph) and g.number_of_edges() > 1000
    # every edge length equals the UTM distance between its ends (metres, not degrees)
    u, v, d = next(iter(g.edges(data=True)))
    pts = gpd.GeoSeries(
        [Point(g.nodes[u]["x"], g.nodes[u]["y"]), Point(g.nodes[v]["x"], g.nodes[v]["y"])], crs=4326
    )
    p = pts.to_crs(pts.estimate_utm_crs())
    assert abs(d["length"] - p.iloc[0].distance(p.iloc[1])) < 0.05
    # a route across the area: longer than the straight line, shorter than twice that
    comp = max(nx.weakly_connected_components(g), key=len)
    a = min(comp, key=lambda n: g.nodes[n]["x"] + g.nodes[n]["y"])
    b = max(comp, key=lambda n: g.nodes[n]["x"] + g.nodes[n]["y"])
    route = ox.shortest_path(g, a, b, weight="length")
    walked = nx.path_weight(g, route, weight="length")
    ends = gpd.GeoSeries(
        [Point(g.nodes[a]["x"], g.nodes[a]["y"]), Point(g.nodes[b]["x"], g.nodes[b]["y"])], crs=4326
    )
    e = ends.to_crs(ends.estimate_utm_crs())
    straight = e.iloc[0].distance(e.iloc[1])
    assert 500 < straight < walked < 2 * straight


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "walk.osm"
    p.write_text(f'<?xml version="1.0"?><osm version="0.6">{body}</osm>', encoding="utf-8")
    return p


def test_only_walkable_ways_and_clipped_ways_break(tmp_path):
    nodes = "".join(
        f'<node id="{i}" version="1" lat="35.70{i}" lon="139.70"/>' for i in range(1, 6)
    )
    ways = (
        '<way id="10" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way>'
        '<way id="11" version="1"><nd ref="2"/><nd ref="3"/><tag k="highway" v="motorway"/></way>'
        '<way id="12" version="1"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/><tag k="foot" v="no"/></way>'
        '<way id="13" version="1"><nd ref="4"/><nd ref="99"/><nd ref="5"/><tag k="highway" v="residential"/></way>'
        '<way id="14" version="1"><nd ref="1"/><nd ref="5"/><tag k="highway" v="service"/><tag k="access" v="private"/></way>'
    )
    g = walking_graph_from_extract(_write(tmp_path, nodes + ways))
    assert {d["osmid"] for _, _, d in g.edges(data=True)} == {10}
    assert sorted(g.edges(keys=False)) == [(1, 2), (2, 1)]  # both directions
    assert abs(g.edges[1, 2, 0]["length"] - 110.95) < 0.1  # 0.001° of latitude at 35.7°N


def test_overpass_graph_equals_extract_graph(data_dir, overpass_server):
    area = _area(buffer=300)  # covers the whole extract
    online = walking_graph_from_overpass(area)
    local = walking_graph_from_extract(data_dir / "osm" / "SmallAroundWaseda.osm", area)
    assert online.number_of_edges() > 1000
    assert sorted(online.edges(keys=False)) == sorted(local.edges(keys=False))
    (_, _, query) = overpass_server.interpreter_requests()[0]
    assert query.count("way[") == 1 and '["highway"]' in query
