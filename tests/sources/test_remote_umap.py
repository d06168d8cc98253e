"""uMap remote-data layers (issue 27): fetched like ``url:`` sources, with the layer's ttl.

A .umap backup whose layer loads its data from a loopback server (``remoteData``
with ``ttl``), as a uMap made for a 給水所 list that volunteers keep elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from civicmap.cli import main
from civicmap.pipeline import build_with_data
from civicmap.sources import read_path


def collection(*places: tuple[str, float, float]) -> bytes:
    feats = [
        {
            "type": "Feature",
            "properties": {"name": name},
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
        }
        for name, lat, lon in places
    ]
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


V1 = collection(("戸山給水所", 35.7070, 139.7075), ("早稲田給水所", 35.7060, 139.7060))
V2 = collection(("戸山給水所", 35.7070, 139.7075), ("大久保給水所", 35.7050, 139.7040))


@pytest.fixture
def server(remote_files):
    """conftest's loopback file server (private URLs allowed, tiny retry waits), serving V1."""
    remote_files.files["water.geojson"] = V1
    return remote_files


def write_map(folder: Path, url: str, ttl: int = 600) -> Path:
    umap = {
        "type": "umap",
        "properties": {"name": "給水マップ"},
        "geometry": {"type": "Point", "coordinates": [139.705, 35.705]},
        "layers": [
            {
                "type": "FeatureCollection",
                "features": [],
                "_umap_options": {
                    "name": "給水所（外部）",
                    "color": "#0077cc",
                    "remoteData": {"url": url, "format": "geojson", "ttl": ttl},
                },
            }
        ],
    }
    (folder / "water.umap").write_text(json.dumps(umap, ensure_ascii=False), encoding="utf-8")
    (folder / "map.yaml").write_text(
        "title: 給水マップ\narea: {bbox: [139.700, 35.700, 139.712, 35.712]}\nosm: false\n"
        "layers:\n  - id: water\n    title: 給水所\n    sources:\n      - umap: {path: water.umap}\n"
        "outputs:\n  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    return folder / "map.yaml"


def names(folder: Path) -> set[str]:
    doc = json.loads((folder / "out" / "map.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["name"] for f in doc["features"]}


def test_a_remote_data_layer_is_built_and_refreshed_after_its_ttl(tmp_path, server, remote_clock):
    path = write_map(tmp_path, server.url("water.geojson"), ttl=600)
    data, _w = build_with_data(path, overwrite=True)
    assert names(tmp_path) == {"戸山給水所", "早稲田給水所"}
    assert set(data.layers[0].features["category"]) == {"給水所（外部）"}
    assert set(data.layers[0].features["umap_color"]) == {"#0077cc"}
    assert data.built == "2026-12-01"
    server.files["water.geojson"] = V2
    remote_clock.advance(seconds=599)
    build_with_data(path, overwrite=True)
    assert names(tmp_path) == {"戸山給水所", "早稲田給水所"} and server.asked("water.geojson") == 1
    remote_clock.advance(seconds=2)  # 601 s after the first build
    build_with_data(path, overwrite=True)
    assert names(tmp_path) == {"戸山給水所", "大久保給水所"} and server.asked("water.geojson") == 2


def test_fetch_stores_the_remote_layer_and_the_pack_rebuild_needs_no_server(
    tmp_path, server, remote_clock
):
    path = write_map(tmp_path, server.url("water.geojson"))
    runner = CliRunner()
    res = runner.invoke(main, ["fetch", str(path), "-o", str(tmp_path / "pack")])
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in manifest["remote"]] == ["water.geojson"]
    online = runner.invoke(main, ["build", str(path), "--out", str(tmp_path / "a")])
    assert online.exit_code == 0, online.output
    server.stop()
    offline = runner.invoke(
        main, ["build", str(path), "--pack", str(tmp_path / "pack"), "--offline",
               "--out", str(tmp_path / "b")],
    )  # fmt: skip
    assert offline.exit_code == 0, offline.output
    assert (tmp_path / "a/map.geojson").read_bytes() == (tmp_path / "b/map.geojson").read_bytes()


def test_an_unreachable_remote_layer_without_a_copy_is_left_out_with_a_warning(tmp_path, server):
    path = write_map(tmp_path, server.url("water.geojson"))
    server.stop()
    data, _w = build_with_data(path, overwrite=True)
    assert len(data.layers[0].features) == 0
    (w,) = [w for w in data.layers[0].report.warnings if w["column"] == "remoteData"]
    assert "could not be fetched" in w["reason"] and "left out" in w["reason"]


def test_reading_the_file_alone_asks_no_server(tmp_path, server):
    path = write_map(tmp_path, server.url("water.geojson"))
    result = read_path(path.parent / "water.umap", layer="t")  # civicmap check water.umap
    assert len(result.features) == 0 and server.asked("water.geojson") == 0
    assert result.info["umap_remote"] == [
        {"layer": "給水所（外部）", "url": server.url("water.geojson")}
    ]
