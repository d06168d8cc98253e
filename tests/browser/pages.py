"""Helpers the browser tests share: open a built map and wait until it has started."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

#: A phone's screen as the issues test it (CSS pixels) and Chromium's flags for tests.
PHONE = {"width": 390, "height": 844, "pixelRatio": 2}
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync",
         "--disable-dev-shm-usage")  # fmt: skip


@contextmanager
def phone_driver(profile: Path, *, block_https: bool = False) -> Iterator:
    """Headless Chromium emulating a 390×844 phone with its own profile folder.

    A fresh profile per test: the site tests register service workers and caches, which
    must not carry over. ``block_https``: only loopback answers (no internet either way).
    """
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("needs chromium and chromedriver (Debian: chromium, chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_experimental_option("mobileEmulation", {"deviceMetrics": PHONE})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Network.enable", {})
    if block_https:
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*"]})
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver) -> list[str]:
    """The page's SEVERE console messages (errors in our script, failed loads)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def wait_for(find, *, timeout: float = 20.0):
    """Call ``find`` until it returns something truthy or ``timeout`` seconds pass.

    An element that Leaflet removes while ``find`` reads it (a popup closing as the next
    opens) is not a failure: ``find`` is asked again.
    """
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        try:
            found = find()
        except StaleElementReferenceException:
            found = None
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def open_map(browser, path) -> None:
    """Load a map file and wait until civicmap.js has drawn it (or fail with the console)."""
    browser.get(path.as_uri())
    for _ in range(600):
        if browser.execute_script("return !!(window.civicmapData && window.civicmapData.map)"):
            return
        time.sleep(0.05)
    raise AssertionError(f"the map did not start; console: {browser.get_log('browser')}")
