"""The fast conflate gives exactly what the straightforward per-row one gives (issue #17).

``tests/conflate_reference.py`` is the per-row implementation (one
``name_similarity`` call per pair, a Python loop for the assignment, one dict
per diff row). Both run on real lists (新宿区 nurseries against the demo
extract's OSM childcare, 金沢市 GSI lists against each other, 新宿区 GSI
shelters against OSM school polygons) and on a synthetic 2k × 2k case with
readings, owner prefixes, branch words, width variants and missing names;
the merged frame (columns, order, dtypes, values), the diff (every row) and
the pair count must be identical.
"""

from __future__ import annotations

import random
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conflate_reference import assign_one_to_one as reference_assign
from conflate_reference import reference_conflate
from paths import TESTS
from pyproj import Transformer

from civicmap.join import conflate
from civicmap.names import kana_key, loose_key
from civicmap.schema import CRS, conform
from civicmap.sources import read_path
from civicmap.sources._osmschema import to_schema
from civicmap.sources.osmfile import read_extract
from civicmap.tagfilter import TagFilter

DATA = TESTS / "data"
# civicmap.join re-exports the function under the module's name
_conflate_module = sys.modules["civicmap.join.conflate"]


def assert_same(official: gpd.GeoDataFrame, osm: gpd.GeoDataFrame, **options) -> None:
    new = conflate(official, osm, **options)
    ref = reference_conflate(official, osm, **options)
    assert new.matched == ref.matched
    assert list(new.merged.columns) == list(ref.merged.columns)
    pd.testing.assert_frame_equal(new.merged, ref.merged, check_exact=True)
    pd.testing.assert_frame_equal(new.diff, ref.diff, check_exact=True)
    assert new.summary() == ref.summary()


def _shinjuku_nurseries(data_dir) -> gpd.GeoDataFrame:
    return read_path(
        data_dir / "childcare/shinjuku/shinjuku_nurseryFacilities.csv",
        layer="childcare",
        options={
            "columns": {
                "lat": "Y", "lon": "X", "name": "Name", "name_kana": "Name_kana",
                "address": ["Add1", "Add2"],
            }
        },
    ).features  # fmt: skip


def _osm(data_dir, match: dict, layer: str) -> gpd.GeoDataFrame:
    ext = read_extract(data_dir / "osm/SmallAroundWaseda.osm", {"x": TagFilter.parse(match)})
    return to_schema(ext.frames["x"], layer=layer)


def _gsi(data_dir, name: str, category: str) -> gpd.GeoDataFrame:
    path = data_dir / "shelters/gsi" / name
    return read_path(path, layer="shelters", options={"category": category}).features


@pytest.fixture(scope="module")
def real():
    data_dir = DATA
    return {
        "nurseries": _shinjuku_nurseries(data_dir),
        "osm_childcare": _osm(
            data_dir, {"amenity": ["kindergarten", "childcare"]}, layer="childcare"
        ),
        "osm_schools": _osm(data_dir, {"amenity": "school"}, layer="shelters"),
        "shinjuku_gsi": _gsi(data_dir, "evacuation_131041.json", "指定避難所"),
        "kanazawa_emergency": _gsi(data_dir, "emergency_172014.json", "指定緊急避難場所"),
        "kanazawa_evacuation": _gsi(data_dir, "evacuation_172014.json", "指定避難所"),
    }


def test_shinjuku_nurseries_against_osm_childcare_same_as_reference(real):
    official, osm = real["nurseries"], real["osm_childcare"]
    assert len(official) == 133 and len(osm) > 0
    assert conflate(official, osm).matched >= 1  # the demo's nursery is in both lists
    assert_same(official, osm)
    assert_same(official, osm, prefer_geometry="official", max_distance_m=400.0)


def test_kanazawa_gsi_lists_against_each_other_same_as_reference(real):
    emergency, evacuation = real["kanazawa_emergency"], real["kanazawa_evacuation"]
    # both lists are published per facility: most 避難所 are also 緊急避難場所
    assert conflate(evacuation, emergency).matched > len(evacuation) // 2
    assert_same(evacuation, emergency)
    assert_same(emergency, evacuation, same_place_m=30.0, min_name_score=0.4)


def test_shinjuku_gsi_against_osm_school_polygons_same_as_reference(real):
    assert_same(real["shinjuku_gsi"], real["osm_schools"])


# --------------------------------------------------------------------------- synthetic

TO_LL = Transformer.from_crs("EPSG:6677", CRS, always_xy=True)
PREFIXES = ["", "", "新宿区立", "東京都立", "私立", "社会福祉法人 "]
WORDS = ["ひまわり", "さくら", "ｻｸﾗ", "若葉", "第2", "第ニ", "あおぞら", "こどもの森"]
KINDS = ["保育園", "保育園分園", "幼稚園", "ほいくえん", "（仮称）保育所", " 保育室 "]
KATA = str.maketrans({chr(c): chr(c + 0x60) for c in range(0x3041, 0x3097)})


def _synthetic(n: int, seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 3_000.0, size=(n, 2))  # dense: several candidates per place
    names, kana = [], []
    for i in range(n):
        word = rnd.choice(WORDS)
        name = f"{rnd.choice(PREFIXES)}{word}{rnd.choice(KINDS)}"
        if rnd.random() < 0.5:
            name += str(i % 50)  # names repeat, as in real lists
        names.append(name if rnd.random() > 0.02 else None)
        kana.append(rnd.choice(["", "ひまわりほいくえん", "さくら ようちえん", None, f"わかば{i}"]))
    official = _frame(xy, names, kana, "official.csv")
    keep = rng.random(n) > 0.1
    idx = np.flatnonzero(keep)
    shift = rng.normal(0, 8, size=(len(idx), 2))
    shift[rng.random(len(idx)) < 0.05] *= 12  # some far apart: location_mismatch
    osm_xy = np.vstack([xy[idx] + shift, rng.uniform(0, 3_000.0, size=(n // 10, 2))])
    osm_names, osm_kana = [], []
    for i in idx:
        r = rnd.random()
        name = names[i]
        if r < 0.1 and kana[i]:
            name = kana[i].translate(KATA)  # written in katakana in OSM
        elif r < 0.2:
            name = f"別名{i}"
        elif r < 0.3 and name:
            name = name.replace("新宿区立", "").replace("保育園", "保育園 本園")
        osm_names.append(name)
        osm_kana.append(rnd.choice(["", "", kana[i] or "", "ヒマワリ"]))
    for i in range(n // 10):
        osm_names.append(rnd.choice([f"新規{i}幼稚園", "さくら保育園", float("nan")]))
        osm_kana.append("")
    return official, _frame(osm_xy, osm_names, osm_kana, "osm")


def _frame(xy, names, kana, source) -> gpd.GeoDataFrame:
    lon, lat = TO_LL.transform(-12_000.0 + xy[:, 0], -35_000.0 + xy[:, 1])
    gdf = gpd.GeoDataFrame(
        {
            "name": names,
            "name_kana": kana,
            "source_ref": [f"{source}:{i}" for i in range(len(names))],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=CRS,
    )
    return conform(gdf, layer="t", source=source)


@pytest.fixture(scope="module")
def synthetic():
    return _synthetic(2_000, seed=17)


def test_synthetic_2k_by_2k_same_as_reference(synthetic):
    official, osm = synthetic
    result = conflate(official, osm)
    counts = result.summary()
    # the case exercises every status, so the comparison below covers each path
    assert result.matched > 1_000 and all(counts[s] > 0 for s in counts)
    assert_same(official, osm)
    assert_same(osm, official, prefer_geometry="official", same_place_m=25.0)


def test_empty_and_disjoint_inputs_same_as_reference(synthetic):
    official, osm = synthetic
    assert_same(official.iloc[:0], osm)
    assert_same(official, osm.iloc[:0])
    assert_same(official.iloc[:0], osm.iloc[:0])
    far = osm.copy()
    far["geometry"] = far.geometry.translate(xoff=0.5)  # ~45 km east: no candidates
    assert_same(official.iloc[:50], far.iloc[:50])


# --------------------------------------------------------------------------- the parts


def test_names_keyed_in_one_pass_equal_one_call_per_name(real, synthetic):
    names = [
        *real["nurseries"]["name"], *real["nurseries"]["name_kana"],
        *real["kanazawa_emergency"]["name"], *real["osm_childcare"]["name"],
        *synthetic[0]["name"], *synthetic[1]["name"], *synthetic[1]["name_kana"],
        " 東京都立　戸山高等学校 ", "区立", "区立分園", "分園", "ＡＢＣ保育園", "ﾋﾏﾜﾘ",
        "ΟΔΟΣ", "e\u0301cole", "\u0301x", "", "  ", "a\nb", "東京都立\n戸山", "第1保育園",
        "社会福祉法人 さくら会 さくら保育園", "（仮称）第ニ保育園", "(株)ＡＢＣ保育園",
        "株式会社ポピンズ ポピンズナーサリー", "NPO法人 こども", "さくら ぶんえん", "ホンエン",
    ]  # fmt: skip
    names = np.array([n if isinstance(n, str) else "" for n in names], dtype=object)
    for fn in (loose_key, kana_key):
        assert list(_conflate_module._keys(names, fn)) == [fn(n) for n in names]
    # a NUL inside a name (the separator) falls back to one call per name
    odd = np.array(["保育園\x00分園", "さくら"], dtype=object)
    assert list(_conflate_module._keys(odd, loose_key)) == [loose_key(n) for n in odd]


def test_array_rounding_equals_python_round():
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [rng.uniform(0, 150, 50_000), np.arange(0, 150, 0.05), np.arange(0, 1, 0.0005)]
    )
    for digits in (1, 3):
        assert _conflate_module._round(values, digits) == [
            round(v, digits) for v in values.tolist()
        ]


def test_array_assignment_equals_the_greedy_loop_on_dense_candidates():
    rng = np.random.default_rng(5)
    for n, m in ((300, 2_000), (2_000, 30), (50, 50)):
        oi = rng.integers(0, n // 3 + 1, m)
        mi = rng.integers(0, n // 3 + 1, m)
        dist = rng.choice([0.0, 5.0, 10.0, 40.0], m)
        names = rng.choice([0.2, 0.6, 0.9, 1.0], m)  # many ties: order by distance, then index
        score = 0.6 * names + 0.4 * (1 - dist / 150)
        ok = rng.random(m) > 0.1
        got = _conflate_module.assign_one_to_one(oi, mi, dist, names, score, ok)
        assert got == reference_assign(oi, mi, dist, names, score, ok)
    # a chain (i0-j0, i0-j1, i1-j1, i1-j2, ...) best first: one pair a round, so the
    # array rounds give up and the plain loop finishes it
    k = np.arange(400)
    oi, mi = k // 2, (k + 1) // 2
    score = 1.0 - k / 1000.0
    dist, ok = np.zeros(400), np.ones(400, dtype=bool)
    got = _conflate_module.assign_one_to_one(oi, mi, dist, score, score, ok)
    assert got == reference_assign(oi, mi, dist, score, score, ok)
    assert [(i, j) for i, j, *_ in got] == [(i, i) for i in range(200)]


# --------------------------------------------------------------------------- point lists on a grid


def _strtree_pairs(a: np.ndarray, b: np.ndarray, r: float) -> list[tuple[int, int, float]]:
    import shapely

    pa, pb = shapely.points(a), shapely.points(b)
    oi, mi = shapely.STRtree(pb).query(pa, predicate="dwithin", distance=r)
    dist = shapely.distance(pa[oi], pb[mi])
    return sorted(zip(oi.tolist(), mi.tolist(), dist.tolist(), strict=True))


def test_grid_pairs_equal_the_strtree_pairs_and_distances():
    rng = np.random.default_rng(11)
    a = rng.uniform(-5_000, 5_000, size=(3_000, 2))
    b = np.vstack(
        [
            a[:1_000] + rng.normal(0, 60, size=(1_000, 2)),
            a[:50],  # the same spot
            a[50:100] + np.array([150.0, 0.0]),  # exactly the limit along an axis
            a[100:150] + np.array([0.0, -150.0000001]),  # just past it
            rng.uniform(-5_000, 5_000, size=(2_000, 2)),
        ]
    )
    for r in (150.0, 10.0, 1_000.0):
        oi, mi, dist = _conflate_module._grid_pairs(a, b, r)
        assert (np.diff(oi) >= 0).all()  # sorted by official row, like the tree's answer
        got = sorted(zip(oi.tolist(), mi.tolist(), dist.tolist(), strict=True))
        assert got == _strtree_pairs(a, b, r)
    # far-flung points (too many cells for an offset table): binary searches, same pairs
    far = np.vstack([a[:200], a[:200] * 400.0])
    oi, mi, dist = _conflate_module._grid_pairs(far, far + 3.0, 150.0)
    got = sorted(zip(oi.tolist(), mi.tolist(), dist.tolist(), strict=True))
    assert got == _strtree_pairs(far, far + 3.0, 150.0)
    # a distance so small the cells could not be numbered: no grid (the tree answers)
    assert _conflate_module._grid_pairs(far, far + 3.0, 1e-12) is None


def test_point_lists_take_the_grid_and_ties_go_back_to_the_tree(synthetic, monkeypatch):
    official, osm = synthetic
    calls = []
    tree = _conflate_module._candidate_pairs

    def spy(*args):
        calls.append(1)
        return tree(*args)

    monkeypatch.setattr(_conflate_module, "_candidate_pairs", spy)
    assert_same(official, osm)
    assert calls == []  # points on both sides: no tree
    # OSM mapped twice on the same spot with the same name: two candidates of one
    # official row tie, so only the tree's order can say which one the greedy takes
    twice = pd.concat([osm.iloc[:300], osm.iloc[:300]], ignore_index=True)
    twice["source_ref"] = [f"osm:{i}" for i in range(len(twice))]
    assert_same(official, twice)
    assert calls == [1]
    assert_same(official.iloc[:300], osm.iloc[:300], max_distance_m=1e-12, same_place_m=0.0)
    assert len(calls) == 2
