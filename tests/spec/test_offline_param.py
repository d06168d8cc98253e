"""Offline mode is a value passed down (build/collect/batch ``offline=``, ``--offline``), not a global."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import TESTS

import civicmap
from civicmap import settings
from civicmap.cli import main
from civicmap.errors import OfflineError

HIEZU = TESTS / "data" / "boundaries" / "chome_hiezu" / "hiezu_chome.shp"


@pytest.fixture
def overpass_map(tmp_path, overpass_server) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(
        json.dumps(
            {
                "title": "西早稲田",
                "area": {"bbox": [139.7050, 35.7030, 139.7150, 35.7100]},
                "osm": {"overpass": True, "overpass_url": overpass_server.url},
                "layers": ["childcare"],
                "basemap": {"draw": False},
                "outputs": {"geojson": {"file": "out/map.geojson"}},
            }
        ),
        encoding="utf-8",
    )
    return path


def test_build_offline_true_uses_no_network_and_changes_no_setting(overpass_map, overpass_server):
    spec = civicmap.load_map(overpass_map)
    with pytest.raises(OfflineError, match="civicmap fetch"):
        civicmap.build(spec, offline=True)
    assert overpass_server.interpreter_requests() == []
    assert settings.offline is False and spec.offline is None  # the caller's spec is untouched
    written = civicmap.build(spec)  # the default: online, fills the cache
    assert len(overpass_server.interpreter_requests()) == 1
    again = civicmap.build(spec, offline=True, overwrite=True)  # now the cache answers
    assert len(overpass_server.interpreter_requests()) == 1
    assert again["geojson"][0].read_bytes() == written["geojson"][0].read_bytes()


def test_the_cli_flag_and_the_environment_default(overpass_map, overpass_server, monkeypatch):
    res = CliRunner().invoke(main, ["--lang", "en", "build", str(overpass_map), "--offline"])
    assert res.exit_code == 1 and "offline mode" in res.output, res.output
    assert settings.offline is False and overpass_server.interpreter_requests() == []
    # CIVICMAP_OFFLINE (settings.offline) is only the default when nothing is passed
    monkeypatch.setattr(settings, "offline", True)
    with pytest.raises(OfflineError):
        civicmap.collect(civicmap.load_map(overpass_map))
    assert civicmap.collect(civicmap.load_map(overpass_map), offline=False).layers
    assert len(overpass_server.interpreter_requests()) == 1


def test_batch_offline_reads_no_network(overpass_map, overpass_server, tmp_path):
    from civicmap.batch import batch

    with pytest.raises(OfflineError, match="civicmap fetch"):
        batch(overpass_map, each=str(HIEZU), name_field="MOJI", out_dir=tmp_path / "b",
              workers=0, offline=True)  # fmt: skip
    assert overpass_server.interpreter_requests() == []
