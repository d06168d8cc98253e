"""The web map's background and banner in each case, in headless Chromium (issue #14).

Cases: tiles online (from the loopback tile server), tiles from the offline pack
(network off), the basemap drawn from OSM data, and nothing at all. Screenshots
go to tests/artifacts/ for a human to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from headless import FLAGS, settle, wait_for
from paths import TESTS

from civicmap import settings
from civicmap.render import background, tiles
from civicmap.spec.basemap import REGISTRY
from civicmap.spec.mapfile import load_map

DATA = TESTS / "data"
ARTIFACTS = TESTS / "artifacts"
TOYAMA_CSV = (DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv").resolve()
WASEDA_OSM = (DATA / "osm/SmallAroundWaseda.osm").resolve()
BBOX = [137.20, 36.69, 137.22, 36.70]


@pytest.fixture(scope="module")
def chrome():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("needs chromium and chromedriver (Debian packages chromium, chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument("--window-size=1000,800")
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.execute_cdp_cmd("Network.enable", {})
    yield driver
    driver.quit()


def network(driver, *, on: bool) -> None:
    """On: only 127.0.0.1 is reachable (no public server ever). Off: nothing is."""
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": not on, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    driver.execute_cdp_cmd(
        "Network.setBlockedURLs",
        {"urls": ["https://*", "http://localhost*"] if on else ["http://*", "https://*"]},
    )


def open_page(driver, page: Path, shot: str) -> dict:
    driver.get(page.as_uri())
    started = wait_for(
        lambda: driver.execute_script("return !!(window.civicmapData && window.civicmapData.map)"),
        timeout=5,
    )
    assert started, f"the map did not start: {driver.get_log('browser')}"
    # every tile loaded (or failed) and faded in, before the picture and the counts
    settle(driver, timeout=6)
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"tiles_banner_{shot}.png"))
    notes = driver.find_elements("css selector", ".cm-note")
    imgs = driver.find_elements("css selector", "img.leaflet-tile")
    return {
        "banner": notes[0].text if notes else None,
        "tiles": [i.get_attribute("src") for i in imgs],
        "loaded": driver.execute_script(
            "return Array.prototype.filter.call(document.querySelectorAll('img.leaflet-tile'),"
            " function (i) { return i.complete && i.naturalWidth > 1; }).length;"
        ),
        "attribution": driver.find_element("css selector", ".leaflet-control-attribution").text,
    }


def map_file(folder: Path, *, basemap: dict, osm=False, area=None, web=None) -> Path:
    raw = {
        "title": "背景テスト",
        "area": area or {"bbox": BBOX},
        "osm": osm,
        "basemap": basemap,
        "layers": [
            {
                "id": "nursery",
                "title": "保育施設",
                "sources": [{"csv": {"path": str(TOYAMA_CSV)}}],
            }
        ],
        "outputs": {"web": {"file": "out/map.html", "self_contained": True, **(web or {})}},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return folder / "map.yaml"


def test_tiles_online_show_with_gsi_credit_and_no_banner(tmp_path, gsi, chrome):
    from civicmap.pipeline import build

    page = build(load_map(map_file(tmp_path, basemap={"tiles": "gsi-pale"})))["web"][0]
    network(chrome, on=True)
    seen = open_page(chrome, page, "online")
    assert seen["banner"] is None  # the tiles credit themselves in the corner
    assert seen["tiles"] and all(s.startswith("http://127.0.0.1") for s in seen["tiles"])
    assert seen["loaded"] == len(seen["tiles"])
    assert len(gsi.requests) >= seen["loaded"]
    assert "国土地理院" in seen["attribution"]


def test_pack_tiles_offline_are_inlined_and_the_banner_names_the_date(
    tmp_path, gsi, chrome, monkeypatch
):
    from civicmap.pack import fetch_pack
    from civicmap.pipeline import build

    path = map_file(tmp_path, basemap={"tiles": "gsi-pale"})
    info = fetch_pack(load_map(path))
    manifest = tiles.read_pack_manifest(info.folder, REGISTRY["gsi-pale"])
    gsi.reset()
    monkeypatch.setattr(settings, "offline", True)
    page = build(load_map(path))["web"][0]
    network(chrome, on=False)
    seen = open_page(chrome, page, "pack_offline")
    assert gsi.requests == []
    date = manifest["fetched"][:10]
    assert seen["banner"] == f"背景：地理院タイル（淡色地図）（{date} に保存したもの・オフライン）"
    assert seen["tiles"] and all(s.startswith("data:") for s in seen["tiles"])
    assert seen["loaded"] >= 4  # real tiles from the pack, not the empty placeholder
    # credited once, as shown on the web, with the tiles' own date from the pack
    assert seen["attribution"].count("地理院タイル") == 1
    assert f"出典：国土地理院 地理院タイル（淡色地図） / {manifest['date']}" in seen["attribution"]
    # a second offline build gives the same bytes
    again = build(load_map(path), overwrite=True)["web"][0]
    assert again.read_bytes() == page.read_bytes() or pytest.fail("offline web rebuild differs")


def test_drawn_osm_background_says_so(tmp_path, chrome):
    from civicmap.pipeline import build

    path = map_file(
        tmp_path,
        basemap={"tiles": "none"},
        osm={"file": str(WASEDA_OSM)},
        area={"bbox": [139.7032, 35.7040, 139.7099, 35.7094]},
        web={"tiles": "none"},
    )
    page = build(load_map(path))["web"][0]
    network(chrome, on=False)
    seen = open_page(chrome, page, "drawn_osm")
    assert seen["banner"] == "背景：OSMデータから描いた地図"
    assert seen["tiles"] == []


def test_no_background_no_banner(tmp_path, chrome):
    from civicmap.pipeline import build

    page = build(load_map(map_file(tmp_path, basemap={"tiles": "none"}, web={"tiles": "none"})))
    network(chrome, on=False)
    seen = open_page(chrome, page["web"][0], "nothing")
    assert seen["banner"] is None
    assert seen["tiles"] == []


def test_offline_page_inlines_whole_zooms_coarsest_first_up_to_the_limit(
    tmp_path, gsi, monkeypatch, caplog
):
    from civicmap.pack import fetch_pack

    path = map_file(tmp_path, basemap={"tiles": "gsi-pale"})
    info = fetch_pack(load_map(path))
    folder = info.folder / "tiles/gsi-pale"
    sizes: dict[int, int] = {}
    for f in folder.rglob("*.png"):
        sizes[int(f.parts[-3])] = sizes.get(int(f.parts[-3]), 0) + f.stat().st_size
    assert len(sizes) == 3  # the web zooms (no paper output here)
    z0, z1, _z2 = sorted(sizes)
    monkeypatch.setattr(tiles, "WEB_INLINE_LIMIT", sizes[z0] + sizes[z1])
    bg = background.web_background(load_map(path), drawn_osm=False, use_pack=True)
    inline = bg["tile"]["inline"]
    assert {int(k.split("/")[0]) for k in inline} == {z0, z1}
    assert bg["tile"]["maxNativeZoom"] == z1 and bg["tile"]["url"] == ""
    assert "オフライン" in bg["banner"]
    # over the limit at the coarsest zoom: the page uses the online tiles, and says so
    monkeypatch.setattr(tiles, "WEB_INLINE_LIMIT", sizes[z0] - 1)
    bg = background.web_background(load_map(path), drawn_osm=False, use_pack=True)
    assert "inline" not in bg["tile"] and bg["tile"]["url"] == gsi.url


def page_payload(page: Path) -> dict:
    import json
    import re

    html = page.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="civicmap-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


GSI_WEB = "出典：国土地理院 地理院タイル（淡色地図）"
PROCESSED = "地理院タイルを加工して作成"


def test_the_page_credits_its_tiles_once_as_shown_and_the_umap_as_processed(tmp_path, gsi):
    """Web: the tiles as served, credited by the page's credit line only; .umap keeps 加工."""
    from civicmap.pipeline import build

    path = map_file(tmp_path, basemap={"tiles": "gsi-pale"})
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["outputs"]["umap"] = {"file": "out/map.umap"}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    built = build(load_map(path))
    page, umap = built["web"][0], built["umap"][0]
    p = page_payload(page)
    assert [c for c in p["credits"] if "地理院タイル" in c] == [f"{GSI_WEB} / 日付不明"]
    assert PROCESSED not in page.read_text(encoding="utf-8")
    by_id = {t["id"]: t for t in p["tiles"]}
    # the map's tiles and the switcher's same tiles leave the bar to the credit line
    assert by_id["gsi-pale"]["attribution"] == by_id["gsi"]["attribution"] == ""
    assert "OpenStreetMap" in by_id["osm"]["attribution"]  # a layer switched to says its own
    assert f"{GSI_WEB}。{PROCESSED}" in umap.read_text(encoding="utf-8")


def attribution_bar(driver) -> str:
    return driver.find_element("css selector", ".leaflet-control-attribution").text


@pytest.mark.parametrize("size", [(390, 844), (1000, 657)])
def test_the_attribution_bar_names_the_tiles_once_on_every_background(tmp_path, gsi, chrome, size):
    from civicmap.pipeline import build

    page = build(load_map(map_file(tmp_path, basemap={"tiles": "gsi-pale"})))["web"][0]
    network(chrome, on=True)
    w, h = size
    chrome.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": w < 640},
    )
    try:
        seen = open_page(chrome, page, f"credits_{w}x{h}")
        bar = seen["attribution"]
        assert bar.count("地理院タイル") == 1 and f"{GSI_WEB} / 日付不明" in bar, bar
        assert "加工" not in bar
        legend = chrome.find_element("css selector", ".cm-credits").get_attribute("textContent")
        assert legend.count("地理院タイル") == 1 and "加工" not in legend
        # the reader picks OSM's tiles: they say their own credit; the map's credits stay
        chrome.execute_script(
            "var labels = document.querySelectorAll('.leaflet-control-layers-base label');"
            "Array.prototype.forEach.call(labels, function (l) {"
            "  if (l.textContent.indexOf('OpenStreetMap') >= 0) l.querySelector('input').click();"
            "});"
        )
        bar = wait_for(
            lambda: "OpenStreetMap" in attribution_bar(chrome) and attribution_bar(chrome)
        )
        assert bar and bar.count("地理院タイル") == 1, bar
        settle(chrome, timeout=6)
        chrome.save_screenshot(str(ARTIFACTS / f"tiles_banner_credits_{w}x{h}_osm.png"))
    finally:
        chrome.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
