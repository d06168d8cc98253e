"""Status and freshness of places: 開設 / 閉鎖 / 不明, when each was checked, what may be printed.

A 紙マップ cannot be corrected once handed out, so the paper map fails closed: with a
layer's ``print_if:``, a place is printed only when its status is one the layer asks
for (by default 開設) and, with ``max_age``, when it was checked recently enough. A
place whose status is unclear, or whose check time is missing or unreadable, is left
off, never printed as if open. Pure: it adds columns to a layer's features.

Columns added (only for layers with ``status:``, ``as_of:`` or ``print_if:``):

- ``status``: 開設, 閉鎖 or 不明 (the file's own word stays in its column);
- ``as_of``: the check time as ISO text in JST (``""`` when missing or unreadable);
- ``stale``: checked longer ago than ``print_if.max_age`` (the web map greys these);
- ``print_off``: why the paper map leaves the place off: ``閉鎖``, ``不明``, ``stale``,
  ``no_time``, or ``""`` (printed).
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings

import pandas as pd

from civicmap.i18n import _
from civicmap.spec.layers import LayerSpec

log = logging.getLogger(__name__)

#: Times without a zone are Japanese local time (the files are Japanese volunteers').
JST = dt.timezone(dt.timedelta(hours=9))
#: The status words of the data (the files' own 開設 / 閉鎖 / 不明 column), matched, never printed.
OPEN, CLOSED, UNKNOWN = "開設", "閉鎖", "不明"
#: Reasons a place is left off the paper map, in the order the sheet lists them.
LEFT_OFF_REASONS = (CLOSED, UNKNOWN, "stale", "no_time")


def check_times(values: pd.Series) -> pd.Series:
    """A column of check times as aware datetimes (JST when no zone is given); NaT if unreadable.

    Google Forms writes ``7/9/2018 15:41:44`` (month first), Japanese sheets
    ``2018/07/09 15:41`` or ISO; each cell is parsed on its own.
    """
    out = []
    for v in values:
        text = str(v).strip() if v is not None and not (isinstance(v, float) and v != v) else ""
        t = pd.NaT
        if text and text.lower() not in ("nan", "none", "nat"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pandas' "could not infer format" advice
                try:
                    t = pd.Timestamp(text)
                except (ValueError, TypeError, OverflowError):
                    t = pd.NaT
        if t is not pd.NaT and not pd.isna(t):
            t = t.tz_localize(JST) if t.tzinfo is None else t.tz_convert(JST)
        out.append(t)
    return pd.Series(out, index=values.index, dtype=object)


def apply_status(features: pd.DataFrame, spec: LayerSpec, *, now: dt.datetime) -> pd.DataFrame:
    """``features`` with ``status``, ``as_of``, ``stale`` and ``print_off`` (see the module).

    ``now`` is the build's clock (:func:`civicmap.mapdata.build_time`): the age a
    ``max_age`` is measured against. A status or time column missing from the data
    leaves every place 不明 / without a time (so off the paper), and says so once.
    """
    if spec.status is None and spec.as_of is None and spec.print_if is None:
        return features
    out = features.copy()
    n = len(out)
    if spec.status is not None:
        if spec.status.column in out.columns:
            out["status"] = [spec.status.of(v) for v in out[spec.status.column]]
        else:
            if n:
                log.warning(
                    _("layer %(layer)s: status: no column %(column)r in its data; every place's "
                      "status is unknown (check the column name)"),
                    {"layer": spec.id, "column": spec.status.column},
                )  # fmt: skip
            out["status"] = [UNKNOWN] * n
    times = pd.Series([pd.NaT] * n, index=out.index, dtype=object)
    if spec.as_of is not None:
        if spec.as_of in out.columns:
            times = check_times(out[spec.as_of])
        elif n:
            log.warning(
                _("layer %(layer)s: as_of: no column %(column)r in its data; no place has a "
                  "check time (check the column name)"),
                {"layer": spec.id, "column": spec.as_of},
            )  # fmt: skip
        out["as_of"] = [t.isoformat(timespec="minutes") if not pd.isna(t) else "" for t in times]
    rule = spec.print_if
    limit = rule.max_age_hours if rule is not None else None
    now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    stale = [
        limit is not None and not pd.isna(t) and (now - t).total_seconds() > limit * 3600
        for t in times
    ]
    out["stale"] = stale
    reasons = []
    for i in range(n):
        why = ""
        if rule is not None:
            status = out["status"].iloc[i] if "status" in out.columns else UNKNOWN
            if rule.status and status not in rule.status:
                why = status if status in LEFT_OFF_REASONS else UNKNOWN
            elif limit is not None and pd.isna(times.iloc[i]):
                why = "no_time"
            elif stale[i]:
                why = "stale"
        reasons.append(why)
    out["print_off"] = reasons
    return out
