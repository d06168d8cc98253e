"""Issue #14 through the CLI and on paper without any background.

``civicmap fetch`` stores the tiles and says so, ``check``/``build`` print the
測量法 reminder for GSI-based paper maps (not once an 承認番号 is given, which
the credits then print), and a paper map with neither tiles nor OSM data
draws the bundled N03 municipality outline and name, the map area, and a note.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from click.testing import CliRunner
from paths import ROOT
from test_tiles import toyama_map

from civicmap import settings
from civicmap.area import n03_credit
from civicmap.cli import main
from civicmap.render.background import map_credits

N03_ALL = ROOT / "civicmap/data/n03/N03-21_210101.json"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def pdftext(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return re.sub(r"\s+", "", out.stdout)


def test_check_and_build_remind_of_the_survey_act_for_gsi_paper_maps(tmp_path, gsi):
    path = toyama_map(tmp_path)
    r = run("check", str(path))
    assert r.exit_code == 0 and "測量法" in r.output and "basemap.approval" in r.output
    r = run("build", str(path))
    assert r.exit_code == 0 and "測量法" in r.output
    # with the approval number: no reminder, and the number is in the credits
    approved = toyama_map(
        tmp_path / "ok", basemap={"tiles": "gsi-pale", "承認番号": "国地情第456号"}
    )
    r = run("build", str(approved))
    assert r.exit_code == 0 and "測量法に基づく承認が必要" not in r.output
    assert "承認番号国地情第456号" in pdftext(tmp_path / "ok/out/toyama.pdf")
    # no tiles: no reminder
    plain = toyama_map(tmp_path / "plain", basemap={"tiles": "none"})
    assert "測量法" not in run("check", str(plain)).output


def test_fetch_command_stores_the_tiles_and_reports_them(tmp_path, gsi, monkeypatch):
    path = toyama_map(tmp_path)
    r = run("fetch", str(path))
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "osm-pack/manifest.json").read_text(encoding="utf-8"))
    t = manifest["tiles"]
    assert f"background tiles: {t['count']} of gsi-pale" in r.output
    assert t["count"] == len(gsi.requests) == len(set(gsi.requests))
    # build offline from it: no request, the PDF is written
    gsi.reset()
    r = run("build", str(path), "--offline")
    assert r.exit_code == 0, r.output
    assert gsi.requests == [] and (tmp_path / "out/toyama.pdf").exists()
    assert settings.offline is False  # --offline rode on the map spec, not on the settings


def test_no_tiles_no_osm_draws_the_n03_outline_name_and_a_note(tmp_path):
    from civicmap.pipeline import build, collect
    from civicmap.spec.mapfile import load_map

    path = toyama_map(tmp_path, basemap={"tiles": "none"})
    pdf = build(load_map(path))["paper"][0]
    text = pdftext(pdf)
    # the municipality's name from the bundled N03 file, read here with plain json
    doc = json.loads(N03_ALL.read_text(encoding="utf-8"))
    names = {f["properties"]["N03_004"] for f in doc["features"]
             if f["properties"]["N03_007"] == "16201"}  # fmt: skip
    assert names == {"富山市"}
    assert "富山市" in text.split("索引")[0]  # drawn in the map frame, before the index
    assert "背景地図なし" in text
    assert n03_credit().credit in text
    data = collect(load_map(path))
    assert n03_credit() in map_credits(data)


def test_n03_is_not_credited_when_not_used(tmp_path, gsi):
    from civicmap.pipeline import collect
    from civicmap.spec.mapfile import load_map

    data = collect(load_map(toyama_map(tmp_path)))  # tiles, bbox area: no N03
    assert all(c.source != "N03" for c in map_credits(data))


def test_overpass_map_pack_holds_osm_answers_and_tiles_and_rebuilds_identically(
    tmp_path, gsi, overpass_server, waseda_map, monkeypatch
):
    from civicmap.pack import fetch_pack, with_pack
    from civicmap.pipeline import build

    spec = waseda_map(
        {"overpass": True},
        layers=("childcare",),
        basemap={"tiles": "gsi-pale", "draw": "osm"},
        outputs={"paper": {"file": str(tmp_path / "out/a.pdf"), "size": "A4"}},
    )
    info = fetch_pack(spec, out=tmp_path / "pack", streets_network=False)
    assert info.queries and info.tiles["count"] == len(gsi.requests) > 0
    online = build(with_pack(spec, info.folder))["paper"][0].read_bytes()
    gsi.reset()
    overpass_server.requests.clear()
    offline = build(with_pack(spec, info.folder), overwrite=True, offline=True)["paper"][0]
    offline = offline.read_bytes()
    assert gsi.requests == [] and overpass_server.requests == []
    assert offline == online
    text = pdftext(tmp_path / "out/a.pdf")
    assert "©OpenStreetMapcontributors" in text and "地理院タイルを加工して作成" in text
