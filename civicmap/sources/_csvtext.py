"""Bytes → text → table, for the CSV files municipalities publish.

Japanese open data arrives in UTF-8 (with or without BOM), Shift_JIS/cp932,
UTF-16 with a BOM, and sometimes as mojibake: cp932 bytes once read as
latin-1 and saved again as UTF-8. Users cannot be asked which, so this module
decides from the bytes and says what it decided (and what it repaired).
Headers are found even below a title line, and made unique.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.sources._guard import check_not_binary, read_input_bytes

log = logging.getLogger(__name__)

#: Characters that mark latin-1 mojibake of cp932 text: the lead bytes of
#: two-byte Shift_JIS characters (0x81–0x9F, 0xE0–0xFC) read as latin-1.
_LATIN1_HIGH = re.compile(r"[\u0080-\u00ff]")
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uff66-\uff9f]")


@dataclass
class DecodedText:
    """Text decoded from a file, with how it was decoded."""

    text: str
    encoding: str
    repairs: list[str] = field(default_factory=list)
    #: (1-based physical line, what was done) for lines decoded unlike the rest
    line_repairs: list[tuple[int, str]] = field(default_factory=list)


def detect_encoding(data: bytes, *, name: str = "file") -> str:
    """Guess the encoding of a file's bytes.

    BOMs first (UTF-8, UTF-16), then strict UTF-8, then cp932 (the Windows
    superset of Shift_JIS that Excel writes), then EUC-JP.

    Raises
    ------
    SourceError
        When none of these decodes the bytes.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    error: UnicodeDecodeError | None = None
    for enc in ("cp932", "euc_jp"):
        try:
            data.decode(enc)
            return enc
        except UnicodeDecodeError as exc:
            error = error or exc
    assert error is not None
    raise SourceError(
        _(
            "%(name)s: cannot tell the text encoding (not UTF-8, UTF-16, Shift_JIS or "
            "EUC-JP: %(reason)s at byte %(start)s); give encoding: in the layer file"
        )
        % {"name": name, "reason": error.reason, "start": error.start}
    )


def repair_mojibake(text: str) -> str | None:
    """Undo cp932-read-as-latin-1 mojibake; ``None`` when the text is not that.

    The signature is text full of U+0080–U+00FF characters and no Japanese at
    all. Re-encoding as latin-1 recovers the original bytes, which must then
    decode as cp932 into text that does contain Japanese.
    """
    sample = text[:20000]
    high = len(_LATIN1_HIGH.findall(sample))
    if high < 10 or _CJK.search(sample):
        return None
    try:
        fixed = text.encode("latin-1").decode("cp932")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    if not _CJK.search(fixed[:20000]):
        return None
    return fixed


def mixed_utf8_lines(data: bytes) -> list[int] | None:
    """0-based lines that are not UTF-8 in an otherwise UTF-8 file; ``None`` when not mixed.

    A file is "UTF-8 with a few bad lines" when at least one line holds
    non-ASCII text that is valid UTF-8 (Japanese in UTF-8 almost never
    happens to be valid by chance in cp932 files) and the others fail.
    Then decoding the whole file as cp932 would garble every good line.
    """
    lines = data.split(b"\n")
    bad, good_non_ascii = [], 0
    for i, line in enumerate(lines):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good_non_ascii += 1
        except UnicodeDecodeError:
            bad.append(i)
    if not bad or good_non_ascii == 0 or good_non_ascii < len(bad):
        return None
    return bad


def _decode_mixed(data: bytes, bad: list[int], *, name: str) -> DecodedText:
    lines = data.split(b"\n")
    out = DecodedText(text="", encoding="utf-8 (some lines cp932, repaired)")
    for i in bad:
        try:
            lines[i] = lines[i].decode("cp932").encode("utf-8")
            how = _("not UTF-8 like the rest of the file; decoded as Shift_JIS/cp932")
        except UnicodeDecodeError as exc:
            raise SourceError(
                _(
                    "%(name)s: line %(value)s is neither UTF-8 (like the rest of the file) nor "
                    "Shift_JIS/cp932 (%(reason)s at byte %(start)s of the line); fix that line in "
                    "a text editor"
                )
                % {"name": name, "value": i + 1, "reason": exc.reason, "start": exc.start}
            ) from None
        out.line_repairs.append((i + 1, how))
    out.text = b"\n".join(lines).decode("utf-8")
    out.repairs.append(
        _(
            "%(n)d line(s) were Shift_JIS/cp932 in a UTF-8 file (lines %(lines)s); decoded line by line"
        )
        % {
            "n": len(bad),
            "lines": ", ".join(str(i + 1) for i in bad[:20]) + (" ..." if len(bad) > 20 else ""),
        }
    )
    log.info(
        _("%(name)s: %(n)d cp932 line(s) in a UTF-8 file, decoded line by line"),
        {"name": name, "n": len(bad)},
    )
    return out


def decode(data: bytes, *, encoding: str | None = None, name: str = "file") -> DecodedText:
    """Decode a file's bytes, detecting the encoding and repairing mojibake.

    A UTF-8 file with a few Shift_JIS lines (rows pasted from another file) is
    decoded line by line, each odd line reported in ``line_repairs``.
    """
    if encoding is None and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        body = data.removeprefix(b"\xef\xbb\xbf")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            bad = mixed_utf8_lines(body)
            if bad is not None:
                return _decode_mixed(body, bad, name=name)
    enc = encoding or detect_encoding(data, name=name)
    try:
        text = data.decode(enc)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(
            _(
                "%(name)s: cannot decode as %(enc)s (%(exc)s); remove encoding: from the layer "
                "file to let civicmap detect it, or give the right one (utf-8, cp932, utf-16)"
            )
            % {"name": name, "enc": enc, "exc": exc}
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    out = DecodedText(text=text, encoding=enc)
    if encoding is None:
        fixed = repair_mojibake(text)
        if fixed is not None:
            out.text = fixed
            out.encoding = f"{enc} (mojibake: cp932 read as latin-1, repaired)"
            out.repairs.append(
                _(
                    "the whole file was mojibake (Shift_JIS/cp932 bytes read as latin-1 and saved "
                    "as UTF-8); repaired with text.encode('latin-1').decode('cp932')"
                )
            )
            log.info(_("%(name)s: repaired cp932-as-latin-1 mojibake"), {"name": name})
    return out


def norm_header(h: str) -> str:
    """A header reduced for matching: NFKC, no spaces or newlines, lower case."""
    s = unicodedata.normalize("NFKC", str(h))
    return re.sub(r"\s+", "", s).lower()


def clean_header(h: str) -> str:
    """A header as shown to users: the publisher's text, line breaks made single spaces.

    Width and brackets are kept (``緯度：北緯（…）`` stays as published); only
    the keys a header is matched by are folded (:func:`norm_header`).
    """
    s = str(h).strip()
    return re.sub(r"[ \t\u3000]*[\r\n]+[ \t\u3000]*", " ", s)


def unique_headers(raw: list[str]) -> tuple[list[str], dict[str, str]]:
    """Headers as shown to users, empty ones named ``column_N`` and duplicates numbered."""
    headers: list[str] = []
    renamed: dict[str, str] = {}
    seen: dict[str, int] = {}
    for j, h in enumerate(raw, start=1):
        h2 = clean_header(h)
        if not h2:
            h2 = f"column_{j}"
            renamed[h2] = "empty header"
        if h2 in seen:
            seen[h2] += 1
            new = f"{h2} ({seen[h2]})"
            renamed[new] = f"duplicate of {h2!r}"
            h2 = new
        else:
            seen[h2] = 1
        headers.append(h2)
    return headers, renamed


def sniff_delimiter(text: str, suffix: str) -> str:
    """Comma, tab or semicolon: whichever splits the first line most consistently."""
    if suffix == ".tsv":
        return "\t"
    first = text[:5000].splitlines()[:1]
    if not first:
        return ","
    line = first[0]
    counts = {d: line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


@dataclass
class Table:
    """A parsed CSV: unique headers, body rows, and what was adjusted."""

    headers: list[str]
    rows: list[list[str]]
    header_row: int  # 1-based line (record) number of the header in the file
    preamble: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # new header -> why
    #: Lines right under the header that describe its columns (LinkData's
    #: ``#object_type_xsd`` / ``#property_context``), not places.
    annotations: list[str] = field(default_factory=list)
    #: 1-based lines above the header that read as places (coordinates in Japan,
    #: or an address among the header's worth of cells)
    skipped_places: list[int] = field(default_factory=list)
    #: those of ``skipped_places`` that are places by their address only
    skipped_by_address: list[int] = field(default_factory=list)
    #: True when the file has no header row (its first line is a place)
    headerless: bool = False


def _records(text: str, *, delimiter: str, name: str) -> list[list[str]]:
    """CSV records, with a clear error for a stray quote or an over-long field.

    A quote that opens a field and is never closed makes the CSV reader take
    the rest of the file as one field: either past the field limit (128 kB,
    a ``csv.Error``) or, in a small file, silently swallowing the rows below.
    Both become one line naming where the field starts.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    width = 0
    start = 1
    try:
        for rec in reader:
            for cell in rec:
                if "\n" in cell and width > 1:
                    swallowed = [
                        ln for ln in cell.split("\n")[1:] if ln.count(delimiter) >= width - 1
                    ]
                    if swallowed:
                        raise SourceError(
                            _(
                                '%(name)s: line %(start)s: a quote (") opens a field that runs to line '
                                "%(line_num)s and swallows %(n)s row(s); remove the stray quote or double it "
                                '("") inside a quoted field'
                            )
                            % {
                                "name": name,
                                "start": start,
                                "line_num": reader.line_num,
                                "n": len(swallowed),
                            }
                        )
            width = width or len(rec)
            records.append(rec)
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise SourceError(
                _(
                    "%(name)s: line %(start)s: a field longer than %(value)s characters (usually a "
                    'stray quote (") that opens a field never closed); fix that line or remove the '
                    "quote"
                )
                % {"name": name, "start": start, "value": f"{csv.field_size_limit():,}"}
            ) from None
        raise SourceError(
            _("%(name)s: line %(line_num)s: not valid CSV (%(exc)s)")
            % {"name": name, "line_num": reader.line_num, "exc": exc}
        ) from None
    return records


def parse_table(text: str, *, delimiter: str, known: set[str], name: str = "file") -> Table:
    """Split text into records and find the header row.

    The header is the first of the first ten records that holds a known
    column name (緯度, 名称, 住所, ...); records above it are a title or notes
    (reported as ``preamble``). Duplicate and empty header cells get unique
    names so no column is lost.
    """
    records = _records(text, delimiter=delimiter, name=name)
    if not records:
        raise SourceError(
            _("%(name)s: the file is empty; expected a header row and data rows") % {"name": name}
        )
    header_idx = 0
    for i, rec in enumerate(records[:10]):
        if sum(1 for c in rec if norm_header(c) in known) >= 1 and len(rec) > 1:
            header_idx = i
            break
    preamble = [",".join(r) for r in records[:header_idx]]
    headers, renamed = unique_headers(records[header_idx])
    return Table(
        headers=headers,
        rows=records[header_idx + 1 :],
        header_row=header_idx + 1,
        preamble=preamble,
        renamed=renamed,
    )


def read_table(path: Path, *, encoding: str | None, known: set[str]) -> tuple[Table, DecodedText]:
    """Read a CSV/TSV file into a :class:`Table`, decoding it first."""
    raw = read_input_bytes(path, what=_("CSV file"))
    if not encoding:  # UTF-16 without a BOM holds NULs; only a named encoding vouches for it
        check_not_binary(raw, name=Path(path).name)
    decoded = decode(raw, encoding=encoding, name=Path(path).name)
    delim = sniff_delimiter(decoded.text, Path(path).suffix.lower())
    table = parse_table(decoded.text, delimiter=delim, known=known, name=Path(path).name)
    return table, decoded
