"""Damaged cache and pack entries: found by their checksum, fetched again or reported.

A cache entry cut short (a full disk, a killed run, a sync tool) used to break
every later build with a JSON traceback, online too. Now a damaged entry is
fetched again when the network is there, and named with its fix when not.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from civicmap import _http, settings
from civicmap.cli import main
from civicmap.errors import OfflineError
from civicmap.sources.opendata import read_csv

DATA = Path(__file__).resolve().parents[1] / "data"
#: The SmallAroundWaseda.osm extent (as tests/conftest.py).
WASEDA_BBOX = [139.7031784, 35.7039554, 139.7098839, 35.7093917]
HOSPITALS = DATA / "opendata" / "hospitals_address_only.csv"


def http_entries() -> list[Path]:
    return sorted(Path(settings.cache_folder, "http").glob("*.json"))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def located(result) -> list[tuple[str, float, float]]:
    f = result.features
    return sorted(
        (n, round(g.x, 4), round(g.y, 4)) for n, g in zip(f["name"], f.geometry, strict=True)
    )


def test_truncated_geocoder_entries_are_fetched_again_online(geocoder, caplog):
    first = read_csv(HOSPITALS, layer="x", options={"geocode": True})
    entries = http_entries()
    assert len(entries) == 3 == len(geocoder)  # three distinct addresses in the file
    for p in entries:
        truncate(p)
    with caplog.at_level(logging.WARNING, logger="civicmap._http"):
        again = read_csv(HOSPITALS, layer="x", options={"geocode": True})
    assert located(again) == located(first) and len(located(first)) == 2
    assert len(geocoder) == 6  # each damaged entry asked again
    damaged = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(damaged) == 3 and all(str(p) in " ".join(damaged) for p in entries)
    # and the entries are whole again: a third read asks nothing
    read_csv(HOSPITALS, layer="x", options={"geocode": True})
    assert len(geocoder) == 6


def test_truncated_geocoder_entries_offline_are_reported_per_row(geocoder, monkeypatch):
    read_csv(HOSPITALS, layer="x", options={"geocode": True})
    for p in http_entries():
        truncate(p)
    monkeypatch.setattr(settings, "offline", True)
    r = read_csv(HOSPITALS, layer="x", options={"geocode": True})  # no exception
    assert len(r.features) == 0 and len(r.rejected) == 3
    for problem in r.rejected:
        assert "cache entry" in problem.reason and "damaged" in problem.reason
        assert "--refresh" in problem.reason
    with pytest.raises(OfflineError, match=r"damaged.*civicmap build MAP\.yaml --refresh"):
        _http.get_json(settings.geocoder_url, params={"q": "金沢市鞍月東2丁目1番地"})


def test_a_build_after_a_truncated_geocoder_entry_still_works(geocoder, tmp_path):
    (tmp_path / "h.csv").write_bytes(HOSPITALS.read_bytes())
    (tmp_path / "h.yaml").write_text(
        "id: hospitals\ntitle: 病院\nsources:\n  - csv: {path: h.csv, geocode: true}\n"
        'style: {color: "#e03131"}\n',
        encoding="utf-8",
    )
    m = tmp_path / "map.yaml"
    m.write_text(
        "title: 病院\narea: {bbox: [136.2, 36.0, 137.4, 37.6]}\nlayers: [h.yaml]\n"
        "basemap: {draw: false}\noutputs:\n  geojson: {file: out/h.geojson}\n",
        encoding="utf-8",
    )
    assert CliRunner().invoke(main, ["build", str(m)]).exit_code == 0
    for p in http_entries():
        truncate(p)
    res = CliRunner().invoke(main, ["build", str(m), "--overwrite"])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "out" / "h.geojson").read_text(encoding="utf-8"))
    assert len(doc["features"]) == 2


# --- Overpass cache and packs ---------------------------------------------------


@pytest.fixture
def osm_map(tmp_path, overpass_server, monkeypatch) -> Path:
    monkeypatch.setattr(settings, "overpass_check_status", False)
    path = tmp_path / "map.yaml"
    path.write_text(
        json.dumps(
            {
                "title": "西早稲田",
                "area": {"bbox": WASEDA_BBOX},
                "osm": {"overpass": True, "overpass_url": overpass_server.url},
                "layers": ["childcare"],
                "basemap": {"draw": False},
                "outputs": {"geojson": {"file": "out/map.geojson"}},
            }
        ),
        encoding="utf-8",
    )
    return path


def features(map_file: Path) -> list[str]:
    doc = json.loads((map_file.parent / "out" / "map.geojson").read_text(encoding="utf-8"))
    return sorted(f["properties"]["source_ref"] for f in doc["features"])


def build(map_file: Path, *args: str):
    return CliRunner().invoke(main, ["build", str(map_file), "--overwrite", *args])


def test_damaged_overpass_entry_refetched_online_reported_offline(
    osm_map, overpass_server, monkeypatch
):
    assert build(osm_map).exit_code == 0
    first = features(osm_map)
    assert first  # the childcare layer has features in this area
    (body,) = Path(settings.cache_folder, "overpass").glob("*.osm")
    truncate(body)
    res = build(osm_map, "--offline")
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)
    line = res.output.splitlines()[-1]
    assert line.startswith("Error: offline mode") and str(body) in line
    assert "does not match its checksum" in line and "--refresh" in line
    assert settings.offline is False  # --offline is passed down, never left in the settings
    res = build(osm_map)
    assert res.exit_code == 0, res.output
    assert "damaged" in res.output and str(body) in res.output  # the warning names it
    assert features(osm_map) == first
    assert len(overpass_server.interpreter_requests()) == 2


def test_build_refresh_asks_again(osm_map, overpass_server):
    assert build(osm_map).exit_code == 0
    assert build(osm_map).exit_code == 0
    assert len(overpass_server.interpreter_requests()) == 1  # second build from the cache
    assert build(osm_map, "--refresh").exit_code == 0
    assert len(overpass_server.interpreter_requests()) == 2
    res = build(osm_map, "--refresh", "--offline")
    assert res.exit_code == 2 and "cannot be used with --offline" in res.output


def test_damaged_pack_entry(osm_map, overpass_server, tmp_path, monkeypatch):
    pack = tmp_path / "pack"
    res = CliRunner().invoke(main, ["fetch", str(osm_map), "-o", str(pack), "--no-streets"])
    assert res.exit_code == 0, res.output
    (body,) = pack.glob("*.osm")
    body.write_bytes(body.read_bytes().replace(b"kindergarten", b"kindergartem", 1))
    res = build(osm_map, "--pack", str(pack), "--offline")
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)
    line = res.output.splitlines()[-1]
    assert (
        str(body) in line and "checksum" in line and "civicmap fetch MAP.yaml --overwrite" in line
    )
    # online, Overpass answers instead (and says which pack entry was unusable)
    monkeypatch.setattr(settings, "offline", False)
    for p in Path(settings.cache_folder).rglob("*.*"):
        p.unlink()  # so the answer must come from Overpass itself
    n = len(overpass_server.interpreter_requests())
    res = build(osm_map, "--pack", str(pack))
    assert res.exit_code == 0, res.output
    assert len(overpass_server.interpreter_requests()) == n + 1
    assert str(body) in res.output
    # a manifest that is JSON but not an object
    (pack / "manifest.json").write_text("[1, 2]", encoding="utf-8")
    res = build(osm_map, "--pack", str(pack), "--offline")
    assert res.exit_code == 1 and "not a pack manifest" in res.output.splitlines()[-1]
