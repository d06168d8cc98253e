"""Bounded, careful reading of input files anyone can write.

Sources call these small guards instead of ``Path.read_bytes``/``zipfile``/
``ElementTree`` directly, so a hostile or broken file ends in one clear
:class:`~civicmap.errors.SourceError` naming the file and the problem, never in
a traceback, a RecursionError or gigabytes of memory:

- only regular files are read (``/dev/zero``, a FIFO or a folder is refused);
- a file larger than :data:`civicmap.settings.max_input_bytes` is refused;
- a zip (KMZ, and .xlsx/.ods workbooks) member is refused when it would unpack
  larger than :data:`civicmap.settings.max_zip_member_bytes` or its compression
  ratio is above :data:`civicmap.settings.max_zip_ratio` (a zip bomb), and the
  unpacking itself stops at the limit whatever the zip's header claims;
- XML and JSON nested deeper than :data:`civicmap.settings.max_nesting` are
  refused (a real KML or GeoJSON is a dozen levels deep);
- a file of NUL bytes is "a binary file", not "0 rows";
- control characters (NUL, ESC, ...) are removed from text before any output,
  and each change is reported;
- an offline pack (``civicmap fetch``) is data, never paths: read through
  :mod:`civicmap._packfiles` (below ``sources`` and ``render``, which both read packs).
"""

from __future__ import annotations

import json
import logging
import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd

from civicmap import settings
from civicmap._packfiles import CHUNK as _CHUNK
from civicmap._packfiles import file_kind as _kind
from civicmap._packfiles import size_text as _mb
from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import RowProblem

log = logging.getLogger(__name__)


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def check_input_file(path: str | Path, *, what: str = "") -> int:
    """Refuse anything but a regular file within the size limit; return its size.

    Raises
    ------
    SourceError
        Missing, not a regular file (folder, device, FIFO, socket), or larger
        than ``settings.max_input_bytes``.
    """
    path = Path(path)
    what = what or _("input file")
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SourceError(
            _("%(path)s: file not found (%(what)s)") % {"path": path, "what": what}
        ) from None
    except OSError as exc:
        raise SourceError(
            _("%(path)s: cannot read the %(what)s (%(error)s)")
            % {"path": path, "what": what, "error": exc.strerror or exc}
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(
            _("%(path)s: is %(kind)s, not a data file; give the path of a file")
            % {"path": path, "kind": _kind(st.st_mode)}
        )
    cap = _limit("max_input_bytes", 512 * 1024 * 1024)
    if st.st_size > cap:
        raise SourceError(
            _(
                "%(path)s: the %(what)s is %(size)s, more than the limit of %(size2)s; cut it "
                "to the area you map, or raise civicmap.settings.max_input_bytes "
                "(CIVICMAP_MAX_INPUT_MB)"
            )
            % {"path": path, "what": what, "size": _mb(st.st_size), "size2": _mb(cap)}
        )
    return st.st_size


def read_input_bytes(path: str | Path, *, what: str = "") -> bytes:
    """The bytes of a regular file, never more than the size limit (even if it grows)."""
    path = Path(path)
    what = what or _("input file")
    check_input_file(path, what=what)
    cap = _limit("max_input_bytes", 512 * 1024 * 1024)
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError as exc:
        raise SourceError(
            _("%(path)s: cannot read the %(what)s (%(error)s)")
            % {"path": path, "what": what, "error": exc.strerror or exc}
        ) from None
    if len(data) > cap:
        raise SourceError(
            _("%(path)s: the %(what)s is larger than the limit of %(size)s")
            % {"path": path, "what": what, "size": _mb(cap)}
        )
    return data


def _zip_limits() -> tuple[int, int]:
    return _limit("max_zip_member_bytes", 256 * 1024 * 1024), _limit("max_zip_ratio", 100)


def check_zip_member(path: Path, info: zipfile.ZipInfo) -> None:
    """Refuse a zip member whose header says it unpacks past the size or ratio limit.

    The limits are ``settings.max_zip_member_bytes`` and, for a member over
    1 MB, ``settings.max_zip_ratio`` (a zip bomb packs gigabytes into a few kB).
    Python's :mod:`zipfile` never unpacks more than the header says, so what
    passes here is what any reader built on it (openpyxl, odfpy) can unpack.

    Raises
    ------
    SourceError
        Naming the file, the member, its sizes and the limits.
    """
    max_size, max_ratio = _zip_limits()
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > max_size or (info.file_size > _CHUNK and ratio > max_ratio):
        raise SourceError(
            _(
                "%(path)s: %(member)s would unpack to %(size)s (compressed %(ratio)s:1); "
                "refused as a possible zip bomb (limits: %(size2)s, ratio %(max_ratio)s:1)"
            )
            % {
                "path": path,
                "member": info.filename,
                "size": _mb(info.file_size),
                "ratio": f"{ratio:,.0f}",
                "size2": _mb(max_size),
                "max_ratio": max_ratio,
            }
        )


def check_zip(path: str | Path, *, what: str) -> None:
    """Refuse a zip file (a .xlsx or .ods workbook) that would unpack past the limits.

    The KMZ limits of :func:`check_zip_member` for every member, and
    ``settings.max_zip_member_bytes`` for all of them together (a reader such
    as openpyxl or odfpy unpacks every part). Only the zip's directory is
    read, so a bomb is refused in milliseconds, before any reader opens it.

    Raises
    ------
    SourceError
        Not a regular file within ``settings.max_input_bytes``, a member or the
        whole over the limits, naming the file; or not a zip at all.
    """
    path = Path(path)
    check_input_file(path, what=what)
    max_size, _ratio = _zip_limits()
    try:
        with zipfile.ZipFile(path) as zf:
            total = 0
            for info in zf.infolist():
                check_zip_member(path, info)
                total += info.file_size
                if total > max_size:
                    raise SourceError(
                        _(
                            "%(path)s: the %(what)s would unpack to more than %(size)s in all; "
                            "refused as a possible zip bomb"
                        )
                        % {"path": path, "what": what, "size": _mb(max_size)}
                    )
    except zipfile.BadZipFile as exc:
        raise SourceError(
            _("%(path)s: not a usable zip file (%(exc)s)") % {"path": path, "exc": exc}
        ) from None
    except OSError as exc:
        raise SourceError(
            _("%(path)s: cannot read the zip file (%(error)s)")
            % {"path": path, "error": exc.strerror or exc}
        ) from None


def read_zip_member(path: Path, member: str | None = None, *, suffix: str = ".kml") -> bytes:
    """One member of a zip file (KMZ), unpacked with size and ratio limits.

    ``member`` defaults to ``doc.kml`` or else the first name ending in ``suffix``.

    Raises
    ------
    SourceError
        Not a zip, no such member, a member above the size or ratio limit (a
        zip bomb), or one that cannot be unpacked.
    """
    path = Path(path)
    check_input_file(path, what=_("zip file"))
    max_size, max_ratio = _zip_limits()
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(suffix)]
            if member is None:
                if not names:
                    raise SourceError(
                        _(
                            "%(path)s: the zip holds no %(suffix)s file; expected doc%(suffix)s inside"
                        )
                        % {"path": path, "suffix": suffix}
                    )
                member = f"doc{suffix}" if f"doc{suffix}" in names else names[0]
            info = zf.getinfo(member)
            check_zip_member(path, info)
            out = bytearray()
            with zf.open(info) as f:
                while chunk := f.read(_CHUNK):
                    out += chunk
                    if (
                        len(out) > max_size
                        or len(out) > max(_CHUNK, info.compress_size) * max_ratio
                    ):
                        raise SourceError(
                            _(
                                "%(path)s: %(member)s unpacks to more than its header says (over %(size)s); "
                                "refused as a possible zip bomb"
                            )
                            % {"path": path, "member": member, "size": _mb(len(out))}
                        )
            return bytes(out)
    except SourceError:
        raise
    except KeyError:
        raise SourceError(
            _("%(path)s: the zip has no member %(member)r") % {"path": path, "member": member}
        ) from None
    except zipfile.BadZipFile as exc:
        raise SourceError(
            _("%(path)s: not a usable zip file (%(exc)s)") % {"path": path, "exc": exc}
        ) from None
    except (OverflowError, zlib.error, NotImplementedError, EOFError, ValueError) as exc:
        raise SourceError(
            _("%(path)s: cannot unpack %(member)r (%(kind)s: %(exc)s)")
            % {"path": path, "member": member, "kind": type(exc).__name__, "exc": exc}
        ) from None
    except OSError as exc:
        raise SourceError(
            _("%(path)s: cannot read the zip file (%(error)s)")
            % {"path": path, "error": exc.strerror or exc}
        ) from None


def check_not_binary(data: bytes, *, name: str) -> None:
    """Refuse bytes that are not text: 10 % or more NUL bytes, without a UTF-16 BOM.

    A file of NUL bytes (a broken download, a disk image) would otherwise read
    as "0 rows", which hides the real problem.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return
    head = data[:65536]
    share = head.count(b"\x00") / len(head) if head else 0.0
    # a stray NUL in a text cell is cleaned (and reported) later; many of them mean binary
    if share >= 0.1:
        raise SourceError(
            _(
                "%(name)s: a binary file, not text (%(share)s NUL bytes in the first %(n)s "
                "bytes); give the CSV/GeoJSON/KML file itself"
            )
            % {"name": name, "share": f"{share:.0%}", "n": f"{len(head):,}"}
        )


def parse_xml(raw: bytes, *, name: str) -> ET.Element:
    """Parse XML with a nesting limit, without recursion.

    Raises
    ------
    SourceError
        Not well-formed XML, or elements nested deeper than ``settings.max_nesting``.
    """
    limit = _limit("max_nesting", 100)
    parser = ET.XMLPullParser(events=("start", "end"))
    depth = 0
    root: ET.Element | None = None
    try:
        for i in range(0, max(len(raw), 1), _CHUNK):
            parser.feed(raw[i : i + _CHUNK])
            for event, el in parser.read_events():
                if event == "start":
                    depth += 1
                    if root is None:
                        root = el
                    if depth > limit:
                        raise SourceError(
                            _(
                                "%(name)s: elements nested more than %(limit)s levels deep (<%(value)s>); not "
                                "a map file civicmap can read"
                            )
                            % {"name": name, "limit": limit, "value": el.tag.rsplit("}", 1)[-1]}
                        )
                else:
                    depth -= 1
        parser.close()
    except ET.ParseError as exc:
        raise SourceError(
            _("%(name)s: not valid KML/XML (%(exc)s)") % {"name": name, "exc": exc}
        ) from None
    if root is None:
        raise SourceError(_("%(name)s: empty XML document") % {"name": name})
    return root


def load_json(raw: bytes, *, name: str) -> Any:
    """Parse JSON (UTF-8, BOM allowed) with a nesting limit.

    Raises
    ------
    SourceError
        Not UTF-8, not JSON, or nested deeper than ``settings.max_nesting``.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            _(
                "%(name)s: not UTF-8 text (%(reason)s at byte %(start)s); GeoJSON must be "
                "UTF-8 (RFC 7946)"
            )
            % {"name": name, "reason": exc.reason, "start": exc.start}
        ) from None
    limit = _limit("max_nesting", 100)
    too_deep = SourceError(
        _(
            "%(name)s: JSON nested more than %(limit)s levels deep; not a GeoJSON/uMap file "
            "civicmap can read"
        )
        % {"name": name, "limit": limit}
    )
    try:
        data = json.loads(text)
    except RecursionError:
        raise too_deep from None
    except json.JSONDecodeError as exc:
        raise SourceError(
            _("%(name)s: not valid JSON (%(msg)s at line %(lineno)s, column %(colno)s)")
            % {"name": name, "msg": exc.msg, "lineno": exc.lineno, "colno": exc.colno}
        ) from None
    if json_depth(data, limit=limit) > limit:
        raise too_deep
    return data


def json_depth(value: Any, *, limit: int) -> int:
    """Nesting depth of parsed JSON, computed without recursion; stops past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list):
            deepest = max(deepest, d)
            if deepest > limit:
                return deepest
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest


# --- text cleaning --------------------------------------------------------

#: Characters that are not text: C0 controls but tab/newline/CR, DEL, C1
#: controls, lone surrogates and the non-characters U+FFFE/U+FFFF. None of
#: them is allowed in XML 1.0 (so KML stays valid) and none shows on a map.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def strip_controls(text: str) -> tuple[str, int]:
    """``text`` without control characters, and how many were removed."""
    cleaned, n = CONTROL.subn("", text)
    return cleaned, n


def clean_text_columns(
    frame: pd.DataFrame, *, source: str
) -> tuple[pd.DataFrame, list[RowProblem]]:
    """Remove control characters from every text cell (and column name); report each row.

    Pure: returns a new frame (the input is not changed) and one
    :class:`~civicmap.schema.RowProblem` per changed row, naming the columns.
    """
    changed: dict[Any, list[str]] = {}
    out = frame
    renames = {}
    for col in frame.columns:
        if isinstance(col, str) and CONTROL.search(col):
            renames[col] = CONTROL.sub("", col)
    for col in frame.columns:
        values = frame[col]
        if col == "geometry" or not (
            pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)
        ):
            continue
        texts = [v for v in values.tolist() if isinstance(v, str)]
        if not texts or CONTROL.search("\n".join(texts)) is None:
            continue  # the common case: one C-level scan per column
        mask = values.map(lambda v: isinstance(v, str) and CONTROL.search(v) is not None)
        if not mask.any():
            continue
        if out is frame:
            out = frame.copy()
        out[col] = values.where(~mask, values[mask].map(lambda v: CONTROL.sub("", v)))
        for idx in values.index[mask.to_numpy()]:
            changed.setdefault(idx, []).append(str(col))
    if renames:
        out = (out if out is not frame else frame.copy()).rename(columns=renames)
    problems = []
    for idx, cols in changed.items():
        ref = frame.at[idx, "source_ref"] if "source_ref" in frame.columns else idx
        problems.append(
            RowProblem(
                source,
                str(ref),
                _("control characters (NUL, ESC, ...) removed from %(columns)s")
                % {"columns": ", ".join(cols)},
            )
        )
    for new in renames.values():
        problems.append(
            RowProblem(
                source,
                "header",
                _("control characters removed from column %(column)r") % {"column": new},
            )
        )
    return out, problems


def finite_xy(geom: Any) -> bool:
    """Whether every coordinate of a shapely geometry is a finite number (no NaN/inf)."""
    if geom is None or geom.is_empty:
        return True
    try:
        import shapely

        coords = shapely.get_coordinates(geom)
    except Exception:
        return False
    return bool(np.isfinite(coords).all())


def no_usable_feature(path: Path, *, rows: int, rejected: list[RowProblem]) -> None:
    """Raise the one-line error for a KML/.umap file that has nothing to draw."""
    if rows == 0:
        raise SourceError(
            _(
                "%(path)s: no placemark or feature in the file; export the map again with its "
                "places, or remove this source"
            )
            % {"path": path}
        )
    first = (
        _(" (first: %(row)s: %(why)s)") % {"row": rejected[0].row, "why": rejected[0].reason}
        if rejected
        else ""
    )
    raise SourceError(
        _(
            "%(path)s: none of the %(rows)d feature(s) has a usable geometry%(first)s; check the "
            "coordinates in the file"
        )
        % {"path": path, "rows": rows, "first": first}
    )


# --- .osm XML with unusable coordinates --------------------------------------

_OSM_NODE = re.compile(rb"<node\b[^>]*?(?:/>|>.*?</node>)", re.S)
_OSM_ATTR = re.compile(rb"""\b(id|lat|lon)\s*=\s*["']([^"']*)["']""")
_OSM_TAG = re.compile(rb"""<tag\s+k\s*=\s*["']([^"']*)["']\s+v\s*=\s*["']([^"']*)["']""")


def drop_unusable_osm_nodes(raw: bytes) -> tuple[bytes, list[tuple[str, dict[str, str], str]]]:
    """Remove ``<node>`` elements whose ``lat``/``lon`` is not a finite number.

    libosmium refuses a whole file for one ``lat="nan"``; removing just those
    nodes lets every other element be read, and each removed node is returned
    as ``(ref, tags, reason)`` so the caller reports it per row.
    """
    from html import unescape

    removed: list[tuple[str, dict[str, str], str]] = []

    def one(m: re.Match[bytes]) -> bytes:
        head = m.group(0).split(b">", 1)[0]
        attrs = {k.decode(): v.decode("utf-8", "replace") for k, v in _OSM_ATTR.findall(head)}
        bad = []
        for key in ("lat", "lon"):
            value = attrs.get(key)
            if value is None:
                continue  # a deleted node in a change file has no location
            try:
                ok = np.isfinite(float(value)) and abs(float(value)) <= (
                    90 if key == "lat" else 180
                )
            except ValueError:
                ok = False
            if not ok:
                bad.append(f"{key}={value[:20]!r}")
        if not bad:
            return m.group(0)
        tags = {
            unescape(k.decode("utf-8", "replace")): unescape(v.decode("utf-8", "replace"))
            for k, v in _OSM_TAG.findall(m.group(0))
        }
        reason = f"coordinates are not usable numbers ({', '.join(bad)}); left out"
        removed.append((f"node/{attrs.get('id', '?')}", tags, reason))
        return b""

    cleaned = _OSM_NODE.sub(one, raw)
    return cleaned, removed


def decompress_bz2(raw: bytes, *, name: str) -> bytes:
    """bz2 data unpacked to at most ``settings.max_input_bytes`` (a bz2 bomb is refused)."""
    import bz2

    cap = _limit("max_input_bytes", 512 * 1024 * 1024)
    try:
        out = bz2.BZ2Decompressor().decompress(raw, max_length=cap + 1)
    except (OSError, EOFError, ValueError) as exc:
        raise SourceError(
            _("%(name)s: not a usable .bz2 file (%(exc)s)") % {"name": name, "exc": exc}
        ) from None
    if len(out) > cap:
        raise SourceError(
            _("%(name)s: unpacks to more than the limit of %(size)s; refused")
            % {"name": name, "size": _mb(cap)}
        )
    return out
