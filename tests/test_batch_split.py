"""A batch whose ``osm: {file:}`` is a split folder: each area reads only its parts.

Four cells and a block over the real 新宿区 西早稲田 extract, split by municipality (新宿区, 豊島区, 渋谷区 ...):
the cells cross municipal borders, so some read one part and some several (merged). The maps
must be the very files a batch over the whole extract writes.
"""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from paths import DATA

from civicmap.batch import batch
from civicmap.cli import main
from civicmap.schema import CRS
from civicmap.sources import osmsplit
from civicmap.sources.osmsplit import open_split
from civicmap.split import split_extract

#: two batches of four areas with web, paper and GeoJSON outputs, and a split
pytestmark = pytest.mark.slow

EXTRACT = DATA / "osm" / "SmallAroundWaseda.osm.pbf"
_read_layer = osmsplit.read_layer_file


def _map(folder, name: str, osm: str, bbox) -> str:
    west, south, east, north = bbox
    path = folder / f"{name}.yaml"
    path.write_text(
        f"title: テスト\narea: {{bbox: [{west}, {south}, {east}, {north}]}}\n"
        f"osm: {{file: {osm}}}\nlayers: [childcare, shelters, toilets, aed]\n"
        "outputs:\n  web: {file: out/map.html, self_contained: true}\n"
        "  paper: {file: out/map.pdf, size: A4}\n  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    return str(path)


@pytest.fixture(scope="module")
def waseda(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch_split")
    shutil.copy(EXTRACT, folder / EXTRACT.name)
    split_extract(folder / EXTRACT.name, folder / "parts", by="municipality")
    index = open_split(folder / "parts")
    west, south, east, north = index.extent
    dx, dy = (east - west) / 2, (north - south) / 2
    cells = [
        shapely.box(west + i * dx, south + j * dy, west + (i + 1) * dx, south + (j + 1) * dy)
        for i in range(2)
        for j in range(2)
    ]
    # and a block of 西早稲田 well inside 新宿区 (one part is enough)
    cells.append(shapely.box(139.7031784, 35.7039554, 139.7098839, 35.7093917))
    names = [f"区{k + 1}" for k in range(4)] + ["西早稲田"]
    gpd.GeoDataFrame({"name": names}, geometry=cells, crs=CRS).to_file(
        folder / "cells.geojson", driver="GeoJSON"
    )
    return folder, index


@pytest.fixture(scope="module")
def from_split(waseda):
    """The batch of the four cells and the block from the plain split folder (tests 1 and 3
    compare it with a batch from the whole extract and from a GeoParquet split), and the
    GeoParquet layer files it read (none: the split has none)."""
    folder, index = waseda
    read: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", "1700000000")
        mp.setattr(osmsplit, "read_layer_file",
                   lambda path: read.append(path.name) or _read_layer(path))  # fmt: skip
        result = batch(_map(folder, "split", "parts", index.extent),
                       each=str(folder / "cells.geojson"), out_dir=folder / "out_split",
                       workers=0)  # fmt: skip
    return result, read


@pytest.fixture(scope="module")
def geoparquet_split(tmp_path_factory):
    """The extract split by municipality with GeoParquet layers (tests 3 and 4 copy it)."""
    folder = tmp_path_factory.mktemp("batch_split_geoparquet")
    split_extract(EXTRACT, folder / "parts", by="municipality", geoparquet=True)
    return folder / "parts"


def test_a_batch_from_a_split_folder_writes_the_files_of_a_batch_from_the_whole_extract(
    waseda, from_split, monkeypatch
):
    folder, index = waseda
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    bbox = index.extent
    each = str(folder / "cells.geojson")
    whole = batch(_map(folder, "whole", EXTRACT.name, bbox), each=each,
                  out_dir=folder / "out_whole", workers=0)  # fmt: skip
    parts, _read = from_split
    assert [r["status"] for r in parts.rows] == ["ok"] * 5, parts.rows
    assert [r["places"] for r in parts.rows] == [r["places"] for r in whole.rows]
    # the areas do read different sets of parts: one, and several merged
    grown = gpd.read_file(each).to_crs(6677).buffer(200).to_crs(CRS)  # the batch's margin
    counts = sorted(len(index.parts_for(g, what="x").files) for g in grown)
    assert counts[0] == 1 and counts[-1] > 1, counts
    files = sorted(
        p.relative_to(folder / "out_whole") for p in (folder / "out_whole").rglob("map.*")
    )
    assert len(files) == 15
    for rel in files:
        assert (folder / "out_whole" / rel).read_bytes() == (
            folder / "out_split" / rel
        ).read_bytes(), rel
    # a second run finds every area built from the same parts: nothing is rebuilt
    again = batch(folder / "split.yaml", each=each, out_dir=folder / "out_split", workers=0)
    assert [r["status"] for r in again.rows] == ["skipped"] * 5


def test_an_area_whose_part_is_missing_fails_with_the_reason_and_the_others_are_built(
    waseda, tmp_path
):
    folder, index = waseda
    parts = tmp_path / "parts"
    shutil.copytree(folder / "parts", parts)
    (parts / "131164.osm.pbf").unlink()  # 豊島区: the north of the extract
    mapfile = _map(tmp_path, "map", "parts", index.extent)
    result = batch(mapfile, each=str(folder / "cells.geojson"), out_dir=tmp_path / "out", workers=0)
    failed = [r for r in result.rows if r["status"] == "failed"]
    built = [r for r in result.rows if r["status"] == "ok"]
    assert failed and built, result.rows
    for row in failed:
        assert "131164.osm.pbf" in row["error"] and "civicmap split" in row["error"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert [r["status"] for r in manifest["rows"]] == [r["status"] for r in result.rows]


def test_a_batch_from_a_geoparquet_split_reads_the_layer_files_and_writes_the_same_files(
    waseda, from_split, geoparquet_split, tmp_path, monkeypatch
):
    folder, index = waseda
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    shutil.copytree(geoparquet_split, tmp_path / "parts")
    stored = [
        p for p in json.loads((tmp_path / "parts" / "split.json").read_text())["parts"]
        if p.get("layers")
    ]  # fmt: skip
    assert stored and all((tmp_path / "parts" / n).is_file()
                          for p in stored for n in p["layers"].values() if n)  # fmt: skip
    read = []
    monkeypatch.setattr(osmsplit, "read_layer_file",
                        lambda path: read.append(path.name) or _read_layer(path))  # fmt: skip
    each = str(folder / "cells.geojson")
    # the same batch from the plain split (the same map but for its osm file), made once
    plain, plain_read = from_split
    assert plain_read == []
    fast = batch(_map(tmp_path, "fast", "parts", index.extent), each=each,
                 out_dir=tmp_path / "out_fast", workers=0)  # fmt: skip
    assert read, "no area read the GeoParquet layers"
    assert [r["status"] for r in fast.rows] == ["ok"] * 5, fast.rows
    assert [r["places"] for r in fast.rows] == [r["places"] for r in plain.rows]
    files = sorted(
        p.relative_to(folder / "out_split") for p in (folder / "out_split").rglob("map.*")
    )
    assert len(files) == 15
    for rel in files:
        assert (folder / "out_split" / rel).read_bytes() == (
            tmp_path / "out_fast" / rel
        ).read_bytes(), rel


def test_a_build_from_a_geoparquet_split_writes_the_same_files_and_quality_report(
    waseda, geoparquet_split, tmp_path, monkeypatch
):
    folder, _index = waseda
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    shutil.copytree(geoparquet_split, tmp_path / "parts")
    read = []
    monkeypatch.setattr(osmsplit, "read_layer_file",
                        lambda path: read.append(path.name) or _read_layer(path))  # fmt: skip
    block = (139.7031784, 35.7039554, 139.7098839, 35.7093917)  # 西早稲田, in 新宿区's part
    runner = CliRunner()
    for name, osm in (("plain", str(folder / "parts")), ("fast", "parts")):
        (tmp_path / name).mkdir()
        mapfile = _map(tmp_path / name, "map", osm if name == "plain" else "../parts", block)
        got = runner.invoke(
            main, ["build", mapfile, "--report", str(tmp_path / name / "report.csv")]
        )
        assert got.exit_code == 0, got.output
        assert bool(read) == (name == "fast"), read
    # the basemap too (its part has an element the reader leaves out: said from the index)
    assert "131041._basemap.parquet" in read
    files = sorted(p.relative_to(tmp_path / "plain") for p in (tmp_path / "plain").rglob("*.*")
                   if p.suffix in (".html", ".pdf", ".geojson", ".csv"))  # fmt: skip
    assert len(files) == 4, files
    for rel in files:
        assert (tmp_path / "plain" / rel).read_bytes() == (tmp_path / "fast" / rel).read_bytes(), (
            rel
        )
