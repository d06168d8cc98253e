"""``check`` and ``build`` tell one truth: the same problems, with the same severity.

A volunteer runs ``civicmap check`` first and trusts it: a map it calls broken
must not build, a map it passes must build, and every warning it gives must be
the one the build prints (and no other). Each map file here is checked with
``check --json`` and built with ``build`` (offline, into a scratch folder):
the map files the tests write, the bundled demo, and every whole map file
in the README and docs/reference.md (their data files supplied from the demo).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from paper_maps import kanazawa_raw, toyama_raw
from paths import ROOT
from test_check_cli import KANAZAWA_TOILETS, MISTAKES, TOILET

from civicmap import settings
from civicmap.cli import main

DEMO = ROOT / "civicmap" / "data" / "demo"
TOYAMA = ROOT / "tests" / "data" / "childcare" / "toyama" / "toyama_nurseryFacilities_utf8bom.csv"
ISHIKAWA = ROOT / "tests" / "data" / "shelters" / "ishikawa" / "170003_evacuation_space.csv"


def _check(map_file: Path) -> tuple[int, dict | None]:
    res = CliRunner().invoke(main, ["--lang", "en", "check", "--json", str(map_file)])
    assert "Traceback" not in res.output, res.output
    try:
        return res.exit_code, json.loads(res.output)
    except json.JSONDecodeError:  # the map file itself is invalid: one error line
        return res.exit_code, None


def _build(map_file: Path, out: Path, *, offline: bool = True):
    args = ["--lang", "en", "build", str(map_file), "--out", str(out)]
    res = CliRunner().invoke(main, [*args, "--offline"] if offline else args)
    assert "Traceback" not in res.output, res.output
    return res


def _warning_lines(report: dict) -> set[str]:
    return {f"Warning: {w['file']}: {w['key']}: {w['message']}" for w in report["warnings"]}


def assert_agree(map_file: Path, out: Path, *, offline: bool = True) -> tuple[dict | None, str]:
    """Check and build ``map_file``; fail when they disagree. Returns (report, build output)."""
    code, report = _check(map_file)
    built = _build(map_file, out, offline=offline)
    if report is None or not report["ok"]:
        # check calls it broken: the build must refuse it too, writing nothing
        assert code == 2, report
        assert built.exit_code != 0, built.output
        assert not (out.exists() and any(out.iterdir()))
        if report is not None:
            # and the build's error is about what check named (the same column, file, key)
            named = [
                t
                for p in report["problems"]
                for t in [p["message"][:30], *re.findall(r"'([^']+)'", p["message"])]
            ]
            assert any(t in built.output for t in named), (report, built.output)
        return report, built.output
    assert code == 0
    assert built.exit_code == 0, built.output
    said = {line for line in built.output.splitlines() if line.startswith("Warning: ")}
    drawn = [w for w in report["warnings"] if w["key"] == "outputs.paper"]
    others = [w for w in report["warnings"] if w["key"] != "outputs.paper"]
    # the layer warnings: the same lines, word for word
    assert _warning_lines({"warnings": others}) == said, (report["warnings"], built.output)
    # what drawing the sheet warns about: the build's words (the build logs them as it draws)
    for w in drawn:
        assert w["message"] in built.output, (w, built.output)
    return report, built.output


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "toilets.csv").write_bytes(TOILET.read_bytes())
    return tmp_path


# --- the map files tests/test_check_cli.py writes: each typical mistake ---------------------

CHECKED_MISTAKES = [m for m in MISTAKES if not m.startswith(("an Excel", "tab in"))]


@pytest.mark.parametrize("mistake", ["none", *CHECKED_MISTAKES])
def test_check_and_build_agree_on_each_typical_mistake(folder, mistake):
    text = KANAZAWA_TOILETS
    if mistake != "none":
        old, new, *_ = MISTAKES[mistake]
        text = text.replace(old, new, 1)
    (folder / "map.yaml").write_text(text, encoding="utf-8")
    assert_agree(folder / "map.yaml", folder / "out")


def test_check_and_build_agree_on_an_area_without_the_data(folder):
    (folder / "map.yaml").write_text(
        KANAZAWA_TOILETS.replace('"172014"', '"13104"'), encoding="utf-8"
    )
    report, _output = assert_agree(folder / "map.yaml", folder / "out")
    assert report["warnings"], "the case must warn to show anything"


def test_check_and_build_agree_on_the_aed_map_of_conftest(aed_map):
    """tests/conftest.py's 石川県 AED map (mojibake CSV, a layer file, a GeoJSON output)."""
    report, _output = assert_agree(aed_map, aed_map.parent / "out")
    assert report["ok"]


def test_check_and_build_agree_on_a_map_that_names_no_osm_source(folder, overpass_server):
    """Legal, and both say the same: the public Overpass API is asked (here the loopback one)."""
    text = KANAZAWA_TOILETS.replace("osm: false\n", "").replace(
        "  - id: public_toilets", "  - toilets\n  - id: public_toilets"
    )
    (folder / "map.yaml").write_text(text, encoding="utf-8")
    report, _output = assert_agree(folder / "map.yaml", folder / "out", offline=False)
    assert [w["key"] for w in report["warnings"]] == ["osm"]
    assert overpass_server.requests  # the build really asked Overpass


# --- the documented shortcuts: check used to exit 2 where the build showed the number -------

SHORTCUT_MAP = """\
title: 富山市 保育施設
area: {{bbox: [137.19, 36.67, 137.23, 36.71]}}
osm: false
layers:
  - id: nurseries
    title: 保育施設
    sources:
      - csv: {{path: {data}, credit: {{source: 市のオープンデータ}}}}
    popup: [name, address, {field}]
    index: [address, {field}]
outputs:
  web: {{file: out/map.html}}
"""


@pytest.mark.parametrize(
    "data, field",
    [(TOYAMA, "phone"), (ISHIKAWA, "phone"), (ISHIKAWA, "capacity"), (ISHIKAWA, "disasters")],
)
def test_documented_shortcuts_pass_check_and_build_alike(tmp_path, data, field):
    """``phone`` is filled from TEL / 電話番号, ``capacity`` from 想定収容人数 …: no warning."""
    shutil.copy(data, tmp_path / data.name)
    area = (
        "[136.60, 36.52, 136.70, 36.60]" if data == ISHIKAWA else "[137.19, 36.67, 137.23, 36.71]"
    )
    text = SHORTCUT_MAP.format(data=data.name, field=field).replace(
        "[137.19, 36.67, 137.23, 36.71]", area
    )
    (tmp_path / "map.yaml").write_text(text, encoding="utf-8")
    report, _output = assert_agree(tmp_path / "map.yaml", tmp_path / "out")
    assert report["ok"] and report["warnings"] == [], report
    html = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    if field == "phone" and data == TOYAMA:
        assert "076-" in html  # the build shows the number check accepted


def test_a_users_missing_column_is_one_warning_in_both(folder):
    text = KANAZAWA_TOILETS.replace("利用開始時間]", "利用開始時間, 電話]")
    (folder / "map.yaml").write_text(text, encoding="utf-8")
    report, _output = assert_agree(folder / "map.yaml", folder / "out")
    assert [w["key"] for w in report["warnings"]] == ["layers[0] (public_toilets).popup[3]"]


# --- built-in layers: their own fields a source lacks are simply absent ---------------------


def test_built_in_layers_say_nothing_about_their_own_fields(tmp_path):
    """osm: false keeps only the user's files: 電話番号, 定員, Capall … are not the user's mistake."""
    for name in (
        "shinjuku_nurseryFacilities.csv",
        "emergency_131041.json",
        "evacuation_131041.json",
    ):
        shutil.copy(DEMO / name, tmp_path / name)
    text = (DEMO / "demo.yaml").read_text(encoding="utf-8")
    text = text.replace("osm: {file: SmallAroundWaseda.osm.bz2}", "osm: false")
    (tmp_path / "map.yaml").write_text(text, encoding="utf-8")
    report, output = assert_agree(tmp_path / "map.yaml", tmp_path / "out")
    assert report["warnings"] == []
    assert "Warning" not in output and "not in the data" not in output


def test_demo_build_prints_no_warning(tmp_path):
    res = CliRunner().invoke(main, ["--lang", "en", "demo", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    warnings = [line for line in res.output.splitlines() if "Warning" in line]
    assert warnings == []


def test_demo_map_file_check_and_build_agree(tmp_path):
    for f in DEMO.iterdir():
        shutil.copy(f, tmp_path / f.name)
    assert_agree(tmp_path / "demo.yaml", tmp_path / "out")


# --- the examples in the README and the reference ------------------------------------------

#: The data files the documented examples name, supplied from the bundled demo.
DOC_FILES = {
    "data/area.osm.pbf": ROOT / "tests" / "data" / "osm" / "SmallAroundWaseda.osm.pbf",
    "data/evacuation_131041.json": DEMO / "evacuation_131041.json",
    "data/emergency_131041.json": DEMO / "emergency_131041.json",
    "data/hoikuen.csv": DEMO / "shinjuku_nurseryFacilities.csv",
}


def doc_examples(needed: set[str]) -> list[tuple[str, str]]:
    """Every ```yaml block of README.md and docs/reference.md with these top-level keys."""
    out = []
    for doc in (ROOT / "README.md", ROOT / "docs" / "reference.md"):
        text = doc.read_text(encoding="utf-8")
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", text, re.S)):
            keys = set(re.findall(r"^([a-z_]+):", block, re.M))
            if needed <= keys:
                out.append((f"{doc.name}#{i}", block))
    return out


def doc_map_examples() -> list[tuple[str, str]]:
    """The whole map files among the documented examples."""
    return doc_examples({"title", "area", "layers"})


def doc_layer_examples() -> list[tuple[str, str]]:
    """The whole layer files among the documented examples."""
    return [(n, b) for n, b in doc_examples({"id", "sources"}) if "\narea:" not in b]


def test_the_docs_hold_map_and_layer_examples():
    assert len(doc_map_examples()) >= 2 and len(doc_layer_examples()) >= 1


def _doc_folder(folder: Path) -> None:
    for rel, src in DOC_FILES.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, folder / rel)


@pytest.mark.parametrize("name, block", doc_layer_examples(), ids=lambda v: str(v)[:20])
def test_check_and_build_agree_on_documented_layer_examples(tmp_path, name, block):
    """A documented layer file: check alone, and in a map that check and build agree on."""
    _doc_folder(tmp_path)
    (tmp_path / "layer.yaml").write_text(block, encoding="utf-8")
    alone = CliRunner().invoke(
        main, ["--lang", "en", "check", "--json", str(tmp_path / "layer.yaml")]
    )
    assert alone.exit_code == 0, alone.output
    layer_report = json.loads(alone.output)
    (tmp_path / "map.yaml").write_text(
        "title: 例\narea: {osm_file: data/area.osm.pbf}\nosm: {file: data/area.osm.pbf}\n"
        "layers: [layer.yaml]\noutputs:\n  web: {file: out/map.html}\n",
        encoding="utf-8",
    )
    report, _output = assert_agree(tmp_path / "map.yaml", tmp_path / "out")
    assert report["ok"] and layer_report["ok"]


@pytest.mark.parametrize("name, block", doc_map_examples(), ids=lambda v: str(v)[:20])
def test_check_and_build_agree_on_documented_examples(tmp_path, name, block):
    _doc_folder(tmp_path)
    # a layer file the reference's example names: a small one of the user's own
    (tmp_path / "my_layers").mkdir()
    (tmp_path / "my_layers" / "benches.yaml").write_text(
        "id: benches\ntitle: {ja: ベンチ, en: Benches}\n"
        "sources: [{osm: {match: {amenity: bench}}}]\n",
        encoding="utf-8",
    )
    (tmp_path / "map.yaml").write_text(block, encoding="utf-8")
    report, _output = assert_agree(tmp_path / "map.yaml", tmp_path / "out")
    assert report is not None and report["ok"], report  # a documented example is valid


# --- the paper sheet: check lays it out as the build does (issue 23/30) ---------------------


def _paper_map(folder: Path, raw: dict, paper: dict) -> Path:
    raw = {**raw, "outputs": {"paper": {"file": "out/map.pdf", **paper}}}
    (folder / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return folder / "map.yaml"


@pytest.mark.slow
def test_a_crowded_sheet_is_refused_by_check_with_the_builds_words(tmp_path):
    """金沢市's two GSI shelter lists on one A4: no inset saves it, so no PDF, and check says so.

    check used to pass this map, and the build then refused it.
    """
    map_file = _paper_map(tmp_path, kanazawa_raw(), {"size": "A4"})
    report, output = assert_agree(map_file, tmp_path / "out")
    assert [p["key"] for p in report["problems"]] == ["outputs.paper"]
    message = report["problems"][0]["message"]
    assert "too crowded to read and was not written" in message
    assert message in output  # word for word the build's error
    assert not (tmp_path / "out" / "map.pdf").exists()
    # the same in Japanese: check's problem line is the build's error
    ja = CliRunner().invoke(main, ["--lang", "ja", "check", str(map_file)])
    built = CliRunner().invoke(main, ["--lang", "ja", "build", str(map_file), "--offline"])
    assert ja.exit_code == 2 and built.exit_code != 0
    said = next(line for line in ja.output.splitlines() if "outputs.paper" in line)
    refused = said.split("outputs.paper: ", 1)[1]
    assert "混み合って読めないため、書き出しませんでした" in refused
    assert refused in built.output


@pytest.mark.slow
def test_a_sheet_an_inset_makes_readable_passes_check_which_names_the_inset(tmp_path):
    """富山市's nurseries at 1:200,000: crowded, but a 拡大図 makes it readable; both say OK."""
    map_file = _paper_map(tmp_path, toyama_raw(), {"scale": 200000})
    report, output = assert_agree(map_file, tmp_path / "out")
    assert report["ok"] and len(report["paper"]) == 1
    note = report["paper"][0]
    assert "drawn with inset A" in note
    assert note in output  # the build prints the same sheet it announced
    assert (tmp_path / "out" / "map.pdf").exists()
    text = CliRunner().invoke(main, ["--lang", "en", "check", str(map_file)])
    assert f"Note: {map_file}: outputs.paper: {note}" in text.output


@pytest.mark.slow
def test_check_lays_out_a_tiled_sheet_without_asking_the_tile_server(tmp_path, gsi, monkeypatch):
    """The paper layout is tried offline: tiles only from the cache, none fetched, no wait.

    The background (here 地理院タイル on a loopback server) would be fetched by a
    build with the network; check never asks it, and still judges the sheet.
    """
    raw = {**toyama_raw(), "basemap": {"tiles": "gsi-pale"}}
    map_file = _paper_map(tmp_path, raw, {"scale": 200000})
    code, report = _check(map_file)
    assert code == 0 and report is not None, report
    assert gsi.requests == []
    inset, background = report["paper"]
    assert "drawn with inset A" in inset
    assert "background tiles are not in the cache" in background
    # an offline run: the build stops at the first missing tile, and check says so first
    monkeypatch.setattr(settings, "offline", True)
    report, _output = assert_agree(map_file, tmp_path / "out")
    assert [p["key"] for p in report["problems"]] == ["outputs.paper"]
    assert "offline mode: tile" in report["problems"][0]["message"]
    assert gsi.requests == []


def test_a_paper_map_whose_osm_data_is_not_at_hand(tmp_path, monkeypatch):
    """The demo asking Overpass, nothing cached: check asks no server and says what it could not try.

    Online the build would fetch the data, so check only notes that the sheet was
    not tried; offline the build stops, and check says the same (it used to pass).
    """
    for f in DEMO.iterdir():
        shutil.copy(f, tmp_path / f.name)
    text = (DEMO / "demo.yaml").read_text(encoding="utf-8")
    text = text.replace("osm: {file: SmallAroundWaseda.osm.bz2}", "osm: {overpass: true}")
    (tmp_path / "demo.yaml").write_text(text, encoding="utf-8")
    code, report = _check(tmp_path / "demo.yaml")
    assert code == 0 and report is not None
    assert "the paper layout was not tried" in report["paper"][0]
    monkeypatch.setattr(settings, "offline", True)
    report, output = assert_agree(tmp_path / "demo.yaml", tmp_path / "out")
    assert report is not None and "Overpass answer" in report["problems"][0]["message"]
    assert report["problems"][0]["message"] in output


def test_what_drawing_the_sheet_warns_about_check_says_too(folder):
    """A fixed scale that cuts the area: check used to keep the build's two warnings to itself."""
    text = KANAZAWA_TOILETS.replace(
        "  web: {file: out/map.html}", "  paper: {file: out/map.pdf, scale: 10000}"
    )
    (folder / "map.yaml").write_text(text, encoding="utf-8")
    report, _output = assert_agree(folder / "map.yaml", folder / "out")
    drawn = [w["message"] for w in report["warnings"] if w["key"] == "outputs.paper"]
    assert any("parts are cut off" in m for m in drawn), report["warnings"]
    assert any("fall outside the paper map's frame" in m for m in drawn), report["warnings"]
