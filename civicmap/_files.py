"""Safe file writing: outputs appear whole or not at all, and all together.

Every output is first written to a temporary file next to it, named
``.<name>.<random>.civicmap.part`` (hidden, recognisably ours). Outside a batch
the temporary file is renamed over the output as soon as it is complete.
Inside :func:`output_batch` (one ``build``) the renames wait until every output
of the build is written, then happen together: a failure, a full disk or a
SIGTERM before that point leaves every old output untouched. The renames are
preceded by a small journal (``.civicmap-commit.<random>.part``) listing them;
if the process is killed (SIGKILL) in the middle of the renames, the next run
finishes them (roll forward), so the set becomes all new. Stale ``.part``
files of ours next to an output are removed when a build starts.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from civicmap._outputs import check_output
from civicmap.errors import CivicMapError, OutputExistsError  # noqa: F401 (re-exported)
from civicmap.i18n import _

log = logging.getLogger(__name__)

#: Suffix of every temporary file civicmap writes next to an output.
PART_SUFFIX = ".civicmap.part"
#: Prefix of the journal of a batch of renames (in the folder of its first output).
JOURNAL_PREFIX = ".civicmap-commit."


class OutputWriteError(CivicMapError):
    """An output cannot be written (disk full, read-only folder, path is a folder ...)."""

    exit_code = 1


_REASONS = {
    errno.ENOSPC: "the disk is full; free some space and build again",
    errno.EDQUOT: "the disk quota is exhausted; free some space and build again",
    errno.EROFS: "the file system is read-only; choose another output folder",
    errno.EACCES: "permission denied; choose a folder you can write to",
    errno.EPERM: "permission denied; choose a folder you can write to",
    errno.EISDIR: "it is a folder; give a file name (e.g. out/map.html)",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.ENAMETOOLONG: "the file name is too long; choose a shorter one",
}


def _os_error(path: Path, exc: OSError) -> OutputWriteError:
    reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    return OutputWriteError(f"{path}: cannot write the output: {reason}")


def check_writable(path: Path, *, overwrite: bool) -> None:
    """Refuse an output file the rule forbids (:func:`civicmap._outputs.check_output`).

    An input of the run (those registered by an open
    :func:`~civicmap._outputs.guarded_outputs`), a folder, a device or FIFO, or a
    symbolic link leading out of the output's folder is refused always; an existing
    file unless ``overwrite``.
    """
    check_output(path, overwrite=overwrite)


class _Batch:
    """Outputs written but not yet renamed: ``(temporary, target)`` pairs."""

    def __init__(self, targets: list[Path]) -> None:
        self.pending: list[tuple[Path, Path]] = []
        self.targets = {_key(t) for t in targets}

    def holds(self, target: Path) -> bool:
        """Whether ``target`` is one of the batch's outputs (caches etc. are not)."""
        return _key(target) in self.targets


def _key(path: Path) -> str:
    return os.path.abspath(os.fspath(path))


_state = threading.local()


def _current() -> _Batch | None:
    return getattr(_state, "batch", None)


def _rename(src: Path, dst: Path) -> None:
    """One rename (a separate function so fault tests can pause between renames).

    A folder output (the web map's tile folder) replaces an existing folder by moving the
    old one aside first (``os.replace`` cannot replace a non-empty folder), then removing it.
    """
    src, dst = Path(src), Path(dst)
    if src.is_dir() and dst.is_dir():
        aside = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=PART_SUFFIX, dir=dst.parent))
        aside.rmdir()
        os.replace(dst, aside)
        try:
            os.replace(src, dst)
        except OSError:
            os.replace(aside, dst)  # put the old folder back
            raise
        shutil.rmtree(aside, ignore_errors=True)
        return
    os.replace(src, dst)


def replace_output(src: Path, dst: Path) -> None:
    """Rename the finished temporary ``src`` (file or folder) over the output ``dst``.

    Only after :func:`civicmap._outputs.check_output` allowed ``dst``: a folder is moved
    aside, replaced, then removed (a failed rename puts it back).
    """
    _rename(src, dst)


def join_output_batch(tmp: Path, target: Path) -> bool:
    """Let a finished temporary output (file or folder) be renamed with the batch, if one is open.

    Returns False when no output batch is open: the caller renames it itself.
    """
    batch = _current()
    if batch is None:
        return False
    batch.pending.append((Path(tmp), Path(target)))
    return True


def _tmp_for(target: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=target.parent)
    os.close(fd)
    return Path(tmp)


def _finish_permissions(tmp: Path) -> None:
    # mkstemp creates 0600; give the output the permissions a normal file gets
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` on success.

    A failure inside the block removes the temporary file, so a failed run
    never leaves a half-written output behind. Inside :func:`output_batch`
    the rename waits for the end of the batch. ``OSError`` (disk full,
    read-only folder ...) becomes :class:`OutputWriteError` naming the file.
    """
    target = Path(path)
    check_writable(target, overwrite=overwrite)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = _tmp_for(target)
    except OSError as exc:
        raise _os_error(target, exc) from None
    batch = _current()
    if batch is not None and not batch.holds(target):
        batch = None
    try:
        yield tmp_path
        _finish_permissions(tmp_path)
        if batch is None:
            _rename(tmp_path, target)
        else:
            batch.pending.append((tmp_path, target))
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(exc, OSError):
            raise _os_error(target, exc) from None
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(
    path: str | os.PathLike, text: str, *, overwrite: bool = True, encoding: str = "utf-8"
) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode(encoding), overwrite=overwrite)


def _is_ours(p: Path) -> bool:
    return p.name.startswith(".") and p.name.endswith(PART_SUFFIX)


def _roll_forward(journal: Path) -> None:
    """Finish the renames a killed run had started (its journal lists them)."""
    try:
        pairs = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pairs = []
    done = 0
    for src, dst in pairs if isinstance(pairs, list) else []:
        s, d = Path(src), Path(dst)
        if s.parent != d.parent or not _is_ours(s):
            continue  # never follow a journal outside its own pattern
        if s.exists():
            with contextlib.suppress(OSError):
                _rename(s, d)
                done += 1
    with contextlib.suppress(OSError):
        journal.unlink()
    if done:
        log.warning(
            _(
                "%(parent)s: an earlier build was stopped while replacing its outputs; "
                "finished %(done)d rename(s)"
            ),
            {"parent": journal.parent, "done": done},
        )


def clean_stale(targets: list[Path]) -> list[Path]:
    """Recover, then remove, what killed runs left next to ``targets``.

    A commit journal in one of the folders is rolled forward first (so the
    outputs of an interrupted commit become the complete new set); then every
    ``.<name>.*.civicmap.part`` file of one of the target names is removed.
    Only files matching our own pattern for these names are touched.
    """
    removed: list[Path] = []
    folders = {Path(t).parent for t in targets}
    for folder in folders:
        if not folder.is_dir():
            continue
        for journal in folder.glob(f"{JOURNAL_PREFIX}*{PART_SUFFIX}"):
            _roll_forward(journal)
            removed.append(journal)
    for target in targets:
        target = Path(target)
        if not target.parent.is_dir():
            continue
        for stale in target.parent.glob(f".{glob_escape(target.name)}.*{PART_SUFFIX}"):
            with contextlib.suppress(OSError):
                stale.unlink()
                removed.append(stale)
    if removed:
        log.info(
            _("removed %(n)d temporary file(s) left by an interrupted build"), {"n": len(removed)}
        )
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob metacharacters escaped (``[`` ``*`` ``?``)."""
    return "".join(f"[{c}]" if c in "[]*?" else c for c in name)


def _commit(batch: _Batch) -> None:
    if not batch.pending:
        return
    folder = batch.pending[0][1].parent
    fd, jname = tempfile.mkstemp(prefix=JOURNAL_PREFIX, suffix=PART_SUFFIX, dir=folder)
    journal = Path(jname)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump([[str(s), str(d)] for s, d in batch.pending], f)
        f.flush()
        os.fsync(f.fileno())
    # SIGTERM/SIGINT wait until every rename is done (SIGKILL cannot: the journal covers it).
    # A handler, not a signal mask: the mask is per thread and library threads would die.
    with _signals_deferred():
        for src, dst in batch.pending:
            try:
                _rename(src, dst)
            except OSError as exc:
                raise _os_error(dst, exc) from None
        batch.pending.clear()
        journal.unlink()


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGTERM/SIGINT until the block ends, then deliver them as before."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    sigs = [signal.SIGTERM, signal.SIGINT]
    old = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in sigs}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        for s in dict.fromkeys(caught):
            signal.raise_signal(s)


@contextlib.contextmanager
def output_batch(targets: list[Path]) -> Iterator[None]:
    """Write every output inside the block together: all renamed at the end, or none.

    ``targets`` are the outputs the block will write (other files written
    meanwhile, such as cache entries, are renamed at once as usual); stale temporary files of
    earlier killed runs next to them are cleaned (and an interrupted commit
    finished) first. A batch inside a batch joins the outer one.
    """
    if _current() is not None:
        yield
        return
    clean_stale(list(targets))
    batch = _Batch(list(targets))
    _state.batch = batch
    try:
        yield
        _state.batch = None
        _commit(batch)
    except BaseException:
        for tmp, _ in batch.pending:
            if tmp.is_dir():  # a folder output (tiles)
                shutil.rmtree(tmp, ignore_errors=True)
                continue
            with contextlib.suppress(OSError):
                tmp.unlink()
        batch.pending.clear()
        raise
    finally:
        _state.batch = None


def write_folder(
    target: str | os.PathLike,
    files: Mapping[str, bytes | Path | Callable[[], bytes]],
    *,
    overwrite: bool,
    ours: Callable[[Path], bool],
    marker: str,
) -> Path:
    """Write the folder output ``target`` all at once: a temporary folder beside it, then a rename.

    ``files`` maps a relative path (``a/b.png``) to its bytes, a callable returning them
    (read when written: a pack tile, checked, never a path of an untrusted pack to copy)
    or a path of ours to copy. The ``marker`` file (what ``ours`` recognises) is added, so a
    later ``--overwrite`` knows the folder is civicmap's. A failure leaves the old folder
    (or none) as it was, never half a folder; inside a build (an open output batch) the
    finished folder is renamed with the other outputs, all or none. An existing folder is
    replaced only with ``overwrite`` and only when ``ours`` says civicmap wrote it;
    temporary folders a killed run left next to it are removed first.

    Raises
    ------
    OutputExistsError
        ``target`` exists and ``overwrite`` is false.
    OutputRefusedError
        ``target`` is not a folder civicmap wrote, or is an input (never replaced).
    OutputWriteError
        The folder cannot be written (disk full, read-only ...), naming it.
    """
    target = Path(target)
    check_output(target, overwrite=overwrite, folder=True, ours=ours)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(f".{glob_escape(target.name)}.*{PART_SUFFIX}"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=target.parent)
        )
    except OSError as exc:
        raise _os_error(target, exc) from None
    old = None
    try:
        for key, src in sorted(files.items()):
            dst = tmp / key
            dst.parent.mkdir(parents=True, exist_ok=True)
            if callable(src):
                dst.write_bytes(src())
            elif isinstance(src, bytes):
                dst.write_bytes(src)
            else:
                shutil.copyfile(src, dst)
            _finish_permissions(dst)
        (tmp / marker).write_text('{"written_by": "civicmap"}\n', encoding="utf-8")
        _finish_permissions(tmp / marker)
        for d in [tmp, *[p for p in tmp.rglob("*") if p.is_dir()]]:
            d.chmod(0o755)  # mkdtemp makes 0700: a folder served by a web server must be readable
        if join_output_batch(tmp, target):
            return target  # inside a build: renamed with the other outputs, all or none
        if target.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=target.parent)
            )
            old.rmdir()
            target.rename(old)
        tmp.rename(target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists() and not target.exists():
            old.rename(target)  # put the old folder back
        if isinstance(exc, OSError):
            raise _os_error(target, exc) from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


#: First characters that make Excel/LibreOffice read a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """A cell safe to open in a spreadsheet: text starting like a formula gets a leading ``'``.

    OWASP's advice for CSV injection: a cell beginning with ``= + - @``, a tab
    or a carriage return is prefixed with a single quote, so Excel shows the
    text instead of running ``=HYPERLINK(...)`` or ``=cmd|...``. Numbers are
    left as numbers (a negative longitude stays a number); only text changes.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
