"""The living map's whole loop (issue 27, "What it must show"): a volunteers' sheet on a
server changes between two prints, and each print is made from its own offline pack.

fetch → pack 1 → print; the sheet changes (a place closes, one opens, one becomes 不明);
fetch → pack 2 → print. The second sheet leaves off the closed and unknown places and says
so, its change line and ``civicmap diff --since PACK1`` list the changes, the offline
rebuild from pack 2 equals the online build byte for byte, and a refresh that fails keeps
the last good data and says how old it is, on the console and as the sheet's data date.
The server, its two answers and the clock are the remote-source tests' own
(tests/remote_server.py, conftest.py's ``remote_files`` and ``remote_clock``).
"""

from __future__ import annotations

import subprocess
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from remote_server import SHELTERS_V2, T0

from civicmap.cli import main

pytestmark = pytest.mark.slow  # five builds, two fetches and a diff: 3.4 s idle, 6-9 s loaded

#: The places of the sheet, day 1 all open; day 2 (SHELTERS_V2) as the docstring says.
CLOSES, STAYS, UNKNOWN, OPENS = (
    "西早稲田避難所",
    "戸山公園給水所",
    "高田馬場銭湯",
    "大久保地域センター",
)


def write_map(folder: Path, url: str, *, since: str = "") -> Path:
    """The 給水・入浴 map: the sheet's 状態 column as status, only 開設 places on paper."""
    since_key = f", changes_since: {since}" if since else ""
    (folder / "map.yaml").write_text(
        "title: 給水・入浴マップ\n"
        "area: {bbox: [139.700, 35.700, 139.712, 35.712]}\n"
        "osm: false\n"
        "basemap: {tiles: none}\n"
        "layers:\n"
        "  - id: living\n"
        "    title: 開設状況\n"
        "    sources:\n"
        f'      - csv: {{url: "{url}", refresh: 1h}}\n'
        "    status: {column: 状態}\n"
        "    print_if: {status: [開設]}\n"
        "outputs:\n"
        "  geojson: {file: out/map.geojson}\n"
        f"  paper: {{file: out/map.pdf, size: A4{since_key}}}\n",
        encoding="utf-8",
    )
    return folder / "map.yaml"


def sheet_text(pdf: Path) -> str:
    """The sheet's words, NFKC and without spaces or line breaks (lines wrap anywhere)."""
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return "".join(unicodedata.normalize("NFKC", text).split())


def run(*args: str) -> str:
    res = CliRunner().invoke(main, list(args))
    assert res.exit_code == 0, res.output
    return res.output


def test_fetch_print_change_fetch_print_diff_rebuild_and_a_failed_refresh(
    tmp_path, remote_files, remote_clock, monkeypatch
):
    server, clock = remote_files, remote_clock
    day1 = int(T0.timestamp())
    path = write_map(tmp_path, server.url("shelters.csv"))
    pack1, pack2 = tmp_path / "pack-1201", tmp_path / "pack-1202"

    # day 1 (2026-12-01 18:00 JST): fetch, print from the pack
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(day1))
    run("fetch", str(path), "-o", str(pack1))
    run("build", str(path), "--pack", str(pack1), "--offline", "--out", str(tmp_path / "print1"))
    first = sheet_text(tmp_path / "print1" / "map.pdf")
    assert all(name in first for name in (CLOSES, STAYS, UNKNOWN))
    assert OPENS not in first and "載せなかった場所" not in first

    # day 2: the volunteers edit the sheet; fetch again, print with the change line
    server.files["shelters.csv"] = SHELTERS_V2
    clock.advance(days=1)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(day1 + 86400))
    path = write_map(tmp_path, server.url("shelters.csv"), since=pack1.name)
    run("fetch", str(path), "-o", str(pack2))
    run("build", str(path), "--pack", str(pack2), "--offline", "--out", str(tmp_path / "print2"))
    second = sheet_text(tmp_path / "print2" / "map.pdf")
    assert STAYS in second and OPENS in second
    assert CLOSES not in second and UNKNOWN not in second  # fail closed: off the paper
    assert "開設の場所だけを載せています。載せなかった場所:閉鎖1、不明1" in second
    # since pack 1, dated by its copy's fetch time (no as_of column): 09:00 UTC = 18:00 JST
    assert "前回(12/118:00)から:閉鎖1、不明1、新規1" in second
    assert str(tmp_path) not in second and "http" not in second  # nothing internal

    listed = run("diff", str(path), "--since", str(pack1), "--pack", str(pack2), "--offline",
                 "--out", str(tmp_path / "diff"))  # fmt: skip
    assert listed.startswith("前回（12/1 18:00）から：閉鎖 1、不明 1、新規 1")  # the map's language
    assert f"閉鎖: 開設状況 / {CLOSES}" in listed
    assert f"不明: 開設状況 / {UNKNOWN}" in listed
    assert f"新規: 開設状況 / {OPENS}" in listed
    assert STAYS not in listed
    csv = (tmp_path / "diff" / "map_changes.csv").read_text(encoding="utf-8-sig")
    assert f"closed,開設状況,{CLOSES},開設,閉鎖" in csv
    assert f"unknown,開設状況,{UNKNOWN},開設,不明" in csv

    # the online build (the cached copy, within refresh) equals the rebuild from pack 2
    run("build", str(path), "--out", str(tmp_path / "online"))
    for name in ("map.pdf", "map.geojson"):
        online = (tmp_path / "online" / name).read_bytes()
        assert online == (tmp_path / "print2" / name).read_bytes(), name
    assert server.asked("shelters.csv") == 2  # one per fetch: the builds never asked

    # 5 hours later the server fails: the last good copy (day 2) is printed, with its age
    monkeypatch.delenv("SOURCE_DATE_EPOCH")  # the sheet's data date is then the data's own
    clock.advance(hours=5)
    for how in ("500", "down"):
        if how == "500":
            server.script["shelters.csv"] = [500]
        else:
            server.stop()
        res = CliRunner().invoke(main, ["build", str(path), "--out", str(tmp_path / how)])
        assert res.exit_code == 0, res.output
        (line,) = [ln for ln in res.output.splitlines() if "refresh failed" in ln]
        assert "2026-12-02 09:00 UTC (5 h 0 min ago)" in line, how
        kept = sheet_text(tmp_path / how / "map.pdf")
        assert "データ時点:2026-12-02" in kept and "2026-12-03" not in kept
        assert STAYS in kept and OPENS in kept and CLOSES not in kept
