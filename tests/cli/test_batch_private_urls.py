"""``batch --allow-private-urls``: the switch of build/fetch/check, and it reaches each area's build.

A map file's own tile server on 127.0.0.1 is refused unless the run allows it
(issue #31); a batch builds each area in a worker, outside the command's
network run, so the switch must travel with each area.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import TESTS

from civicmap.cli import main

TOYAMA_CSV = (TESTS / "data/childcare/toyama/toyama_nurseryFacilities_utf8bom.csv").resolve()


def own_tiles_batch(folder: Path, url: str) -> tuple[Path, Path]:
    """A map on the user's own tile server and one area (a part of 富山市) to batch over."""
    areas = folder / "areas.geojson"
    ring = [[137.20, 36.69], [137.215, 36.69], [137.215, 36.70], [137.20, 36.70], [137.20, 36.69]]
    areas.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "総曲輪"},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    path = folder / "map.yaml"
    path.write_text(
        json.dumps(
            {
                "title": "保育施設マップ",
                "area": {"bbox": [137.19, 36.68, 137.23, 36.71]},
                "osm": False,
                "basemap": {"tiles": url, "attribution": "© 自作タイル"},
                "layers": [
                    {
                        "id": "nursery",
                        "title": {"ja": "保育施設", "en": "Childcare"},
                        "sources": [{"csv": {"path": str(TOYAMA_CSV)}}],
                    }
                ],
                "outputs": {"paper": {"file": "out/map.pdf", "size": "A4"}},
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path, areas


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("allowed", "workers"),
    [(True, "0"), (False, "0"), (True, "1")],
    ids=["allowed", "refused", "allowed-in-a-dask-worker"],
)
def test_batch_allow_private_urls_reaches_each_areas_build(tile_server, tmp_path, allowed, workers):
    tile_server.reset()
    path, areas = own_tiles_batch(tmp_path, tile_server.url)
    args = ["--lang", "en", "batch", str(path), "--each", str(areas), "--name", "name"]
    args += ["--workers", workers, "--out", str(tmp_path / "out")]
    res = CliRunner().invoke(main, [*args, "--allow-private-urls"] if allowed else args)
    assert "Traceback" not in res.output, res.output
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    rows = manifest["rows"]
    assert [r["status"] for r in rows] == ["ok"], rows
    if allowed:
        assert len(tile_server.requests) > 2  # the user's own server, asked for this area
    else:
        assert tile_server.requests == []  # nothing was sent to 127.0.0.1
