"""``area: {place: …}`` with no network: ``check`` and ``build`` say the same thing (issue #30).

A place name is looked up online. With the network down, the build cannot know
its area and stops; ``check`` must call it the same problem, as an error, and
never pass the file with a "not checked" warning.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import TESTS

from civicmap.cli import main

TOYAMA_CSV = (TESTS / "data/childcare/toyama/toyama_nurseryFacilities_utf8bom.csv").resolve()


def place_map(folder: Path) -> Path:
    path = folder / "map.yaml"
    path.write_text(
        json.dumps(
            {
                "title": "富山市 保育施設マップ",
                "area": {"place": "富山市"},
                "osm": False,
                "layers": [
                    {
                        "id": "nursery",
                        "title": {"ja": "保育施設", "en": "Childcare"},
                        "sources": [{"csv": {"path": str(TOYAMA_CSV)}}],
                    }
                ],
                "outputs": {"geojson": {"file": "out/map.geojson"}},
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


@pytest.mark.timeout(60)
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_place_area_with_no_network_check_and_build_agree(tmp_path, no_network, lang):
    path = place_map(tmp_path)
    checked = CliRunner().invoke(main, ["--lang", lang, "check", "--json", str(path)])
    assert "Traceback" not in checked.output, checked.output
    report = json.loads(checked.output)
    built = CliRunner().invoke(main, ["--lang", lang, "build", str(path)])
    assert "Traceback" not in built.output, built.output
    # the build stops: it cannot know the map's area
    assert built.exit_code != 0
    assert not (tmp_path / "out").exists()
    # check calls it the same problem, as an error (not a "not checked" warning)
    assert checked.exit_code == 2 and report["ok"] is False, report
    assert [p["key"] for p in report["problems"]] == ["area"], report
    assert not [w for w in report["warnings"] if w["key"] == "area"], report
    message = report["problems"][0]["message"]
    assert message in built.output, (message, built.output)
    assert "富山市" in message
    assert no_network.attempts  # the look-up was tried, and the network was down
