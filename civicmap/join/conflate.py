"""Conflation: pair an official list with OSM one-to-one, merge, and list what disagrees.

An official list (a ward's nursery list, GSI shelters) and OSM describe
the same places with different names, spellings and coordinates.
:func:`conflate` pairs them one-to-one by distance (in metres; a point
inside an OSM polygon is 0 m away) and name or reading similarity, keeps
both references on each merged record, and lists what disagrees: the
diff is a to-do list for mappers and for the ward. No I/O.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from geopandas.array import GeometryArray
from pyproj import Transformer
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from civicmap.errors import CivicMapError
from civicmap.i18n import N_, _
from civicmap.names import (
    _BRANCH,
    _ENTITY_WORDS,
    _ORDINAL,
    _OWNER_PREFIX,
    _PROVISIONAL,
    _PUNCT,
    _ordinal,
    kana_key,
    loose_key,
)
from civicmap.schema import CRS, metric_crs

log = logging.getLogger(__name__)

#: Diff statuses, with what each asks a user to do (the diff's ``message``, in the run's
#: language; the status itself is a stable code).
DIFF_STATUSES: dict[str, str] = {
    "only_official": N_("only in the official list: check on the ground and add it to OSM"),
    "only_osm": N_("only in OSM: closed, not yet listed, or not this kind of place"),
    "location_mismatch": N_(
        "same place, but the two locations are far apart: check which is right"
    ),
    "name_mismatch": N_("same spot, different names: check which name is current"),
}

#: Columns every merged record carries after :func:`conflate`.
MATCH_COLUMNS = (
    "ref_official", "ref_osm", "name_osm", "match_status", "match_distance_m", "match_score",
)  # fmt: skip


# --------------------------------------------------------------------------- names


def name_similarity(a: str, b: str, *, a_kana: str = "", b_kana: str = "") -> float:
    """Similarity of two place names (0..1), by written form or by reading.

    Written names are compared as :func:`~civicmap.clean.loose_key` (so
    東京都立 戸山高等学校 and 都立戸山高等学校 are the same); a name that
    contains the other whole (4 characters or more) scores at least 0.9;
    readings (``name_kana``) are compared in hiragana, and a reading is also
    compared with the other side's name (OSM names written in kana).
    """
    best = 0.0
    ka, kb = loose_key(a), loose_key(b)
    if ka and kb:
        best = fuzz.ratio(ka, kb) / 100.0
        short, long_ = sorted((ka, kb), key=len)
        if len(short) >= 4 and short in long_:
            best = max(best, 0.9)
    kana_a, kana_b = kana_key(a_kana), kana_key(b_kana)
    for x, y in ((kana_a, kana_b), (kana_a, kana_key(b)), (kana_key(a), kana_b)):
        if len(x) >= 3 and len(y) >= 3:
            best = max(best, fuzz.ratio(x, y) / 100.0)
    return best


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _texts(column: pd.Series) -> np.ndarray:
    """:func:`_text` of each value, as an object array (no per-value Series calls)."""
    if pd.api.types.infer_dtype(column, skipna=False) == "string":
        return column.to_numpy(dtype=object)  # all text already
    values = column.tolist()
    return np.array(
        [v if type(v) is str else str(v) if isinstance(v, str) else _text(v) for v in values],
        dtype=object,
    ).reshape(-1)


# Names are normalised many at a time: the regular expressions of
# civicmap.names run once over all distinct names joined by a separator that
# no step can create, remove or match across (NUL: not a space, not
# punctuation, a starter that NFKC never composes). 40k separate loose_key
# calls cost more than the whole sjoin_nearest baseline. The result is checked
# against the one-name functions in tests/test_conflate_same.py.
_SEP = "\x00"
_KATA_TO_HIRA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}
_BUNEN = re.compile(r"(ぶんえん|ほんえん)")
_OWNER_LINE = re.compile(r"^(" + _OWNER_PREFIX.pattern[1:] + r")(.*)$", re.M)
_BRANCH_LINE = re.compile(r"^.*(?:" + _BRANCH.pattern + r").*$", re.M)


def _bulk_normalise(names: list[str]) -> str | None:
    """``normalise_text`` of each name, joined by NUL; None when a name holds a NUL."""
    text = _SEP.join(names)
    if text.count(_SEP) != len(names) - 1:
        return None
    # str.split() splits on exactly what the regex \s matches (str.isspace), so this
    # is _SPACES.sub(" ", ...) with the ends stripped, without the regex
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return text.replace(" " + _SEP, _SEP).replace(_SEP + " ", _SEP)


def _owner(m: re.Match) -> str:
    return m.group(2) if len(m.group(2)) >= 2 else m.group(0)


def _branch(m: re.Match) -> str:
    stripped = _BRANCH.sub("", m.group(0))
    return stripped if len(stripped) >= 2 else m.group(0)


def _bulk_loose_keys(names: list[str]) -> tuple[str, str] | None:
    """:func:`~civicmap.names.loose_key` of each name at once: ``(joined keys, separator)``.

    None when the one-name path must be used. Each substitution runs only when
    a character every one of its matches needs is in the text (a plain
    substring test is ~10× cheaper than a regex pass that finds nothing).
    """
    text = _bulk_normalise(names)
    if text is None:
        return None
    if "仮" in text:
        text = _PROVISIONAL.sub("", text)
    if "法人" in text or "会社" in text or "(" in text:
        text = _ENTITY_WORDS.sub("", text)
    if "第" in text:
        text = _ORDINAL.sub(_ordinal, text)
    text = _PUNCT.sub("", text.replace(" ", "")).lower()
    # match keys hold no white space, so a newline separates them line by line
    # for the anchored owner prefix and the per-name length checks.
    text = text.replace(_SEP, "\n")
    if "立" in text:
        text = _OWNER_LINE.sub(_owner, text)
    if ("分" in text or "本" in text) and _BRANCH.search(text):  # 分園 … 本館
        text = _BRANCH_LINE.sub(_branch, text)
    return text, "\n"


def _bulk_kana_keys(names: list[str]) -> tuple[str, str] | None:
    """:func:`~civicmap.names.kana_key` of each name at once: ``(joined keys, separator)``."""
    text = _bulk_normalise(names)
    if text is None:
        return None
    text = _PUNCT.sub("", text.translate(_KATA_TO_HIRA).replace(" ", ""))
    if "えん" in text:
        text = _BUNEN.sub("", text)
    return text.lower(), _SEP


_BULK = {loose_key: _bulk_loose_keys, kana_key: _bulk_kana_keys}


def _split_lens(text: str, sep: str, n: int) -> tuple[list[str], np.ndarray] | None:
    """The ``n`` keys in ``text`` and their lengths (from the separators' positions)."""
    out = text.split(sep)
    if len(out) != n:
        return None
    chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    ends = np.concatenate([[-1], np.flatnonzero(chars == ord(sep)), [len(chars)]])
    return out, np.diff(ends) - 1


def _as_str(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=object).reshape(-1)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values
    return np.array([v if type(v) is str else str(v) for v in values], dtype=object).reshape(-1)


def _unique_keys(values: np.ndarray, fn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(codes, keys, lengths)``: ``fn`` of each distinct value (and its length), and
    each value's index into them."""
    codes, uniq = pd.factorize(_as_str(values))
    uniq = list(uniq)
    bulk = _BULK[fn](uniq) if fn in _BULK and uniq else None
    split = _split_lens(*bulk, len(uniq)) if bulk is not None else None
    if split is None:
        keys = [fn(u) for u in uniq]
        split = keys, _lens(keys)
    keys, lens = split
    return codes, np.array(keys, dtype=object).reshape(-1), lens


def _both_keys(a: np.ndarray, b: np.ndarray, fn) -> tuple[np.ndarray, ...]:
    """``(codes of a, codes of b, keys, lengths)``: :func:`_unique_keys` of both at once."""
    codes, keys, lens = _unique_keys(np.concatenate([_as_str(a), _as_str(b)]), fn)
    return codes[: len(a)], codes[len(a) :], keys, lens


def _keys(values: np.ndarray, fn) -> np.ndarray:
    """``fn`` of each value, computed once per distinct value (names repeat a lot)."""
    if len(values) == 0:
        return np.array([], dtype=object)
    codes, keys, _ = _unique_keys(values, fn)
    return keys[codes]


def _lens(values: np.ndarray) -> np.ndarray:
    return np.fromiter((len(v) for v in values), dtype=int, count=len(values))


def _keys_where(values: np.ndarray, fn, rows: np.ndarray) -> np.ndarray:
    """``fn`` of the values at ``rows`` (once per distinct value), ``""`` elsewhere."""
    out = np.full(len(values), "", dtype=object)
    if len(rows):
        rows = np.unique(rows)
        out[rows] = _keys(values[rows], fn)
    return out


def _ratio(x: np.ndarray, y: np.ndarray, min_len: int, lx=None, ly=None) -> np.ndarray:
    """Pairwise fuzz.ratio / 100, 0 where either side is shorter than ``min_len``.

    Only the pairs long enough are handed to rapidfuzz (lists without
    readings have none for the reading comparisons).
    """
    if len(x) == 0:
        return np.array([], dtype=float)
    lx = _lens(x) if lx is None else lx
    ly = _lens(y) if ly is None else ly
    keep = (lx >= min_len) & (ly >= min_len)
    out = np.zeros(len(x), dtype=float)
    same = keep & (x == y)  # identical keys: ratio 100 (most true pairs)
    out[same] = 1.0
    keep &= ~same
    if keep.any():
        got = cpdist(x[keep].tolist(), y[keep].tolist(), scorer=fuzz.ratio, workers=1)
        out[keep] = np.asarray(got, dtype=float) / 100.0
    return out


def pair_name_scores(
    a_names: np.ndarray,
    a_kana: np.ndarray,
    b_names: np.ndarray,
    b_kana: np.ndarray,
    ia: np.ndarray,
    ib: np.ndarray,
) -> np.ndarray:
    """:func:`name_similarity` for the candidate pairs ``(a[ia[k]], b[ib[k]])``, on arrays.

    Each frame's names are normalised once per distinct name, all in one
    pass over the joined names (not once per pair, nor one call per name),
    and the ratios are computed pairwise by rapidfuzz in C, only for pairs
    whose keys are long enough to count. Gives exactly the scores of
    :func:`name_similarity`.
    """
    if len(ia) == 0:
        return np.array([], dtype=float)
    # both frames' names keyed together: a place's name is mostly the same text on
    # both sides, so each distinct text is normalised once
    ca, cb, ua, la = _both_keys(a_names, b_names, loose_key)
    kca, kcb, kua, kla = _both_keys(a_kana, b_kana, kana_key)
    ub, lb, kub, klb = ua, la, kua, kla
    x, y = ua[ca[ia]], ub[cb[ib]]
    lx, ly = la[ca[ia]], lb[cb[ib]]
    best = _ratio(x, y, 1, lx, ly)
    # containment only moves a score below 0.9 up to 0.9
    # (a key inside the other scores exactly 2·short/(short+long): test only those)
    short = np.minimum(lx, ly)
    full = best >= 2.0 * short / np.maximum(lx + ly, 1) - 1e-3  # rapidfuzz: float32
    check = np.flatnonzero((short >= 4) & (best < 0.9) & full)
    if len(check):
        contains = np.fromiter(
            (
                (p in q if len(p) <= len(q) else q in p)
                for p, q in zip(x[check], y[check], strict=True)
            ),
            dtype=bool,
            count=len(check),
        )
        hit = check[contains]
        best[hit] = np.maximum(best[hit], 0.9)
    kx, ky = kua[kca[ia]], kub[kcb[ib]]
    lkx, lky = kla[kca[ia]], klb[kcb[ib]]
    # A name's reading-form is compared only with a real reading (3+ characters) on
    # the other side; lists without readings (most OSM data) skip it entirely.
    if (lky >= 3).any():
        kna = _keys_where(np.asarray(a_names), kana_key, ia[lky >= 3])[ia]
        best = np.maximum(best, _ratio(kx, ky, 3, lkx, lky))
        best = np.maximum(best, _ratio(kna, ky, 3, None, lky))
    if (lkx >= 3).any():
        knb = _keys_where(np.asarray(b_names), kana_key, ib[lkx >= 3])[ib]
        best = np.maximum(best, _ratio(kx, knb, 3, lkx, None))
    return best


# --------------------------------------------------------------------------- conflation


@dataclass
class Conflation:
    """The result of :func:`conflate`.

    Attributes
    ----------
    merged : GeoDataFrame
        One row per place: matched pairs (official attributes, OSM geometry
        and extra tags; ``source`` is ``<official source>+osm`` and
        ``source_ref`` is ``<official ref>+<osm ref>``), then places only in
        the official list, then places only in OSM. Every row has the
        :data:`MATCH_COLUMNS` (``ref_official``, ``ref_osm`` hold each side).
    diff : GeoDataFrame
        One row per disagreement, ``status`` one of :data:`DIFF_STATUSES`.
    matched : int
        Number of official/OSM pairs merged into one record.
    """

    merged: gpd.GeoDataFrame
    diff: gpd.GeoDataFrame
    matched: int = 0

    def summary(self) -> dict[str, int]:
        """Counts: matched pairs and each diff status."""
        counts = {"matched": self.matched}
        for status in DIFF_STATUSES:
            counts[status] = int((self.diff["status"] == status).sum()) if len(self.diff) else 0
        return counts


def _candidate_pairs(
    off_m: np.ndarray, osm_m: np.ndarray, max_distance_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs within ``max_distance_m``: the STRtree geopandas' ``sindex`` builds, asked
    the same way (so the pairs come in the same order), without the GeoSeries around it."""
    if not len(off_m) or not len(osm_m):
        empty = np.array([], dtype=int)
        return empty, empty, np.array([], dtype=float)
    non_empty = osm_m.copy()
    non_empty[shapely.is_empty(non_empty)] = None
    oi, mi = shapely.STRtree(non_empty).query(off_m, predicate="dwithin", distance=max_distance_m)
    dist = shapely.distance(off_m[oi], osm_m[mi])
    return oi, mi, np.asarray(dist, dtype=float)


@functools.lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> Transformer:
    # keyed by the CRSs' user input (hashing a pyproj.CRS renders its WKT: ~1 ms)
    return Transformer.from_crs(pyproj.CRS(src), pyproj.CRS(dst), always_xy=True)


def _srs(crs: Any) -> str:
    return crs.srs if isinstance(crs, pyproj.CRS) else pyproj.CRS(crs).srs


def _metric_xy(geoms: gpd.GeoSeries, crs: Any) -> np.ndarray | None:
    """Metric ``(n, 2)`` coordinates when every geometry is a non-empty 2-D point, else None.

    The same transformer and coordinates as geopandas' ``to_crs`` (so the same
    metres), without making 20k point objects.
    """
    arr = geoms.to_numpy()
    if len(arr) and bool((shapely.get_type_id(arr) == 0).all()) and not shapely.has_z(arr).any():
        xy = shapely.get_coordinates(arr)
        if len(xy) == len(arr):  # no empty points
            x, y = _transformer(_srs(geoms.crs), _srs(crs)).transform(xy[:, 0], xy[:, 1])
            out = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
            if np.isfinite(out).all():
                return out
    return None


def _to_metric(geoms: gpd.GeoSeries, crs: Any) -> np.ndarray:
    """``geoms.to_crs(crs)`` as an array; 2-D points go straight through pyproj."""
    xy = _metric_xy(geoms, crs)
    if xy is not None:
        return shapely.points(xy[:, 0], xy[:, 1])
    return geoms.to_crs(crs).to_numpy()


def _grid_pairs(
    off_xy: np.ndarray, osm_xy: np.ndarray, max_distance_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Pairs of points within ``max_distance_m``, from a grid of cells that wide, on arrays.

    Point lists (the usual official list × OSM nodes) need no geometry
    objects and no tree: each OSM point is filed under its cell (one sort),
    each official point looks in its own and the 8 neighbouring cells (a
    start offset per cell, or binary searches when the cells would be too
    many). The pairs come sorted by
    official row, like the STRtree's; within one row their order differs,
    which :func:`conflate` checks cannot change the assignment. The distance
    is GEOS's for two points (``sqrt(dx² + dy²)``, bit for bit); a pair
    within a hair of the limit is decided by GEOS itself. None when the
    cells would be too many to number (a tiny distance over a huge extent).
    """
    n = len(off_xy)
    cell = max_distance_m * (1.0 + 1e-6) + 1e-9  # a margin: floor() of a quotient may round up
    x0 = min(off_xy[:, 0].min(), osm_xy[:, 0].min())
    y0 = min(off_xy[:, 1].min(), osm_xy[:, 1].min())
    span = max(off_xy.max(), osm_xy.max()) - min(x0, y0)
    if (span / cell + 3) ** 2 >= 2.0**62:  # cell numbers would overflow int64: use the tree
        return None
    # cells numbered from 1, so every neighbour's number is >= 0
    go = np.floor((off_xy - (x0, y0)) / cell).astype(np.int64) + 1
    gm = np.floor((osm_xy - (x0, y0)) / cell).astype(np.int64) + 1
    rows = int(max(go[:, 1].max(), gm[:, 1].max())) + 2
    cells = (int(max(go[:, 0].max(), gm[:, 0].max())) + 2) * rows
    key_m = gm[:, 0] * rows + gm[:, 1]
    order = np.argsort(key_m, kind="stable")
    key_o = go[:, 0] * rows + go[:, 1]
    near = (key_o[:, None] + (np.array([-1, 0, 1])[:, None] * rows + [-1, 0, 1]).ravel()).ravel()
    if cells <= max(8 * (n + len(osm_xy)), 1 << 20):
        # where each cell's points start: two lookups per neighbour, no search
        starts = np.zeros(cells + 1, dtype=np.int64)
        np.cumsum(np.bincount(key_m, minlength=cells), out=starts[1:])
        lo = starts[near]
        counts = starts[near + 1] - lo
    else:  # a sparse, far-flung list: binary search in the sorted keys
        sorted_keys = key_m[order]
        lo = np.searchsorted(sorted_keys, near, side="left")
        counts = np.searchsorted(sorted_keys, near, side="right") - lo
    total = int(counts.sum())
    oi = np.repeat(np.repeat(np.arange(n), 9), counts)
    start = np.cumsum(counts) - counts
    mi = order[np.arange(total) - np.repeat(start - lo, counts)]
    dx = off_xy[oi, 0] - osm_xy[mi, 0]
    dy = off_xy[oi, 1] - osm_xy[mi, 1]
    dist = np.sqrt(dx * dx + dy * dy)
    keep = dist <= max_distance_m
    edge = np.flatnonzero(np.abs(dist - max_distance_m) <= 1e-6 * max(max_distance_m, 1.0))
    if len(edge):
        keep[edge] = shapely.dwithin(
            shapely.points(off_xy[oi[edge]]), shapely.points(osm_xy[mi[edge]]), max_distance_m
        )
    return oi[keep], mi[keep], dist[keep]


def _same_row_ties(oi: np.ndarray, dist: np.ndarray, score: np.ndarray, ok: np.ndarray) -> bool:
    """Whether two allowed candidates of one official row tie on score and distance.

    Only then does the order of a row's candidates decide the assignment. A
    hash of (row, distance) finds the few possible ties with one sort; only
    when it does are they compared exactly.
    """
    k = np.flatnonzero(ok)
    if len(k) < 2:
        return False
    h = np.sort(dist[k].view(np.uint64) ^ (oi[k].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)))
    if not (h[1:] == h[:-1]).any():
        return False
    o = np.lexsort((dist[k], score[k], oi[k]))
    a, d, s = oi[k][o], dist[k][o], score[k][o]
    return bool(((a[1:] == a[:-1]) & (d[1:] == d[:-1]) & (s[1:] == s[:-1])).any())


def conflate(
    official: gpd.GeoDataFrame,
    osm: gpd.GeoDataFrame,
    *,
    max_distance_m: float = 150.0,
    location_mismatch_m: float = 50.0,
    same_place_m: float = 10.0,
    min_name_score: float = 0.6,
    same_name_score: float = 0.85,
    prefer_geometry: str = "osm",
) -> Conflation:
    """Match an official list with OSM features, one-to-one, and merge them.

    A pair is a candidate when the two are within ``max_distance_m`` metres
    (distance between shapes, so a GSI point inside an OSM school polygon is
    0 m) and either the names are similar (:func:`name_similarity` ≥
    ``min_name_score``) or the two are practically on the same spot
    (≤ ``same_place_m``; such pairs are flagged ``name_mismatch``).
    Candidates are scored ``0.6 × name + 0.4 × closeness`` and taken best
    first, each feature at most once: greedy one-to-one assignment, which
    on place lists (few candidates per place) gives the same pairs as an
    optimal assignment without its cost.

    Parameters
    ----------
    official, osm : GeoDataFrame
        Common-schema frames (EPSG:4326). OSM features may be polygons.
    max_distance_m : float
        Farthest apart two records of one place can be.
    location_mismatch_m : float
        Matched pairs farther apart than this are listed as ``location_mismatch``.
    same_place_m : float
        Pairs this close match even when their names differ (``name_mismatch``);
        keep it small: two different nurseries 20 m apart must not merge.
    min_name_score, same_name_score : float
        Name similarity needed to match, and below which a matched pair's
        names are listed as ``name_mismatch``.
    prefer_geometry : {"osm", "official"}
        Whose geometry a merged record keeps. OSM's by default: mappers place
        it on the building and polygons keep their shape for the web map;
        official coordinates are often geocoded from the address.

    Returns
    -------
    Conflation
    """
    if prefer_geometry not in ("osm", "official"):
        raise CivicMapError(
            _("prefer_geometry: got %(prefer_geometry)r, expected 'osm' or 'official'")
            % {"prefer_geometry": prefer_geometry}
        )
    off = gpd.GeoDataFrame(official.reset_index(drop=True), geometry="geometry", crs=CRS)
    om = gpd.GeoDataFrame(osm.reset_index(drop=True), geometry="geometry", crs=CRS)
    crs = metric_crs(off, om)
    off_names, osm_names = _texts(off["name"]), _texts(om["name"])
    off_kana, osm_kana = _texts(off["name_kana"]), _texts(om["name_kana"])

    def scored(oi, mi, dist):
        names = pair_name_scores(off_names, off_kana, osm_names, osm_kana, oi, mi)
        ok = (names >= min_name_score) | (dist <= same_place_m)
        score = 0.6 * names + 0.4 * (1.0 - np.minimum(dist, max_distance_m) / max_distance_m)
        return oi, mi, dist, names, ok, score

    off_xy = _metric_xy(off.geometry, crs) if len(om) and max_distance_m > 0 else None
    osm_xy = _metric_xy(om.geometry, crs) if off_xy is not None else None
    cands = None
    grid = _grid_pairs(off_xy, osm_xy, max_distance_m) if osm_xy is not None else None
    if grid is not None:  # points only: pairs on arrays
        cands = scored(*grid)
        if _same_row_ties(cands[0], cands[2], cands[5], cands[4]):
            cands = None  # the STRtree's order decides: ask it
    if cands is None:
        off_m = _to_metric(off.geometry, crs)
        osm_m = _to_metric(om.geometry, crs)
        cands = scored(*_candidate_pairs(off_m, osm_m, max_distance_m))
    oi, mi, dist, names, ok, score = cands
    off_refs, osm_refs = _texts(off["source_ref"]), _texts(om["source_ref"])
    off_geoms = off.geometry.to_numpy()
    osm_geoms = om.geometry.to_numpy()
    taken = _assign(oi, mi, dist, score, ok)
    pi, pj, pd_, pn, ps = oi[taken], mi[taken], dist[taken], names[taken], score[taken]
    used_off = np.zeros(len(off), dtype=bool)
    used_off[pi] = True
    used_osm = np.zeros(len(om), dtype=bool)
    used_osm[pj] = True
    only_off = np.flatnonzero(~used_off)
    only_osm = np.flatnonzero(~used_osm)

    loc = pd_ > location_mismatch_m
    bad_name = pn < same_name_score
    statuses = np.where(loc, "location_mismatch", np.where(bad_name, "name_mismatch", "matched"))
    layer = (
        _text(off["layer"].iloc[0]) if len(off) else (_text(om["layer"].iloc[0]) if len(om) else "")
    )
    diff = _diff_frame(
        layer, off_names, osm_names, off_refs, osm_refs, off_geoms, osm_geoms,
        pi, pj, pd_, pn, ps, loc, bad_name, only_off, only_osm,
    )  # fmt: skip
    merged = _merge_frames(
        off, om, pi, pj, pd_, ps, statuses.astype(object), only_off, only_osm, prefer_geometry,
        texts=(off_refs, osm_refs, osm_names),
    )  # fmt: skip
    log.info(
        _(
            "conflated %(n)d official × %(n2)d OSM: %(n3)d matched, %(n4)d only official, "
            "%(n5)d only OSM"
        ), {"n": len(off), "n2": len(om), "n3": len(pi), "n4": len(only_off), "n5": len(only_osm)},
    )  # fmt: skip
    return Conflation(merged=merged, diff=diff, matched=len(pi))


def _round(values: np.ndarray, digits: int) -> list[float]:
    """Python's ``round`` of each value (what the per-row code wrote), on arrays.

    ``np.round`` scales, rounds half to even and divides back, which differs
    from Python's correctly rounded ``round`` only where the scaled value lies
    at (or within rounding error of) a half: those few go through ``round``.
    """
    values = np.asarray(values, dtype=float)
    scaled = values * 10.0**digits
    out = np.rint(scaled) / 10.0**digits
    near_half = ~(np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) > 1e-6)
    for k in np.flatnonzero(near_half).tolist():
        out[k] = round(float(values[k]), digits)
    return out.tolist()


def _diff_frame(
    layer, off_names, osm_names, off_refs, osm_refs, off_geoms, osm_geoms,
    pi, pj, pd_, pn, ps, loc, bad_name, only_off, only_osm,
) -> gpd.GeoDataFrame:  # fmt: skip
    """The diff, column by column: per matched pair its location then name row, then
    the places only in the official list, then those only in OSM."""
    k = np.concatenate([np.flatnonzero(loc), np.flatnonzero(bad_name)])
    second = np.concatenate([np.zeros(loc.sum(), dtype=int), np.ones(bad_name.sum(), dtype=int)])
    order = np.lexsort((second, k))
    k, second = k[order], second[order]
    n_pair, n_off, n_osm = len(k), len(only_off), len(only_osm)
    if n_pair + n_off + n_osm == 0:
        return gpd.GeoDataFrame(
            {c: [] for c in ("status", "layer", "name_official", "name_osm", "ref_official",
                             "ref_osm", "distance_m", "name_score", "score", "message")},
            geometry=gpd.GeoSeries([], crs=CRS),
            crs=CRS,
        )  # fmt: skip
    status = np.concatenate(
        [
            np.where(second == 0, "location_mismatch", "name_mismatch").astype(object),
            np.full(n_off, "only_official", dtype=object),
            np.full(n_osm, "only_osm", dtype=object),
        ]
    )
    blank = np.full(n_osm, "", dtype=object)
    blank_off = np.full(n_off, "", dtype=object)
    nan_tail = [np.nan] * (n_off + n_osm)
    i, j = pi[k], pj[k]
    geoms = np.concatenate(
        [off_geoms[i], off_geoms[only_off], shapely.point_on_surface(osm_geoms[only_osm])]
    )
    columns = {
        "status": status,
        "layer": np.full(len(status), layer, dtype=object),
        "name_official": np.concatenate([off_names[i], off_names[only_off], blank]),
        "name_osm": np.concatenate([osm_names[j], blank_off, osm_names[only_osm]]),
        "ref_official": np.concatenate([off_refs[i], off_refs[only_off], blank]),
        "ref_osm": np.concatenate([osm_refs[j], blank_off, osm_refs[only_osm]]),
        "distance_m": _round(pd_[k], 1) + nan_tail,
        "name_score": _round(pn[k], 3) + nan_tail,
        "score": _round(ps[k], 3) + nan_tail,
        "message": np.array([_(DIFF_STATUSES[s]) for s in status], dtype=object),
    }
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(GeometryArray(geoms, crs=CRS)), crs=CRS)


def assign_one_to_one(
    oi: np.ndarray,
    mi: np.ndarray,
    dist: np.ndarray,
    names: np.ndarray,
    score: np.ndarray,
    ok: np.ndarray,
) -> list[tuple[int, int, float, float, float]]:
    """Greedy one-to-one assignment of candidate pairs, best score first.

    Candidates ``(oi[k], mi[k])`` allowed by ``ok`` are taken in order of
    ``score`` (nearer first on ties), each record at most once. On place
    lists (few candidates per place) this gives the pairs an optimal
    assignment would, without its cost. Returns ``(i, j, distance,
    name score, score)`` sorted by ``i``.
    """
    k = _assign(oi, mi, dist, score, ok)
    return [(int(oi[x]), int(mi[x]), float(dist[x]), float(names[x]), float(score[x])) for x in k]


def _assign(
    oi: np.ndarray, mi: np.ndarray, dist: np.ndarray, score: np.ndarray, ok: np.ndarray
) -> np.ndarray:
    """The candidates :func:`assign_one_to_one` takes, as indices sorted by ``oi``.

    The greedy result is built in rounds on arrays: a candidate that comes
    first (in the greedy order) among the remaining candidates of both its
    records is one the greedy loop takes too, so each round takes all such
    candidates at once and drops every other candidate of their records. A
    long chain of overlapping candidates (rare on place lists) is finished
    by the plain loop.
    """
    allowed = np.flatnonzero(ok)
    # best score first, nearer on ties, then candidate order (lexsort is stable)
    cand = allowed[np.lexsort((dist[allowed], -score[allowed]))]
    ci, cj = oi[cand], mi[cand]
    alive = np.ones(len(cand), dtype=bool)
    done_i = np.zeros(int(oi.max()) + 1 if len(oi) else 0, dtype=bool)
    done_j = np.zeros(int(mi.max()) + 1 if len(mi) else 0, dtype=bool)
    won: list[np.ndarray] = []
    for _round in range(20):
        idx = np.flatnonzero(alive)
        if not len(idx):
            break
        # each record's first remaining candidate (positions are in greedy order)
        first_i = np.full(len(done_i), len(cand))
        np.minimum.at(first_i, ci[idx], idx)
        first_j = np.full(len(done_j), len(cand))
        np.minimum.at(first_j, cj[idx], idx)
        win = idx[(first_i[ci[idx]] == idx) & (first_j[cj[idx]] == idx)]
        won.append(win)
        done_i[ci[win]] = True
        done_j[cj[win]] = True
        alive &= ~(done_i[ci] | done_j[cj])
    rest = np.flatnonzero(alive)
    if len(rest):
        used_off: set[int] = set()
        used_osm: set[int] = set()
        late = []
        for x in rest.tolist():
            i, j = int(ci[x]), int(cj[x])
            if i in used_off or j in used_osm:
                continue
            used_off.add(i)
            used_osm.add(j)
            late.append(x)
        won.append(np.array(late, dtype=int))
    taken = cand[np.concatenate(won)] if won else np.array([], dtype=int)
    return taken[np.argsort(oi[taken], kind="stable")]


def _merge_frames(
    off: gpd.GeoDataFrame,
    om: gpd.GeoDataFrame,
    oi: np.ndarray,
    mi: np.ndarray,
    dist: np.ndarray,
    score: np.ndarray,
    statuses: np.ndarray,
    only_off: np.ndarray,
    only_osm: np.ndarray,
    prefer_geometry: str,
    *,
    texts: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> gpd.GeoDataFrame:
    """The merged frame, built from whole columns (``texts``: refs and OSM names as text)."""
    off_refs, osm_refs, osm_names = texts
    # a plain frame without the geometry (select, not drop: no GeoDataFrame rebuilt)
    off_attrs = pd.DataFrame(off).loc[:, off.columns != "geometry"]
    om_attrs = pd.DataFrame(om).loc[:, om.columns != "geometry"]
    matched = off_attrs.iloc[oi].reset_index(drop=True)
    osm_rows = om_attrs.iloc[mi].reset_index(drop=True)
    for col in ("category", "name_kana", "address"):
        if col in matched.columns and col in osm_rows.columns:
            empty = _texts(matched[col]) == ""
            matched.loc[empty, col] = osm_rows.loc[empty, col]
    for col in osm_rows.columns:
        if col not in matched.columns:
            matched[col] = osm_rows[col].to_numpy()
    ref_off, ref_osm = off_refs[oi], osm_refs[mi]
    matched["ref_official"] = ref_off
    matched["ref_osm"] = ref_osm
    matched["name_osm"] = osm_names[mi]
    # object arrays of str: + concatenates element by element
    matched["source"] = _texts(matched["source"]) + "+osm"
    matched["source_ref"] = ref_off + "+" + ref_osm
    matched["match_status"] = statuses
    matched["match_distance_m"] = _round(dist, 1)
    matched["match_score"] = _round(score, 3)
    off_g, om_g = off.geometry.to_numpy(), om.geometry.to_numpy()
    first = om_g[mi] if prefer_geometry == "osm" else off_g[oi]

    a = off_attrs.iloc[only_off].reset_index(drop=True)
    a["ref_official"] = off_refs[only_off]
    a["ref_osm"] = ""
    a["name_osm"] = ""
    a["match_status"] = "only_official"
    b = om_attrs.iloc[only_osm].reset_index(drop=True)
    b["ref_official"] = ""
    b["ref_osm"] = osm_refs[only_osm]
    b["name_osm"] = osm_names[only_osm]
    b["match_status"] = "only_osm"
    for frame in (a, b):
        frame["match_distance_m"] = np.nan
        frame["match_score"] = np.nan
    geoms = np.concatenate([first, off_g[only_off], om_g[only_osm]])
    parts = [f for f in (matched, a, b) if len(f)]
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.concat([matched, a, b], ignore_index=True)
    )
    out = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(GeometryArray(geoms, crs=CRS)), crs=CRS)
    front = [c for c in off.columns if c != "geometry"]
    rest = [c for c in out.columns if c not in front and c != "geometry"]
    # reindex, not select: when every official row fell outside the area, the empty parts were
    # left out of the concat and the official file's own columns must still come back (empty)
    return out.reindex(columns=[*front, *rest, "geometry"])
