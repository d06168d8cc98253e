"""Web map size and time-to-drawn at 1, 4, 16 km² (bench/synth.py) and 10k/50k points.

Each case is measured next to ``GeoDataFrame.explore()`` of the same features in the
same run (the baseline): page size in MB and seconds until Chromium (headless, no
network) has drawn the first marker or cluster. explore() pages load Leaflet from a
CDN, so with the network off their open time is "n/a"; their size still counts.
Prints a Markdown table; asserts nothing.

    .venv/bin/python bench/bench_web_size.py [--cases 1,4,16] [--points 10000,50000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from civicmap.spec.web import WebOptions

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
READY = "return !!(window.civicmapData && document.querySelector('.cm-cluster, .cm-icon'))"


def _driver(tmp: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900"):  # fmt: skip
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp / 'profile'}")
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.execute_cdp_cmd("Network.enable", {})
    d.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
    return d


def open_seconds(driver, path: Path, ready_js: str, limit: float = 30.0) -> float:
    t = time.perf_counter()
    driver.get(path.as_uri())
    while not driver.execute_script(ready_js):
        time.sleep(0.02)
        if time.perf_counter() - t > limit:
            return float("nan")
    return time.perf_counter() - t


def _synth_case(km2: float):
    """Collect the synthetic city of ``km2`` (generated once into bench/out/)."""
    import synth

    from civicmap.pipeline import collect
    from civicmap.spec.mapfile import load_map

    folder = OUT / f"synth_{km2:g}km2"
    map_file = folder / "map.yaml"
    if not map_file.exists():
        ext = synth.write_extract(folder / "extract.osm.pbf", km2=km2, seed=0, overwrite=True)
        csvs = synth.write_opendata_csvs(folder, ext, seed=0, overwrite=True)
        synth.write_map_file(map_file, synth.map_document(ext, csvs, folder=folder), overwrite=True)
    return collect(load_map(map_file))


def _points_case(n: int):
    sys_path = str(HERE)
    import sys

    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)
    from bench_web import points

    from civicmap.pipeline import collect, demo_map_path
    from civicmap.spec.mapfile import load_map

    data = collect(load_map(demo_map_path()))
    data.layers = [replace(data.layers[0], features=points(n))]
    data.basemap = None
    return data


def _features(data) -> gpd.GeoDataFrame:
    frames = [layer.features for layer in data.layers if not layer.features.empty]
    return gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs
    )


def measure(name: str, data, driver, tmp: Path) -> dict:
    from civicmap.render.web import write_web

    ours, base = tmp / f"{name}.html", tmp / f"{name}_explore.html"
    t = time.perf_counter()
    write_web(
        data,
        ours,
        options=WebOptions.from_dict({"offline": True}, language=data.language),
        overwrite=True,
    )
    w_ours = time.perf_counter() - t
    feats = _features(data)
    keep = [c for c in ("layer", "category", "name", "address") if c in feats.columns]
    t = time.perf_counter()
    feats[[*keep, "geometry"]].explore(tiles=None).save(str(base))
    w_base = time.perf_counter() - t
    o_ours = open_seconds(driver, ours, READY)
    mb = 1024 * 1024
    return {
        "case": name,
        "points": len(feats),
        "ours_mb": ours.stat().st_size / mb,
        "explore_mb": base.stat().st_size / mb,
        "ratio": ours.stat().st_size / base.stat().st_size,
        "write_s": w_ours,
        "explore_write_s": w_base,
        "open_s": o_ours,
    }


def main() -> None:
    import sys

    sys.path.insert(0, str(HERE))
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="1,4,16")
    ap.add_argument("--points", default="10000,50000")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_web_size_"))
    driver = _driver(tmp)
    rows = []
    try:
        for km2 in [float(x) for x in args.cases.split(",") if x]:
            rows.append(measure(f"synth {km2:g} km²", _synth_case(km2), driver, tmp))
        for n in [int(x) for x in args.points.split(",") if x]:
            rows.append(measure(f"{n} points", _points_case(n), driver, tmp))
    finally:
        driver.quit()
    print("| case | points | civicmap MB | explore() MB | size ratio | civicmap write s "
          "| explore() write s | civicmap time-to-drawn s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['points']} | {r['ours_mb']:.2f} | {r['explore_mb']:.2f} "
              f"| {r['ratio']:.2f} | {r['write_s']:.2f} | {r['explore_write_s']:.2f} "
              f"| {r['open_s']:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
