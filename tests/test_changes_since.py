"""What changed since the last print (issue 27): opened, closed, appeared, moved, disappeared,
listed by ``civicmap diff --since`` and carried by the sheet."""

from __future__ import annotations

import subprocess
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

import civicmap
from civicmap.cli import main
from civicmap.diff import changes_since
from civicmap.errors import ConfigError
from civicmap.render.export import write_export
from civicmap.render.paper import render_paper

BEFORE = """名称,緯度,経度,状況,確認日時
開いている店,35.705,139.705,営業中,7/12/2018 20:00:00
昨日の店,35.706,139.706,営業中,7/10/2018 09:00:00
休みの店,35.707,139.707,休業,7/12/2018 19:00:00
わからない店,35.708,139.708,確認中,7/12/2018 19:30:00
"""
AFTER = """名称,緯度,経度,状況,確認日時
開いている店,35.705,139.705,休業,7/13/2018 08:00:00
昨日の店,35.706,139.709,営業中,7/13/2018 09:00:00
休みの店,35.707,139.707,営業中,7/13/2018 07:00:00
=新しい店,35.703,139.703,営業中,7/13/2018 07:30:00
"""


def _map(tmp_path: Path, paper: str = "") -> Path:
    f = tmp_path / "map.yaml"
    f.write_text(
        "title: 紙マップ\narea: {bbox: [139.70, 35.70, 139.71, 35.71]}\nosm: false\n"
        "layers:\n  - id: shops\n    title: 営業中の店\n    sources:\n      - csv: {path: shops.csv}\n"
        "    status: {column: 状況}\n    as_of: 確認日時\n" + paper,
        encoding="utf-8",
    )
    return f


@pytest.fixture
def last_print(tmp_path):
    """The GeoJSON exported with the last print, then the sheet as it is now."""
    (tmp_path / "shops.csv").write_text(BEFORE, encoding="utf-8")
    before = civicmap.collect(civicmap.load_map(_map(tmp_path)))
    write_export(before, tmp_path / "last.geojson", fmt="geojson", overwrite=False)
    (tmp_path / "shops.csv").write_text(AFTER, encoding="utf-8")
    return tmp_path


def test_changes_since_the_last_print_by_kind(last_print):
    data = civicmap.collect(civicmap.load_map(_map(last_print)))
    ch = changes_since(data, last_print / "last.geojson")
    assert {(c.kind, c.name) for c in ch.changes} == {
        ("opened", "休みの店"),
        ("closed", "開いている店"),
        ("appeared", "=新しい店"),
        ("moved", "昨日の店"),
        ("disappeared", "わからない店"),
    }
    moved = next(c for c in ch.changes if c.kind == "moved")
    assert 250 < moved.distance_m < 300  # 0.003° of longitude at 35.7° N
    assert ch.summary("ja") == "前回（7/12 20:00）から：開設 1、閉鎖 1、新規 1、移動 1、掲載なし 1"
    assert ch.summary("en").startswith("Since the last print (7/12 20:00): opened 1, closed 1")


def test_the_sheet_carries_the_change_line(last_print):
    spec = civicmap.load_map(_map(last_print, "outputs:\n  paper: {changes_since: last.geojson, "
                                              "file: out/p.pdf}\n"))  # fmt: skip
    data = civicmap.collect(spec)
    pdf, _plan = render_paper(data)
    (last_print / "p.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(last_print / "p.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    # the line may wrap anywhere on the sheet: compare its words, not its spaces
    assert "前回(7/1220:00)から:開設1、閉鎖1、新規1、移動1、掲載なし1" in "".join(
        unicodedata.normalize("NFKC", text).split()
    )


def test_first_print_without_a_last_one_has_no_line_and_builds(tmp_path):
    (tmp_path / "shops.csv").write_text(BEFORE, encoding="utf-8")
    spec = civicmap.load_map(
        _map(tmp_path, "outputs:\n  paper: {changes_since: none.geojson, file: out/p.pdf}\n")
    )
    assert civicmap.collect(spec).change_note == ""


def test_diff_since_lists_the_changes_and_writes_a_csv_without_formulas(last_print):
    out = last_print / "out"
    res = CliRunner().invoke(main, ["diff", str(_map(last_print)), "--since",
                                    str(last_print / "last.geojson"), "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "開いている店" in res.output and "昨日の店" in res.output
    csv = (out / "map_changes.csv").read_text(encoding="utf-8-sig")
    assert "appeared,営業中の店,'=新しい店" in csv  # a spreadsheet never runs it


def test_changes_since_must_be_a_path(tmp_path):
    (tmp_path / "shops.csv").write_text(BEFORE, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"outputs\.paper\.changes_since"):
        civicmap.load_map(
            _map(tmp_path, "outputs:\n  paper: {changes_since: 3, file: out/p.pdf}\n")
        )
