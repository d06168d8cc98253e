"""The command line as a user meets it: exit codes, messages, no stray output files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

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
    from civicmap.layers import builtin_dir
    from civicmap.pipeline import demo_map_path

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
