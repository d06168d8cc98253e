"""Headless Chromium for the browser tests, with the network switched off.

Skips (with the reason) when chromium, chromedriver or selenium are missing.
Screenshots go to tests/artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from headless import FLAGS

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _find(*names: str) -> str | None:
    for n in names:
        p = shutil.which(n) or (n if Path(n).is_file() else None)
        if p:
            return p
    return None


#: The window every test starts with (a test may resize; the next one gets this back).
WINDOW = (1280, 900)


def _start_chromium(profile: Path):
    """A headless Chromium with no network (CDP offline) and an alert trap."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromium = _find("chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome")
    driver_path = _find("chromedriver", "/usr/bin/chromedriver")
    if chromium is None:
        pytest.skip("browser test needs chromium (Debian package chromium); not found on PATH")
    if driver_path is None:
        pytest.skip("browser test needs chromedriver (Debian package chromium-driver); not found")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.set_page_load_timeout(60)
        # No network at all: http(s) requests fail and navigator.onLine is false.
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
        # Any alert()/confirm() a payload might trigger is recorded instead of blocking.
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument",
            {
                "source": "window.__alerts = [];"
                "window.alert = function (m) { window.__alerts.push(String(m)); };"
                "window.confirm = window.alert; window.prompt = window.alert;"
            },
        )
    except BaseException:
        driver.quit()
        raise
    return driver


class _Chromium:
    """One Chromium per test process (xdist worker), started on first use.

    Starting Chromium costs seconds on a busy 2-core machine and the browser tests
    are ~30; each test still gets a clean page (see :func:`browser`).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.driver = None
        self.starts = 0

    def get(self):
        if self.driver is not None:
            try:
                self.driver.current_url  # noqa: B018 -- still answering?
            except Exception:
                self.close()
        if self.driver is None:
            self.starts += 1
            self.driver = _start_chromium(self.folder / f"profile{self.starts}")
        return self.driver

    def close(self) -> None:
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:  # already gone: nothing left to stop
                pass
            self.driver = None


@pytest.fixture(scope="session")
def _chromium(tmp_path_factory):
    session = _Chromium(tmp_path_factory.mktemp("chromium"))
    yield session
    session.close()


@pytest.fixture
def browser(_chromium):
    """A headless Chromium with no network (CDP offline) and an alert trap, on a blank page.

    The browser process is shared by the tests of one worker; what a test may change is
    put back before the next: the page (about:blank, so no script of the last map runs on),
    the window size, the emulated media, the console log.
    """
    driver = _chromium.get()
    if driver.current_url != "about:blank":  # the last test's teardown left it there already
        driver.get("about:blank")
    driver.set_window_size(*WINDOW)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    driver.get_log("browser")  # read out = emptied: the last test's messages are not this one's
    yield driver
    try:
        driver.get("about:blank")
    except Exception:  # the test broke the browser: the next test starts a new one
        _chromium.close()


@pytest.fixture(scope="session")
def shared_phone(tmp_path_factory):
    """One phone-sized Chromium (pages.SharedPhone) per test process, started on first use.

    The phone tests of every module share it; each asks ``shared_phone.fresh()`` for a
    browser put back to new (no page, worker, cache or stored data of an earlier test).
    """
    from pages import SharedPhone

    shared = SharedPhone(tmp_path_factory.mktemp("phone"))
    yield shared
    shared.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


PAYLOAD_CSV = Path(__file__).resolve().parents[1] / "data" / "web" / "payload.csv"


def demo_data_with_payload():
    """The bundled demo plus two childcare rows whose names are HTML/script payloads.

    One demo shelter is marked ``approximate`` (as a geocoded place would be).
    """
    import yaml

    from civicmap.pipeline import collect, demo_map_path
    from civicmap.spec.mapfile import parse_map

    demo = demo_map_path()
    raw = yaml.safe_load(demo.read_text(encoding="utf-8"))
    raw["layers"][0]["extra_sources"].append(
        {"csv": {"path": str(PAYLOAD_CSV), "category": "認可外保育施設"}}
    )
    spec = parse_map(raw, file=str(demo), base_dir=demo.parent)
    data = collect(spec)
    shelters = data.layer("shelters").features
    shelters["approximate"] = False
    shelters.loc[shelters.index[0], "approximate"] = True
    return data


@pytest.fixture(scope="session")
def payload_data():
    """The demo with payload rows, collected once per worker: the tests only read it."""
    return demo_data_with_payload()
