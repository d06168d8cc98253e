"""Rebuilds are byte-identical without the clock: the date a map prints is its data's (#14).

The date printed on the paper map (データ時点 / "Data as of") and carried by the web
page is the newest of the data's own dates: the OSM data's ``osm_base``, the pack's
tile fetch time, a local file's modification time. ``SOURCE_DATE_EPOCH`` overrides.
The expected dates are read here independently of the code (tiles.json, the .osm
file's timestamps, the mtime we set).
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

from civicmap import mapdata, settings
from civicmap.mapfile import load_map
from civicmap.pipeline import build

DATA = Path(__file__).parent / "data"
TOYAMA_CSV = DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv"
WASEDA_OSM = (DATA / "osm/SmallAroundWaseda.osm").resolve()
BBOX = [137.20, 36.69, 137.22, 36.70]
#: The CSV's modification time, set by the tests (older than any pack made today).
CSV_TIME = dt.datetime(2024, 4, 1, 12, 0, tzinfo=dt.UTC)


def _clock(day: str):
    """A stand-in for the one clock function, fixed at ``day``."""
    return lambda: dt.datetime.fromisoformat(day + "T09:00:00+09:00")


def write_map(folder: Path, *, basemap: dict, outputs: dict, osm=False, bbox=BBOX):
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
                "sources": [{"csv": {"path": "nursery.csv"}}],
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
    try:
        path = write_map(
            folder,
            basemap={"tiles": "gsi-pale"},
            outputs={
                "paper": {"file": "out/map.pdf", "size": "A4"},
                "web": {"file": "out/map.html", "offline": True},
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
        mp.undo()
        tiles._FETCHERS.clear()


def test_the_same_map_on_two_days_is_byte_identical_for_every_file(two_days):
    first, second = two_days["builds"]
    assert sorted(first) == ["map.geojson", "map.html", "map.kml", "map.pdf", "map.umap"]
    for name in first:
        assert first[name] == second[name], f"{name} differs between the two days"


def test_the_printed_date_is_the_newest_data_date_not_the_clock(two_days, tmp_path):
    # independently: the pack's tile fetch time (tiles.json) vs the CSV's mtime we set
    stored = json.loads(
        (two_days["pack"] / "tiles/gsi-pale/tiles.json").read_text(encoding="utf-8")
    )
    fetched = dt.datetime.fromisoformat(stored["fetched"])
    expected = max(fetched, CSV_TIME).astimezone(dt.UTC).strftime("%Y-%m-%d")
    pdf = tmp_path / "m.pdf"
    pdf.write_bytes(two_days["builds"][1]["map.pdf"])
    text = re.sub(r"[ \t]+", " ", pdftext(pdf))
    assert f"データ時点: {expected}" in text
    assert "2030-01-15" not in text and "2031-07-02" not in text and "印刷日" not in text
    html = two_days["written"]["web"][0]
    assert page_built(html) == expected


def test_a_csv_only_map_prints_the_files_date_and_source_date_epoch_wins(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setattr(mapdata, "build_time", _clock("2030-01-15"))
    path = write_map(
        tmp_path,
        basemap={"tiles": "none"},
        outputs={"web": {"file": "out/map.html", "tiles": "none"}},
    )
    html = build(load_map(path))["web"][0]
    assert page_built(html) == "2024-04-01"  # the mtime set on the CSV
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
    assert "Data as of: 2024-04-01" in text and "Printed" not in text


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
    old = dt.datetime(2019, 1, 1, tzinfo=dt.UTC).timestamp()
    os.utime(tmp_path / "nursery.csv", (old, old))  # older than the OSM data
    pdf = build(load_map(path))["paper"][0]
    printed = re.sub(r"[ \t]+", " ", pdftext(pdf))
    assert f"データ時点: {expected:%Y-%m-%d}" in printed
