"""Edge cases on small hand-made files in tests/data/opendata (see tests/data/README.md)."""

from __future__ import annotations

import pytest
from paths import TESTS

from civicmap.errors import SourceError
from civicmap.schema import serves_column
from civicmap.sources._coords import parse_one
from civicmap.sources._csvtext import decode, repair_mojibake
from civicmap.sources.opendata import read_csv

OD = TESTS / "data" / "opendata"


def test_shift_jis_file_is_detected_and_cp932_only_characters_survive():
    r = read_csv(OD / "shinjuku_sjis.csv", layer="x")
    assert r.info["encoding"] == "cp932"
    assert list(r.features["name"]) == ["大久保第一保育園", "髙田馬場第二保育園①", "西早稲田保育園"]
    # 髙 (a cp932-only variant) kept; ① NFKC-normalised to 1 in the display name only
    assert r.features.iloc[1]["address"] == "東京都新宿区高田馬場1-4-17"


def test_forced_encoding_overrides_detection_and_a_wrong_one_is_a_clear_error():
    with pytest.raises(SourceError, match=r"shinjuku_sjis.csv: cannot decode as utf-8"):
        read_csv(OD / "shinjuku_sjis.csv", layer="x", options={"encoding": "utf-8"})
    r = read_csv(OD / "shinjuku_sjis.csv", layer="x", options={"encoding": "cp932"})
    assert len(r.features) == 3


def test_utf16_tab_separated_file_with_hokui_toukei_headers():
    r = read_csv(OD / "toyama_utf16.txt", layer="x")
    assert r.info["encoding"] == "utf-16"
    assert r.info["columns"]["lat"] == "北緯" and r.info["columns"]["lon"] == "東経"
    assert list(r.features["name"]) == ["月岡幼稚園", "呉羽幼稚園"]
    assert r.features.iloc[0].geometry.x == pytest.approx(137.253375)


def test_mojibake_repair_only_applies_to_mojibake():
    original = "名称,緯度\n石川県立大学,36.5\n" * 3
    broken = original.encode("cp932").decode("latin-1")
    assert repair_mojibake(broken) == original
    assert repair_mojibake(original) is None
    assert repair_mojibake("Café, naïve, déjà vu") is None  # real latin-1 text is left alone
    d = decode(broken.encode("utf-8"))
    assert d.text == original and d.repairs


def test_title_line_and_multiline_header_cells_address_only_rows_are_reported():
    r = read_csv(OD / "hospitals_address_only.csv", layer="x")
    assert r.info["header_row"] == 2 and r.info["preamble"]
    # 住　所 with its full-width space, as published (issue 29: headers are not NFKC-folded)
    assert r.info["columns"]["address"] == "住\u3000所"
    assert r.info["rows"] == 3 and len(r.features) == 0
    assert all("address only" in p.reason and "geocode: true" in p.reason for p in r.rejected)


def test_dms_in_three_spellings_reads_to_the_same_point_and_is_reported():
    r = read_csv(OD / "dms.csv", layer="x")
    assert len(r.features) == 3
    for g in r.features.geometry:
        assert g.y == pytest.approx(35 + 41 / 60 + 37.6 / 3600)
        assert g.x == pytest.approx(139 + 42 / 60 + 13.0 / 3600)
    assert all("degrees-minutes-seconds" in p.reason for p in r.repaired)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("３５．５", 35.5),
        ("－３５．５", -35.5),
        (" 35.5 ", 35.5),
        ("35.5,", 35.5),
        ("N35°30'", 35.5),
        ("35°30'00\"S", -35.5),
        ("", None),
        ("―", None),
    ],
)
def test_single_values(raw, value):
    got, _note, err = parse_one(raw)
    assert got == (pytest.approx(value) if value is not None else None)
    assert err is None


def test_values_swapped_fullwidth_spaces_zero_blank_outside_unreadable_and_excel_damage():
    r = read_csv(OD / "values.csv", layer="x")
    names = list(r.features["name"])
    assert names == ["入れ替え", "全角", "空白あり", "末尾カンマ", "指数"]
    for g in r.features.geometry:
        assert (g.y, g.x) == (pytest.approx(35.70838), pytest.approx(139.70662))
    how = {p.row: p.reason for p in r.repaired}
    assert (
        "swapped" in how[1] and "full-width" in how[2] and "spaces" in how[3] and "stray" in how[8]
    )
    why = {p.row: p.reason for p in r.rejected}
    assert set(why) == {4, 5, 6, 7}
    assert "0" in why[4] and "no coordinates" in why[5]
    assert "outside Japan" in why[6] and "unreadable" in why[7] and "北のほう" in why[7]
    assert "in 緯度" in why[7] and "fix the cell" in why[7]  # names the column and the fix
    # ID column kept as text: leading zeros survive, exponent damage reported not fixed
    assert list(r.features["ＩＤ"])[:3] == ["001", "002", " 003 "]  # header kept full-width
    (w,) = r.info["warnings"]
    assert w["row"] == 9 and w["column"] == "ＩＤ" and "cannot be recovered" in w["reason"]
    assert r.features.iloc[-1]["ＩＤ"] == "5.22001E+12"


def test_fullwidth_and_spaced_headers_duplicates_and_html_names_stay_text():
    r = read_csv(OD / "headers.csv", layer="x")
    # found through the folded key, shown as published
    assert r.info["columns"]["lat"] == "Ｌａｔｉｔｕｄｅ"
    assert r.info["columns"]["lon"] == "Ｌｏｎｇｉｔｕｄｅ"
    assert r.info["columns"]["name"] == "名\u3000称"  # 名　称 (full-width space) is a 名称 column
    assert (
        "備考 (2)" in r.features.columns
        and r.info["renamed_columns"]["備考 (2)"] == "duplicate of '備考'"
    )
    assert r.features.iloc[0]["備考 (2)"] == "メモ2"
    assert r.features.iloc[0]["name"] == "<img src=x onerror=alert(1)>"
    assert r.features.iloc[1]["name"] == '<script>alert("x")</script>'


def test_xy_zahyou_pair_beats_a_stray_lng_column():
    r = read_csv(OD / "xy.csv", layer="x")
    assert (r.info["columns"]["lat"], r.info["columns"]["lon"]) == ("Y座標", "X座標")
    assert len(r.features) == 1


def test_columns_override_every_guess_and_address_may_be_a_list():
    r = read_csv(
        OD / "standard_childcare.csv",
        layer="x",
        options={
            "columns": {
                "name": "名称_カナ",
                "address": ["地方公共団体名", "所在地_連結表記"],
                "category": "地方公共団体名",
            }
        },
    )
    assert r.features.iloc[0]["name"] == "オオクボダイイチホイクエン"
    assert r.features.iloc[0]["address"] == "新宿区東京都新宿区大久保3-11-1"
    assert r.features.iloc[0]["category"] == "新宿区"


def test_columns_override_naming_a_missing_column_is_an_error_listing_the_columns():
    with pytest.raises(
        SourceError,
        match=r"columns.lat: got '緯度X', expected one of the file's columns "
        r"\(did you mean '緯度'\?\): .*緯度",
    ):
        read_csv(OD / "standard_childcare.csv", layer="x", options={"columns": {"lat": "緯度X"}})
    with pytest.raises(SourceError, match=r"columns.latitude: unknown key"):
        read_csv(
            OD / "standard_childcare.csv", layer="x", options={"columns": {"latitude": "緯度"}}
        )


def test_standard_childcare_layout_takes_category_from_shubetsu_and_keeps_ids_as_text():
    r = read_csv(OD / "standard_childcare.csv", layer="x")
    assert r.info["layout"] == "standard_childcare"
    assert list(r.features["category"]) == ["認可保育所", "幼稚園"]
    assert list(r.features["ID"]) == ["0001", "0002"]


def test_recommended_layout_flags_without_prefix_and_unknown_marks_stay_unknown():
    r = read_csv(OD / "recommended_evacuation.csv", layer="x")
    assert r.info["layout"] == "recommended"
    f = r.features
    assert f.iloc[0][serves_column("洪水")] is True and f.iloc[1][serves_column("洪水")] is False
    assert f.iloc[1][serves_column("earthquake")] is True
    assert f.iloc[1][serves_column("tsunami")] is None  # "?" is not guessed
    assert list(f["capacity"]) == [310, 530]


def test_unknown_layout_is_an_error():
    with pytest.raises(SourceError, match="layout: got 'mine', expected one of"):
        read_csv(OD / "values.csv", layer="x", options={"layout": "mine"})


def test_filter_keeps_matching_rows_and_counts_the_rest():
    r = read_csv(OD / "standard_childcare.csv", layer="x", options={"filter": {"種別": "幼稚園"}})
    assert list(r.features["name"]) == ["西早稲田幼稚園"] and r.info["filtered_out"] == 1
    # the left-out rows reach the build report, not only a count in info
    (w,) = r.info["warnings"]
    assert w["column"] == "種別" and "1 of 2 rows left out" in w["reason"]


def test_category_values_are_renamed_and_unknown_ones_kept(tmp_path):
    p = tmp_path / "hoiku.csv"
    p.write_text(
        "名称,種類,緯度,経度\nA園,認可,35.70,139.70\nB園,認証,35.71,139.70\nC園,小規模,35.72,139.70\n",
        encoding="utf-8",
    )
    res = read_csv(
        p,
        layer="childcare",
        options={
            "category": {"column": "種類", "values": {"認可": "認可保育所", "認証": "認証保育所"}}
        },
    )
    assert list(res.features["category"]) == ["認可保育所", "認証保育所", "小規模"]
    with pytest.raises(SourceError, match=r"category.values: got .*expected a mapping"):
        read_csv(p, layer="x", options={"category": {"column": "種類", "values": ["認可"]}})


def test_undecodable_bytes_name_the_file_and_the_fix(tmp_path):
    p = tmp_path / "broken.csv"
    p.write_bytes(b"\x81\x7f\x85\xa0\xfd\xfd,\x80\x80\n")
    with pytest.raises(SourceError, match=r"broken.csv: cannot tell the text encoding.*encoding:"):
        read_csv(p, layer="x")
