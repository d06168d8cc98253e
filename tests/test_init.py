"""`civicmap init`: a commented starter map file that builds as it is (round trips, offline)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import civicmap
from civicmap.cli import main

DATA = Path(__file__).parent / "data"
TOILETS = DATA / "messy/170003_public_toilet.csv"
EXTRACT = DATA / "osm/SmallAroundWaseda.osm.bz2"


def run(*args, lang: str = "en"):
    return CliRunner().invoke(main, ["--lang", lang, *map(str, args)])


@pytest.fixture(scope="module")
def csv_map(tmp_path_factory):
    """init from the real 石川県 toilet list, then build it offline."""
    folder = tmp_path_factory.mktemp("init_csv")
    (folder / "data").mkdir()
    shutil.copy(TOILETS, folder / "data" / "トイレ一覧.csv")
    init = run("init", folder / "data" / "トイレ一覧.csv", "-o", folder / "map.yaml")
    build = run("build", folder / "map.yaml", "--offline")
    return folder, init, build


def test_init_from_a_csv_writes_a_commented_japanese_map_file(csv_map):
    folder, init, _build = csv_map
    assert init.exit_code == 0, init.output
    text = (folder / "map.yaml").read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 10 and any("地図の範囲" in c for c in comments)
    doc = yaml.safe_load(text)
    layer = doc["layers"][0]
    assert doc["osm"] is False  # a CSV-only map needs no OSM and no network
    src = layer["sources"][0]["csv"]
    assert src["path"] == "data/トイレ一覧.csv"  # relative to the map file
    assert src["columns"]["lat"] == "緯度" and src["columns"]["lon"] == "経度"
    assert src["columns"]["name"] == "名称"
    # every row with usable coordinates in Japan, counted without civicmap
    raw = pd.read_csv(TOILETS, dtype=str)
    lat = pd.to_numeric(raw["緯度"], errors="coerce")
    lon = pd.to_numeric(raw["経度"], errors="coerce")
    placed = int(((lat > 20) & (lat < 46) & (lon > 122) & (lon < 154)).sum())
    assert f"{placed} places" in init.output
    w, s, e, n = doc["area"]["bbox"]
    inside = lat.between(s, n) & lon.between(w, e)
    assert int(inside.sum()) == placed


def test_the_csv_starter_checks_and_builds_offline(csv_map):
    folder, _init, build = csv_map
    assert run("check", folder / "map.yaml").exit_code == 0
    assert build.exit_code == 0, build.output
    html = next((folder / "out").glob("*.html"))
    pdf = next((folder / "out").glob("*.pdf"))
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "石川県立尾小屋鉱山資料館" in html.read_text(encoding="utf-8")
    assert "Warning" not in build.output  # popup/index/label columns all exist


def test_init_with_the_demo_extract_and_built_in_layers_builds_offline(tmp_path):
    shutil.copy(EXTRACT, tmp_path / EXTRACT.name)
    init = run(
        "init",
        "--osm-file",
        tmp_path / EXTRACT.name,
        "--layer",
        "childcare",
        "--layer",
        "shelters",
        "--title",
        "西早稲田",
        "-o",
        tmp_path / "map.yaml",
    )
    assert init.exit_code == 0, init.output
    doc = yaml.safe_load((tmp_path / "map.yaml").read_text(encoding="utf-8"))
    assert doc["osm"] == {"file": EXTRACT.name} and doc["layers"] == ["childcare", "shelters"]
    build = run("build", tmp_path / "map.yaml", "--offline")
    assert build.exit_code == 0, build.output
    assert (tmp_path / "out/map.pdf").read_bytes().startswith(b"%PDF")
    assert "childcare: read" in build.output and "shelters: read" in build.output


def test_init_with_a_municipality_code_and_a_csv(tmp_path):
    shutil.copy(TOILETS, tmp_path / "toilets.csv")
    res = run("init", tmp_path / "toilets.csv", "--area", "172014", "-o", tmp_path / "map.yaml")
    assert res.exit_code == 0, res.output
    spec = civicmap.load_map(tmp_path / "map.yaml")
    assert (spec.area.kind, spec.area.value) == ("municipality", "172014")
    check = run("check", tmp_path / "map.yaml")
    assert check.exit_code == 0 and "Warning" not in check.output  # 金沢市 has toilets


def test_values_from_data_stay_data_in_the_yaml(tmp_path):
    """Column and file names with YAML syntax in them read back as the same text."""
    odd = tmp_path / "a: b #c.csv"
    odd.write_text("名称,緯度,経度,x: [1] # y\nA,36.5,136.6,p\nB,36.6,136.7,q\n", encoding="utf-8")
    res = run("init", odd, "-o", tmp_path / "map.yaml")
    assert res.exit_code == 0, res.output
    doc = yaml.safe_load((tmp_path / "map.yaml").read_text(encoding="utf-8"))
    assert doc["layers"][0]["sources"][0]["csv"]["path"] == "a: b #c.csv"
    assert "x: [1] # y" in doc["layers"][0]["popup"]
    assert run("build", tmp_path / "map.yaml", "--offline").exit_code == 0


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_init_mistakes_are_named(tmp_path, lang):
    nothing = run("init", "-o", tmp_path / "map.yaml", lang=lang)
    assert nothing.exit_code == 2 and "--area" in nothing.output
    assert ("nothing to start from" if lang == "en" else "始める材料") in nothing.output
    bad_code = run("init", "--area", "172015", "-o", tmp_path / "map.yaml", lang=lang)
    assert bad_code.exit_code == 2 and "172014" in bad_code.output  # the right check digit
    typo = run("init", "--layer", "toilet", "--area", "172014", lang=lang)
    assert typo.exit_code == 2 and "'toilets'" in typo.output
    (tmp_path / "map.yaml").write_text("keep", encoding="utf-8")
    again = run("init", "--area", "172014", "-o", tmp_path / "map.yaml", lang=lang)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert (tmp_path / "map.yaml").read_text(encoding="utf-8") == "keep"
