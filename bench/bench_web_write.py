"""Time to write the web page of N points: civicmap's ``write_web`` vs ``GeoDataFrame.explore()``.

The same 10,000 points as ``bench/bench_web.py`` (a childcare layer with name, category and
address), each side from the GeoDataFrame to the HTML file on disk, in the same process,
alternated, median of 5. ``explore()`` is the baseline a user would otherwise reach for.
Prints one JSON line per size and writes nothing else.

    .venv/bin/python bench/bench_web_write.py [N ...]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench_web import points

from civicmap.pipeline import collect, demo_map_path
from civicmap.render.web import write_web
from civicmap.spec.mapfile import load_map
from civicmap.spec.web import WebOptions


def main(sizes: list[int], repeat: int = 5) -> None:
    data = collect(load_map(demo_map_path()))
    layer = data.layers[0]
    out = Path(tempfile.mkdtemp(prefix="bench_web_write_"))
    for n in sizes:
        feats = points(n)
        data.layers = [replace(layer, features=feats)]
        times: dict[str, list[float]] = {"civicmap": [], "explore": []}
        for _ in range(repeat + 1):  # the first round warms both up and is not counted
            t = time.perf_counter()
            write_web(
                data,
                out / "civicmap.html",
                options=WebOptions.from_dict({"offline": True}, language=data.language),
                overwrite=True,
            )
            times["civicmap"].append(time.perf_counter() - t)
            t = time.perf_counter()
            feats.explore(tiles=None).save(str(out / "explore.html"))
            times["explore"].append(time.perf_counter() - t)
        med = {k: statistics.median(v[1:]) for k, v in times.items()}
        row = {"points": n, "civicmap_s": round(med["civicmap"], 3),
               "explore_s": round(med["explore"], 3),
               "ratio": round(med["civicmap"] / med["explore"], 2)}  # fmt: skip
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10_000])
