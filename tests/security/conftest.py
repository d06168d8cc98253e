"""Fixtures for the security tests: the headless-Chromium driver of tests/browser.

The driver fixture lives in tests/browser/conftest.py; it is loaded from there
(not copied) so both suites start Chromium the same way, network off.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_civicmap_browser_conftest", Path(__file__).resolve().parents[1] / "browser" / "conftest.py"
)
_browser = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_browser)

_chromium = _browser._chromium  # one Chromium per worker, as in tests/browser
browser = _browser.browser
artifacts = _browser.artifacts
