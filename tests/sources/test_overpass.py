"""Overpass source against a real HTTP server on 127.0.0.1 (tests/overpass_server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from shapely.geometry import box

import civicmap
from civicmap import settings
from civicmap.area import municipality, resolve_area
from civicmap.errors import ConfigError, NetworkError, OfflineError, SourceError
from civicmap.sources import overpass
from civicmap.spec.area import parse_area
from civicmap.spec.mapfile import parse_map

WASEDA_BBOX = [139.7031784, 35.7039554, 139.7098839, 35.7093917]


def _refs(frame) -> dict[str, str]:
    return dict(zip(frame["source_ref"], frame.geometry.geom_type, strict=True))


def test_layers_and_basemap_same_from_overpass_and_extract(waseda_map, overpass_server):
    online = civicmap.collect(waseda_map({"overpass": True, "overpass_url": overpass_server.url}))
    local = civicmap.collect(waseda_map({"file": "SmallAroundWaseda.osm"}))
    for a, b in zip(online.layers, local.layers, strict=True):
        assert _refs(a.features) == _refs(b.features), a.id
    assert _refs(online.layer("childcare").features) == {"node/1420772842": "Point"}
    # the basemap: same OSM ids, kinds and geometry types (about 500 features)
    key = ["osm_ref", "kind"]
    on = online.basemap.assign(gt=online.basemap.geom_type).sort_values(key)[[*key, "gt"]]
    lo = local.basemap.assign(gt=local.basemap.geom_type).sort_values(key)[[*key, "gt"]]
    assert len(on) > 400
    assert on.values.tolist() == lo.values.tolist()
    # geometry is the same too, not just the ids
    a = online.basemap.set_index(key).sort_index()
    b = local.basemap.set_index(key).sort_index()
    assert a.geometry.geom_equals_exact(b.geometry, tolerance=1e-7).all()
    # the osm_base printed on maps comes from the server's answer
    assert online.osm_base == overpass_server.store.osm_base
    assert online.osm_base.startswith("2020-11")


def test_one_polite_query_per_map_with_user_agent(waseda_map, overpass_server):
    civicmap.collect(waseda_map({"overpass": True}))
    sent = overpass_server.interpreter_requests()
    assert len(sent) == 1  # every layer and the basemap in one query
    method, _, query = sent[0]
    assert method == "POST"
    assert query.startswith("[out:xml][timeout:")
    assert '["amenity"~"^(kindergarten|childcare)$"]' in query
    assert '["emegency:social_facility"="shelter"]' in query
    assert ("GET", "status", "") in overpass_server.requests  # asked for a slot first


def test_rectangle_area_uses_bbox_filter():
    area = resolve_area(parse_area({"bbox": WASEDA_BBOX}, base_dir=Path(".")), base_dir=Path("."))
    (f,) = overpass.area_filters(area)
    assert f == "(35.7039554,139.7031784,35.7093917,139.7098839)"


def test_municipality_uses_simplified_polygon_not_bbox():
    area = municipality("13104")  # 新宿区: 80 vertices in the bundled N03 boundary
    assert len(area.geometry.exterior.coords) > 40
    filters = overpass.area_filters(area, max_vertices=40)
    assert len(filters) == 1 and filters[0].startswith('(poly:"')
    nums = [float(x) for x in filters[0][7:-2].split()]
    assert len(nums) // 2 <= 40
    poly = overpass.Polygon([(nums[i + 1], nums[i]) for i in range(0, len(nums), 2)])
    # covers the whole ward (simplified outwards; 1e-6° is the rounding of the text) ...
    assert poly.buffer(1e-6).covers(area.geometry)
    # ... and is much tighter than the ward's bbox
    assert poly.area < 0.85 * box(*area.bounds).area
    assert poly.area < 1.2 * area.geometry.area  # halving the vertices costs <20 % extra area


def test_raw_overpass_ql_fills_bbox_like_overpass_turbo(waseda_map, overpass_server):
    ql = '[out:json][timeout:25];\nnode["amenity"="kindergarten"]({{bbox}});\nout body;'
    layer = {"id": "kinder", "title": "幼稚園", "sources": [{"osm": {"overpass_ql": ql}}]}
    data = civicmap.collect(waseda_map({"overpass": True}, layers=[layer], basemap=False))
    assert list(data.layers[0].features["source_ref"]) == ["node/1420772842"]
    (_, _, sent) = overpass_server.interpreter_requests()[0]
    area = data.area
    w, s, e, n = area.bounds
    assert f"({s:.7f},{w:.7f},{n:.7f},{e:.7f})" in sent
    assert "{{" not in sent


def test_raw_ql_out_geom_gives_same_areas_as_extract(waseda_map, overpass_server):
    ql = '[out:json];way["amenity"]({{bbox}});out geom;'
    layer = {"id": "parks", "title": "施設", "sources": [{"osm": {"overpass_ql": ql}}]}
    online = civicmap.collect(waseda_map({"overpass": True}, layers=[layer], basemap=False))
    local_layer = {
        "id": "parks",
        "title": "施設",
        "sources": [{"osm": {"match": {"amenity": True}, "types": ["way"]}}],
    }
    local = civicmap.collect(
        waseda_map({"file": "SmallAroundWaseda.osm"}, layers=[local_layer], basemap=False)
    )
    assert len(local.layers[0].features) >= 3
    assert _refs(online.layers[0].features) == _refs(local.layers[0].features)


def test_raw_ql_xml_in_batches_is_resorted(waseda_map, overpass_server):
    # overpass turbo's default: results first, their nodes after (`out body; >; out skel qt;`)
    ql = 'way["leisure"]({{bbox}});\nout body;\n>;\nout skel qt;'
    layer = {"id": "parks", "title": "公園", "sources": [{"osm": {"overpass_ql": ql}}]}
    data = civicmap.collect(waseda_map({"overpass": True}, layers=[layer], basemap=False))
    assert len(data.layers[0].features) >= 10
    assert set(data.layers[0].features.geom_type) == {"Polygon"}


def test_raw_ql_with_unknown_placeholder_is_refused(waseda_map, overpass_server):
    ql = 'area[name="新宿区"]->.a;node(area.a)[amenity=school];out;{{geocodeArea:新宿区}}'
    layer = {"id": "x", "title": "x", "sources": [{"osm": {"overpass_ql": ql}}]}
    with pytest.raises(SourceError, match=r"geocodeArea.*\{\{bbox\}\}"):
        civicmap.collect(waseda_map({"overpass": True}, layers=[layer], basemap=False))
    assert overpass_server.interpreter_requests() == []


def test_raw_ql_with_local_extract_is_refused(waseda_map):
    layer = {"id": "x", "title": "x", "sources": [{"osm": {"overpass_ql": "node({{bbox}});out;"}}]}
    with pytest.raises(SourceError, match="overpass_ql"):
        civicmap.collect(waseda_map({"file": "SmallAroundWaseda.osm"}, layers=[layer]))


@pytest.mark.parametrize("failure", [429, 504, "truncate"])
def test_transient_failures_are_retried(waseda_map, overpass_server, failure):
    overpass_server.script.extend([failure, failure])
    data = civicmap.collect(waseda_map({"overpass": True}))
    assert len(overpass_server.interpreter_requests()) == 3
    assert len(data.layer("childcare").features) == 1


def test_slow_answer_times_out_and_is_retried(waseda_map, overpass_server, monkeypatch):
    # A normal answer must come within the timeout even on a loaded machine (the test
    # server reads the extract per request); the slow one must not.
    monkeypatch.setattr(settings, "overpass_http_timeout", 1.5)
    overpass_server.slow_seconds = 4.0
    overpass_server.script.append("slow")
    data = civicmap.collect(waseda_map({"overpass": True}))
    assert len(overpass_server.interpreter_requests()) == 2
    assert len(data.basemap) > 400


@pytest.mark.parametrize("failure", [429, 504, "truncate"])
def test_retries_are_bounded_and_leave_nothing_behind(
    waseda_map, overpass_server, tmp_path, failure
):
    overpass_server.script.extend([failure] * 10)
    out = tmp_path / "out" / "map.geojson"
    spec = waseda_map({"overpass": True}, outputs={"geojson": {"file": str(out)}})
    with pytest.raises(NetworkError) as info:
        civicmap.build(spec)
    msg = str(info.value)
    assert "failed 4 times" in msg and overpass_server.url in msg
    assert ("429" in msg) if failure == 429 else True
    assert "truncated" in msg if failure == "truncate" else True
    assert len(overpass_server.interpreter_requests()) == settings.max_retries + 1 == 4
    # no cache entry (not even a partial one) and no output file
    assert not list(Path(settings.cache_folder).rglob("*.osm"))
    assert not list(Path(settings.cache_folder).rglob("*.part"))
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_server_runtime_error_is_reported_not_cached(waseda_map, overpass_server):
    overpass_server.script.append("remark")
    with pytest.raises(NetworkError, match=r"stopped the query.*Query timed out.*smaller"):
        civicmap.collect(waseda_map({"overpass": True}))
    assert not list(Path(settings.cache_folder).rglob("*.osm"))


def test_bad_query_is_not_retried(overpass_server):
    from civicmap import _http

    with pytest.raises(NetworkError, match=r"HTTP 400.*parse error"):
        _http.overpass('node["a"="b"(1,2,3,4);out;', url=overpass_server.url)
    assert len(overpass_server.interpreter_requests()) == 1


def test_status_slot_wait_is_honoured(waseda_map, overpass_server, monkeypatch):
    import civicmap._http as http

    waits = []
    monkeypatch.setattr(http.time, "sleep", waits.append)
    overpass_server.status_wait = 3
    civicmap.collect(waseda_map({"overpass": True}))
    assert waits == [settings.max_wait]  # 3 s announced, capped at max_wait


def test_answers_are_cached_and_refresh_asks_again(waseda_map, overpass_server):
    spec = waseda_map({"overpass": True})
    first = civicmap.collect(spec)
    second = civicmap.collect(spec)
    assert len(overpass_server.interpreter_requests()) == 1
    assert second.osm_base == first.osm_base
    assert list(second.layer("childcare").features["source_ref"]) == ["node/1420772842"]
    from civicmap.pipeline import _osm_filters

    filters, types = _osm_filters(spec)
    overpass.fetch_for_map(spec, first.area, filters, types=types, refresh=True)
    assert len(overpass_server.interpreter_requests()) == 2


def test_offline_mode_uses_cache_only_and_names_what_is_missing(
    waseda_map, overpass_server, monkeypatch
):
    spec = waseda_map({"overpass": True})
    with pytest.raises(
        OfflineError, match=r"layers childcare, shelters and the basemap.*civicmap fetch"
    ):
        civicmap.collect(spec, offline=True)  # passed down as a value
    assert overpass_server.interpreter_requests() == [] and settings.offline is False
    civicmap.collect(spec)
    assert len(civicmap.collect(spec, offline=True).basemap) > 400
    assert len(overpass_server.interpreter_requests()) == 1
    # settings.offline stays the default for callers that pass nothing; a value wins over it
    monkeypatch.setattr(settings, "offline", True)
    with pytest.raises(OfflineError, match="civicmap fetch"):
        civicmap.collect(waseda_map({"overpass": True}, layers=("toilets",)))
    assert overpass_server.interpreter_requests()[1:] == []
    civicmap.collect(waseda_map({"overpass": True}, layers=("toilets",)), offline=False)
    assert len(overpass_server.interpreter_requests()) == 2


def test_overpass_url_comes_from_map_then_settings(waseda_map, overpass_server, monkeypatch):
    monkeypatch.setattr(
        settings, "overpass_url", "http://127.0.0.1:9/api/interpreter"
    )  # nothing listens
    data = civicmap.collect(waseda_map({"overpass": True, "overpass_url": overpass_server.url}))
    assert len(data.layer("childcare").features) == 1
    # nothing listens: refused at once, not retried (issue #30), naming the service and host
    with pytest.raises(
        NetworkError, match=r"Overpass \(127\.0\.0\.1:9\) could not be reached.*refused"
    ):
        civicmap.collect(waseda_map({"overpass": True}))


def test_server_answers_get_and_post(overpass_server):
    q = '[out:json];node["amenity"="kindergarten"](35.70,139.70,35.71,139.71);out;'
    got = requests.get(overpass_server.url, params={"data": q}, timeout=5).json()
    posted = requests.post(overpass_server.url, data={"data": q}, timeout=5).json()
    assert got == posted
    assert [e["id"] for e in got["elements"]] == [1420772842]


def test_osm_section_is_validated(data_dir):
    raw = {"title": "t", "area": {"bbox": WASEDA_BBOX}, "layers": ["childcare"],
           "osm": {"overpass": "yes", "overpass_url": "overpass-api.de", "pack": 3, "proxy": 1}}  # fmt: skip
    with pytest.raises(ConfigError) as info:
        parse_map(raw, file="m.yaml", base_dir=data_dir)
    text = str(info.value)
    assert "osm.overpass: got 'yes', expected true or false" in text
    assert "osm.overpass_url: got 'overpass-api.de', expected an http(s) URL" in text
    assert "osm.pack: got 3" in text
    assert "proxy" in text
