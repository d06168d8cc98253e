"""The offline page beside its tile folder, in headless Chromium with no network (#14).

The page is opened from ``file://``; its background tiles come from
``<name>_tiles/{z}/{x}/{y}.png`` next to it (relative URLs), and must really be
drawn: every tile image complete with a natural width of 256. The banner says
where the tiles come from; a page copied without its folder says the folder is
missing. Phone-sized screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pages import console_errors, open_map, settle, wait_for

from civicmap import settings
from civicmap.render import assets, tiles
from civicmap.spec.basemap import REGISTRY
from civicmap.spec.mapfile import load_map

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        bool(assets.missing()), reason="run `python -m civicmap.render.assets install` first"
    ),
]

DATA = Path(__file__).resolve().parents[1] / "data"
TOYAMA_CSV = DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv"
BBOX = [137.205, 36.690, 137.215, 36.697]
PHONE = (390, 844)


@pytest.fixture(scope="module")
def folder_page(tmp_path_factory, tile_server):
    """The 富山市 nursery map built offline from its pack with ``offline_tiles: folder``."""
    from civicmap.pack import fetch_pack
    from civicmap.pipeline import build

    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("browser_tiles")
    from tile_server import use_loopback_gsi

    use_loopback_gsi(mp, tile_server, cache_folder=folder / "cache")
    raw = {
        "title": "富山市 保育施設マップ",
        "area": {"bbox": BBOX},
        "osm": False,
        "basemap": {"tiles": "gsi-pale"},
        "layers": [
            {"id": "nursery", "title": "保育施設", "sources": [{"csv": {"path": str(TOYAMA_CSV)}}]}
        ],
        "outputs": {
            "web": {"file": "out/map.html", "self_contained": True, "offline_tiles": "folder"}
        },
    }
    (folder / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    try:
        info = fetch_pack(load_map(folder / "map.yaml"))
        mp.setattr(settings, "offline", True)
        mp.setattr(settings, "cache_folder", folder / "cache-empty")
        tiles._FETCHERS.clear()
        page = build(load_map(folder / "map.yaml"))["web"][0]
        manifest = tiles.read_pack_manifest(info.folder, REGISTRY["gsi-pale"])
        yield {"page": page, "fetched": manifest["fetched"][:10]}
    finally:
        mp.undo()
        tiles._FETCHERS.clear()


def _tiles_state(browser) -> list[dict]:
    return browser.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('img.leaflet-tile'),"
        " function (i) { return {src: i.getAttribute('src'), done: i.complete,"
        " w: i.naturalWidth, shown: getComputedStyle(i).opacity}; });"
    )


def _banner(browser) -> str | None:
    notes = browser.find_elements("css selector", ".cm-note")
    return notes[0].text if notes else None


def test_the_page_draws_its_tiles_from_the_folder_with_no_network(browser, folder_page, artifacts):
    browser.set_window_size(*PHONE)
    open_map(browser, folder_page["page"])
    assert browser.execute_script("return navigator.onLine") is False
    state = wait_for(
        lambda: (s := _tiles_state(browser)) and all(t["done"] for t in s) and s, timeout=20
    )
    assert state, "no tile image on the page"
    assert all(t["src"].startswith("map_tiles/") for t in state), state[:3]
    loaded = [t for t in state if t["w"] == 256]
    assert len(loaded) == len(state) >= 4, state  # every tile really decoded, none broken
    settle(browser)  # Leaflet fades tiles in
    browser.save_screenshot(str(artifacts / "tile_folder_phone.png"))
    assert _banner(browser) == (
        f"背景：この地図と同じフォルダの地理院タイル（淡色地図）（取得日 {folder_page['fetched']}・オフライン）"
    )
    # データ時点 is the data's own date: this CSV has no date: and the tiles are dated in
    # their credit, so no date is shown (never the pack's fetch day or the file's mtime)
    built = browser.execute_script(
        "var b = document.querySelector('.cm-built'); return b && b.textContent;"
    )
    assert built is None
    assert console_errors(browser) == []


def test_a_page_copied_without_its_folder_says_the_folder_is_missing(
    browser, folder_page, tmp_path, artifacts
):
    alone = tmp_path / "map.html"
    shutil.copy(folder_page["page"], alone)
    browser.set_window_size(*PHONE)
    open_map(browser, alone)
    text = wait_for(lambda: (b := _banner(browser)) and "見つかりません" in b and b, timeout=20)
    assert (
        text
        == "背景タイルのフォルダ「map_tiles」が見つかりません。この地図と同じフォルダに置いてください"
    )
    browser.save_screenshot(str(artifacts / "tile_folder_missing_phone.png"))
