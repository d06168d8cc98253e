"""The command line as a user meets it: exit codes, messages, no stray output files."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from click.testing import CliRunner
from paths import ROOT

from civicmap.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_layers_lists_the_library_in_both_languages():
    ja = run("layers")
    assert ja.exit_code == 0
    assert "childcare" in ja.output and "保育園" in ja.output and "shelters" in ja.output
    en = run("layers", "--language", "en")
    assert "Childcare" in en.output and "AED" in en.output


def test_malformed_map_one_error_listing_every_problem_no_output(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        """
title: 壊れた地図
area: {bbox: [139.71, 35.70, 139.70, 35.71]}
layers: [childcare, nurseries]
outputs:
  web: {file: out/map.html, colour: red}
  paper: {file: out/map.pdf, size: A6}
""",
        encoding="utf-8",
    )
    result = run("build", str(bad))
    assert result.exit_code == 2
    err = result.output
    assert err.count("Error:") == 1
    assert "4 problems found" in err
    for expected in ("area.bbox", "nurseries", "outputs.web.colour", "outputs.paper.size"):
        assert expected in err
    assert str(bad) in err
    assert not (tmp_path / "out").exists()


def test_check_accepts_a_valid_map_and_a_layer_file(tmp_path):
    from civicmap.pipeline import demo_map_path
    from civicmap.spec.layers import builtin_dir

    ok = run("check", str(demo_map_path()))
    assert ok.exit_code == 0, ok.output
    assert "OK (map)" in ok.output and "childcare" in ok.output
    layer = run("check", "--json", str(builtin_dir() / "shelters.yaml"))
    assert layer.exit_code == 0
    report = json.loads(layer.output)
    assert report["kind"] == "layer" and report["id"] == "shelters"


def test_check_reports_a_broken_layer_file(tmp_path):
    p = tmp_path / "layer.yaml"
    p.write_text(
        "id: x\nsources: [{osm: {match: {amenity: {is: school}}}}]\nstyle: {symbol: blob}\n",
        encoding="utf-8",
    )
    result = run("check", str(p))
    assert result.exit_code == 2
    assert "sources[0].osm.match.amenity" in result.output
    assert "style.symbol" in result.output


def test_build_refuses_to_overwrite(tmp_path):
    from civicmap.pipeline import demo_map_path

    src = demo_map_path().parent
    for f in src.iterdir():
        shutil.copy(f, tmp_path / f.name)
    out = tmp_path / "out"
    out.mkdir()
    (out / "demo.html").write_text("keep me", encoding="utf-8")
    result = run("build", str(tmp_path / "demo.yaml"))
    assert result.exit_code == 2
    assert "--overwrite" in result.output
    assert (out / "demo.html").read_text(encoding="utf-8") == "keep me"
    assert not (out / "demo.pdf").exists()


def test_demo_builds_offline_and_says_where(tmp_path, monkeypatch):
    from civicmap import settings

    monkeypatch.setattr(settings, "offline", True)
    result = run("demo", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    html = tmp_path / "out" / "demo.html"
    pdf = tmp_path / "out" / "demo.pdf"
    assert str(html) in result.output and str(pdf) in result.output
    assert html.stat().st_size > 10_000
    assert pdf.read_bytes().startswith(b"%PDF")
    text = html.read_text(encoding="utf-8")
    assert "大久保第一保育園" in text and "西早稲田中学校" in text
    assert "OpenStreetMap" in text and "国土地理院" in text
    # a second run without --overwrite refuses, with it succeeds
    assert run("demo", "--out", str(tmp_path / "out")).exit_code == 2
    assert run("demo", "--out", str(tmp_path / "out"), "--overwrite").exit_code == 0
    assert not list(Path(tmp_path / "out").glob("*.part"))


def test_build_prints_a_quality_line_per_layer_and_writes_every_reason(tmp_path, aed_map):
    import csv

    map_file = aed_map
    report = tmp_path / "report.csv"
    result = run("build", str(map_file), "--report", str(report))
    assert result.exit_code == 0, result.output
    line = next(s for s in result.output.splitlines() if s.strip().startswith("aed:"))
    counts = dict(part.rsplit(" ", 1) for part in line.split(":", 1)[1].strip().split(", "))
    counts = {k: int(v) for k, v in counts.items()}
    exported = json.loads((tmp_path / "out/aed.geojson").read_text(encoding="utf-8"))
    assert counts["read"] == 286 and counts["shown"] == len(exported["features"])
    # every row read is either shown or accounted for
    assert counts["read"] == counts["shown"] + counts["deduplicated"] + counts["clipped"] + (
        counts["merged"] + counts["rejected"]
    )
    # the CSV opens in Excel (BOM) and lists every reason the summary counts
    text = report.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"))))
    assert list(rows[0]) == ["layer", "kind", "source", "row", "reason"]
    kinds = [r["kind"] for r in rows]
    assert kinds.count("repaired") == counts["repaired"] > 0
    assert kinds.count("removed") == counts["deduplicated"] + counts["clipped"]
    assert kinds.count("warning") == counts["warnings"]
    assert {r["layer"] for r in rows} == {"aed"} and {r["source"] for r in rows} == {"aed.csv"}
    # spreadsheet damage to 法人番号 (5.22001E+12) reaches the report with its row number
    damaged = [r for r in rows if r["kind"] == "warning" and "法人番号" in r["reason"]]
    assert damaged and all(r["row"].isdigit() for r in damaged)
    assert any("5.22001E+12" in r["reason"] for r in damaged)
    swapped = [r for r in rows if "swapped" in r["reason"]]
    assert swapped and all(r["kind"] == "repaired" for r in swapped)


def test_report_file_is_never_overwritten_without_overwrite(tmp_path, aed_map):
    map_file = aed_map
    report = tmp_path / "report.csv"
    report.write_text("keep me", encoding="utf-8")
    result = run("build", str(map_file), "--report", str(report))
    assert result.exit_code == 2
    assert str(report) in result.output and "--overwrite" in result.output
    assert report.read_text(encoding="utf-8") == "keep me"
    assert not (tmp_path / "out/aed.geojson").exists()  # refused before any work
    ok = run("build", str(map_file), "--report", str(report), "--overwrite")
    assert ok.exit_code == 0, ok.output
    assert report.read_text(encoding="utf-8-sig").startswith("layer,kind,source,row,reason")


def test_demo_prints_the_quality_report(tmp_path, monkeypatch):
    from civicmap import settings

    monkeypatch.setattr(settings, "offline", True)
    report = tmp_path / "q.csv"
    result = run("demo", "--out", str(tmp_path / "out"), "--report", str(report))
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("demo.pdf") < out.index("quality report:")
    lines = {s.split(":")[0].strip(): s for s in out.splitlines() if "read " in s}
    assert set(lines) == {"childcare", "shelters"}
    assert "merged 1" in lines["childcare"]  # the nursery both in OSM and the ward's list
    text = report.read_text(encoding="utf-8-sig")
    assert "outside the map area: 長延保育園" in text
    assert "childcare,repaired,shinjuku_nurseryFacilities.csv,1," in text


def test_diff_and_export_take_the_offline_options(tmp_path):
    """A map that gets OSM from Overpass: offline with an empty cache, diff and export say what to fetch."""
    (tmp_path / "map.yaml").write_text(
        "title: t\narea: {bbox: [139.7032, 35.7040, 139.7099, 35.7094]}\n"
        "osm: {overpass: true}\nlayers: [childcare]\noutputs: {geojson: out/m.geojson}\n",
        encoding="utf-8",
    )
    for args in (("diff", "--out", str(tmp_path / "d")), ("export", "--format", "geojson")):
        result = run(args[0], str(tmp_path / "map.yaml"), *args[1:], "--offline")
        assert result.exit_code != 0
        assert "offline" in result.output.lower() and "civicmap fetch" in result.output
    assert not (tmp_path / "d").exists() and not (tmp_path / "out").exists()


# --- a calm console: progress per long step, details with -v, only errors with -q ------------


def _demo(tmp_path, *flags: str):
    return CliRunner().invoke(main, [*flags, "demo", "--out", str(tmp_path / "out"), "--overwrite"])


def test_the_demo_console_is_calm_and_says_more_with_v(tmp_path):
    calm = _demo(tmp_path)
    assert calm.exit_code == 0, calm.output
    # no per-element notice that reads like an error; no step-by-step chatter
    assert "relation/2124875" not in calm.output
    assert "could not be assembled" not in calm.output
    assert "layer childcare" not in calm.output
    assert "quality report:" in calm.output and "demo.pdf" in calm.output
    verbose = _demo(tmp_path, "-v")
    assert "1 OSM element cut by the extract's edge" in verbose.output  # the summary
    assert "relation/2124875" not in verbose.output  # the element itself only with -vv
    debug = _demo(tmp_path, "-vv")
    assert "relation/2124875: area could not be assembled" in debug.output


def test_quiet_shows_only_errors(tmp_path):
    quiet = _demo(tmp_path, "-q")
    assert quiet.exit_code == 0
    assert quiet.output == ""
    (tmp_path / "bad.yaml").write_text("title: x\nlayers: [toilet]\n", encoding="utf-8")
    bad = CliRunner().invoke(main, ["-q", "build", str(tmp_path / "bad.yaml")])
    assert bad.exit_code == 2 and "did you mean 'toilets'?" in bad.output


def test_long_steps_report_their_progress(tmp_path):
    """What the CLI's progress bar is fed: one step per stage, each part named as it starts."""
    import civicmap
    from civicmap import progress
    from civicmap.pipeline import with_output_dir

    events = []

    class Recorder:
        def start(self, label, total):
            events.append(("start", label, total))

        def advance(self, what):
            events.append(("advance", what))

        def end(self):
            events.append(("end",))

    spec = with_output_dir(civicmap.load_map(civicmap.demo_map_path()), tmp_path)
    with progress.listening(Recorder()):
        civicmap.build(spec, overwrite=True)
    assert events == [
        ("start", "reading the data", 4),
        ("advance", "area"),
        ("advance", "OpenStreetMap"),
        ("advance", "childcare"),
        ("advance", "shelters"),
        ("end",),
        ("start", "drawing the maps", 2),
        ("advance", "web"),
        ("advance", "paper"),
        ("end",),
    ]
    events.clear()
    civicmap.build(spec, overwrite=True)  # nobody listening: nothing recorded, nothing printed
    assert events == []


def test_the_progress_bar_draws_one_line_per_step_on_a_terminal():
    import io as _io

    from civicmap.cli.main import ProgressBar

    class Tty(_io.StringIO):
        def isatty(self):
            return True

    bar = ProgressBar(enabled=True)
    import sys as _sys

    old, _sys.stderr = _sys.stderr, Tty()
    try:
        bar.start("reading the data", 3)
        for part in ("area", "OpenStreetMap", "childcare"):
            bar.advance(part)
        bar.end()
        text = _sys.stderr.getvalue()
    finally:
        _sys.stderr = old
    final = text.split("\r")[-1]
    assert final.startswith("reading the data: 100%") and "3/3" in final
    assert text.count("\n") == 1  # one line, redrawn in place
    quiet = ProgressBar(enabled=False)
    old, _sys.stderr = _sys.stderr, Tty()
    try:
        quiet.start("reading the data", 3)
        quiet.advance("area")
        quiet.end()
        assert _sys.stderr.getvalue() == ""
    finally:
        _sys.stderr = old


def test_the_civicmap_command_is_the_entry_point_pyproject_names_and_it_builds(tmp_path):
    """The console script (``[project.scripts]``) runs the same commands as ``main``: a
    build through it writes the map. Its own process sets the imports aside first
    (civicmap._gc), which a broken entry point would skip silently."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    target = scripts["project"]["scripts"]["civicmap"]
    module, _, name = target.partition(":")
    code = (
        "import gc, sys, importlib\n"
        f"entry = getattr(importlib.import_module({module!r}), {name!r})\n"
        "sys.argv = ['civicmap', '-q', 'demo', '--out', sys.argv[1]]\n"
        "try:\n    entry()\n"
        "except SystemExit as done:\n"
        "    print('frozen', gc.get_freeze_count() > 0)\n    raise\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "CIVICMAP_LANG": "en"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "frozen True" in done.stdout
    assert list((tmp_path / "demo").rglob("*.pdf")) and list((tmp_path / "demo").rglob("*.html"))
