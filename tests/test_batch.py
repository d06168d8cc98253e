"""civicmap batch: one map per area on Dask, on the real 石川県 and 日吉津村 data.

Expected counts are computed here from the files with plain json/pandas/shapely, not with
civicmap's readers.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from golden import ishikawa_map as _ishikawa_map
from shapely.geometry import Point, shape
from shapely.ops import unary_union

from civicmap.batch import STATE_FILE, batch, load_areas, local_client
from civicmap.cli import main
from civicmap.errors import BatchError

DATA = Path(__file__).parent / "data"
N03_17 = Path(__file__).parents[1] / "civicmap" / "data" / "n03" / "N03-21_17_210101.json"
HIEZU = DATA / "boundaries" / "chome_hiezu" / "hiezu_chome.shp"
#: The build date the identical-bytes test pins (reproducible builds).
EPOCH = "1700000000"
ISHIKAWA_CSV = DATA / "shelters" / "ishikawa" / "170003_evacuation_space.csv"

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import synth  # noqa: E402


def _independent_counts() -> dict[str, int]:
    """Shelters of the prefecture CSV inside each N03 municipality (point in polygon).

    The file lists 8 places twice (same 名称 and coordinates under two IDs); a map shows
    each place once, so those count once.
    """
    doc = json.loads(N03_17.read_text(encoding="utf-8"))
    polys: dict[str, list] = {}
    names: dict[str, str] = {}
    for f in doc["features"]:
        p = f["properties"]
        polys.setdefault(p["N03_007"], []).append(shape(f["geometry"]))
        names[p["N03_007"]] = "".join(x for x in (p.get("N03_003"), p.get("N03_004")) if x)
    frame = pd.read_csv(ISHIKAWA_CSV, encoding="utf-8-sig", dtype=str)
    frame = frame.drop_duplicates(["名称", "緯度", "経度"])
    lat = pd.to_numeric(frame["緯度"], errors="coerce")
    lon = pd.to_numeric(frame["経度"], errors="coerce")
    pts = [Point(x, y) for x, y in zip(lon, lat, strict=True) if pd.notna(x) and pd.notna(y)]
    counts = {}
    for code, parts in polys.items():
        geom = unary_union(parts).buffer(0)
        counts[names[code]] = sum(1 for p in pts if geom.covers(p))
    return counts


def test_load_areas_reads_shift_jis_chome_shapefile_in_jgd2000():
    areas = load_areas(str(HIEZU), base_dir=Path("."), name_field="MOJI")
    assert len(areas) == 7
    assert set(areas["name"]) == {
        "富吉", "樽屋", "海川", "日吉津下口", "今吉", "日吉津上口上口２区", "日吉津上口上口１区",
    }  # fmt: skip
    w, s, e, n = areas.total_bounds
    assert 133.36 < w < e < 133.40 and 35.42 < s < n < 35.46
    only = load_areas(str(HIEZU), base_dir=Path("."), name_field="MOJI", where="MOJI=富吉,今吉")
    assert sorted(only["name"]) == ["今吉", "富吉"]


@pytest.fixture(scope="module")
def hiezu_map(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hiezu")
    synth.write_extract(folder / "hiezu.osm.pbf", km2=9, centre=(35.443, 133.3795), seed=3)
    (folder / "map.yaml").write_text(
        "title: 防災マップ\narea: {bbox: [133.36, 35.42, 133.40, 35.46]}\n"
        "osm: {file: hiezu.osm.pbf}\nlayers: [childcare, shelters]\n"
        "outputs:\n  geojson: {file: out/map.geojson}\n"
        "  web: {file: out/map.html, self_contained: true}\n  paper: {file: out/map.pdf, size: A4}\n",
        encoding="utf-8",
    )
    return folder


def test_a_broken_area_is_reported_and_the_others_are_built(hiezu_map, tmp_path):
    areas = load_areas(str(HIEZU), base_dir=Path("."), name_field="MOJI").iloc[:2]
    doc = json.loads(areas.to_json())
    x, y = doc["features"][0]["geometry"]["coordinates"][0][0][:2]
    doc["features"].append(
        {"type": "Feature", "properties": {"key": "bad", "name": "壊れた地区"},
         "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x, y], [x, y], [x, y]]]}}
    )  # fmt: skip
    each = tmp_path / "areas.geojson"
    each.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main,
        ["batch", str(hiezu_map / "map.yaml"), "--each", str(each), "--name", "name",
         "-o", str(out), "--workers", "0"],
    )  # fmt: skip
    # a polygon with no area (four times the same point) is reported and left out (issue 32)
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert "feature 3 has no area" in res.output
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as f:
        rows = {r["area"]: r for r in csv.DictReader(f)}
    assert "壊れた地区" not in rows
    assert [rows[n]["status"] for n in areas["name"]] == ["ok", "ok"]
    for n in areas["key"]:
        assert (out / n / STATE_FILE).exists()


def test_unknown_name_field_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(
        main, ["batch", str(_ishikawa_map(tmp_path)), "--each", str(HIEZU), "--name", "NAMAE"]
    )
    assert res.exit_code == 2, res.output
    assert "NAMAE" in res.output and "MOJI" in res.output
    assert "Traceback" not in res.output
    assert not os.path.exists(tmp_path / "out")


def test_batch_errors_are_japanese_with_lang_ja(tmp_path):
    res = CliRunner().invoke(
        main,
        ["--lang", "ja", "batch", str(_ishikawa_map(tmp_path)), "--each", str(HIEZU),
         "--name", "NAMAE"],
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "属性 'NAMAE' はありません" in res.output and "MOJI" in res.output
    res = CliRunner().invoke(
        main, ["--lang", "ja", "batch", str(tmp_path / "map.yaml"), "--each", "municipalities:99"]
    )
    assert res.exit_code == 2 and "01 から 47" in res.output, res.output


def test_an_areas_tile_folder_counts_as_its_output_so_a_deleted_tile_rebuilds_it(tmp_path):
    """The offline web map's tile folder is part of the area's files (state and manifest)."""
    import time

    from civicmap.batch import _sha256, _tile_folder_files, is_complete

    page = tmp_path / "map.html"
    page.write_text("<html></html>", encoding="utf-8")
    started = time.time()
    tile = tmp_path / "map_tiles" / "15" / "29107" / "12902.png"
    tile.parent.mkdir(parents=True)
    tile.write_bytes(b"\x89PNG tile")
    tiles = _tile_folder_files([page], since=started)
    assert tiles == [tile]
    files = [page, *tiles]
    doc = {"version": 1, "fingerprint": "f",
           "files": {str(p.relative_to(tmp_path)): _sha256(p) for p in files}}  # fmt: skip
    (tmp_path / STATE_FILE).write_text(json.dumps(doc), encoding="utf-8")
    assert is_complete(tmp_path, "f")
    tile.unlink()  # a user tidied the folder away: the area is no longer complete
    assert not is_complete(tmp_path, "f")
    # a folder left by an earlier build (before this one started) is not this build's output
    tile.write_bytes(b"\x89PNG tile")
    old = started - 3600
    for p in [tile, *tile.parents][:4]:
        os.utime(p, (old, old))
    assert _tile_folder_files([page], since=started) == []


IWAMI = DATA / "boundaries" / "chome_iwami" / "iwami_chome.shp"
#: 岩美町's 町丁目 made of several polygons in the e-Stat file (a main part and an islet each).
IWAMI_MULTI_PART = ("浦富浜浦富", "牧谷", "田後")


def test_multi_part_chome_of_a_tottori_town_give_one_map_each(tmp_path):
    """岩美町: 56 polygons, 53 町丁目 (3 in two parts): 53 maps, each part on its 町丁目's map."""
    import geopandas as gpd

    raw = gpd.read_file(IWAMI, encoding="cp932")  # read here with geopandas, not civicmap
    assert len(raw) == 56 and raw["KEY_CODE"].nunique() == 53
    # one place in the smaller part (the islet) of each multi-part 町丁目
    rows = ["name,lat,lon"]
    for name in IWAMI_MULTI_PART:
        parts = raw[raw["MOJI"] == name]
        assert len(parts) == 2
        metric_area = parts.geometry.to_crs(parts.estimate_utm_crs()).area
        islet = parts.geometry.iloc[int(metric_area.argmin())].representative_point()
        rows.append(f"{name}の小島,{islet.y:.6f},{islet.x:.6f}")
    (tmp_path / "places.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "places.yaml").write_text(
        "id: places\ntitle: {ja: 施設, en: Places}\nsources:\n  - csv: {path: places.csv}\n"
        'style: {color: "#2f9e44", symbol: circle}\n',
        encoding="utf-8",
    )
    (tmp_path / "map.yaml").write_text(
        "title: 地図\narea: {bbox: [134.27, 35.47, 134.44, 35.62]}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [places.yaml]\n"
        "outputs:\n  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main,
        ["--lang", "en", "batch", str(tmp_path / "map.yaml"), "--each", str(IWAMI),
         "--name", "MOJI", "-o", str(out), "--workers", "0"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as f:
        manifest = list(csv.DictReader(f))
    assert len(manifest) == 53
    assert sorted(r["area"] for r in manifest) == sorted(raw["MOJI"].unique())
    assert {r["status"] for r in manifest} == {"ok"}
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(folders) == 53 and not [f for f in folders if "_" in f]
    for name in IWAMI_MULTI_PART:
        doc = json.loads((out / name / "map.geojson").read_text(encoding="utf-8"))
        assert [f["properties"]["name"] for f in doc["features"]] == [f"{name}の小島"]
    # the batch said how far it was, ending with every area
    assert "53 / 53 areas done" in res.output


def _two_towns(folder: Path) -> Path:
    """日吉津村 and 岩美町 町丁目 in one file, with the e-Stat municipality columns of both."""
    import geopandas as gpd

    hiezu = gpd.read_file(HIEZU, encoding="cp932")
    hiezu = hiezu.assign(KEN="31", CITY="384", CSS_NAME="日吉津村")  # as in 31-tottori-all
    iwami = gpd.read_file(IWAMI, encoding="cp932")
    both = pd.concat([hiezu.to_crs(4326), iwami.to_crs(4326)], ignore_index=True)
    path = folder / "two_towns.geojson"
    gpd.GeoDataFrame(both, geometry="geometry", crs=4326).to_file(path, driver="GeoJSON")
    return path


def test_where_matching_areas_of_several_municipalities_says_so(tmp_path, caplog):
    each = _two_towns(tmp_path)
    with caplog.at_level("WARNING", logger="civicmap.batch"):
        both = load_areas(str(each), base_dir=tmp_path, name_field="MOJI", where="MOJI=今吉,田後")
    assert sorted(both["name"]) == ["今吉", "田後"]
    assert "2 municipalities" in caplog.text
    assert "西伯郡日吉津村" in caplog.text and "岩美郡岩美町" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="civicmap.batch"):
        one = load_areas(
            str(each), base_dir=tmp_path, name_field="MOJI", where=["MOJI=今吉,田後", "CITY=302"]
        )
    assert list(one["name"]) == ["田後"] and "municipalities" not in caplog.text
    # the part count is per 町丁目: 田後's two polygons are one area
    assert len(one) == 1 and one.geometry.iloc[0].geom_type == "MultiPolygon"


def test_progress_is_reported_every_few_seconds_while_an_area_builds(tmp_path, monkeypatch):
    """A slow area (one 町丁目 of a city takes minutes) still gets a report every few seconds."""
    import importlib

    batch_mod = importlib.import_module("civicmap.batch")
    real = batch_mod.build_area

    def slow(task, inputs=None):
        time.sleep(0.6)
        return real(task, inputs)

    monkeypatch.setattr(batch_mod, "build_area", slow)
    monkeypatch.setattr(batch_mod, "PROGRESS_EVERY_S", 0.1)
    reports = []
    result = batch(_ishikawa_map(tmp_path), each="municipalities:17", where="name=輪島市,珠洲市",
                   out_dir=tmp_path / "out", workers=0, progress=reports.append)  # fmt: skip
    assert [r["status"] for r in result.rows] == ["ok", "ok"]
    beats = [p for p in reports if p.row is None]
    assert len(beats) >= 4  # 2 × 0.6 s of building, a report at least every 0.1 s + slack
    assert {p.total for p in reports} == {2}
    assert [p.done for p in reports if p.row is not None] == [1, 2]
    assert reports[-1].left_s == 0


def test_a_script_without_a_main_guard_is_told_how_to_fix_it(tmp_path):
    # Dask starts each worker process by running the calling script again: a script that calls
    # civicmap.batch(workers=...) at top level ended in "RuntimeError: Nanny failed to start".
    for f in (DATA / "boundaries" / "chome_hiezu").glob("hiezu_chome.*"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "places.csv").write_text("name,lat,lon\na,35.44,133.38\n", encoding="utf-8")
    (tmp_path / "places.yaml").write_text(
        "id: p\ntitle: {ja: 施設, en: Places}\nsources: [{csv: {path: places.csv}}]\n",
        encoding="utf-8",
    )
    (tmp_path / "map.yaml").write_text(
        "title: t\narea: {bbox: [133.36, 35.42, 133.40, 35.46]}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [places.yaml]\noutputs: {geojson: {file: out/m.geojson}}\n",
        encoding="utf-8",
    )
    (tmp_path / "script.py").write_text(
        "import civicmap\n"
        "civicmap.batch('map.yaml', each='hiezu_chome.shp', name_field='MOJI', workers=1)\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=240,
        env={**os.environ, "CIVICMAP_LANG": "en"},
    )  # fmt: skip
    assert run.returncode != 0
    assert "Nanny failed to start" in run.stderr  # named, so the user can search for it
    assert 'if __name__ == "__main__":' in run.stderr and "workers=0" in run.stderr
    # the worker's own run of the script stops at once with the same advice: it reads no
    # input and does not wait for the output folder the real batch holds (that took 10 s and
    # put a misleading "another civicmap run is writing" error on the screen)
    assert "called again while a Dask worker process was starting" in run.stderr
    assert "another civicmap run" not in run.stderr


def test_a_cluster_that_cannot_start_for_another_reason_gets_other_advice(monkeypatch):
    # e.g. a sandbox without loopback networking: the workers time out connecting; the
    # __main__ advice would be wrong there
    batch_mod = importlib.import_module("civicmap.batch")  # the module, not civicmap.batch()

    def no_loopback(workers, security):
        raise RuntimeError("Cluster failed to start: Timed out trying to connect to tls://…")

    monkeypatch.setattr(batch_mod, "_local_cluster", no_loopback)
    with pytest.raises(BatchError) as exc:
        batch_mod.local_client(1)
    assert "--workers 0" in str(exc.value) and "__main__" not in str(exc.value)


def test_without_a_loopback_network_the_advice_comes_before_any_cluster_starts(monkeypatch):
    # unshare -n with lo down: the scheduler binds, then Dask retried its connections for
    # 30 s twice before the same advice; a connection to 127.0.0.1 tried first says it at once
    batch_mod = importlib.import_module("civicmap.batch")

    def refused(*args, **kwargs):
        raise OSError(101, "Network is unreachable")

    def must_not_start(workers, security):
        raise AssertionError("a cluster was started without a loopback network")

    monkeypatch.setattr(batch_mod.socket, "create_connection", refused)
    monkeypatch.setattr(batch_mod, "_local_cluster", must_not_start)
    with pytest.raises(BatchError) as exc:
        batch_mod.local_client(2)
    assert "--workers 0" in str(exc.value) and "Network is unreachable" in str(exc.value)


# --- batches on two Dask worker processes -------------------------------------------
# Last in the module: the two workers are started once for these tests and closed at the
# module's end (a running cluster is not free: heartbeats, TLS, two worker processes).


@pytest.fixture(scope="module")
def two_workers():
    """Two Dask worker processes, locked with their run's TLS: what ``batch(workers=2)`` starts
    (``local_client(2)``), shared by the batches below.

    A worker's environment is the one it started with: ``SOURCE_DATE_EPOCH`` is set before
    they start (the identical-bytes test pins every build's date with it) and stays set
    while they run.
    """
    env = pytest.MonkeyPatch()
    env.setenv("SOURCE_DATE_EPOCH", EPOCH)
    client = local_client(2)
    assert len(client.scheduler_info()["workers"]) == 2
    yield client
    cluster = client.cluster
    client.close()
    cluster.close()
    env.undo()


@pytest.fixture(scope="module")
def ishikawa(tmp_path_factory, two_workers):
    folder = tmp_path_factory.mktemp("ishikawa")
    mapfile = _ishikawa_map(folder)
    result = batch(mapfile, each="municipalities:17", out_dir=folder / "out", client=two_workers)
    return folder, mapfile, result


def test_one_map_per_ishikawa_municipality_with_counts_from_the_csv(ishikawa):
    folder, _, result = ishikawa
    assert len(result.rows) == 19
    assert [r["status"] for r in result.rows] == ["ok"] * 19
    expected = _independent_counts()
    got = {r["name"]: r["places"]["basho"] for r in result.rows}
    assert got == expected
    assert sum(expected.values()) > 1400
    # Each area's folder holds its three outputs, titled with the area's name.
    kanazawa = folder / "out" / "金沢市"
    assert sorted(p.name for p in kanazawa.iterdir() if not p.name.startswith(".")) == [
        "map.geojson",
        "map.html",
        "map.pdf",
    ]
    gj = json.loads((kanazawa / "map.geojson").read_text(encoding="utf-8"))
    assert len(gj["features"]) == expected["金沢市"]
    assert "金沢市 避難場所マップ" in (kanazawa / "map.html").read_text(encoding="utf-8")


def test_manifest_and_index_list_every_area(ishikawa):
    folder, _, result = ishikawa
    with open(folder / "out" / "manifest.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["area"] for r in rows] == [r["name"] for r in result.rows]
    assert {r["status"] for r in rows} == {"ok"}
    assert sum(int(r["places:basho"]) for r in rows) == sum(_independent_counts().values())
    doc = json.loads((folder / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert doc["areas"] == "municipalities:17" and len(doc["rows"]) == 19
    index = (folder / "out" / "index.html").read_text(encoding="utf-8")
    for r in result.rows:
        assert f'href="{r["key"]}/map.html"' in index


def test_timings_keep_reading_and_worker_start_apart_from_the_builds(ishikawa):
    """Start-up (workers, imports) and the read are paid once; each area reports its CPU cost."""
    folder, _, result = ishikawa
    assert set(result.timings) == {"read", "startup", "build"}
    assert result.timings["read"] > 0 and result.timings["startup"] > 0
    assert result.timings["build"] > 0
    doc = json.loads((folder / "out" / "manifest.json").read_text(encoding="utf-8"))
    for r in doc["rows"]:
        # one build's own CPU time: never more than its wall time, and never nothing
        assert 0 < r["cpu_seconds"] <= r["seconds"] + 0.02, r


def test_rerun_skips_complete_areas_and_rebuilds_a_damaged_one(ishikawa):
    folder, mapfile, _ = ishikawa
    pdf = folder / "out" / "七尾市" / "map.pdf"
    before = {p: p.stat().st_mtime_ns for p in (folder / "out").glob("*/map.*")}
    again = batch(mapfile, each="municipalities:17", out_dir=folder / "out", workers=0)
    assert [r["status"] for r in again.rows] == ["skipped"] * 19
    assert {p: p.stat().st_mtime_ns for p in before} == before
    # Counts of skipped areas still reach the manifest.
    assert {r["name"]: r["places"]["basho"] for r in again.rows} == _independent_counts()
    pdf.write_bytes(b"%PDF-1.4 truncated")
    # in this process (workers=0): what is skipped and what is rebuilt is decided before any
    # worker would start, so a cluster proves nothing more here
    third = batch(mapfile, each="municipalities:17", out_dir=folder / "out", workers=0)
    status = {r["name"]: r["status"] for r in third.rows}
    assert status.pop("七尾市") == "ok"
    assert set(status.values()) == {"skipped"}
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000


def test_places_in_no_area_are_counted_not_dropped(ishikawa):
    """Places of the CSV outside every municipality polygon are on no map: the batch says how many."""
    folder, _, result = ishikawa
    doc = json.loads(N03_17.read_text(encoding="utf-8"))
    land = unary_union([shape(f["geometry"]) for f in doc["features"]]).buffer(0)
    frame = pd.read_csv(ISHIKAWA_CSV, encoding="utf-8-sig", dtype=str)
    lat = pd.to_numeric(frame["緯度"], errors="coerce")
    lon = pd.to_numeric(frame["経度"], errors="coerce")
    pts = [Point(x, y) for x, y in zip(lon, lat, strict=True) if pd.notna(x) and pd.notna(y)]
    outside = sum(1 for p in pts if not land.intersects(p))
    assert outside > 0  # the simplified N03 coastline leaves some sites in the sea
    assert result.outside_every_area == {"basho": outside}
    manifest = json.loads((folder / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["outside_every_area"] == {"basho": outside}


def test_in_process_and_two_workers_write_identical_files(hiezu_map, two_workers, monkeypatch):
    """Every area built in this process, one after another (``workers=0``), or spread over two
    Dask worker processes: the same bytes in every file."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    one = batch(hiezu_map / "map.yaml", each=str(HIEZU), name_field="MOJI",
                out_dir=hiezu_map / "w1", workers=0)  # fmt: skip
    two = batch(hiezu_map / "map.yaml", each=str(HIEZU), name_field="MOJI",
                out_dir=hiezu_map / "w2", client=two_workers)  # fmt: skip
    assert [r["status"] for r in one.rows] == ["ok"] * 7
    assert [r["places"] for r in one.rows] == [r["places"] for r in two.rows]
    assert sum(r["places"]["shelters"] for r in one.rows) > 0
    files = sorted(p.relative_to(hiezu_map / "w1") for p in (hiezu_map / "w1").glob("*/map.*"))
    assert len(files) == 21
    for rel in files:
        assert (hiezu_map / "w1" / rel).read_bytes() == (hiezu_map / "w2" / rel).read_bytes(), rel


def _worker_view() -> tuple[str | None, str]:
    """What a worker sees: the pinned build date, and where civicmap caches downloads."""
    from civicmap import settings

    return os.environ.get("SOURCE_DATE_EPOCH"), str(settings.cache_folder)


def test_a_batchs_workers_get_its_environment_as_it_is_when_they_start(monkeypatch, tmp_path):
    """The workers are forked from a server that may have started before (an earlier batch of
    this session, with other variables): a variable set since reaches them, one removed since
    is gone from them, and civicmap's settings follow the ``CIVICMAP_*`` ones, as in a worker
    spawned afresh."""

    def seen(client) -> list[tuple[str | None, str]]:
        try:
            return list(client.run(_worker_view).values())
        finally:
            cluster = client.cluster
            client.close()
            cluster.close()

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setenv("CIVICMAP_CACHE_DIR", str(tmp_path / "one"))
    assert seen(local_client(1)) == [(EPOCH, str(tmp_path / "one"))]
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    monkeypatch.setenv("CIVICMAP_CACHE_DIR", str(tmp_path / "two"))
    assert seen(local_client(1)) == [(None, str(tmp_path / "two"))]
