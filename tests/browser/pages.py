"""Helpers the browser tests share: open a built map and wait until it has started."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from headless import FLAGS
from headless import settle as settle  # re-exported: the browser tests import it from here
from headless import wait_for as wait_for

#: A phone's screen as the issues test it (CSS pixels).
PHONE = {"width": 390, "height": 844, "pixelRatio": 2}


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


class SharedPhone:
    """One phone Chromium for the tests of a worker, put back to new before each test.

    Starting Chromium costs about a second per test on a quiet machine. What a test may
    leave behind is undone by :meth:`fresh`: the page (about:blank), airplane mode, the
    blocked URLs, every site's stored data (service workers, caches, storage) for each
    origin the tab visited, the HTTP cache, the console log. Each site test also serves
    on a new loopback port, so its origin is new to the browser anyway.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.block_https = False
        self.driver = None
        self._stack = None
        self.starts = 0

    def fresh(self, *, block_https: bool = False):
        """The driver, started if need be (again if the last test broke it), reset.

        ``block_https``: only loopback answers (set per test: modules differ).
        """
        self.block_https = block_https
        if self.driver is not None:
            try:
                self._reset()
            except Exception:  # the browser is gone or hung: start a new one
                self.close()
        if self.driver is None:
            from contextlib import ExitStack

            self.starts += 1
            self._stack = ExitStack()
            self.driver = self._stack.enter_context(
                phone_driver(self.folder / f"profile{self.starts}", block_https=self.block_https)
            )
            self.driver.get_log("browser")
        return self.driver

    def _reset(self) -> None:
        d = self.driver
        history = d.execute_cdp_cmd("Page.getNavigationHistory", {})["entries"]
        d.get("about:blank")
        d.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        d.execute_cdp_cmd(
            "Network.setBlockedURLs", {"urls": ["https://*"] if self.block_https else []}
        )
        origins = {"/".join(e["url"].split("/")[:3]) for e in history}
        for origin in sorted(o for o in origins if o.startswith("http")):
            d.execute_cdp_cmd(
                "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"}
            )
        d.execute_cdp_cmd("Network.clearBrowserCache", {})
        d.execute_cdp_cmd("Page.resetNavigationHistory", {})
        d.get_log("browser")  # read out = emptied: the last test's messages are not this one's

    def close(self) -> None:
        if self._stack is not None:
            try:
                self._stack.close()
            except Exception:  # already gone: nothing left to stop
                pass
        self.driver = self._stack = None


def console_errors(driver) -> list[str]:
    """The page's SEVERE console messages (errors in our script, failed loads)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def displayed(driver, elements: list) -> list:
    """The ``elements`` a user sees, by Selenium's own ``is_displayed`` test, in one call.

    The same atom ``WebElement.is_displayed`` runs, applied to every element in one
    script instead of one round trip per element (a page has dozens of controls).
    """
    from selenium.webdriver.remote import webelement

    if webelement.isDisplayed_js is None:
        webelement._load_js()
    shown = driver.execute_script(
        f"var isShown = ({webelement.isDisplayed_js});"
        "return arguments[0].map(function (e) { return !!isShown(e); });",
        elements,
    )
    return [e for e, yes in zip(elements, shown, strict=True) if yes]


def enter_text(driver, box, text: str) -> None:
    """Put ``text`` in the input ``box`` in place of what it held, as a phone's IME commits it.

    The box is focused and its text selected, then DevTools ``Input.insertText`` inserts
    ``text`` as one committed word: one ``input`` event, as when a user picks a word their
    Japanese keyboard suggests. ``send_keys`` instead sends a key press per character (a
    search over the whole page per character), which no Japanese keyboard does.
    """
    driver.execute_script("arguments[0].focus(); arguments[0].select();", box)
    driver.execute_cdp_cmd("Input.insertText", {"text": text})


def open_map(browser, path) -> None:
    """Load a map file and wait until civicmap.js has drawn it (or fail with the console)."""
    browser.get(path.as_uri())
    for _ in range(600):
        if browser.execute_script("return !!(window.civicmapData && window.civicmapData.map)"):
            return
        time.sleep(0.05)
    raise AssertionError(f"the map did not start; console: {browser.get_log('browser')}")
