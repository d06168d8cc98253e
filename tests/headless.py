"""Chromium's command-line flags for every test that drives a headless browser.

One list for tests/browser, tests/security (which loads tests/browser/conftest.py) and
tests/render/test_tiles_web.py, so every suite starts Chromium the same way.
"""

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
