"""An offline pack's files, read as untrusted data: never paths.

A pack (``civicmap fetch``) is made to be handed around (a USB stick at a workshop), so
each entry is opened without following a symbolic link (nor a linked folder on the way),
only when it is a regular file, size-capped and checked against the checksum its
manifest records (:func:`read_pack_entry`, :func:`list_pack_files`). A ground-floor
module: the readers (:mod:`civicmap.sources`), the HTTP cache (:mod:`civicmap._http`)
and the tile reader (:mod:`civicmap.render.tiles`) all read packs, and render never
imports the readers.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import threading
from pathlib import Path

from civicmap.errors import SourceError
from civicmap.i18n import N_, _

log = logging.getLogger(__name__)

#: Bytes read at a time.
CHUNK = 1 << 20

_KINDS = (
    (stat.S_ISLNK, N_("a symbolic link")),
    (stat.S_ISDIR, N_("a folder")),
    (stat.S_ISCHR, N_("a character device")),
    (stat.S_ISBLK, N_("a block device")),
    (stat.S_ISFIFO, N_("a named pipe (FIFO)")),
    (stat.S_ISSOCK, N_("a socket")),
)


def file_kind(mode: int) -> str:
    """What a non-regular file is, in the user's language ("a symbolic link", "a FIFO" ...)."""
    kind = next((k for test, k in _KINDS if test(mode)), None)
    return _(kind) if kind else _("not a regular file")


def size_text(n: int) -> str:
    """A size as people read it (``12 MB``, ``900 bytes``)."""
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n:,} bytes"


# --- offline packs: data, never paths ------------------------------------------

#: Largest pack manifest (``manifest.json``, ``tiles.json``, an answer's meta file) read.
PACK_MANIFEST_MAX_BYTES = 16 * 1024 * 1024

_O_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

_OLD_PACKS_TOLD: set[str] = set()
_OLD_PACKS_LOCK = threading.Lock()


def _pack_fix() -> str:
    return _(
        "do not use this pack: make it again with `civicmap fetch MAP.yaml --overwrite` (with "
        "the network), or ask whoever gave it to you for a new one"
    )


def _refuse_kind(pack: Path, entry: str, mode: int) -> SourceError:
    return SourceError(
        _(
            "offline pack %(pack)s: %(entry)s is %(kind)s, not a plain file; refused and never "
            "followed or copied (a pack holds only plain files); %(fix)s"
        )
        % {"pack": pack, "entry": entry, "kind": file_kind(mode), "fix": _pack_fix()}
    )


def _refuse_unreadable(pack: Path, entry: str, exc: OSError) -> SourceError:
    return SourceError(
        _("offline pack %(pack)s: cannot read %(entry)s (%(error)s); %(fix)s")
        % {"pack": pack, "entry": entry, "error": exc.strerror or exc, "fix": _pack_fix()}
    )


def _entry_parts(entry: str) -> list[str]:
    parts = entry.split("/")
    if not entry or entry.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not a relative pack entry: {entry!r}")  # a bug of ours, not data
    return parts


def _open_pack_dir(pack: Path, parts: list[str]) -> int | None:
    """A file descriptor of ``pack/parts...``, each folder below ``pack`` opened without
    following a symbolic link; None when one of them does not exist."""
    try:
        fd = os.open(pack, _O_READ | _O_DIRECTORY | _O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise _refuse_unreadable(pack, ".", exc) from None
    for i, name in enumerate(parts):
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                raise _refuse_kind(pack, "/".join(parts[: i + 1]), st.st_mode)
            sub = os.open(name, _O_READ | _O_DIRECTORY | _O_NOFOLLOW, dir_fd=fd)
        except FileNotFoundError:
            os.close(fd)
            return None
        except SourceError:
            os.close(fd)
            raise
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # replaced by a link meanwhile
                raise _refuse_kind(pack, "/".join(parts[: i + 1]), stat.S_IFLNK) from None
            raise _refuse_unreadable(pack, "/".join(parts[: i + 1]), exc) from None
        os.close(fd)
        fd = sub
    return fd


def read_pack_entry(
    pack: str | Path, entry: str, *, max_bytes: int, sha256: str | None = None
) -> bytes | None:
    """The bytes of the file ``entry`` (``"tiles/gsi-pale/15/1/2.png"``) of the pack ``pack``.

    Why: a pack is made to be handed around (a USB stick at a workshop), so each
    of its entries is untrusted data. A symbolic link in it (to a secret file, to
    ``/dev/zero``), a FIFO or a device would otherwise be followed: copied into
    the published map, or read until memory runs out, or wait forever. The pack
    folder itself may be a link (the user named it); nothing below it may be.

    Parameters
    ----------
    pack : path
        The pack folder.
    entry : str
        The entry, relative to ``pack``, with ``/`` between folders.
    max_bytes : int
        The largest entry accepted (checked before reading, and while reading).
    sha256 : str, optional
        The checksum the pack manifest records for this entry; None when the
        manifest has none (a pack made by an older civicmap).

    Returns
    -------
    bytes or None
        None when the entry (or a folder on its way) does not exist.

    Raises
    ------
    SourceError
        One line naming the pack and the entry: a symbolic link (also a linked
        folder on the way), not a regular file, larger than ``max_bytes``,
        unreadable, or not matching ``sha256``.
    """
    pack = Path(pack)
    parts = _entry_parts(entry)
    fd_dir = _open_pack_dir(pack, parts[:-1])
    if fd_dir is None:
        return None
    try:
        try:
            st = os.stat(parts[-1], dir_fd=fd_dir, follow_symlinks=False)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _refuse_unreadable(pack, entry, exc) from None
        if not stat.S_ISREG(st.st_mode):  # refused before opening: a device is never opened
            raise _refuse_kind(pack, entry, st.st_mode)
        try:
            fd = os.open(parts[-1], _O_READ | _O_NOFOLLOW | _O_NONBLOCK, dir_fd=fd_dir)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _refuse_kind(pack, entry, stat.S_IFLNK) from None
            raise _refuse_unreadable(pack, entry, exc) from None
    finally:
        os.close(fd_dir)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped between the two looks
            raise _refuse_kind(pack, entry, st.st_mode)
        too_big = SourceError(
            _(
                "offline pack %(pack)s: %(entry)s is larger than the %(limit)s a pack entry may "
                "have; refused; %(fix)s"
            )
            % {"pack": pack, "entry": entry, "limit": size_text(max_bytes), "fix": _pack_fix()}
        )
        if st.st_size > max_bytes:
            raise too_big
        chunks = []
        size = 0
        while chunk := os.read(fd, min(CHUNK, max_bytes + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise too_big
        data = b"".join(chunks)
    except OSError as exc:
        raise _refuse_unreadable(pack, entry, exc) from None
    finally:
        os.close(fd)
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise SourceError(
            _(
                "offline pack %(pack)s: %(entry)s does not match the checksum its manifest "
                "records (changed after `civicmap fetch` made the pack); refused; %(fix)s"
            )
            % {"pack": pack, "entry": entry, "fix": _pack_fix()}
        )
    return data


def _too_many_files(pack: Path, folder: str, max_files: int) -> SourceError:
    return SourceError(
        _("offline pack %(pack)s: more than %(n)s files in %(folder)s; refused; %(fix)s")
        % {"pack": pack, "n": f"{max_files:,}", "folder": folder, "fix": _pack_fix()}
    )


def list_pack_files(
    pack: str | Path, folder: str, *, suffix: str, max_files: int = 100_000
) -> dict[str, int]:
    """Every file ending in ``suffix`` below ``pack/folder``: ``{entry: size}``, sorted.

    Walks the folders without following a symbolic link. A linked folder, or an
    entry ending in ``suffix`` that is not a regular file, is refused (never
    listed, so never read or copied); other names are ignored.

    Raises
    ------
    SourceError
        Naming the pack and the entry, as :func:`read_pack_entry`; or more than
        ``max_files`` files.
    """
    pack = Path(pack)
    base = _entry_parts(folder)
    top = _open_pack_dir(pack, base)
    if top is None:
        return {}
    found: dict[str, int] = {}
    todo: list[tuple[int, list[str]]] = [(top, base)]
    try:
        while todo:
            fd, parts = todo.pop()
            try:
                with os.scandir(fd) as it:
                    entries = sorted(it, key=lambda e: e.name)
                for e in entries:
                    entry = "/".join([*parts, e.name])
                    st = e.stat(follow_symlinks=False)
                    if stat.S_ISDIR(st.st_mode):
                        try:
                            sub = os.open(e.name, _O_READ | _O_DIRECTORY | _O_NOFOLLOW, dir_fd=fd)
                        except OSError as exc:
                            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                                raise _refuse_kind(pack, entry, stat.S_IFLNK) from None
                            raise _refuse_unreadable(pack, entry, exc) from None
                        todo.append((sub, [*parts, e.name]))
                    elif stat.S_ISLNK(st.st_mode) or e.name.endswith(suffix):
                        if not stat.S_ISREG(st.st_mode):
                            raise _refuse_kind(pack, entry, st.st_mode)
                        found[entry] = st.st_size
                        if len(found) > max_files:
                            raise _too_many_files(pack, folder, max_files)
            except OSError as exc:
                raise _refuse_unreadable(pack, "/".join(parts), exc) from None
            finally:
                os.close(fd)
    finally:
        for fd, _parts in todo:
            os.close(fd)
    return dict(sorted(found.items(), key=lambda kv: kv[0].split("/")))


def warn_old_pack(pack: str | Path) -> None:
    """Say once per pack that it has no checksums (made by an older civicmap).

    Its entries are still refused when they are not plain files; only the
    check against changed bytes is missing.
    """
    key = str(Path(pack).resolve())
    with _OLD_PACKS_LOCK:
        if key in _OLD_PACKS_TOLD:
            return
        _OLD_PACKS_TOLD.add(key)
    log.warning(
        _(
            "offline pack %(pack)s was made by an older civicmap and records no checksums: its "
            "files are used without checking them for changes; make it again with `civicmap "
            "fetch MAP.yaml --overwrite` when you have the network"
        ),
        {"pack": pack},
    )
