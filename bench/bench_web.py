"""Web map with 10,000 points: file size and time to open in headless Chromium.

Compared with a plain ``GeoDataFrame.explore()`` of the same points (the
baseline, measured in the same run). Prints figures; asserts nothing.

    .venv/bin/python bench/bench_web.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np

from civicmap.pipeline import collect, demo_map_path
from civicmap.render.web import write_web
from civicmap.spec.mapfile import load_map
from civicmap.spec.web import WebOptions


def points(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(6)
    lon = 139.69 + rng.random(n) * 0.04
    lat = 35.69 + rng.random(n) * 0.03
    return gpd.GeoDataFrame(
        {
            "layer": "childcare",
            "category": "認可保育所",
            "name": [f"テスト保育園 {i}" for i in range(n)],
            "address": [f"東京都新宿区西早稲田{i % 3 + 1}丁目{i % 20 + 1}" for i in range(n)],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


def open_seconds(driver, path: Path, ready_js: str) -> float:
    t = time.perf_counter()
    driver.get(path.as_uri())
    while not driver.execute_script(ready_js):
        time.sleep(0.02)
        if time.perf_counter() - t > 15:
            return float("nan")
    return time.perf_counter() - t


def main(n: int = 10_000) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    data = collect(load_map(demo_map_path()))
    layer = data.layers[0]
    data.layers = [replace(layer, features=points(n))]
    out = Path(tempfile.mkdtemp(prefix="bench_web_"))
    ours = out / "civicmap.html"
    base = out / "explore.html"
    t = time.perf_counter()
    write_web(
        data,
        ours,
        options=WebOptions.from_dict({"offline": True}, language=data.language),
        overwrite=True,
    )
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    points(n).explore(tiles=None).save(str(base))
    t_base = time.perf_counter() - t

    opts = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"):  # fmt: skip
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={out / 'profile'}")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        # explore() loads Leaflet from CDNs: allow the network for the baseline only
        # if it is there; otherwise its time is "did not start".
        o_ours = open_seconds(
            driver,
            ours,
            "return !!(window.civicmapData && document.querySelector('.cm-cluster, .cm-icon'))",
        )
        o_base = open_seconds(
            driver, base, "return document.querySelectorAll('path.leaflet-interactive').length > 0"
        )
    finally:
        driver.quit()
    mb = 1024 * 1024
    print(f"points: {n}")
    print(f"civicmap offline HTML: {ours.stat().st_size / mb:.2f} MB, written in {t_ours:.2f} s, "
          f"opens in {o_ours:.2f} s")  # fmt: skip
    print(f"explore() baseline:    {base.stat().st_size / mb:.2f} MB, written in {t_base:.2f} s, "
          f"opens in {o_base:.2f} s (needs CDN access)")  # fmt: skip
    print(f"size ratio civicmap/explore: {ours.stat().st_size / base.stat().st_size:.2f}")
    if o_base == o_base:
        print(f"open-time ratio civicmap/explore: {o_ours / o_base:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
