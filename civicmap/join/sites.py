"""Sites, not rows: official designations of one real place merged into one site.

金沢市 publishes its 指定避難所 and its 指定緊急避難場所 as separate lists,
the prefecture publishes the 指定緊急避難場所 again, and OSM has the school
too: 211 of 214 指定避難所 stand within 40 m of a 指定緊急避難場所 entry. Drawn
as rows, one school gets two or three markers, numbers and index entries whose
labels overprint. :func:`merge_sites` pairs rows that stand for the same
place (name and distance, the same rule as conflation and the renderers'
co-location grouping) and keeps one site carrying every designation and the
union of the disaster flags, each flag with the rows that gave it.

Pure: GeoDataFrame in, :class:`Sites` out, no I/O. The pipeline writes the
merges into the quality report; the conflation diff is made before this step,
so each official row stays in it.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from civicmap.i18n import _
from civicmap.join.conflate import _keys, _text, pair_name_scores
from civicmap.names import loose_key
from civicmap.schema import CRS, DISASTER_TYPES, metric_crs

log = logging.getLogger(__name__)

#: The designation of a 指定避難所 without disaster flags: a place to stay
#: after the emergency, not a place to run to.
AFTER_EMERGENCY = "指定避難所（発災後の避難生活）"

_TRUE = {"1", "1.0", "true", "yes", "y", "○", "◯", "〇", "●", "可", "有", "あり", "対応", "t"}
_FALSE = {"0", "0.0", "false", "no", "n", "×", "✕", "不可", "無", "なし", "非対応", "f", "-", "ー"}


def flag_value(value: Any) -> bool | None:
    """One disaster flag as True / False / None (unknown).

    Official lists write "serves" as ``1``, ``1.0`` (a spreadsheet's float),
    ``○``, ``可`` or ``true``; empty means unknown, not "no".
    """
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return None if math.isnan(float(value)) else float(value) != 0
    s = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if s in _TRUE or _UPSTAIRS.fullmatch(s):
        return True
    if s in _FALSE:
        return False
    return None


#: A flag cell that says the building serves, upper floors only (洪水: 2階以上可).
_UPSTAIRS = re.compile(r"[0-9]+階以上(?:可|のみ可|使用可|利用可|のみ)?")

#: Columns some lists add for vertical evacuation: the building's upper floors
#: are usable when water rises (洪水, 内水, 津波), not the ground floor.
UPSTAIRS_COLUMNS = ("2階以上可", "2階以上", "3階以上可", "垂直避難", "垂直避難可", "上階避難")

#: The disasters a vertical-evacuation column speaks of: rising water.
UPSTAIRS_DISASTERS = ("flood", "inland_flood", "tsunami")


def _upstairs_note(header: str) -> str:
    """The note a yes in a vertical-evacuation column gives: its header, said as usable."""
    h = unicodedata.normalize("NFKC", header).strip()
    return h if h.endswith("可") else f"{h}可"


#: Column names municipal lists use besides the 自治体標準 ones (土砂, 内水 ...).
_ALIASES: dict[str, tuple[str, ...]] = {
    "landslide": ("土砂", "土砂災害", "崖崩れ", "がけ崩れ"),
    "inland_flood": ("内水",),
    "fire": ("大規模火災", "火災", "大火"),
    "volcano": ("火山",),
    "storm_surge": ("高潮災害",),
}


def disaster_flags(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``serves_<type>`` columns as True/False/None, filled from the list's own columns.

    Where a row has no ``serves_<type>`` value, the 自治体標準 column
    ``災害種別_<洪水…>``, the GSI column ``<洪水…>`` or a common short form
    (土砂, 内水, 大規模火災, 火山) gives it. The readers
    set ``serves_*`` themselves for the layouts they know; this covers rows
    they left unknown, so one list's flags are never lost in a merge.

    Vertical evacuation (``2階以上可``) qualifies a designation, it does not
    make one: a flag cell that reads ``2階以上可`` counts as yes for its
    disaster, and a yes in a ``2階以上可`` / ``垂直避難`` column counts for the
    rising-water disasters (:data:`UPSTAIRS_DISASTERS`) only where the row
    says nothing about them (an explicit yes or no in their own columns
    stands). Either way the row's ``upstairs_only`` says so (``洪水:
    2階以上可``, or the column's ``2階以上可``), for the site's designations
    and popup: a family must know to go upstairs.
    """
    out = frame.copy()
    notes: list[list[str]] = [[] for _ in range(len(out))]
    for key, ja in DISASTER_TYPES.items():
        col = f"serves_{key}"
        values = (
            out[col].map(flag_value)
            if col in out.columns
            else pd.Series(None, index=out.index, dtype=object)
        )
        names = (ja, *_ALIASES.get(key, ()))
        for other in (*(f"災害種別_{n}" for n in names), *names):
            if other in out.columns:
                extra = out[other].map(flag_value)
                values = values.where(values.notna(), extra)
                cells = out[other].map(lambda v: unicodedata.normalize("NFKC", _text(v)).strip())
                for i in np.flatnonzero(cells.map(lambda c: bool(_UPSTAIRS.fullmatch(c)))):
                    notes[i].append(f"{ja}: {cells.iloc[i]}")
        out[col] = values.astype(object).where(values.notna(), None)
    normed = {unicodedata.normalize("NFKC", str(c)).strip(): c for c in out.columns}
    for header in UPSTAIRS_COLUMNS:
        if header not in normed:
            continue
        yes = out[normed[header]].map(flag_value).to_numpy(dtype=object)
        for i in np.flatnonzero(yes == True):  # noqa: E712 - object array of True/False/None
            notes[i].append(_upstairs_note(header))
        for key in UPSTAIRS_DISASTERS:
            col = f"serves_{key}"
            fill = (yes == True) & out[col].isna().to_numpy()  # noqa: E712
            values = out[col].to_numpy(dtype=object).copy()
            values[fill] = True
            out[col] = pd.Series(values, index=out.index, dtype=object)
    if any(notes) or "upstairs_only" in out.columns:
        own = ["・".join(dict.fromkeys(n)) if n else None for n in notes]  # in order, once
        if "upstairs_only" in out.columns:
            prior = out["upstairs_only"].map(_text).to_numpy()
            own = [o or (p or None) for o, p in zip(own, prior, strict=True)]
        out["upstairs_only"] = pd.Series(own, index=out.index, dtype=object)
    return out


@dataclass
class Sites:
    """The result of :func:`merge_sites`.

    Attributes
    ----------
    sites : GeoDataFrame
        One row per site: the representative row's columns, plus
        ``designations`` (every designation, e.g. ``指定避難所・指定緊急避難場所``),
        ``other_names`` (names of merged rows not contained in the site's name:
        two facilities in one building, 高田馬場地域交流館 and 高田馬場第二児童館),
        ``designation_refs`` (``designation: source_ref`` of every row),
        ``site_refs`` (every row's ``source_ref``), ``site_rows`` (how many
        rows), ``serves_<type>`` (True if any row says so, False if a row says
        no and none yes, None when no row knows) and ``serves_<type>_from``
        (the refs that said yes), ``after_emergency_only`` (a 指定避難所
        with no disaster flag at all) and ``upstairs_only`` (vertical
        evacuation notes such as ``洪水: 2階以上可``, also appended to
        ``designations`` in brackets; None when no row says so).
    merges : DataFrame
        One row per row merged into another: ``site_ref``, ``site_name``,
        ``layer``, ``ref``, ``name``, ``designation``, ``distance_m``,
        ``name_score``, ``reason``.
    """

    sites: gpd.GeoDataFrame
    merges: pd.DataFrame


def _groups(n: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(n)], dtype=int)


def merge_sites(
    rows: gpd.GeoDataFrame,
    *,
    max_distance_m: float = 40.0,
    same_place_m: float = 10.0,
    min_name_score: float = 0.9,
) -> Sites:
    """Merge rows that stand for the same place into one site with every designation.

    Two rows are one place when they are within ``max_distance_m`` metres and
    their names match (:func:`~civicmap.join.conflate.name_similarity` ≥
    ``min_name_score``: 粟崎公民館 and 金沢市粟崎公民館 score 0.9 because one
    contains the other), or when they are
    within ``same_place_m`` whatever the names (鶴寿園 and 金沢市老人福祉
    センター鶴寿園 at the same coordinates). Groups are transitive. The
    representative of a site is its first row that came with OSM geometry,
    else its first row in input order (the map's layer order).

    Parameters
    ----------
    rows : GeoDataFrame
        Common-schema rows (EPSG:4326) of every shelter layer; ``category``
        is the designation (指定避難所, 指定緊急避難場所, 福祉避難所 ...).
    max_distance_m, same_place_m, min_name_score : float
        See above. 40 m is the co-location tolerance the renderers use: one
        school's gate and its building. 0.9, stricter than conflation's 0.6:
        医王山小学校 and 医王山中学校 stand 21 m apart, score 0.83 and are
        two schools, two designations.

    Returns
    -------
    Sites
    """
    frame = disaster_flags(
        gpd.GeoDataFrame(rows.reset_index(drop=True), geometry="geometry", crs=CRS)
    )
    n = len(frame)
    flag_cols = [f"serves_{k}" for k in DISASTER_TYPES]
    if n == 0:
        out = frame.copy()
        for c in ("designations", "designation_refs", "site_refs", "other_names", "upstairs_only"):
            out[c] = pd.Series(dtype=object)
        out["site_rows"] = pd.Series(dtype=int)
        out["after_emergency_only"] = pd.Series(dtype=bool)
        return Sites(sites=out, merges=pd.DataFrame(columns=list(_MERGE_COLUMNS)))
    crs = metric_crs(frame)
    pts = frame.geometry.to_crs(crs).representative_point().reset_index(drop=True)
    a, b = pts.sindex.query(pts, predicate="dwithin", distance=max_distance_m)
    keep = a < b
    a, b = a[keep], b[keep]
    dist = np.asarray(shapely.distance(pts.to_numpy()[a], pts.to_numpy()[b]), dtype=float)
    names = frame["name"].map(_text).to_numpy()
    kana = frame["name_kana"].map(_text).to_numpy() if "name_kana" in frame else np.full(n, "")
    score = pair_name_scores(names, kana, names, kana, a, b)
    ok = (score >= min_name_score) | (dist <= same_place_m)
    group = _groups(n, list(zip(a[ok].tolist(), b[ok].tolist(), strict=True)))

    source = frame["source"].map(_text)
    has_osm = source.str.contains("osm", regex=False).to_numpy()
    refs = frame["source_ref"].map(_text).to_numpy()
    cats = frame["category"].map(_text).to_numpy()
    pair_info = {
        (int(i), int(j)): (float(d), float(s)) for i, j, d, s in zip(a, b, dist, score, strict=True)
    }

    rep_rows: list[int] = []
    extra: dict[str, list[Any]] = {
        c: []
        for c in (
            "designations",
            "other_names",
            "designation_refs",
            "site_refs",
            "site_rows",
            "after_emergency_only",
            "upstairs_only",
        )
    }
    flags: dict[str, list[Any]] = {c: [] for c in flag_cols}
    flag_from: dict[str, list[str]] = {f"{c}_from": [] for c in flag_cols}
    merges: list[dict[str, Any]] = []
    # members of each group in input order, without an O(rows × groups) scan
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1]])
    groups = np.split(order, starts[1:])
    fv = {c: frame[c].to_numpy(dtype=object) for c in flag_cols}
    lk = _keys(names, loose_key)
    layers_of = frame["layer"].map(_text).to_numpy()
    upstairs = (
        frame["upstairs_only"].map(_text).to_numpy()
        if "upstairs_only" in frame.columns
        else np.full(n, "", dtype=object)
    )
    for members_arr in groups:
        members = members_arr.tolist()
        osm_members = [m for m in members if has_osm[m]]
        rep = osm_members[0] if osm_members else members[0]
        rep_rows.append(rep)
        desig = list(dict.fromkeys(c for c in (cats[m] for m in members) if c))
        any_flag = False
        for c in flag_cols:
            vals = [fv[c][m] for m in members]
            yes = [refs[m] for m, v in zip(members, vals, strict=True) if v is True]
            if yes:
                flags[c].append(True)
                any_flag = True
            elif any(v is False for v in vals):
                flags[c].append(False)
            else:
                flags[c].append(None)
            flag_from[f"{c}_from"].append(", ".join(yes))
        after = (not any_flag) and any("指定避難所" in d for d in desig)
        shown = [AFTER_EMERGENCY if (after and d == "指定避難所") else d for d in desig]
        # vertical evacuation qualifies the designations: said next to them (popup, index)
        ups = "・".join(dict.fromkeys(p for m in members for p in upstairs[m].split("・") if p))
        extra["upstairs_only"].append(ups)
        extra["designations"].append("・".join(shown) + (f"（{ups}）" if ups else ""))
        extra["designation_refs"].append("; ".join(f"{cats[m] or '?'}: {refs[m]}" for m in members))
        extra["site_refs"].append(" + ".join(refs[m] for m in members))
        extra["site_rows"].append(len(members))
        rep_key = lk[rep]
        others = [names[m] for m in members if not (lk[m] in rep_key or rep_key in lk[m])]
        extra["other_names"].append("・".join(dict.fromkeys(others)))
        extra["after_emergency_only"].append(after)
        for m in members:
            if m == rep:
                continue
            d, s = pair_info.get((min(m, rep), max(m, rep)), (math.nan, math.nan))
            if math.isnan(d):
                d = float(pts.iloc[m].distance(pts.iloc[rep]))
                s = float(
                    pair_name_scores(names, kana, names, kana, np.array([m]), np.array([rep]))[0]
                )
            reason = (
                _("same name (score %(score)s) within %(m)s m")
                % {"score": f"{s:.2f}", "m": f"{max_distance_m:g}"}
                if s >= min_name_score
                else _("same spot (≤ %(m)s m), names differ") % {"m": f"{same_place_m:g}"}
            )
            if d > same_place_m and s < min_name_score:
                reason = _("linked through another row of this site (≤ %(m)s m)") % {
                    "m": f"{max_distance_m:g}"
                }
            merges.append(
                {
                    "site_ref": refs[rep],
                    "site_name": names[rep],
                    "layer": layers_of[m],
                    "ref": refs[m],
                    "name": names[m],
                    "designation": cats[m],
                    "distance_m": round(d, 1),
                    "name_score": round(s, 3),
                    "reason": reason,
                }
            )
    sites = frame.iloc[rep_rows].reset_index(drop=True)
    for c, v in {**extra, **flags, **flag_from}.items():
        sites[c] = pd.Series(v, dtype=object) if c in flags else v
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=CRS)
    log.info(
        _("sites: %(n)d rows -> %(n2)d sites (%(n3)d rows merged)"),
        {"n": n, "n2": len(sites), "n3": len(merges)},
    )
    return Sites(sites=sites, merges=pd.DataFrame(merges, columns=list(_MERGE_COLUMNS)))


_MERGE_COLUMNS = (
    "site_ref", "site_name", "layer", "ref", "name", "designation",
    "distance_m", "name_score", "reason",
)  # fmt: skip
