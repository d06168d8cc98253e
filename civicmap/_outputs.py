"""One rule for every output civicmap writes: never an input, never a stranger's file or folder.

Map files and offline packs are shared (workshops, a neighbouring group's map), so
every path they name is untrusted. Before anything is written, and again when it is
written, each output (file or folder: maps, exports, packs, tile folders, reports,
``init``'s map file, batch area folders) is checked by :func:`check_output`. It is
refused when it

- **is, contains or lies inside an input** of the run (data sources, the OSM extract,
  the map and layer files, the pack being read), so ``pack: "."`` can never delete the
  project folder and ``geojson.file`` can never replace its own CSV source;
- **resolves through a symbolic link outside the output root** (the folder the user
  chose: ``--out``, the map's folder, or the output's own folder);
- **exists and is not a regular file** (a FIFO, a device, a socket: never opened, so
  never a hang) or, for a folder output, is a folder **civicmap did not write**:
  ``--overwrite`` replaces only what carries our marker (a pack's ``manifest.json``,
  a tile folder's :data:`TILES_MARKER`, a batch area's state file);
- exists and ``overwrite`` was not given (:class:`~civicmap.errors.OutputExistsError`).

:func:`guarded_outputs` applies the rule to every output of a run up front, takes a
lock file in each output folder (a second run into the same folder waits briefly,
then is refused: never a mix of two runs; the lock is an ``flock``, so a killed run
never leaves a lock that blocks), and registers the run's inputs so that every write
inside it (:func:`civicmap._files.check_writable`) is checked against them again.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from civicmap import settings
from civicmap.errors import CivicMapError, OutputExistsError
from civicmap.i18n import _

try:  # POSIX: the kernel drops an flock when its process dies, so no lock is ever stale
    import fcntl
except ImportError:  # pragma: no cover - Windows: msvcrt's byte lock dies with its process too
    fcntl = None  # type: ignore[assignment]
    import msvcrt

log = logging.getLogger(__name__)

#: The lock file a run keeps in each folder it writes outputs into (removed at the end).
LOCK_NAME = ".civicmap.lock"
#: The marker file inside a tile folder civicmap wrote (``<name>_tiles/``).
TILES_MARKER = ".civicmap-tiles.json"
#: The marker file inside a site folder civicmap wrote (``outputs.site``).
SITE_MARKER = ".civicmap-site.json"
#: The marker file of a pack (with ``"format"``; see :mod:`civicmap.pack`).
PACK_MANIFEST = "manifest.json"

_TILE_PART = re.compile(r"\d{1,3}")
_TILE_FILE = re.compile(r"\d{1,9}\.png")
_PACK_FILE = re.compile(r"[0-9a-f]{16,64}\.(osm|json)")


class OutputRefusedError(CivicMapError):
    """An output path may not be written: it is an input, a stranger's folder, a device ...

    The message names the path, why, and the fix. Exit code 1, like every output that
    cannot be written.
    """

    exit_code = 1

    def __init__(self, path: str | Path, message: str):
        self.path = Path(path)
        super().__init__(message)


class OutputBusyError(CivicMapError):
    """Another civicmap run is writing into the same output folder."""

    exit_code = 1


# --------------------------------------------------------------------------- markers


def is_tile_folder(folder: Path) -> bool:
    """Whether ``folder`` is a tile folder civicmap wrote.

    It carries :data:`TILES_MARKER`, or (folders of earlier versions) holds nothing
    but ``{z}/{x}/{y}.png`` tiles.
    """
    if (folder / TILES_MARKER).is_file() and not (folder / TILES_MARKER).is_symlink():
        return True
    try:
        for z in folder.iterdir():
            if not (_TILE_PART.fullmatch(z.name) and _real_dir(z)):
                return False
            for x in z.iterdir():
                if not (_TILE_PART.fullmatch(x.name) or x.name.isdigit()) or not _real_dir(x):
                    return False
                for y in x.iterdir():
                    if not (_TILE_FILE.fullmatch(y.name) and _real_file(y)):
                        return False
    except OSError:
        return False
    return True


def is_pack_folder(folder: Path) -> bool:
    """Whether ``folder`` is an offline pack (``civicmap fetch`` wrote it).

    Its ``manifest.json`` names a pack ``format``; a pack whose manifest is damaged
    still counts when the folder holds nothing but pack entries (answers named by
    their hash, ``tiles/``), so ``fetch --overwrite`` can repair it.
    """
    manifest = folder / PACK_MANIFEST
    if not _real_file(manifest):
        return False
    try:
        if manifest.stat().st_size < 1_000_000:
            doc = json.loads(manifest.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and "format" in doc and "queries" in doc:
                return True
    except (OSError, ValueError):
        pass
    try:
        return all(
            p.name == PACK_MANIFEST
            or (p.name == "tiles" and _real_dir(p))
            or (_PACK_FILE.fullmatch(p.name) is not None and _real_file(p))
            for p in folder.iterdir()
        )
    except OSError:
        return False


def has_marker(name: str) -> Callable[[Path], bool]:
    """A test for folders that carry the marker file ``name`` (e.g. a batch's state file)."""

    def test(folder: Path) -> bool:
        return _real_file(folder / name)

    test.marker = name  # type: ignore[attr-defined]
    return test


def is_site_folder(folder: Path) -> bool:
    """Whether ``folder`` is a site folder civicmap wrote (it carries :data:`SITE_MARKER`)."""
    return _real_file(folder / SITE_MARKER)


is_site_folder.marker = SITE_MARKER  # type: ignore[attr-defined]


def _real_file(p: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(p).st_mode)
    except OSError:
        return False


def _real_dir(p: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(p).st_mode)
    except OSError:
        return False


# --------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class Output:
    """One path a run will write.

    Attributes
    ----------
    path : Path
        The file or folder.
    folder : bool
        A folder output (a pack, a tile folder, a batch area).
    ours : callable, optional
        For a folder output: tells a folder civicmap wrote (only those are replaced).
    root : Path, optional
        The output root the user chose (``--out``, the map's folder); default: the
        output's own folder. A symbolic link may not lead outside it.
    """

    path: Path
    folder: bool = False
    ours: Callable[[Path], bool] | None = None
    root: Path | None = None


def _inside(child: str, parent: str) -> bool:
    """Whether ``child`` is ``parent`` or lies below it (absolute, normalised strings)."""
    if child == parent:
        return True
    return child.startswith(parent.rstrip(os.sep) + os.sep)


def _norm(p: Path | str) -> str:
    return os.path.normcase(os.path.abspath(os.fspath(p)))


def _real(p: Path | str) -> str:
    return os.path.normcase(os.path.realpath(os.fspath(p)))


@dataclass(frozen=True)
class _Input:
    given: Path
    norm: str
    real: str
    ident: tuple[int, int] | None  # (device, inode): a hard link is the same file


def _inputs(paths: Iterable[Path | str]) -> list[_Input]:
    out = []
    for p in paths:
        if p is None or not os.fspath(p):
            continue
        try:
            st = os.stat(p)
            ident = (st.st_dev, st.st_ino)
        except OSError:
            ident = None
        out.append(_Input(Path(p), _norm(p), _real(p), ident))
    return out


def check_output(
    path: str | Path,
    *,
    overwrite: bool,
    inputs: Iterable[Path | str] = (),
    folder: bool = False,
    ours: Callable[[Path], bool] | None = None,
    root: str | Path | None = None,
) -> None:
    """Refuse ``path`` as an output when the rule forbids it (see the module docstring).

    Parameters
    ----------
    path : path
        The output file or folder.
    overwrite : bool
        Whether an existing output (a file, or a folder ``ours`` recognises) may be replaced.
    inputs : paths
        Every input of the run (files and folders). The inputs registered by an open
        :func:`guarded_outputs` are checked too.
    folder : bool
        ``path`` is a folder output.
    ours : callable, optional
        For a folder output: whether an existing folder is one civicmap wrote. Without
        it, an existing non-empty folder is never replaced.
    root : path, optional
        The output root; a symbolic link on the way may not lead outside it (default:
        the output's folder).

    Raises
    ------
    OutputRefusedError
        The path is an input, holds one, lies in one, escapes ``root`` through a
        symbolic link, is a device/FIFO/socket, or is a folder civicmap did not write.
    OutputExistsError
        It exists (and may be replaced) but ``overwrite`` is false.
    """
    path = Path(path)
    norm = _norm(path)
    root_norm = _norm(root) if root is not None else None
    if root_norm is None or norm == root_norm or not _inside(norm, root_norm):
        root_norm = os.path.dirname(norm)
    real = _real(path)
    real_root = _real(root_norm)
    if not _inside(real, real_root):
        raise OutputRefusedError(
            path,
            _(
                "%(path)s: refused as an output: it leads through a symbolic link to "
                "%(target)s, outside %(root)s; remove the link or choose another path"
            )
            % {"path": path, "target": real, "root": root_norm},
        )
    try:
        st = os.lstat(real)
    except OSError:
        st = None
    ident = (st.st_dev, st.st_ino) if st is not None else None
    for given in [*_inputs(inputs), *_registered()]:
        _check_against_input(path, norm, real, ident, given)
    if st is None:
        return
    if folder:
        _check_existing_folder(path, Path(real), st, overwrite=overwrite, ours=ours)
        return
    if stat.S_ISDIR(st.st_mode):
        raise OutputRefusedError(
            path,
            _("%(path)s: the output path is a folder; give a file name (e.g. %(example)s)")
            % {"path": path, "example": path / "map.html"},
        )
    if not stat.S_ISREG(st.st_mode):
        raise OutputRefusedError(
            path,
            _(
                "%(path)s: refused as an output: it is not a regular file (a device, FIFO "
                "or socket) and is never replaced; choose another path"
            )
            % {"path": path},
        )
    if not overwrite:
        raise OutputExistsError(path)


def check_output_folder(
    folder: str | Path,
    *,
    root: str | Path,
    marker: str,
    inputs: Iterable[Path | str] = (),
) -> None:
    """Refuse a folder civicmap writes files into (a batch area) when the rule forbids it.

    ``folder`` (e.g. ``out/<area>``) may not lead through a symbolic link outside
    ``root`` (the batch's output folder), be, hold or lie in an input, be a file, or
    be a non-empty folder without the ``marker`` file (a batch's state file) that
    says civicmap wrote it. An existing folder of ours is fine: its files are replaced
    one by one by the build.

    Raises
    ------
    OutputRefusedError
        Naming the folder, why and the fix.
    """
    check_output(
        folder, overwrite=True, inputs=inputs, folder=True, ours=has_marker(marker), root=root
    )


def _check_against_input(
    path: Path, norm: str, real: str, ident: tuple[int, int] | None, given: _Input
) -> None:
    same = norm == given.norm or real == given.real or (ident is not None and ident == given.ident)
    if same:
        message = _(
            "%(path)s: refused as an output: it is %(input)s, which this run reads; "
            "choose another output path"
        )
    elif _inside(given.norm, norm) or _inside(given.real, real):
        message = _(
            "%(path)s: refused as an output: it holds %(input)s, which this run reads, and "
            "replacing it would delete it; choose another folder"
        )
    elif _inside(norm, given.norm) or _inside(real, given.real):
        message = _(
            "%(path)s: refused as an output: it lies inside %(input)s, which this run "
            "reads; choose a path outside it"
        )
    else:
        return
    raise OutputRefusedError(path, message % {"path": path, "input": given.given})


def _check_existing_folder(
    path: Path,
    real: Path,
    st: os.stat_result,
    *,
    overwrite: bool,
    ours: Callable[[Path], bool] | None,
) -> None:
    if not stat.S_ISDIR(st.st_mode):
        raise OutputRefusedError(
            path,
            _(
                "%(path)s: refused as an output folder: a file of that name exists and is "
                "never replaced; choose another path"
            )
            % {"path": path},
        )
    try:
        empty = not any(real.iterdir())
    except OSError:
        empty = False
    if not empty and (ours is None or not ours(real)):
        raise OutputRefusedError(
            path,
            _(
                "%(path)s: refused as an output folder: civicmap did not write it (no "
                "%(marker)s in it), so it is never replaced, not even with --overwrite; "
                "move it away yourself or choose another path"
            )
            % {"path": path, "marker": _marker_name(ours)},
        )
    if not overwrite:
        raise OutputExistsError(path)


def _marker_name(ours: Callable[[Path], bool] | None) -> str:
    if ours is is_pack_folder:
        return PACK_MANIFEST
    if ours is is_tile_folder:
        return TILES_MARKER
    return getattr(ours, "marker", _("civicmap marker"))


# --------------------------------------------------------------------------- a run


_state = threading.local()


def _registered() -> list[_Input]:
    return list(getattr(_state, "inputs", ()))


def _held() -> dict[str, int]:
    held = getattr(_state, "locks", None)
    if held is None:
        held = _state.locks = {}
    return held


@contextlib.contextmanager
def guarded_outputs(
    outputs: Sequence[Output | Path],
    *,
    inputs: Iterable[Path | str] = (),
    overwrite: bool,
    wait: float | None = None,
) -> Iterator[None]:
    """Check every output of a run, lock their folders, and check every write inside.

    Called before any work, so a refused output costs nothing. A second run writing
    into one of the same folders waits up to ``wait`` seconds (default
    ``settings.output_lock_wait``), then is refused with :class:`OutputBusyError`:
    two runs never mix their outputs. Once the locks are held the outputs are
    checked again (the other run may have written them meanwhile). Nested calls in
    one thread share the locks and add their inputs.
    """
    outs = [o if isinstance(o, Output) else Output(Path(o)) for o in outputs]
    given = _inputs(inputs)
    for o in outs:
        check_output(
            o.path,
            overwrite=overwrite,
            inputs=[g.given for g in given],
            folder=o.folder,
            ours=o.ours,
            root=o.root,
        )
    folders = sorted({_real(Path(o.path).parent) for o in outs})
    before = getattr(_state, "inputs", ())
    with contextlib.ExitStack() as stack:
        for f in folders:
            stack.enter_context(output_lock(Path(f), wait=wait))
        _state.inputs = (*before, *given)
        stack.callback(setattr, _state, "inputs", before)
        for o in outs:
            check_output(o.path, overwrite=overwrite, folder=o.folder, ours=o.ours, root=o.root)
        yield


@contextlib.contextmanager
def output_lock(folder: Path, *, wait: float | None = None) -> Iterator[None]:
    """Hold the lock of the output folder ``folder`` (created if missing) for the block.

    The lock is an ``flock`` on :data:`LOCK_NAME` in the folder: the kernel releases it
    when the process dies, so a run killed with SIGKILL never blocks the next one (its
    leftover file is simply taken over). The file is removed when the block ends.
    Another thread or process holding it: wait up to ``wait`` seconds, then
    :class:`OutputBusyError` naming the folder and the fix.
    """
    key = _real(folder)
    held = _held()
    if key in held:  # this thread already holds it (a nested run)
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    wait = settings.output_lock_wait if wait is None else wait
    created = _make_folder(Path(folder))
    lock = Path(folder) / LOCK_NAME
    fd = _acquire(lock, wait=wait, folder=Path(folder))
    held[key] = 1
    try:
        yield
    finally:
        del held[key]
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)
        if created:
            with contextlib.suppress(OSError):
                Path(folder).rmdir()  # nothing was written: leave no empty folder behind


def _make_folder(folder: Path) -> bool:
    if folder.is_dir():
        return False
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        return False
    except OSError as exc:
        raise _lock_error(folder, exc) from None
    return True


def _lock_error(folder: Path, exc: OSError) -> CivicMapError:
    from civicmap._files import _os_error  # why: _files imports this module at its top (cycle)

    return _os_error(folder, exc)


def _acquire(lock: Path, *, wait: float, folder: Path) -> int:
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a planted symbolic link: never write through it
                raise OutputRefusedError(
                    lock,
                    _(
                        "%(path)s: refused: a symbolic link stands where civicmap keeps its "
                        "lock file; remove it"
                    )
                    % {"path": lock},
                ) from None
            raise _lock_error(folder, exc) from None
        if _try_lock(fd):
            try:
                same = os.fstat(fd).st_ino == os.stat(lock).st_ino
            except OSError:
                same = False
            if same:  # not a file the previous holder removed just before we locked it
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                return fd
        os.close(fd)
        if time.monotonic() >= deadline:
            raise OutputBusyError(
                _(
                    "%(folder)s: another civicmap run (process %(pid)s) is writing into this "
                    "folder; wait until it has finished and run again, or choose another "
                    "output folder"
                )
                % {"folder": folder, "pid": _holder(lock)}
            )
        time.sleep(0.1)


def _try_lock(fd: int) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True
    try:  # pragma: no cover - Windows
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _holder(lock: Path) -> str:
    try:
        return lock.read_text(encoding="ascii", errors="replace").split()[0][:12]
    except (OSError, IndexError):
        return "?"
