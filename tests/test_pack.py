"""Offline packs: fetch once with the (test) network, rebuild with none, same result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from geopandas.testing import assert_geodataframe_equal

import civicmap
from civicmap import settings
from civicmap.cli import main
from civicmap.errors import (
    CivicMapError,
    NetworkError,
    OfflineError,
    OutputExistsError,
    SourceError,
)
from civicmap.pack import fetch_pack, read_manifest, with_pack
from civicmap.sources.streets import walking_graph_from_overpass

WASEDA_BBOX = [139.7031784, 35.7039554, 139.7098839, 35.7093917]
DEAD_URL = "http://127.0.0.1:9/api/interpreter"  # nothing listens on the discard port


def _serialise(data) -> bytes:
    """Every layer and the basemap as sorted GeoJSON: a deterministic byte image of MapData."""
    parts = {layer.id: json.loads(layer.features.to_json(sort_keys=True)) for layer in data.layers}
    parts["_basemap"] = json.loads(data.basemap.to_json(sort_keys=True))
    parts["_osm_base"] = data.osm_base
    return json.dumps(parts, sort_keys=True, ensure_ascii=False).encode("utf-8")


def test_rebuild_from_pack_with_network_disabled_equals_online(
    waseda_map, overpass_server, tmp_path, monkeypatch
):
    spec = waseda_map({"overpass": True, "pack": str(tmp_path / "pack")})
    info = fetch_pack(spec)  # the pack does not exist yet: online
    assert info.folder == tmp_path / "pack" and len(info.queries) == 2  # layers+basemap, streets
    online = civicmap.collect(waseda_map({"overpass": True}))
    # no network, no cache: only the pack can answer
    monkeypatch.setattr(settings, "overpass_url", DEAD_URL)
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "empty-cache")
    before = len(overpass_server.interpreter_requests())
    offline = civicmap.collect(spec, offline=True)
    assert len(overpass_server.interpreter_requests()) == before
    assert offline.osm_base == online.osm_base == info.osm_base
    for a, b in zip(online.layers, offline.layers, strict=True):
        assert_geodataframe_equal(a.features, b.features)
    assert_geodataframe_equal(online.basemap, offline.basemap)
    assert _serialise(online) == _serialise(offline)
    manifest = read_manifest(info.folder)
    assert manifest["osm_base"] == online.osm_base
    assert [q["what"] for q in manifest["queries"]] == [
        "layers childcare, shelters and the basemap", "the walking street network"]  # fmt: skip
    # the walking network comes from the pack too
    g = walking_graph_from_overpass(offline.area, pack=info.folder)
    assert g.number_of_edges() > 1000


def test_pack_missing_a_query_names_the_layer_and_the_fix(
    waseda_map, overpass_server, tmp_path, monkeypatch
):
    pack = tmp_path / "pack"
    fetch_pack(
        waseda_map({"overpass": True}, layers=["childcare"]), out=pack, streets_network=False
    )
    changed = with_pack(waseda_map({"overpass": True}, layers=["childcare", "water"]), pack)
    with pytest.raises(
        OfflineError, match=r"pack .*pack has no OSM data for layers childcare, water.*--overwrite"
    ):
        civicmap.collect(changed)


def test_offline_with_a_pack_that_does_not_exist(
    waseda_map, overpass_server, tmp_path, monkeypatch
):
    monkeypatch.setattr(settings, "offline", True)
    spec = waseda_map({"overpass": True, "pack": "no-such-pack"})
    with pytest.raises(OfflineError, match=r"no-such-pack.*does not exist.*civicmap fetch"):
        civicmap.collect(spec)


def test_failed_fetch_leaves_no_pack(waseda_map, overpass_server, tmp_path):
    overpass_server.script.extend([504] * 10)
    with pytest.raises(NetworkError, match="failed 4 times"):
        fetch_pack(waseda_map({"overpass": True}), out=tmp_path / "pack")
    assert list(tmp_path.iterdir()) == []  # no pack, no .part folder


def test_existing_pack_is_not_replaced_without_overwrite(waseda_map, overpass_server, tmp_path):
    spec = waseda_map({"overpass": True})
    fetch_pack(spec, out=tmp_path / "pack", streets_network=False)
    n = len(overpass_server.interpreter_requests())
    with pytest.raises(OutputExistsError, match="--overwrite"):
        fetch_pack(spec, out=tmp_path / "pack")
    assert len(overpass_server.interpreter_requests()) == n  # refused before any download
    info = fetch_pack(spec, out=tmp_path / "pack", overwrite=True, refresh=True)
    assert len(info.queries) == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["pack"]


def test_fetch_refuses_a_map_that_reads_a_local_extract(waseda_map, tmp_path):
    with pytest.raises(CivicMapError, match=r"local extract.*nothing to fetch"):
        fetch_pack(waseda_map({"file": "SmallAroundWaseda.osm"}), out=tmp_path / "p")


def _write_map(tmp_path: Path, osm: str) -> Path:
    m = tmp_path / "map.yaml"
    m.write_text(
        f"title: テスト\narea: {{bbox: {WASEDA_BBOX}, buffer: 300}}\nosm: {osm}\nlayers: [childcare]\n",
        encoding="utf-8",
    )
    return m


def test_cli_fetch_with_overpass_url(overpass_server, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "overpass_url", DEAD_URL)
    m = _write_map(tmp_path, "{overpass: true}")
    res = CliRunner().invoke(
        main, ["fetch", str(m), "-o", str(tmp_path / "pk"), "--overpass-url", overpass_server.url]
    )
    assert res.exit_code == 0, res.output
    assert "OSM data as of 2020-11-28" in res.output and "--pack" in res.output
    assert (tmp_path / "pk" / "manifest.json").exists()
    # without --overpass-url the (dead) default is used: a clear error and exit code 1
    res = CliRunner().invoke(main, ["fetch", str(m), "-o", str(tmp_path / "pk2")])
    assert res.exit_code == 1
    assert "127.0.0.1:9" in res.output and "could not be reached" in res.output  # not retried
    assert not (tmp_path / "pk2").exists()


def test_geojson_export_from_pack_is_byte_identical(
    waseda_map, overpass_server, tmp_path, monkeypatch
):
    from civicmap.render import export  # our own module: a failed import is a failure

    online = civicmap.collect(waseda_map({"overpass": True}))
    info = fetch_pack(waseda_map({"overpass": True}), out=tmp_path / "pack", streets_network=False)
    monkeypatch.setattr(settings, "offline", True)
    monkeypatch.setattr(settings, "overpass_url", DEAD_URL)
    offline = civicmap.collect(with_pack(waseda_map({"overpass": True}), info.folder))
    offline.built = online.built  # the print date is the only thing allowed to differ
    a = export.write_export(online, tmp_path / "online.geojson", fmt="geojson", overwrite=False)
    b = export.write_export(offline, tmp_path / "offline.geojson", fmt="geojson", overwrite=False)
    assert Path(a).read_bytes() == Path(b).read_bytes()
    assert b"node/1420772842" in Path(a).read_bytes()


def test_build_refuses_a_pack_of_another_format_or_a_damaged_one(
    waseda_map, overpass_server, tmp_path, monkeypatch
):
    info = fetch_pack(waseda_map({"overpass": True}), out=tmp_path / "pack", streets_network=False)
    monkeypatch.setattr(settings, "offline", True)
    spec = with_pack(waseda_map({"overpass": True}), info.folder)
    manifest = info.folder / "manifest.json"
    manifest.write_text(json.dumps({**read_manifest(info.folder), "format": 99}), encoding="utf-8")
    with pytest.raises(SourceError, match=r"manifest.json: got pack format 99, expected 1"):
        civicmap.collect(spec)
    manifest.write_text('{"format": 1, "queries": [', encoding="utf-8")  # cut short
    with pytest.raises(SourceError, match=r"manifest.json: not readable.*--overwrite"):
        civicmap.collect(spec)
