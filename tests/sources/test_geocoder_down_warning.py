"""A geocoded layer with no network says why it is empty (issue #30).

``osm: false``, a CSV of addresses only with ``geocode: true``, and the network
down (the ``no_network`` socket guard): no row can be placed. The warning must
say the rows were not placed because the address search could not be reached,
never that the places lie outside the map's area; ``check`` says the same.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from paths import TESTS

from civicmap.cli import main

DATA = TESTS / "data"


def geocode_map(folder: Path) -> Path:
    shutil.copy(DATA / "opendata/hospitals_address_only.csv", folder / "hospitals.csv")
    raw = {
        "title": "病院",
        "area": {"bbox": [136.3, 36.3, 136.8, 36.7]},
        "osm": False,
        "layers": [
            {
                "id": "hospitals",
                "title": {"ja": "病院", "en": "Hospitals"},
                "sources": [
                    {"csv": {"path": "hospitals.csv", "geocode": True, "credit": "病院一覧"}}
                ],
            }
        ],
        "outputs": {"geojson": {"file": "out/map.geojson"}},
    }
    path = folder / "map.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("ja", "住所検索サービス（地理院 住所検索）に接続できなかった"),
        ("en", "could not be reached"),
    ],
)
def test_geocoded_layer_with_no_network_says_the_rows_were_not_placed(
    tmp_path, no_network, monkeypatch, lang, said
):
    monkeypatch.chdir(tmp_path)
    path = geocode_map(tmp_path)
    built = CliRunner().invoke(main, ["--lang", lang, "build", str(path)])
    assert "Traceback" not in built.output, built.output
    assert built.exit_code == 0, built.output
    assert no_network.attempts  # the address search was tried: the network was down
    lines = [line for line in built.output.splitlines() if "layers[0] (hospitals)" in line]
    assert len(lines) == 1, built.output
    assert said in lines[0], lines
    assert "area" not in lines[0].replace("layers", "") and "範囲" not in lines[0], lines
    # check tells the same, word for word
    checked = CliRunner().invoke(main, ["--lang", lang, "check", "--json", str(path)])
    report = json.loads(checked.stdout)  # the warnings said on the way go to stderr
    assert [w["message"] for w in report["warnings"]] == [lines[0].split(": ", 3)[-1]], report


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("lang", "said"), [("ja", "オフラインのため"), ("en", "offline, their")])
def test_geocoded_layer_offline_says_the_rows_were_not_placed(
    tmp_path, no_network, monkeypatch, lang, said
):
    from civicmap import settings

    no_network.strict = True  # offline: nothing may even be tried
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(settings, "offline", True)  # CIVICMAP_OFFLINE=1, as check sees it too
    path = geocode_map(tmp_path)
    built = CliRunner().invoke(main, ["--lang", lang, "build", str(path), "--offline"])
    assert "Traceback" not in built.output, built.output
    assert built.exit_code == 0, built.output
    lines = [line for line in built.output.splitlines() if "layers[0] (hospitals)" in line]
    assert len(lines) == 1 and said in lines[0], built.output
    checked = CliRunner().invoke(main, ["--lang", lang, "check", "--json", str(path)])
    report = json.loads(checked.stdout)
    assert [w["message"] for w in report["warnings"]] == [lines[0].split(": ", 3)[-1]], report
