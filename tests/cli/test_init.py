"""`civicmap init`: a commented starter map file that builds as it is (round trips, offline)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from paths import TESTS

import civicmap
from civicmap.cli import main
from civicmap.pipeline import collect

DATA = TESTS / "data"
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


def _warnings(output: str) -> list[str]:
    """The warnings of a run, the credit reminder by its words, the others whole."""
    return [
        "gives no credit" if "gives no credit" in line else line
        for line in output.splitlines()
        if "Warning" in line
    ]


def test_the_csv_starter_checks_and_builds_offline(csv_map):
    folder, _init, build = csv_map
    assert run("check", folder / "map.yaml").exit_code == 0
    assert build.exit_code == 0, build.output
    html = next((folder / "out").glob("*.html"))
    pdf = next((folder / "out").glob("*.pdf"))
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "石川県立尾小屋鉱山資料館" in html.read_text(encoding="utf-8")
    # popup/index/label columns all exist; the one warning asks for the credit init left blank
    assert _warnings(build.output) == ["gives no credit"]


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
    assert check.exit_code == 0  # 金沢市 has toilets: no "none inside the area"
    assert _warnings(check.output) == ["gives no credit"]


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


# --- a good first map from a real municipal file (issue 30) ---------------------------------

TOYAMA = DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv"
ISHIKAWA = DATA / "shelters/ishikawa/170003_evacuation_space.csv"


def _init_and_build(folder: Path, data: Path):
    shutil.copy(data, folder / data.name)
    init = run("init", folder / data.name, "-o", folder / "map.yaml")
    assert init.exit_code == 0, init.output
    doc = yaml.safe_load((folder / "map.yaml").read_text(encoding="utf-8"))
    build = run("build", folder / "map.yaml", "--offline")
    assert build.exit_code == 0, build.output
    return init, doc, build


@pytest.fixture(scope="module")
def toyama(tmp_path_factory):
    return _init_and_build(tmp_path_factory.mktemp("toyama"), TOYAMA)


@pytest.fixture(scope="module")
def ishikawa(tmp_path_factory):
    return _init_and_build(tmp_path_factory.mktemp("ishikawa"), ISHIKAWA)


def test_toyama_starter_keeps_the_detected_columns_and_takes_the_legend_from_type(toyama):
    _init, doc, _build = toyama
    layer = doc["layers"][0]
    src = layer["sources"][0]["csv"]
    # the address is two columns (市 + 番地): both kept, as the reader found them
    assert src["columns"]["address"] == ["Add1", "Add2"]
    assert src["columns"]["category"] == "Type"
    assert "category" not in src  # no fixed category named after the file
    data = collect(civicmap.load_map(build_dir(toyama) / "map.yaml"), offline=True)
    (features,) = [lyr.features for lyr in data.layers]
    # legend rows from the Type column, not one row named after the file
    assert {"認可保育所", "幼稚園"} <= set(features["category"])
    assert not any("toyama" in c for c in features["category"])
    assert "富山市上千俵508" in set(features["address"])  # 市 + 番地, two columns


def build_dir(fixture) -> Path:
    """The folder the fixture built in (the map file's folder)."""
    init = fixture[0]
    line = next(li for li in init.output.splitlines() if li.startswith("wrote "))
    return Path(line.removeprefix("wrote ")).parent


def test_starter_titles_the_map_by_the_datas_kind_and_place(toyama, ishikawa):
    assert toyama[1]["title"] == "富山市 保育施設マップ"
    assert toyama[1]["layers"][0]["title"] == "保育施設"
    assert ishikawa[1]["title"] == "石川県 避難場所マップ"  # 19 municipalities: the prefecture


def test_a_shelter_list_starter_is_a_shelter_layer(ishikawa):
    _init, doc, build = ishikawa
    assert doc["layers"][0]["role"] == "shelter"
    assert "role: shelter" not in build.output  # no "looks like shelters" warning
    assert "merged into sites" in build.output  # co-located designations become one site


def test_starter_colours_come_from_the_built_in_cud_palette(toyama, ishikawa):
    # a shelter list in the built-in shelters' green, other places in CUD blue
    assert toyama[1]["layers"][0]["style"]["color"] == "#005aff"
    assert ishikawa[1]["layers"][0]["style"]["color"] == "#03af7a"


@pytest.mark.parametrize("which", ["toyama", "ishikawa"])
def test_the_starters_first_build_passes_the_readability_check(which, request):
    init, doc, build = request.getfixturevalue(which)
    assert "hard to read" not in build.output, build.output
    paper = doc["outputs"]["paper"]
    # a city's 159 nurseries or a prefecture's 1,525 shelters do not fit one sheet
    assert paper["atlas"] is True and paper["scale"] <= 100000
    assert "too crowded" in init.output


def test_a_file_name_cannot_add_keys_to_the_map_file(tmp_path):
    """A name with a newline, ': ' and '#' stays one quoted value (issue 31)."""
    name = "x\ntitle: 乗っ取り\noutputs: {}\n# y: z #\u2028w\x85.csv"
    odd = tmp_path / name
    odd.write_text("名称,緯度,経度\nA,36.5,136.6\nB,36.6,136.7\n", encoding="utf-8")
    res = run("init", odd, "-o", tmp_path / "map.yaml")
    assert res.exit_code == 0, res.output
    text = (tmp_path / "map.yaml").read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert set(doc) == {"title", "language", "area", "osm", "layers", "outputs"}
    assert doc["title"] != "乗っ取り" and doc["outputs"]["web"]
    assert doc["layers"][0]["sources"][0]["csv"]["path"] == name
    assert not any(line.startswith(("title: 乗っ", "outputs: {}")) for line in text.splitlines())
    spec = civicmap.load_map(tmp_path / "map.yaml")
    assert spec.layers[0].sources[0].path == odd
