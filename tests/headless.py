"""Chromium's command-line flags, and how to wait for a page, for every headless-browser test.

One place for tests/browser, tests/security (which loads tests/browser/conftest.py) and
tests/render/test_tiles_web.py, so every suite starts Chromium the same way and waits for a
page the same way (for what it waits for, never for a fixed time).
"""

from __future__ import annotations

import time

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


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


#: Whether the page has come to rest: every image it asked for has loaded or failed (so a
#: failed load is already in the console log), every tile has faded in, the sheet (phone
#: popup) is not sliding, and Leaflet is not panning, zooming or fading a popup in. Read
#: after two animation frames, so what a script started just before has begun.
_SETTLED = """
var done = arguments[arguments.length - 1];
function rest() {
  var busy = Array.prototype.some.call(document.images, function (i) { return !i.complete; });
  busy = busy || Array.prototype.some.call(document.querySelectorAll('.leaflet-tile'),
    function (t) { return t.style.opacity !== '' && t.style.opacity !== '1'; });
  busy = busy || Array.prototype.some.call(document.querySelectorAll('.leaflet-popup, .cm-sheet'),
    function (p) { return getComputedStyle(p).opacity !== '1' || p.getAnimations().length; });
  var m = window.civicmapData && window.civicmapData.map;
  if (m) busy = busy || !!m._animatingZoom || !!(m._panAnim && m._panAnim._inProgress)
    || !!m._flyToFrame;
  return !busy;
}
requestAnimationFrame(function () { requestAnimationFrame(function () { done(rest()); }); });
"""


def settle(driver, *, timeout: float = 10.0) -> bool:
    """Wait until the page has come to rest (see ``_SETTLED``) instead of a fixed sleep.

    Returns whether it did within ``timeout``; the caller's own assertions follow, so a
    page that never rests fails there, not here.
    """
    return bool(wait_for(lambda: driver.execute_async_script(_SETTLED), timeout=timeout))
