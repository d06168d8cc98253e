"""One rule for every write: a shared map file can never delete, replace or escape (#31).

Map files and packs are shared, so the paths they name are hostile input. Each test
runs the command a user would run (``--overwrite`` included) and checks what they
would notice: their project folder and every input still there byte for byte, one
``Error:`` line naming the path, nothing written outside the output folder, no hang
on a FIFO, and two builds into one folder never mixing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from civicmap import settings
from civicmap.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
WASEDA_BBOX = [139.7031784, 35.7039554, 139.7098839, 35.7093917]
LOCK_NAME = ".civicmap.lock"  # civicmap._outputs.LOCK_NAME, spelled out: users see this name


def _run(*args, cwd: Path | None = None):
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, ["--lang", "en", *map(str, args)])
    finally:
        os.chdir(old)


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative name → sha256): 'unchanged' means equal snapshots."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


def _project(folder: Path, *, tag: str = "A", outputs: str = "", osm: str = "") -> Path:
    """A small project: places.csv, places.yaml, notes.txt and map.yaml (no network needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["名称,住所,緯度,経度"] + [
        f"{tag}施設{i},新宿区{i},{35.705 + i * 0.0003:.6f},{139.704 + i * 0.0003:.6f}"
        for i in range(12)
    ]
    (folder / "places.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "places.yaml").write_text(
        "id: places\ntitle: {ja: 施設, en: Places}\nsources:\n  - csv: {path: places.csv}\n"
        'style: {color: "#d6336c", symbol: circle}\n',
        encoding="utf-8",
    )
    (folder / "notes.txt").write_text("会議メモ: 大事なこと\n", encoding="utf-8")
    (folder / "map.yaml").write_text(
        f"title: 規則テスト {tag}\narea: {{bbox: {WASEDA_BBOX}}}\nlayers: [places.yaml]\n"
        + (osm or "basemap: {draw: false}\n")
        + "outputs:\n"
        + (outputs or "  geojson: {file: out/map.geojson}\n  kml: {file: out/map.kml}\n"),
        encoding="utf-8",
    )
    return folder / "map.yaml"


# --------------------------------------------------------------------------- fetch and packs


def test_a_pack_named_dot_never_deletes_the_project(overpass_server, tmp_path):
    """``osm: {overpass: true, pack: "."}`` once deleted the whole project on fetch --overwrite."""
    project = tmp_path / "project"
    mapfile = _project(project, osm='osm: {overpass: true, pack: "."}\n')
    before = _snapshot(project)
    first = _run("fetch", mapfile)
    assert first.exit_code != 0
    assert "--overwrite" not in first.output  # it no longer suggests the switch that deletes
    again = _run("fetch", mapfile, "--overwrite")
    assert again.exit_code != 0
    errors = _errors(again.output)
    assert len(errors) == 1 and str(project) in errors[0] and "map.yaml" in errors[0]
    assert "Traceback" not in again.output
    assert _snapshot(project) == before
    assert sorted(p.name for p in project.iterdir()) == sorted(
        ["map.yaml", "notes.txt", "places.csv", "places.yaml"]
    )
    assert overpass_server.interpreter_requests() == []  # refused before any download


def test_fetch_into_the_current_folder_with_overwrite_is_refused(overpass_server, tmp_path):
    project = tmp_path / "project"
    mapfile = _project(project, osm="osm: {overpass: true}\n")
    before = _snapshot(project)
    res = _run("fetch", "map.yaml", "-o", ".", "--overwrite", cwd=project)
    assert res.exit_code != 0 and len(_errors(res.output)) == 1
    assert str(project) in res.output
    assert _snapshot(project) == before and mapfile.exists()


def test_a_folder_that_is_not_a_pack_is_never_replaced(overpass_server, tmp_path):
    """Not an input, but not ours either (no pack manifest): refused even with --overwrite."""
    mapfile = _project(tmp_path / "project", osm="osm: {overpass: true}\n")
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "festival.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    res = _run("fetch", mapfile, "-o", photos, "--overwrite")
    assert res.exit_code != 0
    assert str(photos) in res.output and "manifest.json" in res.output
    assert (photos / "festival.jpg").read_bytes() == b"\xff\xd8 not really a jpeg"
    # a real pack in the same place is replaced as before
    pack = tmp_path / "pack"
    assert _run("fetch", mapfile, "-o", pack).exit_code == 0
    res = _run("fetch", mapfile, "-o", pack, "--overwrite", "--refresh")
    assert res.exit_code == 0, res.output
    assert (pack / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack", "photos", "project"]


def test_a_tile_folder_we_did_not_write_is_never_replaced(tmp_path):
    from civicmap.errors import CivicMapError
    from civicmap.render.background import write_tile_folder

    tile = tmp_path / "t.png"
    tile.write_bytes(b"\x89PNG fake")
    target = tmp_path / "map_tiles"
    target.mkdir()
    (target / "report.docx").write_bytes(b"the user's own file")
    with pytest.raises(CivicMapError, match=r"map_tiles"):
        write_tile_folder(target, {"15/1/2": tile}, overwrite=True)
    assert (target / "report.docx").read_bytes() == b"the user's own file"
    # a folder we wrote is replaced with overwrite
    ours = tmp_path / "ours_tiles"
    write_tile_folder(ours, {"15/1/2": tile}, overwrite=False)
    write_tile_folder(ours, {"15/1/3": tile}, overwrite=True)
    assert (ours / "15/1/3.png").is_file() and not (ours / "15/1/2.png").exists()


def test_an_area_folder_is_checked_like_every_output(tmp_path):
    """The check a batch uses for ``out/<area>/``: no escaping link, no stranger's folder."""
    from civicmap._outputs import OutputRefusedError, check_output_folder

    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "新宿区").symlink_to(elsewhere)  # planted: the area would be written outside out/
    with pytest.raises(OutputRefusedError, match="新宿区"):
        check_output_folder(out / "新宿区", root=out, marker=".civicmap-batch.json")
    (out / "豊島区").mkdir()
    (out / "豊島区" / "memo.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputRefusedError, match="豊島区"):
        check_output_folder(out / "豊島区", root=out, marker=".civicmap-batch.json")
    (out / "豊島区" / ".civicmap-batch.json").write_text("{}", encoding="utf-8")
    check_output_folder(out / "豊島区", root=out, marker=".civicmap-batch.json")  # ours: fine
    check_output_folder(out / "文京区", root=out, marker=".civicmap-batch.json")  # new: fine
    with pytest.raises(OutputRefusedError, match=r"data\.csv"):  # never a folder holding an input
        check_output_folder(out / "豊島区", root=out, marker=".civicmap-batch.json",
                            inputs=[out / "豊島区" / "data.csv"])  # fmt: skip


# --------------------------------------------------------------------------- outputs naming inputs


OSM_EXTRACT = "osm: {file: area.osm}\nbasemap: {draw: true}\n"


@pytest.mark.parametrize(
    ("outputs", "osm", "victim"),
    [
        ("  geojson: {file: places.csv}\n", "", "places.csv"),
        ("  kml: {file: area.osm}\n", OSM_EXTRACT, "area.osm"),
        ("  web: {file: map.yaml}\n", "", "map.yaml"),
        ("  umap: {file: places.yaml}\n", "", "places.yaml"),
    ],
    ids=["geojson=its-csv", "kml=the-extract", "web=the-map-file", "umap=the-layer-file"],
)
def test_an_output_naming_an_input_is_refused(tmp_path, outputs, osm, victim):
    project = tmp_path / "project"
    mapfile = _project(project, outputs=outputs, osm=osm)
    shutil.copy(DATA / "osm" / "SmallAroundWaseda.osm", project / "area.osm")
    before = _snapshot(project)
    res = _run("build", mapfile, "--overwrite")
    assert res.exit_code != 0
    errors = _errors(res.output)
    assert len(errors) == 1 and victim in errors[0], res.output
    assert "Traceback" not in res.output
    assert _snapshot(project) == before


def test_report_export_and_init_never_replace_an_input(tmp_path):
    project = tmp_path / "project"
    mapfile = _project(project)
    before = _snapshot(project)
    report = _run("build", mapfile, "--report", project / "places.csv", "--overwrite")
    export = _run("export", mapfile, "--format", "geojson", "-o", project / "places.csv",
                  "--overwrite")  # fmt: skip
    init = _run("init", project / "places.csv", "-o", project / "places.csv", "--overwrite")
    for res in (report, export, init):
        assert res.exit_code != 0, res.output
        errors = _errors(res.output)
        assert len(errors) == 1 and "places.csv" in errors[0], res.output
    assert _snapshot(project) == before
    # the same commands with their own output files work
    ok = _run("build", mapfile, "--report", project / "out/report.csv", "--overwrite")
    assert ok.exit_code == 0, ok.output
    assert (project / "out/report.csv").is_file() and not (project / "out" / LOCK_NAME).exists()


# --------------------------------------------------------------------------- links and devices


def test_a_linked_output_folder_leading_outside_the_project_is_refused(tmp_path):
    project = tmp_path / "project"
    mapfile = _project(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "map.geojson").write_text("someone else's file", encoding="utf-8")
    (project / "out").symlink_to(elsewhere)  # planted in a shared project
    res = _run("build", mapfile, "--overwrite")
    assert res.exit_code != 0
    errors = _errors(res.output)
    assert len(errors) == 1 and "map.geojson" in errors[0] and "symbolic link" in errors[0]
    assert (elsewhere / "map.geojson").read_text(encoding="utf-8") == "someone else's file"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["map.geojson"]


def test_a_linked_output_file_leading_outside_its_folder_is_refused(tmp_path):
    mapfile = _project(tmp_path / "project")
    victim = tmp_path / "victim.kml"
    victim.write_text("victim", encoding="utf-8")
    out = tmp_path / "project/out"
    out.mkdir()
    (out / "map.kml").symlink_to(victim)
    res = _run("build", mapfile, "--out", out, "--overwrite")
    assert res.exit_code != 0 and "map.kml" in res.output
    assert (out / "map.kml").is_symlink() and victim.read_text(encoding="utf-8") == "victim"


@pytest.mark.timeout(60)
def test_a_fifo_output_is_refused_without_hanging(tmp_path):
    mapfile = _project(tmp_path / "project")
    out = tmp_path / "project/out"
    out.mkdir()
    os.mkfifo(out / "map.kml")
    res = _run("build", mapfile, "--overwrite")
    assert res.exit_code != 0
    errors = _errors(res.output)
    assert len(errors) == 1 and "map.kml" in errors[0] and "not a regular file" in errors[0]
    assert stat.S_ISFIFO(os.lstat(out / "map.kml").st_mode)  # still the FIFO, never replaced
    assert not (out / "map.geojson").exists()  # nothing else written either


# --------------------------------------------------------------------------- two runs, one folder

PAUSED_BUILD = r"""
import sys, time, pathlib
from civicmap import _files
marker, mapfile, go = pathlib.Path(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
real_commit = _files._commit

def commit(batch):  # every output written, not yet renamed: the other build comes now
    marker.write_text("paused")
    end = time.monotonic() + 60
    while not go.exists() and time.monotonic() < end:  # until the other build has ended
        time.sleep(0.02)
    return real_commit(batch)

_files._commit = commit
from civicmap.cli import main
sys.argv = ["civicmap", "-q", "build", "--overwrite", mapfile]
main()
"""

HOLD_LOCK = r"""
import sys, time, pathlib
from civicmap._outputs import output_lock
with output_lock(pathlib.Path(sys.argv[1])):
    pathlib.Path(sys.argv[2]).write_text("locked")
    time.sleep(60)
"""


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the child never reached its pause"
        time.sleep(0.05)


def test_two_builds_into_one_folder_never_mix(tmp_path, monkeypatch):
    """A second build while the first is writing is refused; a killed run's lock never blocks."""
    out = tmp_path / "out"
    first = _project(tmp_path / "a", tag="A", outputs=f"  geojson: {{file: {out}/map.geojson}}\n"
                     f"  kml: {{file: {out}/map.kml}}\n")  # fmt: skip
    second = _project(tmp_path / "b", tag="B", outputs=f"  geojson: {{file: {out}/map.geojson}}\n"
                      f"  kml: {{file: {out}/map.kml}}\n")  # fmt: skip
    marker = tmp_path / "paused"
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSED_BUILD, str(marker), str(first), str(tmp_path / "go")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(marker, child)
        monkeypatch.setattr(settings, "output_lock_wait", 0.5, raising=False)
        res = _run("build", second, "--overwrite")
        assert res.exit_code != 0
        errors = _errors(res.output)
        assert len(errors) == 1 and str(out) in errors[0] and "another civicmap run" in errors[0]
        (tmp_path / "go").write_text("")  # the first build may finish now
        assert child.wait(timeout=120) == 0, child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
    for name in ("map.geojson", "map.kml"):  # all from the first build, none from the second
        text = (out / name).read_text(encoding="utf-8")
        assert "A施設11" in text and "B施設" not in text, name
    assert not (out / LOCK_NAME).exists() and not list(out.glob(".*.part"))

    # a run killed while holding the lock leaves its file behind; the next build is not blocked
    locked = tmp_path / "locked"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out), str(locked)])
    _wait_for(locked, holder)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert (out / LOCK_NAME).exists()
    started = time.monotonic()
    res = _run("build", second, "--overwrite")
    assert res.exit_code == 0, res.output
    assert time.monotonic() - started < 30
    assert "B施設11" in (out / "map.kml").read_text(encoding="utf-8")
    assert not (out / LOCK_NAME).exists()
