"""Coordinate and code values as Japanese spreadsheets hold them.

Values arrive with full-width digits (３５．６), stray spaces, a trailing
comma, degrees-minutes-seconds (35°41'22"N, 35度41分22秒), zeros for
"unknown", and latitude and longitude swapped. Parsing is vectorised for the
common clean case; only odd values take the slow path, so a 100,000-row
file reads in seconds.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from civicmap.i18n import _

#: Japan's extent in degrees (沖ノ鳥島 20.4 N … 択捉島 45.6 N; 与那国島 122.9 E … 南鳥島 154.0 E),
#: with a small margin. Used to reject misplaced rows and to detect swapped columns.
JAPAN_LAT = (20.0, 46.0)
JAPAN_LON = (122.0, 154.5)

_DMS = re.compile(
    r"^(?P<hemi1>[NSEW北南東西]|北緯|東経|南緯|西経)?\s*"
    r"(?P<d>\d+(?:\.\d+)?)\s*[°度:]\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*['′’分:]\s*)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*(?:[\"″”秒]|'')?)?\s*"
    r"(?P<hemi2>[NSEW北南東西])?$",
    re.IGNORECASE,
)
_MINUS = str.maketrans({"−": "-", "‐": "-", "ー": "-", "―": "-", "–": "-"})
_EXCEL_EXP = re.compile(r"^\s*[0-9](?:\.[0-9]+)?[eE]\+[0-9]+\s*$")
_BLANKS = {"", "-", "―", "ー", "－", "なし", "不明", "null", "none", "nan", "n/a"}


@dataclass
class ParsedColumn:
    """Floats (NaN where unusable) plus, per row, how a value was read."""

    values: np.ndarray
    notes: dict[int, str]  # position -> what was repaired
    errors: dict[int, str]  # position -> why the value is unusable (non-blank only)


def parse_one(raw: str) -> tuple[float | None, str | None, str | None]:
    """Parse one coordinate value: ``(value, repair note, error)``.

    Returns ``(None, None, None)`` for a blank.
    """
    s = unicodedata.normalize("NFKC", str(raw)).translate(_MINUS).strip()
    if s.lower() in _BLANKS:
        return None, None, None
    notes = []
    if s != str(raw).strip():
        notes.append(_("full-width characters made half-width"))
    try:
        return float(s), ("; ".join(notes) or None), None
    except ValueError:
        pass
    trimmed = s.strip(" ,;、。")
    if trimmed != s:
        try:
            v = float(trimmed)
            notes.append(
                _("removed stray characters (%(raw)r → %(value)s)") % {"raw": s, "value": trimmed}
            )
            return v, "; ".join(notes), None
        except ValueError:
            pass
    m = _DMS.match(trimmed.replace(" ", ""))
    if m and (m.group("m") or m.group("s") or "°" in trimmed or "度" in trimmed):
        d = float(m.group("d"))
        mins = float(m.group("m") or 0)
        secs = float(m.group("s") or 0)
        if mins >= 60 or secs >= 60:
            return None, None, _("%(raw)r has minutes or seconds of 60 or more") % {"raw": raw}
        v = d + mins / 60 + secs / 3600
        hemi = (m.group("hemi1") or m.group("hemi2") or "").upper()
        if hemi in ("S", "W", "南", "西", "南緯", "西経"):
            v = -v
        notes.append(
            _("degrees-minutes-seconds %(raw)r → %(value)s") % {"raw": raw, "value": f"{v:.6f}"}
        )
        return v, "; ".join(notes), None
    return None, None, _("%(raw)r is not a number") % {"raw": raw}


def parse_column(values: pd.Series) -> ParsedColumn:
    """Parse a column of coordinate text into floats, fast path first."""
    s = values.astype("object").where(values.notna(), "").astype(str)
    stripped = s.str.strip()
    fast = pd.to_numeric(stripped, errors="coerce").to_numpy(dtype="float64", copy=True)
    notes: dict[int, str] = {}
    errors: dict[int, str] = {}
    spaced = np.flatnonzero((stripped != s).to_numpy() & ~np.isnan(fast))
    stray = _("removed stray spaces")
    for pos in spaced:
        notes[int(pos)] = stray
    slow = np.flatnonzero(np.isnan(fast) & (stripped != "").to_numpy())
    for pos in slow:
        v, note, err = parse_one(s.iat[pos])
        if v is not None:
            fast[pos] = v
            notes[int(pos)] = note or _("value normalised")
        elif err:
            errors[int(pos)] = err
    return ParsedColumn(values=fast, notes=notes, errors=errors)


def in_japan(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Boolean mask: the point lies inside Japan's extent."""
    return (
        (lat >= JAPAN_LAT[0])
        & (lat <= JAPAN_LAT[1])
        & (lon >= JAPAN_LON[0])
        & (lon <= JAPAN_LON[1])
    )


def excel_damaged(values: pd.Series) -> np.ndarray:
    """Positions of values a spreadsheet turned into exponent form (``5.22001E+12``).

    The lost digits cannot be recovered, so these are reported, never "fixed".
    A joined-string pre-check keeps clean columns (nearly all of them) cheap.
    """
    cells = ["" if v is None or v != v else str(v) for v in values.tolist()]
    if "E+" not in "\x00".join(cells).upper():
        return np.array([], dtype=int)
    return np.array([i for i, c in enumerate(cells) if _EXCEL_EXP.match(c)], dtype=int)
