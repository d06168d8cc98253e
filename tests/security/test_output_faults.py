"""Outputs of one build are all-or-nothing, even when the build is killed.

A child process builds a map whose four outputs already exist from an older
build. A hook in the child (patched in from the test, not in civicmap) pauses
at the n-th write of an output (after writing half of it) or before the n-th
rename of the final commit, and says so through a marker file; the test then
sends SIGTERM or SIGKILL. Afterwards the outputs must be all old or all new,
and the next run must leave no ``.part`` file behind.

Each case's child is its own process, killed by a real signal. The children are
forked from one process that has imported civicmap and built the map once
(:data:`FORKER`), so a case costs a warm build, not a fresh interpreter importing
geopandas and reading its fonts and glossaries again.
"""

from __future__ import annotations

import csv
import errno
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from civicmap import _files
from civicmap.cli import main

OUTPUTS = ("map.html", "map.pdf", "map.umap", "map.kml", "map.geojson")

#: Builds the map of argv[1] once (the fonts, glossaries and lazy imports a first build
#: loads are then in every child), reads one case a line from stdin (mode, n, marker, map
#: file, log), forks a child that builds the map with the hook below, prints the child's
#: pid, then its wait status.
FORKER = r"""
import os, sys, time, pathlib
from civicmap import _files
from civicmap.cli import main
import civicmap.pipeline, civicmap.render.export, civicmap.render.paper, civicmap.render.web

def case(mode, n, marker, mapfile):
    count = [0]
    orig_write = pathlib.Path.write_bytes
    orig_rename = _files._rename

    def write_bytes(self, data):
        if self.name.endswith(_files.PART_SUFFIX) and mode == "write":
            count[0] += 1
            if count[0] == n:
                with open(self, "wb") as f:
                    f.write(data[: len(data) // 2])
                    f.flush()
                marker.write_text("paused")
                time.sleep(60)
        return orig_write(self, data)

    def rename(src, dst):
        if mode == "commit":
            count[0] += 1
            if count[0] == n:
                marker.write_text("paused")
                # until the test has sent its signal (it then writes "sent")
                sent, end = marker.with_name("sent"), time.monotonic() + 60
                while not sent.exists() and time.monotonic() < end:
                    time.sleep(0.02)
        return orig_rename(src, dst)

    pathlib.Path.write_bytes = write_bytes
    _files._rename = rename
    sys.argv = ["civicmap", "-q", "build", "--overwrite", mapfile]
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return 0

sys.argv = ["civicmap", "-q", "build", "--overwrite", sys.argv[1]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, f"the warm-up build failed: {exc.code}"
print("ready", flush=True)
for line in sys.stdin:
    mode, n, marker, mapfile, logfile = line.rstrip("\n").split("\t")
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            log = os.open(logfile, os.O_WRONLY | os.O_CREAT)
            os.dup2(log, 2)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            code = case(mode, int(n), pathlib.Path(marker), mapfile)
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    print(pid, flush=True)
    print(os.waitpid(pid, 0)[1], flush=True)
"""


def _write_data(folder: Path, tag: str) -> None:
    with (folder / "places.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["名称", "住所", "緯度", "経度"])
        for i in range(30):
            w.writerow([f"{tag}施設{i}", f"新宿区{i}", 35.70 + i * 0.0005, 139.70 + i * 0.0004])


def _make_map(folder: Path) -> Path:
    (folder / "places.yaml").write_text(
        "id: places\ntitle: {ja: 施設, en: Places}\nsources:\n  - csv: {path: places.csv}\n"
        'style: {color: "#d6336c", symbol: circle}\n',
        encoding="utf-8",
    )
    (folder / "map.yaml").write_text(
        "title: 故障テスト\narea: {bbox: [139.69, 35.69, 139.72, 35.72]}\n"
        "layers: [places.yaml]\nbasemap: {draw: false}\n"
        "outputs:\n  web: {file: out/map.html}\n  paper: {file: out/map.pdf}\n"
        "  umap: {file: out/map.umap}\n"
        "  kml: {file: out/map.kml}\n  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    return folder / "map.yaml"


def _generation(out: Path) -> set[str]:
    """Which builds the outputs come from: {'OLD'}, {'NEW'} or a mix."""
    gens = set()
    for name in OUTPUTS:
        if name.endswith(".pdf"):
            gens.add(_pdf_generation(out / name))
            continue
        text = (out / name).read_text(encoding="utf-8")
        has_old, has_new = "OLD施設29" in text, "NEW施設29" in text
        assert has_old != has_new, f"{name} is damaged or holds both builds"
        gens.add("OLD" if has_old else "NEW")
    return gens


def _pdf_generation(path: Path) -> str:
    """A PDF is OLD when byte-identical to the old build's, NEW when another complete PDF."""
    data = path.read_bytes()
    if data == (path.parent.parent / "old_map.pdf").read_bytes():
        return "OLD"
    assert data.startswith(b"%PDF") and b"%%EOF" in data[-1024:], f"{path} is damaged"
    return "NEW"


def _parts(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.endswith(".part"))


@pytest.fixture(scope="module")
def old_build(tmp_path_factory) -> Path:
    """A folder holding the map, the NEW data and the outputs of the OLD build."""
    folder = tmp_path_factory.mktemp("faults")
    mapfile = _make_map(folder)
    _write_data(folder, "OLD")
    res = CliRunner().invoke(main, ["build", str(mapfile)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    shutil.copy(folder / "out" / "map.pdf", folder / "old_map.pdf")
    assert _generation(folder / "out") == {"OLD"}
    return folder


def _copy_case(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    _write_data(dst, "NEW")
    return dst / "map.yaml"


CASES = [("write", n) for n in range(1, len(OUTPUTS) + 1)] + [("commit", 2), ("commit", 5)]


@pytest.fixture(scope="module")
def forker(old_build, tmp_path_factory):
    """The process the cases' children are forked from (see :data:`FORKER`)."""
    folder = tmp_path_factory.mktemp("forker")
    log = folder / "stderr.txt"
    warm = _copy_case(old_build, folder / "warm")
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", FORKER, str(warm)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=err, bufsize=0,
        )  # fmt: skip
    assert _read_line(proc, 120, log) == "ready"
    yield proc, log
    proc.stdin.close()
    proc.wait(timeout=60)


def _read_line(proc: subprocess.Popen, timeout: float, log: Path) -> str | None:
    """The forker's next line, or None when none came within ``timeout`` s."""
    out = b""
    end = time.monotonic() + timeout
    while not out.endswith(b"\n"):
        left = max(0.0, end - time.monotonic())
        if not select.select([proc.stdout], [], [], left)[0]:
            return None
        byte = proc.stdout.read(1)
        assert byte, log.read_text(errors="replace")[-2000:]  # the forker itself died
        out += byte
    return out.decode().strip()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
@pytest.mark.parametrize(("mode", "n"), CASES, ids=[f"{m}{n}" for m, n in CASES])
def test_killed_build_leaves_all_old_or_all_new(old_build, forker, tmp_path, sig, mode, n):
    mapfile = _copy_case(old_build, tmp_path / "case")
    out = mapfile.parent / "out"
    marker = tmp_path / "paused"
    proc, forker_log = forker
    log = tmp_path / "child_stderr.txt"
    proc.stdin.write(f"{mode}\t{n}\t{marker}\t{mapfile}\t{log}\n".encode())
    pid = int(_read_line(proc, 60, forker_log))
    deadline = time.monotonic() + 120
    while not marker.exists():
        ended = _read_line(proc, 0, forker_log)  # the child ended before it paused
        assert ended is None, log.read_text(errors="replace")[-2000:]
        assert time.monotonic() < deadline, "the child never reached the write"
        time.sleep(0.05)
    os.kill(pid, sig)
    (tmp_path / "sent").write_text("")
    status = _read_line(proc, 60, forker_log)
    assert status is not None, "the child did not end within 60 s of the signal"
    assert int(status) != 0
    gens = _generation(out)
    if mode == "write":
        # Killed while writing: no output was replaced, so all are old.
        assert gens == {"OLD"}
        assert _parts(out), "the kill should have left the half-written temporary file"
    elif sig == signal.SIGTERM:
        # SIGTERM waits until the commit is complete: all new.
        assert gens == {"NEW"}
    else:
        # SIGKILL between renames: the next run first finishes the commit (journal).
        _files.clean_stale([out / name for name in OUTPUTS])
        assert _generation(out) == {"NEW"}
    # The next run cleans what the killed one left and writes the new set.
    res = CliRunner().invoke(main, ["build", "--overwrite", str(mapfile)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert _generation(out) == {"NEW"}
    assert _parts(out) == []


def test_disk_full_keeps_every_old_output(old_build, tmp_path, monkeypatch):
    """ENOSPC on the third output: one clear line, exit 1, all old files intact, no .part."""
    mapfile = _copy_case(old_build, tmp_path / "case")
    out = mapfile.parent / "out"
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    calls = [0]
    real = Path.write_bytes

    def full(self, data):
        if self.name.endswith(_files.PART_SUFFIX):
            calls[0] += 1
            if calls[0] == 3:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    res = CliRunner().invoke(main, ["build", "--overwrite", str(mapfile)])
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output
    msg = [line for line in res.output.splitlines() if line.startswith("Error")]
    assert len(msg) == 1 and "disk is full" in msg[0] and "map." in msg[0], res.output
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before
    assert _parts(out) == []


def test_read_only_folder_and_folder_as_output(old_build, tmp_path):
    mapfile = _copy_case(old_build, tmp_path / "case")
    out = mapfile.parent / "out"
    if os.geteuid() != 0:
        out.chmod(0o555)
        try:
            res = CliRunner().invoke(main, ["build", "--overwrite", str(mapfile)])
        finally:
            out.chmod(0o755)
        assert res.exit_code == 1, res.output
        assert "permission denied" in res.output and "Traceback" not in res.output
        assert _generation(out) == {"OLD"}
    # An output path that is a folder is refused before any work starts.
    (out / "map.kml").unlink()
    (out / "map.kml").mkdir()
    res = CliRunner().invoke(main, ["build", "--overwrite", str(mapfile)])
    assert res.exit_code == 1, res.output
    assert "map.kml: the output path is a folder" in res.output
    assert _generation_partial(out) == {"OLD"}


def test_read_only_file_system_is_one_line_and_keeps_the_old_set(old_build, tmp_path, monkeypatch):
    """EROFS when creating the temporary file of the second output (works as root too)."""
    mapfile = _copy_case(old_build, tmp_path / "case")
    out = mapfile.parent / "out"
    calls = [0]
    real = _files.tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if kwargs.get("suffix") == _files.PART_SUFFIX:
            calls[0] += 1
            if calls[0] == 2:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real(*args, **kwargs)

    monkeypatch.setattr(_files.tempfile, "mkstemp", mkstemp)
    res = CliRunner().invoke(main, ["build", "--overwrite", str(mapfile)])
    errors = [line for line in res.output.splitlines() if line.startswith("Error")]
    assert res.exit_code == 1 and len(errors) == 1, res.output
    assert "map.pdf: cannot write the output: the file system is read-only" in errors[0]
    assert _generation(out) == {"OLD"}
    assert _parts(out) == []


def _generation_partial(out: Path) -> set[str]:
    gens = set()
    for name in OUTPUTS:
        p = out / name
        if p.is_file() and name.endswith(".pdf"):
            gens.add(_pdf_generation(p))
        elif p.is_file():
            gens.add("OLD" if "OLD施設29" in p.read_text(encoding="utf-8") else "NEW")
    return gens


def test_stale_parts_of_other_names_are_left_alone(tmp_path):
    """Cleaning touches only our pattern for the outputs' own names."""
    target = tmp_path / "map.html"
    ours = tmp_path / f".map.html.abc123{_files.PART_SUFFIX}"
    theirs = [tmp_path / ".other.html.x.civicmap.part", tmp_path / "map.html.part"]
    for p in [ours, *theirs]:
        p.write_text("x")
    _files.clean_stale([target])
    assert not ours.exists()
    assert all(p.exists() for p in theirs)
