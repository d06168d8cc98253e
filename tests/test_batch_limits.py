"""civicmap batch on real boundary quirks and slow areas (issue 32).

The 鳥取県 町丁目 file of e-Stat (2015) has one polygon whose outline crosses itself
(琴浦町 太一垣国主, KEY_CODE 31371051002): a prefecture batch lost that area. The cut in
tests/data/boundaries/chome_kotoura holds it with its 7 neighbours, bytes as published.
"""

from __future__ import annotations

import csv
import importlib
import json
import logging
import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import Polygon

from civicmap.area import read_polygons
from civicmap.batch import load_areas
from civicmap.cli import main

DATA = Path(__file__).parent / "data"
KOTOURA = DATA / "boundaries" / "chome_kotoura" / "kotoura_chome.shp"
BAD = "太一垣国主"


def test_the_real_self_intersecting_chome_is_repaired_and_noted(caplog):
    raw = gpd.read_file(KOTOURA)  # geopandas alone: the file as published
    assert shapely.is_valid(raw.geometry.values).tolist().count(False) == 1
    assert raw.loc[~raw.is_valid, "MOJI"].tolist() == [BAD]
    with caplog.at_level(logging.WARNING):
        areas = load_areas(str(KOTOURA), base_dir=Path("."), name_field="MOJI")
    assert len(areas) == 8 and areas.is_valid.all()
    row = areas[areas["name"] == BAD].iloc[0]
    assert row.geometry.geom_type in ("Polygon", "MultiPolygon")
    # the whole 町丁目 is kept: the enclosed area, not a lobe of it
    expected = shapely.make_valid(raw.to_crs(4326).loc[~raw.is_valid].geometry.iloc[0])
    assert abs(row.geometry.area - expected.area) < 1e-9 * expected.area + 1e-12
    assert "crosses itself" in row["repaired"]
    assert [r for r in areas["repaired"] if r] == [row["repaired"]]
    assert "kotoura_chome.shp: feature 4 has an invalid polygon" in caplog.text


def test_a_bow_tie_keeps_both_lobes_and_a_flat_sliver_is_left_out(tmp_path, caplog):
    bow_tie = Polygon([(135.0, 35.0), (135.01, 35.01), (135.01, 35.0), (135.0, 35.01)])
    sliver = Polygon([(135.02, 35.0), (135.03, 35.0), (135.04, 35.0), (135.02, 35.0)])
    fine = Polygon([(135.05, 35.0), (135.06, 35.0), (135.06, 35.01), (135.05, 35.01)])
    assert not bow_tie.is_valid and not sliver.is_valid
    frame = gpd.GeoDataFrame(
        {"name": ["蝶", "線", "正方形"]}, geometry=[bow_tie, sliver, fine], crs=4326
    )
    path = tmp_path / "areas.geojson"
    frame.to_file(path)
    repairs: dict[int, str] = {}
    with caplog.at_level(logging.WARNING):
        polys = read_polygons(path, repairs=repairs)
    assert polys["name"].tolist() == ["蝶", "正方形"]
    assert polys.is_valid.all()
    assert polys.geometry.iloc[0].geom_type == "MultiPolygon"
    assert polys.geometry.iloc[0].area == pytest.approx(0.01 * 0.01 / 2)
    assert list(repairs) == [0]
    assert "feature 2 has no area" in caplog.text


def test_a_batch_builds_the_repaired_chome_and_says_so_in_the_manifest(tmp_path):
    raw = gpd.read_file(KOTOURA).to_crs(4326)
    rows = ["name,lat,lon"]
    for name, geom in zip(raw["MOJI"], raw.geometry, strict=True):
        p = shapely.make_valid(geom).representative_point()
        rows.append(f"{name}の集会所,{p.y:.6f},{p.x:.6f}")
    (tmp_path / "places.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "places.yaml").write_text(
        "id: places\ntitle: {ja: 集会所, en: Halls}\nsources:\n  - csv: {path: places.csv}\n"
        'style: {color: "#2f9e44", symbol: circle}\n',
        encoding="utf-8",
    )
    w, s, e, n = raw.total_bounds
    (tmp_path / "map.yaml").write_text(
        f"title: 地図\narea: {{bbox: [{w}, {s}, {e}, {n}]}}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [places.yaml]\n"
        "outputs:\n  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main,
        ["--lang", "en", "batch", str(tmp_path / "map.yaml"), "--each", str(KOTOURA),
         "--name", "MOJI", "-o", str(out), "--workers", "0"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as f:
        manifest = {r["area"]: r for r in csv.DictReader(f)}
    assert len(manifest) == 8 and {r["status"] for r in manifest.values()} == {"ok"}
    assert "boundary repaired" in manifest[BAD]["warnings"]
    doc = json.loads((out / BAD / "map.geojson").read_text(encoding="utf-8"))
    assert [f["properties"]["name"] for f in doc["features"]] == [f"{BAD}の集会所"]


# --- per-area time and memory limits -------------------------------------------------


def _kotoura_batch(folder: Path) -> Path:
    raw = gpd.read_file(KOTOURA).to_crs(4326)
    w, s, e, n = raw.total_bounds
    (folder / "places.csv").write_text(
        f"name,lat,lon\n公民館,{(s + n) / 2:.6f},{(w + e) / 2:.6f}\n", encoding="utf-8"
    )
    (folder / "places.yaml").write_text(
        "id: places\ntitle: {ja: 集会所, en: Halls}\nsources:\n  - csv: {path: places.csv}\n"
        'style: {color: "#2f9e44", symbol: circle}\n',
        encoding="utf-8",
    )
    (folder / "map.yaml").write_text(
        f"title: 地図\narea: {{bbox: [{w}, {s}, {e}, {n}]}}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [places.yaml]\n"
        "outputs:\n  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    return folder / "map.yaml"


SLOW = "佐崎"


def _slow_for(name: str, real, *, hog: bool = False):
    """``pipeline.render`` that hangs (Python code, a sleep at a time) for one area."""

    def render(data, **kwargs):
        if data.spec.title.startswith(name):
            deadline = time.monotonic() + 60
            held = []
            while time.monotonic() < deadline:
                if hog:  # grows by 20 MB a step, every page written (not a lazy calloc)
                    held.append(b"\x01" * (20 * 2**20))
                time.sleep(0.02)
        return real(data, **kwargs)

    return render


def test_an_area_past_its_time_limit_fails_with_the_reason_and_the_others_are_built(
    tmp_path, monkeypatch
):
    batch_mod = importlib.import_module("civicmap.batch")

    monkeypatch.setattr(batch_mod.pipeline, "render", _slow_for(SLOW, batch_mod.pipeline.render))
    t = time.monotonic()
    result = batch_mod.batch(
        _kotoura_batch(tmp_path), each=str(KOTOURA), name_field="MOJI",
        out_dir=tmp_path / "out", workers=0, area_timeout_s=1.5,
    )  # fmt: skip
    assert time.monotonic() - t < 40  # not the 60 s the slow area would take
    rows = {r["name"]: r for r in result.rows}
    assert rows[SLOW]["status"] == "failed"
    assert "longer than the area time limit (1.5 s)" in rows[SLOW]["error"]
    assert 1.5 <= rows[SLOW]["seconds"] < 10
    others = [r for n, r in rows.items() if n != SLOW]
    assert len(others) == 7 and {r["status"] for r in others} == {"ok"}
    assert all((tmp_path / "out" / r["key"] / "map.geojson").exists() for r in others)
    with open(tmp_path / "out" / "manifest.csv", encoding="utf-8-sig", newline="") as f:
        manifest = {r["area"]: r for r in csv.DictReader(f)}
    assert "time limit" in manifest[SLOW]["error"]
    # a rerun builds it (it was never complete), the others are skipped
    monkeypatch.undo()
    again = batch_mod.batch(
        _kotoura_batch(tmp_path), each=str(KOTOURA), name_field="MOJI",
        out_dir=tmp_path / "out", workers=0,
    )  # fmt: skip
    again_rows = {r["name"]: r["status"] for r in again.rows}
    assert again_rows[SLOW] == "ok" and list(again_rows.values()).count("skipped") == 7


def test_an_area_past_its_memory_limit_fails_with_the_reason(tmp_path, monkeypatch):
    batch_mod = importlib.import_module("civicmap.batch")

    monkeypatch.setattr(
        batch_mod.pipeline, "render", _slow_for(SLOW, batch_mod.pipeline.render, hog=True)
    )
    result = batch_mod.batch(
        _kotoura_batch(tmp_path), each=str(KOTOURA), name_field="MOJI",
        out_dir=tmp_path / "out", workers=0, area_memory_mb=200,
    )  # fmt: skip
    rows = {r["name"]: r for r in result.rows}
    assert rows[SLOW]["status"] == "failed"
    assert "above the area memory limit (200 MB)" in rows[SLOW]["error"]
    assert [r["status"] for n, r in rows.items() if n != SLOW] == ["ok"] * 7


@pytest.mark.slow
def test_the_time_limit_holds_in_a_dask_worker_too(tmp_path, monkeypatch):
    """A threaded in-process cluster: the patched build runs in a Dask worker's thread."""
    from dask.distributed import Client, LocalCluster

    batch_mod = importlib.import_module("civicmap.batch")

    monkeypatch.setattr(batch_mod.pipeline, "render", _slow_for(SLOW, batch_mod.pipeline.render))
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        result = batch_mod.batch(
            _kotoura_batch(tmp_path), each=str(KOTOURA), name_field="MOJI",
            out_dir=tmp_path / "out", client=client, area_timeout_s=1.5,
        )  # fmt: skip
    rows = {r["name"]: r for r in result.rows}
    assert rows[SLOW]["status"] == "failed" and "time limit" in rows[SLOW]["error"]
    assert [r["status"] for n, r in rows.items() if n != SLOW] == ["ok"] * 7


def test_a_negative_limit_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(
        main,
        ["--lang", "en", "batch", str(_kotoura_batch(tmp_path)), "--each", str(KOTOURA),
         "--name", "MOJI", "-o", str(tmp_path / "out"), "--area-timeout", "-5"],
    )  # fmt: skip
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "--area-timeout: got -5" in res.output
