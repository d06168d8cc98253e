"""Remote sources (issue 27): a layer's file on a server, refreshed, packed, used offline.

Every test runs a real file server on 127.0.0.1 (tests/remote_server.py) whose
answer changes between two fetches, as a volunteer's published spreadsheet does:
a place closes, one opens, one becomes 不明. The clock of
:mod:`civicmap.sources.remote` is moved to cross a ``refresh`` interval.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from remote_server import SHELTERS_V1, SHELTERS_V2, FileServer

from civicmap.cli import main
from civicmap.pack import with_pack
from civicmap.pipeline import build_with_data, collect
from civicmap.spec.mapfile import load_map


@pytest.fixture
def server(remote_files):
    """The shared loopback file server (conftest.py), serving SHELTERS_V1."""
    return remote_files


@pytest.fixture
def clock(remote_clock):
    return remote_clock


def write_map(folder: Path, url: str, *, refresh: str = "1h", outputs: str = "") -> Path:
    outputs = outputs or "  geojson: {file: out/map.geojson}\n"
    (folder / "map.yaml").write_text(
        "title: 給水・入浴マップ\n"
        "area: {bbox: [139.700, 35.700, 139.712, 35.712]}\n"
        "osm: false\n"
        "layers:\n"
        "  - id: living\n"
        "    title: 開設状況\n"
        "    sources:\n"
        f'      - csv: {{url: "{url}", refresh: {refresh}}}\n'
        "    popup: [name, 状態]\n"
        f"outputs:\n{outputs}",
        encoding="utf-8",
    )
    return folder / "map.yaml"


def states(geojson: Path) -> dict[str, str]:
    doc = json.loads(geojson.read_text(encoding="utf-8"))
    return {f["properties"]["name"]: f["properties"]["状態"] for f in doc["features"]}


DAY1 = {"西早稲田避難所": "開設", "戸山公園給水所": "開設", "高田馬場銭湯": "開設"}
DAY2 = {**DAY1, "西早稲田避難所": "閉鎖", "高田馬場銭湯": "不明", "大久保地域センター": "開設"}


def test_the_build_picks_up_the_change_after_refresh_and_not_before(tmp_path, server, clock):
    path = write_map(tmp_path, server.url("shelters.csv"), refresh="1h")
    out = tmp_path / "out" / "map.geojson"
    build_with_data(path, overwrite=True)
    assert states(out) == DAY1
    server.files["shelters.csv"] = SHELTERS_V2  # the volunteers edit the sheet

    clock.advance(minutes=59)  # within refresh: the copy, the server is not asked
    build_with_data(path, overwrite=True)
    assert states(out) == DAY1
    assert server.asked("shelters.csv") == 1

    clock.advance(minutes=2)  # past refresh: asked again, the change is on the map
    data, _written = build_with_data(path, overwrite=True)
    assert states(out) == DAY2
    assert server.asked("shelters.csv") == 2
    assert data.built == "2026-12-01"  # a copy fetched at T is dated T
    assert data.layers[0].fetched == ["2026-12-01T10:01:00+00:00"]


def test_refresh_flag_asks_the_server_within_the_interval(tmp_path, server, clock):
    path = write_map(tmp_path, server.url("shelters.csv"), refresh="1d")
    out = tmp_path / "out" / "map.geojson"
    build_with_data(path, overwrite=True)
    server.files["shelters.csv"] = SHELTERS_V2
    build_with_data(path, overwrite=True, refresh=True)  # civicmap build --refresh
    assert states(out) == DAY2
    assert server.asked("shelters.csv") == 2


def test_fetch_stores_the_copy_and_the_offline_rebuild_is_byte_identical(
    tmp_path, server, clock, monkeypatch
):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764579600")
    url = server.url("shelters.csv") + "?token=s3cret-value"
    path = write_map(
        tmp_path,
        url,
        outputs="  geojson: {file: out/map.geojson}\n  kml: {file: out/map.kml}\n"
        "  umap: {file: out/map.umap}\n  web: {file: out/map.html}\n"
        "  paper: {file: out/map.pdf, size: A4}\n",
    )
    runner = CliRunner()
    fetched = runner.invoke(main, ["fetch", str(path), "-o", str(tmp_path / "pack")])
    assert fetched.exit_code == 0, fetched.output
    assert "shelters.csv" in fetched.output and "2026-12-01 09:00 UTC" in fetched.output
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_text(encoding="utf-8"))
    (record,) = manifest["remote"]
    assert record["fetched"] == "2026-12-01T09:00:00+00:00"
    assert "s3cret" not in json.dumps(manifest)  # a pack is handed around: no token in it
    stored = tmp_path / "pack" / "remote" / record["key"]
    assert (stored / "shelters.csv").read_bytes() == SHELTERS_V1

    online = runner.invoke(main, ["build", str(path), "--out", str(tmp_path / "online")])
    assert online.exit_code == 0, online.output
    asked = server.asked("shelters.csv")
    assert asked == 1  # the build used the copy fetch made (within refresh)
    server.files["shelters.csv"] = SHELTERS_V2
    server.stop()  # no server any more: the pack alone
    clock.advance(days=3)
    offline = runner.invoke(
        main,
        ["build", str(path), "--pack", str(tmp_path / "pack"), "--offline",
         "--out", str(tmp_path / "offline")],
    )  # fmt: skip
    assert offline.exit_code == 0, offline.output
    for name in ("map.geojson", "map.kml", "map.umap", "map.html", "map.pdf"):
        a = (tmp_path / "online" / name).read_bytes()
        b = (tmp_path / "offline" / name).read_bytes()
        assert a == b, name
    assert states(tmp_path / "offline" / "map.geojson") == DAY1


def test_the_pack_is_used_even_online_and_the_server_is_not_asked(tmp_path, server, clock):
    path = write_map(tmp_path, server.url("shelters.csv"), refresh="0s")
    runner = CliRunner()
    assert runner.invoke(main, ["fetch", str(path), "-o", str(tmp_path / "pack")]).exit_code == 0
    server.files["shelters.csv"] = SHELTERS_V2
    res = runner.invoke(main, ["build", str(path), "--pack", str(tmp_path / "pack")])
    assert res.exit_code == 0, res.output
    assert states(tmp_path / "out" / "map.geojson") == DAY1
    assert server.asked("shelters.csv") == 1
    clock.advance(days=2)
    data = collect(with_pack(load_map(path), tmp_path / "pack"), offline=True)
    assert data.built == "2026-12-01"  # dated by the copy's fetch time, kept in the pack
    assert data.layers[0].fetched == ["2026-12-01T09:00:00+00:00"]


def _break(server: FileServer, how) -> None:
    if how == "down":
        server.stop()
    else:
        server.script["shelters.csv"] = [how] * 10


@pytest.mark.parametrize("how", ["down", 500, "truncated", "empty"])
def test_a_failed_refresh_keeps_the_last_good_copy_and_says_how_old(
    tmp_path, server, clock, how, caplog
):
    path = write_map(tmp_path, server.url("shelters.csv"), refresh="1h")
    runner = CliRunner()
    first = runner.invoke(main, ["build", str(path)])
    assert first.exit_code == 0, first.output
    server.files["shelters.csv"] = SHELTERS_V2
    _break(server, how)
    clock.advance(hours=3, minutes=5)
    res = runner.invoke(main, ["build", str(path), "--overwrite"])
    assert res.exit_code == 0, res.output
    assert states(tmp_path / "out" / "map.geojson") == DAY1  # the last good data
    lines = [ln for ln in res.output.splitlines() if "refresh failed" in ln]
    assert len(lines) == 1, res.output  # one line: what failed, how old, what to do
    assert "3 h 5 min ago" in lines[0] and "2026-12-01 09:00 UTC" in lines[0]
    assert "Build again once the server answers" in lines[0]


@pytest.mark.parametrize("how", ["down", 500, "truncated"])
def test_the_map_is_dated_by_the_kept_copy(tmp_path, server, clock, how):
    path = write_map(tmp_path, server.url("shelters.csv"), refresh="1h")
    build_with_data(path, overwrite=True)
    _break(server, how)
    clock.advance(days=2)  # 2026-12-03: a new copy would print that date
    data, _written = build_with_data(path, overwrite=True)
    assert data.built == "2026-12-01"
    (credit,) = data.layers[0].credits
    assert credit.source == "shelters.csv" and credit.date == "2026-12-01"
    assert data.layers[0].fetched == ["2026-12-01T09:00:00+00:00"]


def test_a_refresh_that_does_not_read_keeps_the_copy(tmp_path, server, clock, caplog):
    path = write_map(tmp_path, server.url("shelters.csv"), refresh="1h")
    build_with_data(path, overwrite=True)
    server.files["shelters.csv"] = b"<html><body>Sign in to continue</body></html>"
    clock.advance(hours=2)
    with caplog.at_level(logging.WARNING):
        build_with_data(path, overwrite=True)
    assert states(tmp_path / "out" / "map.geojson") == DAY1
    assert any("refresh failed" in r.getMessage() for r in caplog.records)
    # the kept copy is still whole in the cache: offline builds use it
    clock.advance(hours=1)
    build_with_data(path, overwrite=True, offline=True)
    assert states(tmp_path / "out" / "map.geojson") == DAY1


def test_no_copy_and_no_server_is_one_clear_error(tmp_path, server):
    path = write_map(tmp_path, server.url("shelters.csv"))
    server.stop()
    res = CliRunner().invoke(main, ["build", str(path)])
    assert res.exit_code != 0
    assert "Traceback" not in res.output
    assert "shelters.csv" in res.output


def test_offline_without_a_copy_says_what_to_do(tmp_path, server):
    path = write_map(tmp_path, server.url("shelters.csv"))
    res = CliRunner().invoke(main, ["build", str(path), "--offline"])
    assert res.exit_code != 0
    assert "civicmap fetch" in res.output
    assert server.asked("shelters.csv") == 0


def test_check_reports_the_copy_age_and_the_pack(tmp_path, server, clock):
    path = write_map(tmp_path, server.url("shelters.csv"), refresh="2h")
    runner = CliRunner()

    def report() -> dict:
        res = runner.invoke(main, ["check", "--json", str(path)])
        assert res.exit_code == 0, res.output
        (state,) = json.loads(res.output)["remote"]
        return state

    before = report()
    assert before["cached"] is None and before["in_pack"] is None
    assert server.asked("shelters.csv") == 0  # check never asks the server
    build_with_data(path, overwrite=True)
    clock.advance(minutes=30)
    after = report()
    assert after["cached"] == "fetched 2026-12-01 09:00 UTC, 30 min ago"
    assert after["fresh"] is True and after["refresh"] == "2 h 0 min"
    fetched = runner.invoke(main, ["fetch", str(path)])  # osm-pack beside the map
    assert fetched.exit_code == 0, fetched.output
    assert report()["in_pack"] == "fetched 2026-12-01 09:00 UTC"
    assert server.asked("shelters.csv") == 1  # fetch used the copy within refresh


def test_the_sheet_prints_the_kept_copys_date(tmp_path, server, clock):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = write_map(
        tmp_path, server.url("shelters.csv"), outputs="  paper: {file: out/map.pdf, size: A4}\n"
    )
    build_with_data(path, overwrite=True)
    server.stop()
    clock.advance(days=4)
    build_with_data(path, overwrite=True)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "out" / "map.pdf"), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    flat = " ".join(text.split())
    assert "データ時点: 2026-12-01" in flat and "2026-12-05" not in flat
    # the source's credit (none given: said so, never the file's name), dated by the copy
    assert "出典の記載なし / 2026-12-01" in flat and "shelters.csv" not in flat


def test_an_unchanged_file_is_confirmed_by_a_conditional_get_and_dated_by_it(
    tmp_path, server, clock
):
    path = write_map(tmp_path, server.url("shelters.csv"), refresh="1h")
    build_with_data(path, overwrite=True)
    clock.advance(hours=2)
    data, _written = build_with_data(path, overwrite=True)
    assert server.conditions[-1].startswith('"')  # If-None-Match: the copy's ETag
    assert server.not_modified == 1  # 304: the file was not sent again
    assert states(tmp_path / "out" / "map.geojson") == DAY1
    assert data.layers[0].fetched == ["2026-12-01T11:00:00+00:00"]  # confirmed at 11:00
    server.files["shelters.csv"] = SHELTERS_V2
    clock.advance(hours=2)
    build_with_data(path, overwrite=True)  # changed: the ETag no longer matches
    assert server.not_modified == 1 and states(tmp_path / "out" / "map.geojson") == DAY2


def test_a_server_without_validators_gets_a_plain_get(tmp_path, server, clock):
    server.etags = False
    path = write_map(tmp_path, server.url("shelters.csv"), refresh="1h")
    build_with_data(path, overwrite=True)
    clock.advance(hours=2)
    build_with_data(path, overwrite=True)
    assert server.conditions == ["", ""] and server.not_modified == 0


def test_the_failed_refresh_line_in_japanese(tmp_path, server, clock):
    path = write_map(tmp_path, server.url("shelters.csv"), refresh="1h")
    runner = CliRunner()
    assert runner.invoke(main, ["--lang", "ja", "build", str(path)]).exit_code == 0
    server.stop()
    clock.advance(hours=3, minutes=5)
    res = runner.invoke(main, ["--lang", "ja", "build", str(path), "--overwrite"])
    assert res.exit_code == 0, res.output
    (line,) = [ln for ln in res.output.splitlines() if "更新に失敗しました" in ln]
    assert "2026-12-01 09:00 UTC に取得、3 時間 5 分前" in line
    assert "ビルドし直す" in line and "refresh failed" not in line
