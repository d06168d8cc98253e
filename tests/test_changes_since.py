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
from civicmap.pack import with_pack
from civicmap.pipeline import last_print as last_print_of
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


def _map(tmp_path: Path, paper: str = "", *, source: str = "{path: shops.csv}") -> Path:
    f = tmp_path / "map.yaml"
    f.write_text(
        "title: 紙マップ\narea: {bbox: [139.70, 35.70, 139.71, 35.71]}\nosm: false\n"
        f"layers:\n  - id: shops\n    title: 営業中の店\n    sources:\n      - csv: {source}\n"
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


def test_a_place_whose_status_becomes_unknown_is_a_change(last_print):
    # it drops off a print_if paper map: the list must say why it is gone (it said nothing)
    (last_print / "shops.csv").write_text(
        BEFORE.replace("開いている店,35.705,139.705,営業中", "開いている店,35.705,139.705,確認中"),
        encoding="utf-8",
    )
    ch = changes_since(civicmap.collect(civicmap.load_map(_map(last_print))),
                       last_print / "last.geojson")  # fmt: skip
    assert [(c.kind, c.name, c.before, c.after) for c in ch.changes] == [
        ("unknown", "開いている店", "開設", "不明")
    ]
    assert ch.summary("ja") == "前回（7/12 20:00）から：不明 1"
    assert ch.summary("en").endswith("unknown 1")


# ---- the last print's offline pack ------------------------------------------------


@pytest.fixture
def two_packs(tmp_path, remote_files):
    """The shops' sheet on a server: ``civicmap fetch`` before and after it changed."""
    remote_files.files["shops.csv"] = BEFORE.encode()
    path = _map(tmp_path, source=f'{{url: "{remote_files.url("shops.csv")}", refresh: 0s}}')
    runner = CliRunner()
    assert runner.invoke(main, ["fetch", str(path), "-o", str(tmp_path / "pack1")]).exit_code == 0
    remote_files.files["shops.csv"] = AFTER.encode()
    assert runner.invoke(main, ["fetch", str(path), "-o", str(tmp_path / "pack2")]).exit_code == 0
    remote_files.stop()  # from here on, the packs alone
    return path


def test_diff_since_a_pack_lists_what_the_geojson_of_that_print_would(two_packs):
    folder = two_packs.parent
    res = CliRunner().invoke(main, ["diff", str(two_packs), "--since", str(folder / "pack1"),
                                    "--pack", str(folder / "pack2"), "--out", str(folder / "o")])  # fmt: skip
    assert res.exit_code == 0, res.output
    # dated by the last print's newest check time (as_of), in the map's language
    assert res.output.startswith(
        "前回（7/12 20:00）から：開設 1、閉鎖 1、新規 1、移動 1、掲載なし 1"
    ), res.output
    csv = (folder / "o" / "map_changes.csv").read_text(encoding="utf-8-sig")
    assert "closed,営業中の店,開いている店,開設,閉鎖" in csv
    assert "disappeared,営業中の店,わからない店,不明" in csv


def test_the_sheet_names_the_change_since_the_last_prints_pack(two_packs):
    folder = two_packs.parent
    with two_packs.open("a", encoding="utf-8") as f:
        f.write("outputs:\n  paper: {changes_since: pack1, file: p.pdf}\n")
    data = civicmap.collect(with_pack(civicmap.load_map(two_packs), folder / "pack2"), offline=True)
    assert data.change_note == "前回（7/12 20:00）から：開設 1、閉鎖 1、新規 1、移動 1、掲載なし 1"


@pytest.mark.parametrize("what", ["a csv", "an empty folder", "missing", "its own pack"])
def test_since_must_be_the_last_prints_pack_or_geojson(two_packs, what):
    folder = two_packs.parent
    (folder / "empty").mkdir()
    since = {"a csv": folder / "shops.csv", "an empty folder": folder / "empty",
             "missing": folder / "nope", "its own pack": folder / "pack2"}[what]  # fmt: skip
    if what == "a csv":
        since.write_text(AFTER, encoding="utf-8")
    res = CliRunner().invoke(main, ["diff", str(two_packs), "--since", str(since),
                                    "--pack", str(folder / "pack2"), "--out", str(folder / "o")])  # fmt: skip
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert str(since) in res.output  # names the path ...
    fix = "fetch the new data into another folder" if what == "its own pack" else "pack folder"
    assert fix in res.output  # ... and the fix
    assert not (folder / "o" / "map_changes.csv").exists()


def test_a_map_whose_changes_since_is_not_a_last_print_names_the_key(last_print):
    path = _map(last_print, "outputs:\n  paper: {changes_since: shops.csv, file: out/p.pdf}\n")
    res = CliRunner().invoke(main, ["build", str(path)])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "outputs.paper.changes_since" in res.output and "shops.csv" in res.output


def test_a_pack_does_not_hold_local_files_and_says_so(last_print, caplog):
    (last_print / "pack").mkdir()
    (last_print / "pack" / "manifest.json").write_text(
        '{"format": 1, "created": "2018-07-12T11:00:00+00:00", "queries": []}', encoding="utf-8"
    )
    data = civicmap.collect(civicmap.load_map(_map(last_print)))
    with caplog.at_level("WARNING"):
        previous = last_print_of(data.spec, last_print / "pack", area=data.area)
    # the local file is read as it is now: no change can show, and the warning says so
    assert changes_since(data, previous).changes == ()
    assert any("shops.csv" in r.getMessage() and "GeoJSON" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    # the pack's time is its data's newest check time (as_of), not when it was made
    assert previous.since == "2018-07-13T09:00+09:00"
    # without check times it is when the pack was made (11:00 UTC), in Japanese time
    (last_print / "shops.csv").write_text(
        "\n".join(line.rsplit(",", 1)[0] for line in AFTER.splitlines()), encoding="utf-8"
    )
    data = civicmap.collect(civicmap.load_map(_map(last_print)))
    previous = last_print_of(data.spec, last_print / "pack", area=data.area)
    assert previous.since == "2018-07-12T20:00+09:00"
    assert changes_since(data, previous).summary("ja") == "前回（7/12 20:00）から：変化なし"


def test_a_shelter_site_merged_from_two_rows_is_no_change(tmp_path):
    # two designations of one place (same spot, other names) are one site on the print; the
    # sheet compared its unmerged rows with the merged export and said 新規 1
    (tmp_path / "shops.csv").write_text(
        "名称,緯度,経度,状況,確認日時\n"
        "鶴寿園,35.705,139.705,開設,7/12/2018 20:00:00\n"
        "金沢市老人福祉センター鶴寿園,35.705,139.705,開設,7/12/2018 20:00:00\n",
        encoding="utf-8",
    )
    path = _map(tmp_path, "    role: shelter\n")
    write_export(civicmap.collect(civicmap.load_map(path)), tmp_path / "last.geojson",
                 fmt="geojson", overwrite=False)  # fmt: skip
    with path.open("a", encoding="utf-8") as f:
        f.write("outputs:\n  paper: {changes_since: last.geojson, file: out/p.pdf}\n")
    assert (
        civicmap.collect(civicmap.load_map(path)).change_note == "前回（7/12 20:00）から：変化なし"
    )
