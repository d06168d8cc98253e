"""How long the paper map takes: the demo on A4 and a dense 4 km² area on A3.

Each is measured next to a plain matplotlib plot (GeoPandas ``.plot``, what an
osmnx/matplotlib notebook would do) of the same basemap and points saved as a
PDF, in the same run, so the ratio says what the paper map's layout (labels,
number placement, index, legend) costs on this machine.

Targets (issue 7): demo A4 < 10 s; dense 4 km² A3 < 60 s.

Usage::

    .venv/bin/python bench/bench_paper.py [--km2 4] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from civicmap.spec.paper import PaperOptions

sys.path.insert(0, str(Path(__file__).parent))


def _plain_plot(data, path: Path, size_in: tuple[float, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size_in)
    if data.basemap is not None and not data.basemap.empty:
        data.basemap.plot(ax=ax, linewidth=0.4, color="grey")
    for layer in data.layers:
        if not layer.features.empty:
            layer.features.plot(ax=ax, markersize=8, color=layer.spec.style.color)
    ax.set_axis_off()
    fig.savefig(path)
    plt.close(fig)


def _time(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--km2", type=float, default=4.0)
    ap.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    args = ap.parse_args(argv)

    import civicmap
    from civicmap.render.paper import render_paper

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_paper_"))
    work.mkdir(parents=True, exist_ok=True)

    demo = civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))
    t_demo = _time(
        lambda: (work / "demo_A4.pdf").write_bytes(
            render_paper(demo, options=PaperOptions.from_dict({"size": "A4"}, file="<test>"))[0]
        ),
        2,
    )
    t_demo_plain = _time(lambda: _plain_plot(demo, work / "demo_plain.pdf", (8.27, 11.69)), 2)
    print(f"demo A4:        paper {t_demo:6.2f} s   plain matplotlib {t_demo_plain:6.2f} s   "
          f"ratio {t_demo / t_demo_plain:5.1f}x   target < 10 s: {'ok' if t_demo < 10 else 'MISSED'}")  # fmt: skip

    import synth

    ext = synth.write_extract(work / "synth" / "extract.osm.pbf", km2=args.km2, overwrite=True)
    csvs = synth.write_opendata_csvs(work / "synth", ext, overwrite=True)
    doc = synth.map_document(ext, csvs, folder=work / "synth", paper_size="A3")
    spec = civicmap.load_map(synth.write_map_file(work / "synth" / "map.yaml", doc, overwrite=True))
    t = time.perf_counter()
    dense = civicmap.collect(spec)
    t_collect = time.perf_counter() - t
    n_base = 0 if dense.basemap is None else len(dense.basemap)
    n_points = sum(len(layer.features) for layer in dense.layers)
    plan = None

    def paper():
        nonlocal plan
        pdf, plan = render_paper(
            dense, options=PaperOptions.from_dict({"size": "A3"}, file="<test>")
        )
        (work / "dense_A3.pdf").write_bytes(pdf)

    t_dense = _time(paper)
    t_dense_plain = _time(lambda: _plain_plot(dense, work / "dense_plain.pdf", (11.69, 16.54)))
    print(f"dense {args.km2:g} km² A3: {n_base} basemap features, {n_points} places "
          f"(collect {t_collect:.1f} s, not counted)")  # fmt: skip
    print(f"                paper {t_dense:6.2f} s   plain matplotlib {t_dense_plain:6.2f} s   "
          f"ratio {t_dense / t_dense_plain:5.1f}x   target < 60 s: {'ok' if t_dense < 60 else 'MISSED'}")  # fmt: skip
    print(f"                1:{plan.scale:,}, {plan.pages} page(s), "
          f"{sum(n.leader for f in plan.frames for n in f.numbers)} numbers on leader lines")  # fmt: skip
    print(f"outputs in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
