"""Hostile area names in ``civicmap batch``: every area gets its own folder inside the output.

Areas are real polygons (鳥取県 日吉津村's 町丁目, tests/data/boundaries/chome_hiezu) renamed
to the names testers used; each area holds one made-up place, so each map is told apart by
the place it shows. Built without Dask (``workers=0``): names are the batch's business, not
the cluster's.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from click.testing import CliRunner

from civicmap.batch import MAX_FOLDER_BYTES, batch, load_areas
from civicmap.cli import main

DATA = Path(__file__).parents[1] / "data"
HIEZU = DATA / "boundaries" / "chome_hiezu" / "hiezu_chome.shp"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _areas_and_map(folder: Path, names: list[str]) -> tuple[Path, Path, list[str]]:
    """A GeoJSON of ``len(names)`` 日吉津村 polygons named ``names`` and a map with one place in each.

    Returns the areas file, the map file and the place names (``place 0`` ... in area order).
    """
    real = load_areas(str(HIEZU), base_dir=Path("."), name_field="MOJI")
    assert len(names) <= len(real)
    feats, rows = [], ["name,lat,lon"]
    for i, name in enumerate(names):
        geom = real.geometry.iloc[i]
        feats.append(
            {"type": "Feature", "properties": {"name": name}, "geometry": geom.__geo_interface__}
        )
        pt = geom.representative_point()
        rows.append(f"place {i},{pt.y:.6f},{pt.x:.6f}")
    areas = folder / "areas.geojson"
    areas.write_text(
        json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
        encoding="utf-8",
    )
    (folder / "places.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "places.yaml").write_text(
        "id: places\ntitle: {ja: 施設, en: Places}\nsources:\n  - csv: {path: places.csv}\n"
        'style: {color: "#2f9e44", symbol: circle}\n',
        encoding="utf-8",
    )
    (folder / "map.yaml").write_text(
        "title: 地図\narea: {bbox: [133.36, 35.42, 133.40, 35.46]}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [places.yaml]\n"
        "outputs:\n  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    return areas, folder / "map.yaml", [f"place {i}" for i in range(len(names))]


def _places_in(geojson: Path) -> list[str]:
    doc = json.loads(geojson.read_text(encoding="utf-8"))
    return sorted(f["properties"]["name"] for f in doc["features"])


def _manifest(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_names_equal_after_folder_naming_get_their_own_folders_and_both_maps(tmp_path):
    names = ["X", "X", "X_1", "ｶﾞｲﾄﾞ", "ガイド", "kita", "KITA"]
    areas, mapfile, places = _areas_and_map(tmp_path, names)
    out = tmp_path / "out"
    result = batch(mapfile, each=str(areas), name_field="name", out_dir=out, workers=0)
    assert [r["status"] for r in result.rows] == ["ok"] * 7
    folders = [r["key"] for r in result.rows]
    assert len({f.casefold() for f in folders}) == 7, folders
    # each map shows its own area's place: none was overwritten by another area's build
    for row, place in zip(result.rows, places, strict=True):
        assert _places_in(out / row["key"] / "map.geojson") == [place], row
    # a rerun gives the same folders (stable suffixes) and skips them all
    again = batch(mapfile, each=str(areas), name_field="name", out_dir=out, workers=0)
    assert [r["key"] for r in again.rows] == folders
    assert {r["status"] for r in again.rows} == {"skipped"}
    # the manifest says which folders were renamed, and why
    rows = _manifest(out)
    renamed = [r for r in rows if r["folder note"]]
    assert [r["area"] for r in renamed] == ["X", "ガイド", "KITA"]
    assert all(r["folder"] in r["folder note"] for r in renamed)
    assert rows[0]["folder"] == "X" and rows[0]["folder note"] == ""


def test_area_named_like_the_summary_files_keeps_the_summary(tmp_path):
    names = [
        "index.html",
        "manifest.json",
        "Manifest.CSV",
        "CON",
        "nul.txt",
        ".civicmap-batch.json",
    ]
    areas, mapfile, places = _areas_and_map(tmp_path, names)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["batch", str(mapfile), "--each", str(areas), "--name", "name", "-o", str(out),
               "--workers", "0"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert (out / "index.html").is_file() and (out / "manifest.csv").is_file()
    doc = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in doc["rows"]] == names
    index = (out / "index.html").read_text(encoding="utf-8")
    for row, place in zip(doc["rows"], places, strict=True):
        folder = out / row["key"]
        assert row["key"].casefold() not in {n.casefold() for n in names}
        assert folder.is_dir() and _places_in(folder / "map.geojson") == [place]
        assert f'href="{row["key"]}/map.geojson"' in index


def test_a_320_byte_name_builds_with_a_short_folder_and_no_traceback(tmp_path):
    long = "日吉津村大字" * 18  # 18 × 6 characters × 3 bytes = 324 bytes
    assert len(long.encode()) > 320
    areas, mapfile, places = _areas_and_map(tmp_path, [long, long + "二", "今吉"])
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["batch", str(mapfile), "--each", str(areas), "--name", "name", "-o", str(out),
               "--workers", "0"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output and "Error" not in res.output
    rows = _manifest(out)
    assert [r["status"] for r in rows] == ["ok"] * 3
    assert rows[0]["area"] == long  # the name itself is kept for titles and the manifest
    for row, place in zip(rows, places, strict=True):
        assert len(row["folder"].encode()) <= MAX_FOLDER_BYTES
        assert _places_in(out / row["folder"] / "map.geojson") == [place]
    # the two long names share their first 100 bytes: still two folders
    assert rows[0]["folder"] != rows[1]["folder"]
    assert "100" in rows[0]["folder note"]


def test_control_characters_never_reach_a_folder_name(tmp_path):
    areas, mapfile, _places = _areas_and_map(tmp_path, ["今\n吉\x00\x1b[31m", "a/../../b"])
    out = tmp_path / "out"
    result = batch(mapfile, each=str(areas), name_field="name", out_dir=out, workers=0)
    assert [r["status"] for r in result.rows] == ["ok", "ok"]
    for row in result.rows:
        assert not any(ord(c) < 32 for c in row["key"] + row["name"])
        assert "/" not in row["key"] and (out / row["key"]).parent == out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["areas.geojson", "map.yaml", "out", "places.csv", "places.yaml"]
    )


def test_a_symlink_planted_in_the_output_folder_is_not_followed(tmp_path):
    areas, mapfile, places = _areas_and_map(tmp_path, ["今吉", "富吉"])
    out = tmp_path / "out"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    out.mkdir()
    os.symlink(outside, out / "今吉")
    res = CliRunner().invoke(
        main, ["batch", str(mapfile), "--each", str(areas), "--name", "name", "-o", str(out),
               "--workers", "0"],
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    assert list(outside.iterdir()) == []  # nothing written through the link
    rows = {r["area"]: r for r in _manifest(out)}
    assert rows["今吉"]["status"] == "failed"
    assert "symbolic link" in rows["今吉"]["error"]
    assert rows["富吉"]["status"] == "ok"
    assert _places_in(out / "富吉" / "map.geojson") == [places[1]]


def test_formula_looking_names_are_text_in_every_manifest_cell(tmp_path):
    names = ['=HYPERLINK("http://evil.example/","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)"]
    areas, mapfile, _places = _areas_and_map(tmp_path, names)
    out = tmp_path / "out"
    result = batch(mapfile, each=str(areas), name_field="name", out_dir=out, workers=0)
    assert [r["status"] for r in result.rows] == ["ok"] * 4
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    cells = [c for row in table[1:] for c in row]
    assert cells, table
    risky = [c for c in cells if c.startswith(FORMULA_START)]
    assert risky == [], risky
    # the text itself is kept, behind the quote
    body = set(cells)
    assert "'" + names[0] in body and any(c.startswith("'" + names[0].split("/")[0]) for c in body)


def test_where_keeps_equal_names_of_a_file_without_codes_apart(tmp_path):
    """Without a 町丁目 key or municipality code, two equal names are two places: two maps."""
    areas, mapfile, places = _areas_and_map(tmp_path, ["X", "X", "Y"])
    out = tmp_path / "out"
    result = batch(
        mapfile, each=str(areas), name_field="name", where="name=X", out_dir=out, workers=0
    )
    assert [r["key"] for r in result.rows] == ["X", "X_2"]
    assert [_places_in(out / r["key"] / "map.geojson") for r in result.rows] == [
        [places[0]],
        [places[1]],
    ]


def test_an_area_folder_that_is_a_strangers_or_holds_an_input_is_refused(tmp_path):
    # The batch writes into the project folder itself (out_dir "."), where an area is named
    # like the user's own notes folder and another like the folder holding the map's data.
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "diary.txt").write_text("mine", encoding="utf-8")
    areas, mapfile, _places = _areas_and_map(tmp_path, ["notes", "data", "kita"])
    (tmp_path / "data").mkdir()
    (tmp_path / "places.csv").rename(tmp_path / "data" / "places.csv")
    yaml = (tmp_path / "places.yaml").read_text(encoding="utf-8")
    (tmp_path / "places.yaml").write_text(yaml.replace("places.csv", "data/places.csv"), "utf-8")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = batch(mapfile, each=str(areas), name_field="name", out_dir=tmp_path, workers=0)
    by_name = {r["name"]: r for r in result.rows}
    assert by_name["notes"]["status"] == "failed" and "notes" in by_name["notes"]["error"]
    assert by_name["data"]["status"] == "failed" and "places.csv" in by_name["data"]["error"]
    assert by_name["kita"]["status"] == "ok"
    for path, data in before.items():  # nothing the user had was touched
        assert path.read_bytes() == data, path
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == ["diary.txt"]
    assert not (tmp_path / ".civicmap.lock").exists()  # the batch's lock is gone with it
