"""An offline web map beside a tile folder: ``<name>_tiles/{z}/{x}/{y}.png`` from the pack (#14).

When the pack's tiles are more than a page inlines (or ``offline_tiles: folder``),
the page reads them from a folder next to it through a relative URL. The folder
holds exactly the pack's tiles touching the map's area (computed here with the
slippy-map formula, independently of the code), is written all at once, and
follows the ``--overwrite`` rule of every output. The browser side is in
tests/browser/test_web_tile_folder.py.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest
import yaml
from paths import TESTS

from civicmap import settings
from civicmap.errors import OutputExistsError
from civicmap.pipeline import build
from civicmap.render import tiles
from civicmap.spec.basemap import REGISTRY
from civicmap.spec.mapfile import load_map

DATA = TESTS / "data"
TOYAMA_CSV = (DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv").resolve()
#: The map's area: part of 富山市's centre (the pack's web zooms cover it).
BBOX = [137.205, 36.690, 137.215, 36.697]


def write_map(folder: Path, web: dict, *, tiles_id: str = "gsi-pale") -> Path:
    raw = {
        "title": "富山市 保育施設マップ",
        "area": {"bbox": BBOX},
        "osm": False,
        "basemap": {"tiles": tiles_id},
        "layers": [
            {"id": "nursery", "title": "保育施設", "sources": [{"csv": {"path": str(TOYAMA_CSV)}}]}
        ],
        "outputs": {"web": {"file": "out/保育マップ.html", "self_contained": True, **web}},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return folder / "map.yaml"


def area_tiles(pack: Path) -> set[str]:
    """The pack's tiles touching BBOX, by the slippy-map formula (OSM wiki), as "z/x/y"."""
    w, s, e, n = BBOX
    out = set()
    for f in (pack / "tiles/gsi-pale").rglob("*.png"):
        z, x, y = int(f.parts[-3]), int(f.parts[-2]), int(f.stem)
        k = 2**z
        west, east = x / k * 360 - 180, (x + 1) / k * 360 - 180
        north = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / k))))
        south = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1) / k))))
        if west <= e and east >= w and south <= n and north >= s:
            out.add(f"{z}/{x}/{y}")
    return out


def folder_tiles(folder: Path) -> set[str]:
    return {"/".join(p.relative_to(folder).with_suffix("").parts) for p in folder.rglob("*.png")}


def page_payload(html: Path) -> dict:
    m = re.search(r'id="civicmap-data">(.*?)</script>', html.read_text(encoding="utf-8"), re.S)
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def packed(tmp_path_factory, tile_server):
    """A map folder with its pack of gsi-pale tiles (from the loopback tile server)."""
    from civicmap.pack import fetch_pack

    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("tilefolder")
    from tile_server import use_loopback_gsi

    use_loopback_gsi(mp, tile_server, cache_folder=folder / "cache")
    try:
        path = write_map(folder, {"offline_tiles": "folder"})
        info = fetch_pack(load_map(path))
        mp.setattr(settings, "offline", True)
        mp.setattr(settings, "cache_folder", folder / "cache-empty")  # only the pack
        tile_server.reset()
        yield {"folder": folder, "map": path, "pack": info.folder, "server": tile_server}
    finally:
        mp.undo()
        tiles._FETCHERS.clear()


@pytest.fixture
def offline(packed, monkeypatch):
    monkeypatch.setattr(settings, "offline", True)
    monkeypatch.setattr(settings, "cache_folder", packed["folder"] / "cache-empty")
    tiles._FETCHERS.clear()
    return packed


def test_folder_mode_writes_the_areas_pack_tiles_beside_a_page_with_a_relative_url(offline):
    html = build(load_map(offline["map"]), overwrite=True)["web"][0]
    folder = html.parent / "保育マップ_tiles"
    assert folder.is_dir()
    expected = area_tiles(offline["pack"])
    zooms = sorted({int(k.split("/")[0]) for k in expected})
    assert zooms == list(range(zooms[0], zooms[-1] + 1)) and len(zooms) >= 3  # no gap
    assert folder_tiles(folder) == expected
    for key in expected:  # the same bytes as the pack's
        assert (folder / f"{key}.png").read_bytes() == (
            offline["pack"] / "tiles/gsi-pale" / f"{key}.png"
        ).read_bytes()
    data = json.dumps(page_payload(html), ensure_ascii=False)
    assert "data:image/png" not in data  # no tile inlined (Leaflet's CSS icons are)
    tile = page_payload(html)["tiles"][0]
    assert tile["url"] == "%E4%BF%9D%E8%82%B2%E3%83%9E%E3%83%83%E3%83%97_tiles/{z}/{x}/{y}.png"
    assert tile["local"] is True and "inline" not in tile
    assert (tile["minNativeZoom"], tile["maxNativeZoom"]) == (zooms[0], zooms[-1])
    assert tile["bounds"] == [[BBOX[1], BBOX[0]], [BBOX[3], BBOX[2]]]
    fetched = tiles.read_pack_manifest(offline["pack"], REGISTRY["gsi-pale"])["fetched"]
    assert page_payload(html)["background"]["banner"] == (
        f"背景：この地図と同じフォルダの地理院タイル（淡色地図）（取得日 {fetched[:10]}・オフライン）"
    )
    assert offline["server"].requests == []


def test_auto_uses_the_folder_only_when_the_tiles_pass_the_inline_limit(offline, monkeypatch):
    raw = yaml.safe_load(offline["map"].read_text(encoding="utf-8"))
    raw["outputs"]["web"]["offline_tiles"] = "auto"
    raw["outputs"]["web"]["file"] = "auto/map.html"
    offline["map"].write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    try:
        html = build(load_map(offline["map"]), overwrite=True)["web"][0]
        assert not (html.parent / "map_tiles").exists()  # a few tiles: inlined
        assert page_payload(html)["tiles"][0]["inline"]
        total = sum(f.stat().st_size for f in (offline["pack"] / "tiles").rglob("*.png"))
        monkeypatch.setattr(tiles, "WEB_INLINE_LIMIT", total - 1)
        html = build(load_map(offline["map"]), overwrite=True)["web"][0]
        assert folder_tiles(html.parent / "map_tiles") == area_tiles(offline["pack"])
        assert "data:image/png" not in json.dumps(page_payload(html))
        assert page_payload(html)["tiles"][0]["url"] == "map_tiles/{z}/{x}/{y}.png"
    finally:
        raw["outputs"]["web"]["offline_tiles"] = "folder"
        raw["outputs"]["web"]["file"] = "out/保育マップ.html"
        offline["map"].write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


def test_an_existing_folder_needs_overwrite_and_a_failed_copy_keeps_the_old_one(
    offline, tmp_path, monkeypatch
):
    from civicmap.render import background

    target = tmp_path / "map_tiles"
    files = {"1/0/0": next((offline["pack"] / "tiles/gsi-pale").rglob("*.png"))}
    background.write_tile_folder(target, files, overwrite=False)
    with pytest.raises(OutputExistsError):
        background.write_tile_folder(target, files, overwrite=False)
    (target / "mine.txt").write_text("old", encoding="utf-8")
    calls = []
    real = shutil.copyfile

    def failing(src, dst, **kw):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(src, dst, **kw)

    monkeypatch.setattr(shutil, "copyfile", failing)
    many = {f"2/{i}/0": files["1/0/0"] for i in range(3)}
    with pytest.raises(Exception, match="map_tiles"):
        background.write_tile_folder(target, many, overwrite=True)
    # the old folder is untouched and no temporary folder is left behind
    assert (target / "mine.txt").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map_tiles"]
    monkeypatch.undo()
    background.write_tile_folder(target, many, overwrite=True)
    assert folder_tiles(target) == set(many) and not (target / "mine.txt").exists()


def test_build_without_overwrite_refuses_an_existing_tile_folder(offline, tmp_path):
    shutil.copy(offline["map"], tmp_path / "map.yaml")
    (tmp_path / offline["pack"].name).symlink_to(offline["pack"])  # the same pack beside it
    (tmp_path / "out/保育マップ_tiles").mkdir(parents=True)
    with pytest.raises(OutputExistsError, match="保育マップ_tiles"):
        build(load_map(tmp_path / "map.yaml"))
    assert not (tmp_path / "out/保育マップ.html").exists()  # nothing half-written


def test_osm_tiles_never_get_a_folder(offline, tmp_path):
    path = write_map(tmp_path, {"offline_tiles": "folder"}, tiles_id="osm")
    html = build(load_map(path))["web"][0]
    assert [p.name for p in html.parent.iterdir()] == [html.name]
    assert "_tiles/" not in html.read_text(encoding="utf-8")


def test_a_build_that_fails_later_leaves_the_old_page_and_folder_together(
    offline, tmp_path, monkeypatch
):
    """The tile folder is renamed with the page and the other outputs: all of them or none."""
    from civicmap.render import export

    path = write_map(tmp_path, {"offline_tiles": "folder"})
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["outputs"]["geojson"] = {"file": "out/map.geojson"}  # written after the web map
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (tmp_path / offline["pack"].name).symlink_to(offline["pack"])
    html = build(load_map(path))["web"][0]
    folder = html.parent / "保育マップ_tiles"
    (folder / "mine.txt").write_text("old", encoding="utf-8")  # marks the old folder
    before = html.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "write_export", disk_full)  # the output after the web map
    with pytest.raises(OSError):
        build(load_map(path), overwrite=True)
    assert html.read_bytes() == before
    assert (folder / "mine.txt").read_text(encoding="utf-8") == "old"  # the old folder, whole
    assert sorted(p.name for p in html.parent.iterdir()) == ["map.geojson", "保育マップ.html",
                                                             "保育マップ_tiles"]  # fmt: skip
    monkeypatch.undo()
    build(load_map(path), overwrite=True)  # then a good build replaces both together
    assert not (folder / "mine.txt").exists() and folder_tiles(folder) == area_tiles(
        offline["pack"]
    )
