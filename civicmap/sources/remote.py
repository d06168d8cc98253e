"""Remote sources: a layer's file fetched from a server (``url:``), kept, refreshed and packed.

A volunteer group's living map is often a file on someone else's server: a
published spreadsheet as CSV, a Google My Maps KML link, a municipal GeoJSON,
a uMap layer's ``remoteData``. Such a source is fetched through
:mod:`civicmap._http` only (same-host redirects, a size cap, a deadline,
private addresses refused unless allowed) and its copy is kept in the cache::

    <cache>/remote/<key>/<name>       the file as the server sent it (shelters.csv)
    <cache>/remote/<key>/meta.json    its SHA-256, size and fetch time (written last)

``key`` is the hash of the request (:func:`civicmap._http.cache_key`), ``name``
the URL's own file name (:func:`civicmap.spec.layers.remote_file_name`), so the
map credits ``shelters.csv`` and never a hash or a path.

The refresh rule: within the source's ``refresh`` interval the copy is used
without asking the server; past it the server is asked with a conditional GET
(``If-None-Match`` / ``If-Modified-Since`` from the copy's ``ETag`` /
``Last-Modified``): "not modified" (304) confirms the copy, which is then dated
by that answer; a new file replaces the copy only once it has arrived whole
*and* reads as its kind. A failed refresh (the
server down, an error answer, a body cut short, a file that no longer reads)
keeps the last good copy, says in one line what failed and how old the copy
is, and the map is dated by that copy: a copy fetched at T is dated T.

``civicmap fetch`` stores each copy in the offline pack (``remote/<key>/<name>``,
with its fetch time and SHA-256 in the manifest's ``remote`` list); a build
that names the pack reads the copy from there, as untrusted data, and never
asks the server, so the rebuild equals the build the pack was made for.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from civicmap import _http, settings
from civicmap._files import write_bytes_atomic, write_text_atomic
from civicmap._packfiles import PACK_MANIFEST_MAX_BYTES, read_pack_entry
from civicmap._transport import PrivateAddressError, excerpt, redact
from civicmap.errors import NetworkError, OfflineError, SourceError
from civicmap.i18n import _
from civicmap.schema import Credit, SourceResult
from civicmap.spec.layers import RemoteSpec, SourceSpec

log = logging.getLogger(__name__)

#: The folder of remote copies, in the cache and in a pack.
FOLDER = "remote"
#: The record that makes a cached copy count (written after the file).
META = "meta.json"
#: The pack manifest (as :data:`civicmap.sources.overpass.MANIFEST`).
MANIFEST = "manifest.json"

#: Reads a stored copy into the common schema (the caller's reader for the source's kind).
Reader = Callable[[Path], SourceResult]


@dataclass(frozen=True)
class RemoteCopy:
    """A stored copy of a remote source's file.

    Attributes
    ----------
    path : Path
        The file to read (in the cache or in a pack).
    fetched : str
        When the server sent it: ISO time in UTC (``2026-12-05T09:00:00+00:00``).
    origin : str
        Where this run took it from: ``server`` (fetched now), ``cache`` (within
        ``refresh``, or offline), ``pack``, or ``stale`` (the refresh failed).
    sha256 : str
        The file's SHA-256.
    """

    path: Path
    fetched: str
    origin: str
    sha256: str
    #: The server's ``ETag`` and ``Last-Modified`` for this file ("" when it sent none).
    etag: str = ""
    last_modified: str = ""

    def age(self, now: dt.datetime | None = None) -> float:
        """Seconds since the copy was fetched (0 for a time in the future)."""
        when = _parse_time(self.fetched)
        if when is None:
            return float("inf")
        return max(0.0, ((now or _now()) - when).total_seconds())

    @property
    def date(self) -> str:
        """The copy's date as a source date (``YYYY-MM-DD``, UTC): the map's data date for it."""
        return self.fetched[:10]


def _now() -> dt.datetime:
    """The clock, in UTC (tests move it to cross a ``refresh`` interval without waiting)."""
    return dt.datetime.now(dt.UTC)


def _parse_time(text: Any) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


def copy_key(url: str) -> str:
    """The folder name of a URL's copy (the request hash, shortened): cache and pack alike."""
    return _http.cache_key("GET", url)[:32]


def _cache_dir(remote: RemoteSpec) -> Path:
    return Path(settings.cache_folder) / FOLDER / copy_key(remote.url)


def age_text(seconds: float) -> str:
    """An age for people: ``45 s``, ``12 min``, ``3 h 20 min``, ``2 d 4 h``."""
    s = int(max(0.0, seconds))
    if s < 60:
        return _("%(n)d s") % {"n": s}
    if s < 3600:
        return _("%(n)d min") % {"n": s // 60}
    if s < 86400:
        return _("%(h)d h %(m)d min") % {"h": s // 3600, "m": s % 3600 // 60}
    return _("%(d)d d %(h)d h") % {"d": s // 86400, "h": s % 86400 // 3600}


def when_text(fetched: str) -> str:
    """A fetch time as messages show it: ``2026-12-05 09:00 UTC``."""
    when = _parse_time(fetched)
    return f"{when:%Y-%m-%d %H:%M} UTC" if when is not None else "?"


def describe(remote: RemoteSpec, *, layer: str) -> str:
    """How messages name a remote source: its layer and its address (credentials masked)."""
    return _("layer %(layer)s, %(url)s") % {"layer": layer, "url": redact(remote.url)}


# --- the cache ------------------------------------------------------------------


def cached_copy(remote: RemoteSpec) -> tuple[RemoteCopy | None, str]:
    """The cached copy of ``remote`` and, when it cannot be used, why.

    ``(copy, "")`` for a whole copy, ``(None, "")`` when there is none, and
    ``(None, reason)`` when the file does not match its record (an interrupted
    write, a hand edit): such a copy is fetched again, never read.
    """
    folder = _cache_dir(remote)
    meta_path, body_path = folder / META, folder / remote.name
    if not meta_path.is_file():
        return None, ""
    try:
        meta = json.loads(meta_path.read_bytes())
        body = body_path.read_bytes()
    except (OSError, ValueError) as exc:
        return None, _("the cached copy %(path)s is damaged (%(error)s)") % {
            "path": folder,
            "error": type(exc).__name__,
        }
    fetched = meta.get("fetched") if isinstance(meta, dict) else None
    if (
        not isinstance(meta, dict)
        or hashlib.sha256(body).hexdigest() != meta.get("sha256")
        or _parse_time(fetched) is None
    ):
        return None, _("the cached copy %(path)s is damaged (does not match its record)") % {
            "path": body_path
        }
    return RemoteCopy(
        body_path,
        str(fetched),
        "cache",
        str(meta["sha256"]),
        etag=_validator(meta.get("etag")),
        last_modified=_validator(meta.get("last_modified")),
    ), ""


_VALIDATOR = re.compile(r"[\x20-\x7e]{1,200}")


def _validator(value: Any) -> str:
    """An ``ETag`` / ``Last-Modified`` value safe to send back (printable ASCII, short), or ""."""
    text = str(value or "")
    return text if _VALIDATOR.fullmatch(text) else ""


def _store(
    remote: RemoteSpec, body: bytes, fetched: str, *, etag: str = "", last_modified: str = ""
) -> RemoteCopy:
    """Write ``body`` as the cached copy: the file first, then the record that makes it count."""
    folder = _cache_dir(remote)
    sha = hashlib.sha256(body).hexdigest()
    path = write_bytes_atomic(folder / remote.name, body)
    meta = {
        "url": redact(remote.url),  # for people looking into the cache; never a password
        "name": remote.name,
        "fetched": fetched,
        "bytes": len(body),
        "sha256": sha,
        "etag": _validator(etag),
        "last_modified": _validator(last_modified),
    }
    write_text_atomic(folder / META, json.dumps(meta, ensure_ascii=False, indent=1))
    return RemoteCopy(path, fetched, "server", sha, meta["etag"], meta["last_modified"])


def _download(remote: RemoteSpec, old: RemoteCopy | None) -> tuple[bytes | None, Any]:
    """GET the file through :func:`civicmap._http.send` (a map file's URL: private refused).

    A conditional GET when ``old`` has the server's validators; ``(None, headers)``
    when the server answers 304 (not modified), else ``(body, headers)``.
    """
    asked: dict[str, str] = {}
    if old is not None and old.etag:
        asked["If-None-Match"] = old.etag
    if old is not None and old.last_modified:
        asked["If-Modified-Since"] = old.last_modified
    resp = _http.send(
        "GET", remote.url, from_map=True, max_bytes=settings.http_max_bytes, headers=asked
    )
    if resp.status_code == 304 and asked:
        return None, resp.headers
    if resp.status_code != 200:  # a 204, or a 3xx that is not a redirect
        raise NetworkError(
            _("GET %(url)s answered HTTP %(status)s without the file")
            % {"url": redact(remote.url), "status": resp.status_code}
        )
    if not resp.content.strip():
        raise NetworkError(_("GET %(url)s answered an empty file") % {"url": redact(remote.url)})
    return resp.content, resp.headers


def refresh_copy(
    remote: RemoteSpec, *, reader: Reader, what: str
) -> tuple[RemoteCopy, SourceResult]:
    """Ask the server for the file; keep it only when it arrived whole and reads as its kind.

    The previous copy (if any) stays on disk, record and all, until the new file
    has been read without error; a file that fails to read is put back.

    Raises
    ------
    NetworkError
        The server could not be reached or answered no whole file.
    SourceError
        The file arrived but does not read as its kind (the previous copy is kept).
    """
    fetched = _stamp(_now())
    old_copy, _damaged = cached_copy(remote)
    body, headers = _download(remote, old_copy)
    if body is None and old_copy is not None:  # 304: the copy is the server's file now
        result = reader(old_copy.path)
        copy = _store(
            remote, old_copy.path.read_bytes(), fetched,
            etag=headers.get("ETag") or old_copy.etag,
            last_modified=headers.get("Last-Modified") or old_copy.last_modified,
        )  # fmt: skip
        log.info(
            _("%(what)s: not changed on the server since the copy; used for %(refresh)s"),
            {"what": what, "refresh": age_text(remote.refresh)},
        )
        return copy, result
    assert body is not None
    target = _cache_dir(remote) / remote.name
    old = old_copy.path.read_bytes() if old_copy is not None else None
    write_bytes_atomic(target, body)
    try:
        result = reader(target)
    except Exception as exc:  # a SourceError, or a library's error on an odd file
        if old is not None:
            write_bytes_atomic(target, old)  # the record still describes these bytes
        raise SourceError(
            _("%(what)s: the server's file does not read as %(kind)s: %(error)s")
            % {"what": what, "kind": remote.kind, "error": excerpt(str(exc), 200)}
        ) from None
    copy = _store(
        remote, body, fetched,
        etag=headers.get("ETag", ""), last_modified=headers.get("Last-Modified", ""),
    )  # fmt: skip
    log.info(
        _("%(what)s: fetched from the server (%(n)d bytes); used for %(refresh)s"),
        {"what": what, "n": len(body), "refresh": age_text(remote.refresh)},
    )
    return copy, result


def _stale_warning(what: str, copy: RemoteCopy, exc: Exception) -> str:
    return _(
        "%(what)s: the refresh failed (%(error)s); using the last good copy, fetched "
        "%(when)s (%(age)s ago), and the map is dated by it. Build again once the server "
        "answers, or check url:"
    ) % {
        "what": what,
        "error": excerpt(str(exc), 240),
        "when": when_text(copy.fetched),
        "age": age_text(copy.age()),
    }


# --- the pack -------------------------------------------------------------------


def pack_entry_name(remote: RemoteSpec) -> str:
    """The copy's file inside a pack: ``remote/<key>/<name>``."""
    return f"{FOLDER}/{copy_key(remote.url)}/{remote.name}"


def _manifest(pack: Path) -> dict:
    raw = read_pack_entry(pack, MANIFEST, max_bytes=PACK_MANIFEST_MAX_BYTES)
    try:
        doc = json.loads(raw or b"{}")
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise SourceError(
            _(
                "%(path)s: not a pack manifest; the pack is damaged, fetch it again with "
                "civicmap fetch MAP.yaml --overwrite"
            )
            % {"path": pack / MANIFEST}
        )
    return doc


def pack_record(pack: Path, remote: RemoteSpec) -> dict | None:
    """The pack manifest's record of ``remote``'s copy, or None when the pack lacks it."""
    key = copy_key(remote.url)
    entries = _manifest(pack).get(FOLDER)
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("key") == key:
            return entry
    return None


def pack_time(pack: Path) -> dt.datetime | None:
    """When a pack's data was fetched: its newest remote copy, else when it was made.

    The time a change list since that pack's print starts from when its places carry no
    check time (``as_of``); None when the manifest records neither.
    """
    manifest = _manifest(pack)
    records = manifest.get(FOLDER)
    fetched = [_parse_time(r.get("fetched")) for r in records if isinstance(r, dict)] if (
        isinstance(records, list)) else []  # fmt: skip
    times = [t for t in fetched if t is not None]
    return max(times) if times else _parse_time(manifest.get("created"))


def pack_copy(pack: Path, remote: RemoteSpec, *, what: str) -> RemoteCopy:
    """The copy of ``remote`` an offline pack holds, checked against its manifest.

    Raises
    ------
    OfflineError
        The pack has no copy of this URL (the map changed since ``civicmap fetch``).
    SourceError
        The copy is not a plain file of the pack, too large, or does not match
        the manifest's checksum or time (read as untrusted data).
    """
    entry = pack_record(pack, remote)
    if entry is None:
        raise OfflineError(
            _(
                "offline pack %(pack)s has no copy of %(what)s: the map changed since the pack "
                "was made; run `civicmap fetch MAP.yaml --overwrite` with the network"
            )
            % {"pack": pack, "what": what}
        )
    name = pack_entry_name(remote)  # our own name for it, never one the manifest gives
    sha = str(entry.get("sha256") or "")
    fetched = entry.get("fetched")
    body = read_pack_entry(pack, name, max_bytes=settings.http_max_bytes, sha256=sha or None)
    if body is None or not sha or _parse_time(fetched) is None:
        raise SourceError(
            _(
                "offline pack %(pack)s: the copy of %(what)s (%(entry)s) is missing or its "
                "record is damaged; run `civicmap fetch MAP.yaml --overwrite` with the network"
            )
            % {"pack": pack, "what": what, "entry": name}
        )
    return RemoteCopy(pack / name, _stamp(_parse_time(fetched)), "pack", sha)


def store_in_pack(pack: Path, remote: RemoteSpec, copy: RemoteCopy, *, layer: str) -> dict:
    """Copy ``copy`` into the pack being written; return its manifest record."""
    body = copy.path.read_bytes()
    write_bytes_atomic(pack / pack_entry_name(remote), body)
    return {
        "key": copy_key(remote.url),
        "layer": layer,
        "name": remote.name,
        "url": redact(remote.url),  # a pack is handed around: never a password or token
        "fetched": copy.fetched,
        "bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }


# --- reading ----------------------------------------------------------------------


def _has_manifest(pack: Path | None) -> bool:
    return pack is not None and (Path(pack) / MANIFEST).exists()


def local_copy(
    src: SourceSpec,
    *,
    layer: str,
    reader: Reader,
    offline: bool | None = None,
    pack: Path | None = None,
) -> tuple[RemoteCopy, SourceResult]:
    """The copy a build uses for the remote source ``src``, read, and where it came from.

    In order: the offline pack the map names (never the server); offline, the
    cached copy; a cached copy younger than ``refresh`` (unless ``--refresh``);
    else the server, and when that fails, the last good copy with a warning.

    Raises
    ------
    OfflineError
        Offline (or from a pack) with no copy of this source.
    NetworkError, SourceError
        The server failed and no copy was ever fetched; or the address is refused.
    """
    remote = src.remote
    assert remote is not None
    what = describe(remote, layer=layer)
    if _has_manifest(pack):
        assert pack is not None
        copy = pack_copy(Path(pack), remote, what=what)
        log.info(
            _("%(what)s: from the offline pack %(pack)s (fetched %(when)s)"),
            {"what": what, "pack": pack, "when": when_text(copy.fetched)},
        )
        return copy, reader(copy.path)
    copy, damaged = cached_copy(remote)
    if _http.is_offline(offline):
        if copy is None:
            raise OfflineError(
                _(
                    "offline mode: no copy of %(what)s has been fetched%(damaged)s; build once "
                    "with the network, or run `civicmap fetch MAP.yaml` and build with --pack"
                )
                % {"what": what, "damaged": f" ({damaged})" if damaged else ""}
            )
        log.info(
            _("%(what)s: offline, using the copy fetched %(when)s (%(age)s ago)"),
            {"what": what, "when": when_text(copy.fetched), "age": age_text(copy.age())},
        )
        return copy, reader(copy.path)
    if copy is not None and not _http.refresh_asked() and copy.age() < remote.refresh:
        log.info(
            _("%(what)s: using the copy fetched %(age)s ago (asked again after %(refresh)s)"),
            {"what": what, "age": age_text(copy.age()), "refresh": age_text(remote.refresh)},
        )
        return copy, reader(copy.path)
    if damaged:
        log.warning(_("%(damaged)s; asking the server again"), {"damaged": damaged})
    try:
        return refresh_copy(remote, reader=reader, what=what)
    except PrivateAddressError:
        raise  # the address is refused: a problem of the map file, not of the server
    except (NetworkError, SourceError) as exc:
        if copy is None:
            raise type(exc)(
                _("%(what)s could not be fetched, and no earlier copy is kept: %(error)s")
                % {"what": what, "error": str(exc)}
            ) from None
        log.warning(_stale_warning(what, copy, exc))  # already translated
        stale = replace(copy, origin="stale")
        return stale, reader(stale.path)


def dated(result: SourceResult, copy: RemoteCopy, remote: RemoteSpec) -> SourceResult:
    """``result`` dated by its copy: the credit's date is the fetch date, ``info["remote"]`` says more."""
    credit = result.credit or Credit(source=remote.name, credit=remote.name, stated=False)
    result.credit = replace(credit, date=copy.date)
    result.info = {
        **(result.info or {}),
        "fetched": [copy.fetched],
        "remote": {
            "url": redact(remote.url),
            "fetched": copy.fetched,
            "origin": copy.origin,
            "refresh": remote.refresh,
        },
    }
    return result


def read_remote(
    src: SourceSpec,
    *,
    layer: str,
    reader: Reader,
    offline: bool | None = None,
    pack: Path | None = None,
) -> SourceResult:
    """Read the remote source ``src`` (see :func:`local_copy`), dated by its copy's fetch time."""
    copy, result = local_copy(src, layer=layer, reader=reader, offline=offline, pack=pack)
    assert src.remote is not None
    return dated(result, copy, src.remote)


def state(remote: RemoteSpec, *, pack: Path | None = None) -> dict[str, Any]:
    """What ``civicmap check`` says of a remote source, without asking its server.

    ``url`` (credentials masked), ``refresh`` (seconds), ``cached`` (the cached
    copy's fetch time and age, or None), ``fresh`` (within ``refresh``), and
    ``in_pack`` (whether the map's offline pack holds a copy, None without a pack).
    """
    copy, damaged = cached_copy(remote)
    out: dict[str, Any] = {
        "url": redact(remote.url),
        "refresh": age_text(remote.refresh),
        "cached": None,
        "in_pack": None,
    }
    if copy is not None:
        out["cached"] = _("fetched %(when)s, %(age)s ago") % {
            "when": when_text(copy.fetched),
            "age": age_text(copy.age()),
        }
        out["fresh"] = copy.age() < remote.refresh
    elif damaged:
        out["cached"] = damaged
    if _has_manifest(pack):
        try:
            entry = pack_record(Path(pack), remote)  # type: ignore[arg-type]
        except SourceError:
            entry = None
        out["in_pack"] = (
            _("fetched %(when)s") % {"when": when_text(str(entry.get("fetched")))}
            if entry is not None
            else False
        )
    return out
