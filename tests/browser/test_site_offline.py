"""The site in a phone-sized Chromium (issue 26): served from loopback, offline after one visit.

The site is served by ``civicmap serve``'s own server on 127.0.0.1 (a secure context, so the
service worker registers). After the first visit the test stops the server and switches the
network off (DevTools ``Network.emulateNetworkConditions``), reloads, and checks what a
parent in airplane mode sees: every marker of the map, the pack's background tiles, the
data date, the manifest and icons, controls with names, nothing wider than the phone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from datetime import UTC, date, datetime

import pytest
from pages import console_errors, displayed, settle, wait_for
from site_maps import URL, demo_site_spec, toyama_pack_map

from civicmap.cli.serve import serving
from civicmap.pipeline import build, collect, render, with_offline
from civicmap.render import assets, tiles
from civicmap.spec.mapfile import load_map

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(assets.missing()), reason="run `python -m civicmap.render.assets install` first"
    ),
]


@pytest.fixture
def phone(shared_phone):
    """Headless Chromium emulating a 390×844 phone, network on (loopback only is reachable).

    One browser for the worker, put back to new before each test (pages.SharedPhone):
    no service worker, cache or stored data of an earlier test's site is left.
    """
    return shared_phone.fresh()


def offline(driver) -> None:
    """Airplane mode: no request leaves the browser, navigator.onLine is false."""
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def open_site(driver, url: str) -> None:
    driver.get(url)
    if not wait_for(
        lambda: driver.execute_script("return !!(window.civicmapSite && civicmapSite.drawn)"),
        timeout=30,
    ):
        raise AssertionError(f"the site did not draw; console: {driver.get_log('browser')}")


def wait_offline_ready(driver) -> None:
    state = wait_for(
        lambda: (
            driver.execute_script("return document.documentElement.getAttribute('data-offline')")
            == "ready"
        ),
        timeout=60,
    )
    assert state, driver.execute_script(
        "return document.documentElement.getAttribute('data-offline')"
    )


def marker_count(driver) -> int:
    """Every place marker the page made, clustered or not."""
    return driver.execute_script(
        "var n = 0; var L_ = window.civicmapData.layers;"
        "Object.keys(L_).forEach(function (k) { L_[k].eachLayer(function (g) {"
        "  (g.getLayers ? g.getLayers() : []).forEach(function (m) { if (m.cmFeature) n++; }); }); });"
        "return n;"
    )


def tiles_state(driver) -> list[dict]:
    return driver.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('img.leaflet-tile'),"
        " function (i) { return {src: i.getAttribute('src'), done: i.complete, w: i.naturalWidth}; });"
    )


@pytest.fixture(scope="module")
def toyama_site(tmp_path_factory, tile_server):
    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("toyama_site_browser")
    try:
        spec = load_map(toyama_pack_map(folder, mp, tile_server))
        build(spec)
        yield spec.output_path("site")
    finally:
        mp.undo()
        tiles._FETCHERS.clear()


def test_after_one_visit_the_site_draws_every_marker_and_its_tiles_in_airplane_mode(
    phone, toyama_site, artifacts
):
    data = json.loads((toyama_site / "data.json").read_text(encoding="utf-8"))
    places = sum(len(layer["features"]) for layer in data["layers"])
    assert places >= 3
    with serving(toyama_site) as server:
        open_site(phone, server.url)
        assert phone.execute_script("return window.isSecureContext") is True
        wait_offline_ready(phone)
        # persistent storage was asked for (granted or not is the browser's choice)
        asked = "return typeof civicmapSite.offline.persisted"
        assert wait_for(lambda: phone.execute_script(asked) == "boolean")
        assert marker_count(phone) == places
    offline(phone)  # the server is gone too: nothing but the phone's own copy is left
    phone.refresh()
    open_site(phone, server.url)
    assert phone.execute_script("return navigator.onLine") is False
    assert phone.execute_script("return !!navigator.serviceWorker.controller") is True
    assert marker_count(phone) == places
    state = wait_for(
        lambda: (s := tiles_state(phone)) and all(t["done"] for t in s) and s, timeout=20
    )
    assert state and all(t["src"].startswith("tiles/") for t in state), state[:3]
    assert all(t["w"] == 256 for t in state), state  # every tile decoded from the cache
    settle(phone)
    phone.save_screenshot(str(artifacts / "site_offline_phone.png"))
    # what the page still offers offline: the share box with the printed sheet's QR code
    phone.find_element("css selector", ".cm-site-menu-button").click()
    qr = phone.find_element("css selector", ".cm-site-qr")
    assert wait_for(
        lambda: phone.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", qr
        )
    )
    assert phone.find_element("css selector", ".cm-site-url").text == URL
    assert (
        "電波がなくても開けます"
        in phone.find_element("css selector", ".cm-site-offline-state").text
    )
    errors = [
        e for e in console_errors(phone) if "version.json" not in e
    ]  # offline: no update check
    assert errors == []


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    """The bundled demo, read once (offline): each test writes its own site from it."""
    return collect(demo_site_spec(tmp_path_factory.mktemp("demo_data") / "site"), offline=True)


def _demo_site(demo_data, folder, **site):
    """Write the demo's site into ``folder`` with the ``outputs.site`` keys ``site``.

    The second half of ``build(demo_site_spec(folder, **site), offline=True)``: the data is
    the same for every site option, so it is read once; the folder is byte for byte what
    that build writes.
    """
    spec = with_offline(demo_site_spec(folder, **site), True)
    render(dataclasses.replace(demo_data, spec=spec))
    return folder


@pytest.fixture(scope="module")
def demo_site(demo_data, tmp_path_factory):
    """The demo's plain site, built once: tests that change its files work on a copy."""
    return _demo_site(demo_data, tmp_path_factory.mktemp("demo_site") / "site")


def _copy_of(site, tmp_path):
    """A copy of the built site in ``tmp_path / "site"`` (as a publisher would upload it)."""
    folder = tmp_path / "site"
    shutil.copytree(site, folder, symlinks=True)
    return folder


def _age(built: str) -> int:
    return (datetime.now(UTC).date() - date.fromisoformat(built)).days


def test_past_stale_after_the_page_says_how_old_its_data_is(phone, demo_data, tmp_path):
    folder = _demo_site(demo_data, tmp_path / "site", stale_after="30d")
    with serving(folder) as server:
        open_site(phone, server.url)
        bar = wait_for(lambda: phone.find_elements("css selector", ".cm-site-stale"))
        assert bar and bar[0].text == f"この地図のデータは{_age('2020-11-28')}日前のものです"
        assert phone.find_element("css selector", ".cm-site-date").text == "データ時点 2020-11-28"
        # the bar takes room above the map, it does not cover the map's controls
        top = phone.execute_script(
            "return document.getElementById('map').getBoundingClientRect().top"
        )
        assert top >= bar[0].size["height"]


def test_within_stale_after_there_is_no_banner_but_the_data_date_shows(phone, demo_data, tmp_path):
    folder = _demo_site(demo_data, tmp_path / "site", stale_after=f"{_age('2020-11-28') + 30}d")
    with serving(folder) as server:
        open_site(phone, server.url)
        assert phone.find_element("css selector", ".cm-site-date").text == "データ時点 2020-11-28"
        settle(phone)
        assert phone.find_elements("css selector", ".cm-site-stale") == []


CONTROLS = ("a[href], button, input, select, textarea, [role=button], [role=dialog],"
            " [tabindex]:not([tabindex='-1'])")  # fmt: skip


def test_offline_the_manifest_icons_names_and_width_pass_the_install_checks(
    phone, demo_data, tmp_path, artifacts
):
    folder = _demo_site(demo_data, tmp_path / "site", url="https://example.org/demo/")
    with serving(folder) as server:
        open_site(phone, server.url)
        wait_offline_ready(phone)
    offline(phone)
    phone.refresh()
    open_site(phone, server.url)
    manifest = phone.execute_cdp_cmd("Page.getAppManifest", {})
    assert manifest["errors"] == [] and manifest["url"].endswith("/manifest.webmanifest")
    parsed = json.loads(manifest["data"])
    assert parsed["name"] and parsed["short_name"] and parsed["start_url"] == "./"
    # Chromium's own installability check: manifest, icons, a worker with a fetch handler
    problems = phone.execute_cdp_cmd("Page.getInstallabilityErrors", {})["installabilityErrors"]
    assert problems == [], problems
    # every icon loads offline, at the size the manifest says
    for icon in parsed["icons"]:
        size = phone.execute_async_script(
            "var done = arguments[arguments.length - 1]; var i = new Image();"
            "i.onload = function () { done(i.naturalWidth + 'x' + i.naturalHeight); };"
            "i.onerror = function () { done('failed'); }; i.src = arguments[0];",
            icon["src"],
        )
        assert size == icon["sizes"], icon
    for panel_open in (False, True):
        if panel_open:
            phone.find_element("css selector", ".cm-site-menu-button").click()
        width = phone.execute_script(
            "return [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
        )
        assert width[0] <= width[2] and width[1] <= width[2] == 390, width
        unnamed = [
            e.get_attribute("outerHTML")[:120]
            for e in displayed(phone, phone.find_elements("css selector", CONTROLS))
            if not (e.accessible_name or "").strip()
        ]
        assert unnamed == [], unnamed
    phone.save_screenshot(str(artifacts / "site_share_phone.png"))


def test_removing_the_sites_data_leaves_no_cache_and_no_worker(phone, demo_site):
    with serving(demo_site) as server:
        open_site(phone, server.url)
        wait_offline_ready(phone)
        phone.find_element("css selector", ".cm-site-menu-button").click()
        phone.find_element("css selector", ".cm-site-remove").click()
        assert wait_for(
            lambda: (
                "削除しました" in phone.find_element("css selector", ".cm-site-offline-state").text
            )
        )
        left = phone.execute_async_script(
            "var done = arguments[arguments.length - 1];"
            "Promise.all([caches.keys(), navigator.serviceWorker.getRegistrations()])"
            ".then(function (r) { done([r[0], r[1].length]); });"
        )
        assert left == [[], 0]


def test_a_newer_build_is_offered_and_taken_on_request(phone, demo_site, tmp_path):
    folder = _copy_of(demo_site, tmp_path)
    with serving(folder) as server:
        open_site(phone, server.url)
        wait_offline_ready(phone)
        old = phone.execute_script("return civicmapSite.conf.version")
        spec = demo_site_spec(folder)
        build(dataclasses.replace(spec, subtitle="2027年版"), offline=True, overwrite=True)
        phone.refresh()
        open_site(phone, server.url)  # still the cached copy: the old version
        assert phone.execute_script("return civicmapSite.conf.version") == old
        bar = wait_for(
            lambda: phone.find_elements("css selector", ".cm-site-update button"), timeout=20
        )
        assert bar and bar[0].accessible_name == "更新する"
        phone.execute_script("window.__worker = navigator.serviceWorker.controller")
        bar[0].click()
        _until_the_worker_changes(phone)
        assert wait_for(
            lambda: (
                phone.execute_script(
                    "return window.civicmapSite && civicmapSite.drawn && civicmapSite.conf.version"
                )
                not in (None, False, old)
            ),
            timeout=30,
        )
        assert "2027年版" in phone.find_element("css selector", ".cm-title").text


#: Resolves when the page's worker is no longer the one it had (``window.__worker``): at
#: once if it changed already, else at the page's next ``controllerchange`` event.
_WORKER_CHANGED = """
var done = arguments[arguments.length - 1];
var sw = navigator.serviceWorker;
if (sw.controller !== window.__worker) return done(true);
sw.addEventListener('controllerchange', function () { done(true); });
"""


def _until_the_worker_changes(driver) -> None:
    """Wait in the page for a newer worker to take over, instead of asking 20 times a second.

    Chromium takes a few seconds of its own timers to fetch, install and activate the
    newer worker; polling through that only spends CPU. The page reloads at that event,
    so its script may end with the page (an error here that means the same).
    """
    from selenium.common.exceptions import JavascriptException, TimeoutException

    try:
        driver.execute_async_script(_WORKER_CHANGED)
    except (JavascriptException, TimeoutException):  # unloaded, or too slow: asserted next
        pass


@contextlib.contextmanager
def _removed_after(driver, script: str):
    """The shared phone runs the added script ``script`` only within this block."""
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script})


def test_names_and_a_title_written_as_markup_show_as_text_and_run_nothing(
    phone, payload_data, tmp_path
):
    from civicmap.render.site import write_site
    from civicmap.spec.site import SiteOptions

    hostile = '<img src=x onerror="window.__alerts.push(3)">地図'
    data = dataclasses.replace(
        payload_data, spec=dataclasses.replace(payload_data.spec, title=hostile)
    )
    folder = write_site(
        data, tmp_path / "site", options=SiteOptions(folder="site"), overwrite=False
    )
    trap = phone.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };"
        },
    )
    with serving(folder) as server, _removed_after(phone, trap["identifier"]):
        open_site(phone, server.url)
        box = phone.find_element("css selector", ".cm-search input")
        box.send_keys("ひよこ")
        hits = wait_for(lambda: phone.find_elements("css selector", ".cm-hit"))
        assert hits and "<script>alert(2)</script>" in hits[0].text
        hits[0].click()
        phone.find_element("css selector", ".cm-site-menu-button").click()
        settle(phone)
        assert phone.title == hostile
        assert phone.find_element("css selector", ".cm-title h1").text == hostile
        assert phone.execute_script("return document.querySelectorAll('img[src=x]').length") == 0
        assert phone.execute_script("return window.__alerts") == []


def test_a_site_uploaded_with_a_file_missing_says_it_cannot_be_kept_offline(
    phone, demo_site, tmp_path
):
    folder = _copy_of(demo_site, tmp_path)
    (folder / "icons" / "icon-512.png").unlink()  # a publisher's upload that lost one file
    with serving(folder) as server:
        open_site(phone, server.url)
        state = wait_for(
            lambda: phone.execute_script(
                "var s = document.documentElement.getAttribute('data-offline');"
                "return s === 'saving' ? null : s;"
            ),
            timeout=30,
        )
        assert state == "failed"
        phone.find_element("css selector", ".cm-site-menu-button").click()
        text = phone.find_element("css selector", ".cm-site-offline-state").text
        assert text == "この端末に保存できませんでした。電波のある所で開き直してください"
