"""The site output (issue 26) against the single-file page: bytes, first visit, offline reload.

Two maps: the bundled 新宿区 demo (drawn OSM background, no tiles) and the 富山市 nursery list
(all 160 rows) on 地理院タイル from an offline pack (tiles from the tests' loopback tile server,
so no network is needed). For each:

- bytes: the self-contained single-file page (with its tile folder when it writes one) and the
  site folder (every file, of which data.json and tiles/);
- single-file page: seconds from ``get(file://…)`` to the map drawn;
- site, first visit: seconds from ``get(http://127.0.0.1…)`` to the map drawn, and to the service
  worker having cached every file (offline ready);
- site, offline reload: the server stopped and the network emulated offline, seconds from
  ``refresh()`` to the map drawn from the phone's own copy.

Chromium headless with a 390×844 phone emulated. Best of ``--runs`` (fresh profile each run).
Prints a Markdown table and writes it to bench/RESULTS-site.md; asserts nothing.

    .venv/bin/python bench/bench_site.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import pytest  # noqa: E402  (the tests' MonkeyPatch undoes the loopback tile set-up)
from site_maps import demo_site_spec, toyama_pack_map  # noqa: E402
from tile_server import TileServer  # noqa: E402

from civicmap.cli.serve import serving  # noqa: E402
from civicmap.pipeline import build  # noqa: E402
from civicmap.render import tiles  # noqa: E402
from civicmap.spec.mapfile import load_map  # noqa: E402
from civicmap.spec.web import WebOptions  # noqa: E402

TOYAMA_BBOX = [137.05, 36.50, 137.45, 36.80]
DRAWN_SITE = "return !!(window.civicmapSite && civicmapSite.drawn)"
DRAWN_PAGE = "return !!(window.civicmapData && window.civicmapData.map)"
READY = "return document.documentElement.getAttribute('data-offline') === 'ready'"


def _driver(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-dev-shm-usage"):  # fmt: skip
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2}}
    )
    d = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    d.execute_cdp_cmd("Network.enable", {})
    return d


def _until(driver, js: str, start: float, limit: float = 60.0) -> float:
    while not driver.execute_script(js):
        time.sleep(0.01)
        if time.perf_counter() - start > limit:
            return float("nan")
    return time.perf_counter() - start


def _bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(name: str, spec, out: Path, runs: int) -> dict:
    """Build both outputs of ``spec`` into ``out``; time them in Chromium."""
    site = out / "site"
    page = out / "map.html"
    spec = replace(
        spec,
        outputs={"site": str(site), "web": str(page)},
        web=WebOptions(self_contained=True),
    )
    build(spec, overwrite=True)
    tiles_dir = out / "map_tiles"
    row = {
        "map": name,
        "page_bytes": _bytes(page) + (_bytes(tiles_dir) if tiles_dir.exists() else 0),
        "site_bytes": _bytes(site),
        "site_files": sum(1 for p in site.rglob("*") if p.is_file()),
        "data_bytes": _bytes(site / "data.json"),
        "tile_bytes": _bytes(site / "tiles") if (site / "tiles").exists() else 0,
        "tiles": sum(1 for _p in (site / "tiles").rglob("*.png"))
        if (site / "tiles").exists()
        else 0,
        "places": sum(
            len(la["features"]) for la in json.loads((site / "data.json").read_text())["layers"]
        ),
    }
    best: dict[str, float] = {}
    for _run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            d = _driver(Path(tmp) / "profile")
            try:
                t = time.perf_counter()
                d.get(page.as_uri())
                times = {"page_open": _until(d, DRAWN_PAGE, t)}
                with serving(site) as server:
                    t = time.perf_counter()
                    d.get(server.url)
                    times["site_first"] = _until(d, DRAWN_SITE, t)
                    times["site_ready"] = _until(d, READY, t)
                d.execute_cdp_cmd(
                    "Network.emulateNetworkConditions",
                    {
                        "offline": True,
                        "latency": 0,
                        "downloadThroughput": -1,
                        "uploadThroughput": -1,
                    },
                )
                t = time.perf_counter()
                d.refresh()
                times["site_offline"] = _until(d, DRAWN_SITE, t)
            finally:
                d.quit()
        for k, v in times.items():
            best[k] = min(best.get(k, v), v)
    return {**row, **best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows.append(
            measure("新宿区 demo", demo_site_spec(tmp / "demo" / "site"), tmp / "demo", args.runs)
        )
        server = TileServer()
        mp = pytest.MonkeyPatch()
        try:
            (tmp / "toyama").mkdir()
            spec = load_map(toyama_pack_map(tmp / "toyama", mp, server, bbox=TOYAMA_BBOX))
            rows.append(measure("富山市 保育施設 + 地理院タイル", spec, tmp / "toyama", args.runs))
        finally:
            mp.undo()
            tiles._FETCHERS.clear()
            server.stop()
    lines = [
        "# Site output vs the single-file page (bench/bench_site.py)",
        "",
        f"Chromium headless, 390×844 phone emulated, best of {args.runs}; served from 127.0.0.1.",
        "",
        "| map | places | single-file page | site (files) | of which data.json | tiles | page open | "
        "site first visit | site offline-ready | site offline reload |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['map']} | {r['places']} | {r['page_bytes'] / 1e6:.2f} MB | "
            f"{r['site_bytes'] / 1e6:.2f} MB ({r['site_files']}) | {r['data_bytes'] / 1e6:.2f} MB | "
            f"{r['tile_bytes'] / 1e6:.2f} MB | {r['page_open']:.2f} s | {r['site_first']:.2f} s | "
            f"{r['site_ready']:.2f} s | {r['site_offline']:.2f} s |"
        )
    n = max(r["tiles"] for r in rows)
    lines += [
        "",
        f"The 富山 tiles ({n}) come from the tests' loopback tile server: small generated PNGs. Real",
        "地理院タイル (淡色地図) weigh about 10–30 kB each, so the real site's tiles/ is about",
        f"{n * 10 / 1000:.1f}–{n * 30 / 1000:.1f} MB more (once per phone, then offline). The single-file page",
        "inlines the same tiles as base64 (a third larger) up to 8 MB. First visit = the map drawn from",
        "the network; offline-ready = the service worker has cached every file; offline reload = drawn",
        "with the server stopped and the network emulated offline.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "RESULTS-site.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
