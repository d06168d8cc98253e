"""Dates that tell the truth: a map prints its data's own dates, never the clock (#14, #30).

The date printed on the paper map (データ時点 / "Data as of") and carried by the web
page is the newest KNOWN date of the data: the OSM data's ``osm_base`` and the
``date:`` the map file gives a source. A file's modification time is no date (a
clone or a copy changes it): a CSV without ``date:`` is undated, and a map with no
known date prints none. The background tiles are dated in their own credit by the
tile server's answer (``Last-Modified``), online and from the pack alike, so the two
builds give the same PDF. ``SOURCE_DATE_EPOCH`` overrides データ時点. The expected
dates are read here independently of the code (the .osm file's timestamps, the
header the loopback tile server sends, the dates we write).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from paths import TESTS

from civicmap import mapdata, settings
from civicmap.pipeline import build
from civicmap.spec.mapfile import load_map

DATA = TESTS / "data"
TOYAMA_CSV = DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv"
WASEDA_OSM = (DATA / "osm/SmallAroundWaseda.osm").resolve()
BBOX = [137.20, 36.69, 137.22, 36.70]
#: The CSV's modification time, set by the tests: newer than any data date, never printed.
CSV_TIME = dt.datetime(2029, 9, 9, 12, 0, tzinfo=dt.UTC)
#: The publication date the map file gives the CSV (``date:``).
CSV_DATE = "2024-04-01"
#: What the loopback tile server says its tiles were last modified.
TILES_MODIFIED = "Wed, 01 Mar 2023 10:00:00 GMT"


def _clock(day: str):
    """A stand-in for the one clock function, fixed at ``day``."""
    return lambda: dt.datetime.fromisoformat(day + "T09:00:00+09:00")


def write_map(folder: Path, *, basemap: dict, outputs: dict, osm=False, bbox=BBOX, date=CSV_DATE):
    csv = folder / "nursery.csv"
    if not csv.exists():
        csv.write_bytes(TOYAMA_CSV.read_bytes())
        os.utime(csv, (CSV_TIME.timestamp(), CSV_TIME.timestamp()))
    raw = {
        "title": "富山市 保育施設マップ",
        "area": {"bbox": bbox},
        "osm": osm,
        "basemap": basemap,
        "layers": [
            {
                "id": "nursery",
                "title": {"ja": "保育施設", "en": "Childcare"},
                "sources": [{"csv": {"path": "nursery.csv", **({"date": date} if date else {})}}],
            }
        ],
        "outputs": outputs,
    }
    (folder / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return folder / "map.yaml"


def pdftext(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def page_built(html: Path) -> str:
    m = re.search(r'id="civicmap-data">(.*?)</script>', html.read_text(encoding="utf-8"), re.S)
    return json.loads(m.group(1))["built"]


@pytest.fixture(scope="module")
def two_days(tmp_path_factory, tile_server):
    """The 富山市 map from its pack, network off, built on two different days."""

    from civicmap.pack import fetch_pack
    from civicmap.render import tiles

    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("dates")
    mp.delenv("SOURCE_DATE_EPOCH", raising=False)
    from tile_server import use_loopback_gsi

    use_loopback_gsi(mp, tile_server, cache_folder=folder / "cache")
    tile_server.last_modified = TILES_MODIFIED
    try:
        path = write_map(
            folder,
            basemap={"tiles": "gsi-pale"},
            outputs={
                "paper": {"file": "out/map.pdf", "size": "A4"},
                "web": {"file": "out/map.html", "self_contained": True},
                "geojson": {"file": "out/map.geojson"},
                "kml": {"file": "out/map.kml"},
                "umap": {"file": "out/map.umap"},
            },
        )
        info = fetch_pack(load_map(path))
        mp.setattr(settings, "offline", True)
        mp.setattr(settings, "cache_folder", folder / "cache-empty")
        builds = []
        for day in ("2030-01-15", "2031-07-02"):
            mp.setattr(mapdata, "build_time", _clock(day))
            tiles._FETCHERS.clear()
            written = build(load_map(path), overwrite=True)
            builds.append({p.name: p.read_bytes() for ps in written.values() for p in ps})
        yield {"folder": folder, "pack": info.folder, "builds": builds, "written": written}
    finally:
        tile_server.last_modified = None
        mp.undo()
        tiles._FETCHERS.clear()


def test_the_same_map_on_two_days_is_byte_identical_for_every_file(two_days):
    first, second = two_days["builds"]
    assert sorted(first) == ["map.geojson", "map.html", "map.kml", "map.pdf", "map.umap"]
    for name in first:
        assert first[name] == second[name], f"{name} differs between the two days"


def test_the_printed_date_is_the_sources_date_and_the_tiles_carry_their_own(two_days, tmp_path):
    pdf = tmp_path / "m.pdf"
    pdf.write_bytes(two_days["builds"][1]["map.pdf"])
    text = re.sub(r"[ \t]+", " ", pdftext(pdf))
    assert f"データ時点: {CSV_DATE}" in text  # the map file's date:, not the file's mtime
    assert f"{CSV_TIME:%Y-%m-%d}" not in text
    assert "2030-01-15" not in text and "2031-07-02" not in text and "印刷日" not in text
    # the tiles' credit: the tile server's Last-Modified, kept in the pack (not the fetch day)
    stored = json.loads(
        (two_days["pack"] / "tiles/gsi-pale/tiles.json").read_text(encoding="utf-8")
    )
    assert stored["date"] == "2023-03-01"
    assert re.search(r"地理院タイル[^・]*/2023-03-01", "".join(text.split())), text
    html = two_days["written"]["web"][0]
    assert page_built(html) == CSV_DATE


def test_a_csv_only_map_prints_the_sources_date_and_source_date_epoch_wins(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setattr(mapdata, "build_time", _clock("2030-01-15"))
    path = write_map(
        tmp_path,
        basemap={"tiles": "none"},
        outputs={"web": {"file": "out/map.html", "tiles": "none"}},
    )
    html = build(load_map(path))["web"][0]
    assert page_built(html) == CSV_DATE  # the map file's date:, not the CSV's mtime
    monkeypatch.setenv(
        "SOURCE_DATE_EPOCH", str(int(dt.datetime(2025, 5, 5, tzinfo=dt.UTC).timestamp()))
    )
    html = build(load_map(path), overwrite=True)["web"][0]
    assert page_built(html) == "2025-05-05"


def test_an_english_paper_map_says_data_as_of(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setattr(mapdata, "build_time", _clock("2030-01-15"))
    path = write_map(tmp_path, basemap={"tiles": "none"}, outputs={"paper": {"file": "m.pdf"}})
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["language"] = "en"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    text = re.sub(r"[ \t]+", " ", pdftext(build(load_map(path))["paper"][0]))
    assert f"Data as of: {CSV_DATE}" in text and "Printed" not in text


def test_an_osm_extract_is_dated_by_its_newest_element(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setattr(mapdata, "build_time", _clock("2030-01-15"))
    text = WASEDA_OSM.read_text(encoding="utf-8")
    newest = max(re.findall(r"timestamp=['\"]([^'\"]+)", text))  # ISO strings sort by time
    expected = dt.datetime.fromisoformat(newest.replace("Z", "+00:00"))
    path = write_map(
        tmp_path,
        basemap={"tiles": "none"},
        osm={"file": str(WASEDA_OSM)},
        outputs={"paper": {"file": "out/map.pdf"}},
        bbox=[139.7032, 35.7040, 139.7099, 35.7094],
    )
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["layers"].append(
        {"id": "schools", "title": "学校", "sources": [{"osm": {"match": {"amenity": "school"}}}]}
    )
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    raw["layers"][0]["sources"][0]["csv"]["date"] = "2019-01-01"  # older than the OSM data
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    pdf = build(load_map(path))["paper"][0]
    printed = re.sub(r"[ \t]+", " ", pdftext(pdf))
    assert f"データ時点: {expected:%Y-%m-%d}" in printed


def test_a_copied_undated_file_gives_no_data_date_and_each_credit_says_date_unknown(
    tmp_path, monkeypatch
):
    """A clone or a copy sets a file's mtime to today: that must not become データ時点."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setattr(mapdata, "build_time", _clock("2030-01-15"))
    path = write_map(
        tmp_path, basemap={"tiles": "none"}, outputs={"paper": {"file": "m.pdf"},
        "web": {"file": "m.html", "tiles": "none"}}, date=None,
    )  # fmt: skip
    now = dt.datetime.now(dt.UTC).timestamp()
    os.utime(tmp_path / "nursery.csv", (now, now))  # as a fresh clone leaves it
    written = build(load_map(path))
    text = re.sub(r"[ \t]+", " ", pdftext(written["paper"][0]))
    assert "データ時点" not in text
    assert f"{dt.datetime.now(dt.UTC):%Y-%m-%d}" not in text and "2030-01-15" not in text
    assert text.count("日付不明") == 1  # the one undated source says so, once
    assert page_built(written["web"][0]) == ""


def test_a_sources_date_is_validated_at_load_naming_the_key(tmp_path):
    from civicmap.errors import ConfigError

    path = write_map(tmp_path, basemap={"tiles": "none"}, outputs={"paper": {"file": "m.pdf"}},
                     date="2024-13-01")  # fmt: skip
    with pytest.raises(ConfigError, match=r"sources\[0\]\.csv\.date.*2024-13-01.*ISO date"):
        load_map(path)
    # YAML's own date and a bare year are taken as they are
    text = path.read_text(encoding="utf-8").replace("'2024-13-01'", "2024-02-29")
    path.write_text(text, encoding="utf-8")
    assert load_map(path).layers[0].sources[0].options["date"] == "2024-02-29"


def test_a_tile_map_built_online_and_rebuilt_from_its_pack_gives_identical_pdf_bytes(
    tmp_path, tile_server, monkeypatch
):
    from tile_server import use_loopback_gsi

    from civicmap.pack import fetch_pack
    from civicmap.render import tiles

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    tile_server.reset()
    tile_server.last_modified = TILES_MODIFIED
    use_loopback_gsi(monkeypatch, tile_server, cache_folder=tmp_path / "cache")
    path = write_map(tmp_path, basemap={"tiles": "gsi-pale"},
                     outputs={"paper": {"file": "out/map.pdf", "size": "A4"}}, date=None)  # fmt: skip
    online = build(load_map(path))["paper"][0].read_bytes()
    assert any(r.endswith(".png") for r in tile_server.requests)
    fetch_pack(load_map(path))
    monkeypatch.setattr(settings, "offline", True)
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache-empty")
    tiles._FETCHERS.clear()
    from_pack = build(load_map(path), overwrite=True)["paper"][0].read_bytes()
    text = re.sub(r"[ \t]+", " ", pdftext(path.parent / "out/map.pdf"))
    assert re.search(r"地理院タイル[^・]*/2023-03-01", "".join(text.split())), text
    assert not re.search(r"地理院タイル[^・]*/日付不明", "".join(text.split()))
    assert online == from_pack
    tile_server.last_modified = None
