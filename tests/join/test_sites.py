"""Sites, not rows: the real 金沢市 lists merged into one site per place."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from paths import TESTS
from pyproj import Transformer
from shapely.geometry import Point
from site_counts import independent_site_count

from civicmap.join import name_similarity
from civicmap.join.conflate import pair_name_scores
from civicmap.join.sites import AFTER_EMERGENCY, flag_value, merge_sites
from civicmap.schema import CRS, conform
from civicmap.sources import read_path

KANAZAWA = "172014"
DATA = TESTS / "data"
TO_XY = Transformer.from_crs(CRS, "EPSG:6675", always_xy=True)  # JGD2011 zone VII (石川)
TO_LL = Transformer.from_crs("EPSG:6675", CRS, always_xy=True)


def kanazawa_rows(data_dir) -> gpd.GeoDataFrame:
    """The three official lists of 金沢市 as the readers give them (one frame)."""
    d = data_dir / "shelters"
    parts = [
        read_path(d / "gsi/evacuation_172014.json", layer="shelters",
                  options={"category": "指定避難所"}).features,
        read_path(d / "gsi/emergency_172014.json", layer="shelters",
                  options={"category": "指定緊急避難場所"}).features,
        read_path(d / "ishikawa/170003_evacuation_space.csv", layer="shelters",
                  options={"category": "指定緊急避難場所",
                           "filter": {"所在地_全国地方公共団体コード": KANAZAWA}}).features,
    ]  # fmt: skip
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=CRS)


@pytest.fixture(scope="module")
def kanazawa():
    rows = kanazawa_rows(DATA)
    return rows, merge_sites(rows)


def test_kanazawa_lists_merge_into_the_independently_counted_sites(data_dir, kanazawa):
    rows, result = kanazawa
    n_rows, n_sites = independent_site_count(data_dir)
    assert len(rows) == n_rows == 215 + 507 + 503
    assert len(result.sites) == n_sites
    # nothing lost: every row is in exactly one site, and every merge is reported
    refs = [r for s in result.sites["site_refs"] for r in s.split(" + ")]
    assert sorted(refs) == sorted(rows["source_ref"])
    assert len(result.merges) == n_rows - n_sites
    assert set(result.merges["reason"].str.extract(r"^(same \w+)")[0]) == {
        "same name",
        "same spot",
    }


def test_a_school_in_both_lists_is_one_site_with_both_designations_and_flag_sources(kanazawa):
    _, result = kanazawa
    site = result.sites[result.sites["name"] == "緑小学校"]
    assert len(site) == 1
    site = site.iloc[0]
    assert site["designations"] == "指定避難所・指定緊急避難場所"
    assert site["site_rows"] == 3
    # GSI 指定避難所 has no flags; the flags come from the two 指定緊急避難場所 rows
    assert site["serves_earthquake"] is True
    assert "emergency_172014.json" in site["serves_earthquake_from"]
    assert "170003_evacuation_space.csv" in site["serves_earthquake_from"]
    assert "evacuation_172014.json" not in site["serves_earthquake_from"]


def test_shelters_without_any_flag_are_for_after_the_emergency(kanazawa):
    _, result = kanazawa
    after = result.sites[result.sites["after_emergency_only"].astype(bool)]
    # counted independently: 指定避難所 sites none of whose rows has any disaster flag
    assert len(after) >= 1
    assert (after["designations"].str.contains(AFTER_EMERGENCY, regex=False)).all()
    flags = [c for c in result.sites.columns if c.startswith("serves_") and "_from" not in c]
    assert after[flags].isna().all().all()


def _hand(rows, **extra) -> gpd.GeoDataFrame:
    x0, y0 = TO_XY.transform(136.6562, 36.5613)
    pts = [Point(*TO_LL.transform(x0 + e, y0 + n)) for _, e, n, *_ in rows]
    gdf = gpd.GeoDataFrame(
        {
            "name": [r[0] for r in rows],
            "category": [r[3] for r in rows],
            "source_ref": [f"h.csv:{i + 1}" for i in range(len(rows))],
            **extra,
        },
        geometry=pts,
        crs=CRS,
    )
    return conform(gdf, layer="shelters", source="h.csv")


def test_two_schools_20m_apart_stay_two_sites_and_flags_union_with_sources():
    rows = _hand(
        [
            ("医王山小学校", 0, 0, "指定避難所"),
            ("医王山中学校", 20, 0, "指定避難所"),
            ("金沢市立医王山小学校", 5, 25, "指定緊急避難場所"),
            ("医王山小学校", 0, 2, "津波避難ビル"),
        ],
        serves_tsunami=[None, None, "1.0", "○"],
        serves_flood=[None, None, "×", None],
    )
    result = merge_sites(rows)
    assert len(result.sites) == 2
    one = result.sites.set_index("name").loc["医王山小学校"]
    assert one["designations"] == "指定避難所・指定緊急避難場所・津波避難ビル"
    assert one["serves_tsunami"] is True
    assert one["serves_tsunami_from"] == "h.csv:3, h.csv:4"
    assert one["serves_flood"] is False
    two = result.sites.set_index("name").loc["医王山中学校"]
    assert bool(two["after_emergency_only"]) is True
    assert two["designations"] == AFTER_EMERGENCY


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("1.0", True), (1.0, True), ("○", True), ("可", True), ("yes", True),
     ("0", False), ("×", False), ("不可", False), (0, False), ("", None), (None, None),
     (float("nan"), None), ("要確認", None)],
)  # fmt: skip
def test_flag_values_as_official_lists_write_them(value, expected):
    assert flag_value(value) is expected


def test_array_name_scores_equal_name_similarity_on_real_names(kanazawa):
    rows, _ = kanazawa
    names = rows["name"].to_numpy()
    kana = rows["name_kana"].astype(str).to_numpy()
    rng = np.random.default_rng(7)
    ia = rng.integers(0, len(rows), 300)
    ib = rng.integers(0, len(rows), 300)
    ib[:100] = ia[:100] + 1  # neighbours in the file are often the same place
    ib = np.minimum(ib, len(rows) - 1)
    got = pair_name_scores(names, kana, names, kana, ia, ib)
    want = [
        name_similarity(names[i], names[j], a_kana=kana[i], b_kana=kana[j])
        for i, j in zip(ia, ib, strict=True)
    ]
    assert got == pytest.approx(want)
    assert (got >= 0.9).sum() >= 3 and (got < 0.5).sum() > 50  # matches and misses


def test_flags_from_the_columns_municipal_lists_use():
    """○ / 1.0 / 可 in 災害種別_*, GSI-style and short columns (土砂, 内水) become flags."""
    rows = _hand(
        [("A公民館", 0, 0, "指定緊急避難場所"), ("B公園", 500, 0, "指定緊急避難場所")],
        **{"災害種別_地震": ["1.0", ""], "津波": ["", "○"], "土砂": ["可", "×"], "内水": ["", "1"]},
    )
    sites = merge_sites(rows).sites.set_index("name")
    assert sites.loc["A公民館", "serves_earthquake"] is True
    assert sites.loc["A公民館", "serves_landslide"] is True
    assert sites.loc["A公民館", "serves_tsunami"] is None
    assert sites.loc["B公園", "serves_tsunami"] is True
    assert sites.loc["B公園", "serves_landslide"] is False
    assert sites.loc["B公園", "serves_inland_flood"] is True
