"""Helpers the browser tests share: open a built map and wait until it has started."""

from __future__ import annotations

import time


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
