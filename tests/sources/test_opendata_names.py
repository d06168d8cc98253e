"""Issue 29: every row read whatever the header looks like, and every place keeps its name.

The files under tests/data/opendata/names/ are HAND-MADE (see tests/data/README.md): each
reproduces one header shape seen in municipal files. For each shape: mapped + rejected +
skipped = rows, and the share of mapped places with a name is asserted.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from paths import ROOT, TESTS

from civicmap.check import check_file
from civicmap.sources import kind_for_path, read_path

DATA = TESTS / "data" / "opendata" / "names"


def _read(path: Path, **options):
    opts = {"_require_coordinates": False, **options}
    return read_path(path, layer="t", options=opts)


def _balanced(result) -> None:
    info = result.info
    assert (
        len(result.features) + len(result.rejected) + int(info.get("skipped_blank", 0))
        == info["rows"]
    )


def _named_share(result) -> float:
    names = result.features["name"].astype(str).str.strip()
    return float((names != "").mean()) if len(names) else 0.0


def test_headerless_csv_is_read_from_line_one():
    """A file whose first line is a place loses no row (it lost its first 24 to line 25)."""
    path = DATA / "headerless_flags_yn.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    result = _read(path)
    _balanced(result)
    assert result.info["rows"] == len(lines) == 40
    assert len(result.features) == 40
    assert result.features["name"].iloc[0] == "第1公民館"
    assert _named_share(result) == 1.0
    assert result.info["column_reasons"]["name"].startswith("its values look like names")
    assert (result.features["address"] != "").all()
    assert any("no header row" in w["reason"] for w in result.info["warnings"])


def test_places_above_the_header_are_reported_not_dropped():
    path = DATA / "places_above_header.csv"
    result = _read(path)
    _balanced(result)
    above = [p for p in result.rejected if p.code == "skipped_above_header"]
    assert [p.row for p in above] == [
        "above the header, line 2",
        "above the header, line 3",
        "above the header, line 4",
    ]
    assert "is there a header?" in above[0].reason
    assert len(result.features) == 5
    report = check_file(path)
    assert report["rows"] == 8 and report["mapped"] == 5 and len(report["rejected"]) == 3


def test_two_row_disaster_header_keeps_every_flag():
    """A group cell (対象とする災害) over the eight disaster names: one flag per column."""
    path = DATA / "two_row_disaster_header.csv"
    result = _read(path)
    _balanced(result)
    assert len(result.features) == 5 and not result.rejected
    flags = result.info["disaster_flags"]
    assert len(flags) == 8
    first = result.features.iloc[0]
    assert first["serves_flood"] is True and first["serves_landslide"] is False
    assert first["serves_fire"] is True and first["serves_volcano"] is False
    assert _named_share(result) == 1.0


#: Name-column spellings seen in municipal files and not in the alias table
#: (civicmap/sources/aliases.py): found by meaning (…名称 / …名 after NFKC, brackets, prefixes).
NEW_SPELLINGS = [
    "避難所名称",
    "【施設名】",
    "店舗名（正式）",
    "USER_学校名",
    "施設_名称",
    "事業所名",
    "集会所名",
    "ＡＥＤ設置施設名",
    "設置場所名称",
    "給水所名",
    "名称（漢字）",
    "避難施設 名称",
]


@pytest.mark.parametrize("header", NEW_SPELLINGS)
def test_name_column_found_by_meaning(tmp_path, header):
    from civicmap.sources.aliases import ALIASES

    assert header not in ALIASES["name"]
    path = tmp_path / "places.csv"
    path.write_text(
        f"番号,{header},施設名（カナ）,設置者名,所在地,緯度,経度\n"
        "1,西早稲田集会所,ニシワセダ,新宿区,新宿区西早稲田1-1,35.7070,139.7080\n"
        "2,戸山集会所,トヤマ,新宿区,新宿区戸山2-2,35.7050,139.7060\n",
        encoding="utf-8",
    )
    result = _read(path)
    _balanced(result)
    assert list(result.features["name"]) == ["西早稲田集会所", "戸山集会所"]
    assert result.info["column_reasons"]["name"].startswith("its header")


def test_gsi_sakuzu_kml_names_from_description():
    """地理院地図 作図 KML: an empty <name>, the label in the description's first line."""
    result = _read(DATA / "gsi_sakuzu_description.kml")
    _balanced(result)
    names = list(result.features["name"])
    assert names == ["西早稲田給水所", "戸山公園 集合場所", "高田馬場駅前", ""]
    assert result.info["name_from_description"] == 2
    assert _named_share(result) == 0.75


@pytest.mark.parametrize(
    ("file", "name", "address"),
    [
        ("ksj_a27_21_schools.geojson", "A27_004", "A27_005"),
        ("ksj_p29_21_schools.geojson", "P29_004", "P29_005"),
    ],
)
def test_ksj_code_columns_mapped_through_their_schema(file, name, address):
    """A27-21 puts a 学校コード in A27_003, which the old alias table took as the name."""
    result = _read(DATA / file)
    _balanced(result)
    assert result.info["columns"]["name"] == name
    assert result.info["columns"]["address"] == address
    assert "国土数値情報" in result.info["column_reasons"]["name"]
    assert _named_share(result) == 1.0
    assert result.features["name"].str.contains("学校").all()


def test_records_array_saved_as_geojson_is_a_table():
    result = _read(DATA / "records_array.geojson")
    _balanced(result)
    assert list(result.features["name"]) == ["第一公園", "第二公園"]
    assert result.features.geometry.iloc[1].y == pytest.approx(35.71)


def test_one_cell_disaster_list_and_capacity_beside_another_figure():
    result = _read(DATA / "one_cell_disaster_list.csv")
    _balanced(result)
    f = result.features
    assert f["serves_flood"].tolist() == [True, True, None, False]
    assert f["serves_landslide"].tolist() == [True, False, None, False]
    assert f["serves_fire"].tolist() == [False, False, None, True]
    # 0 in 想定収容人数 while 収容人数（屋外） says 300: unknown, not a capacity of 0
    assert f["capacity"].isna().tolist() == [False, True, True, False]
    assert int(f["capacity"].iloc[0]) == 120


def test_shapefile_without_shx_opens(tmp_path):
    """国土数値情報 ships some shapefiles without .shx; GDAL rebuilds it (in a temp copy)."""
    real = TESTS / "data" / "opendata" / "real"
    for ext in (".shp", ".dbf", ".prj", ".cpg"):
        shutil.copyfile(real / f"yaizu_ic_taxi_facilities{ext}", tmp_path / f"t{ext}")
    result = _read(tmp_path / "t.shp")
    _balanced(result)
    assert len(result.features) == 11 and _named_share(result) == 1.0
    assert any(".shx" in w["reason"] for w in result.info["warnings"])
    assert not (tmp_path / "t.shx").exists()  # the user's folder is not written to


#: Every real (and derived) data file → the column that holds its places' names.
REAL_NAME_COLUMNS = {
    "childcare/minato/minato_hoikuen.csv": "保育園名",
    "childcare/shinjuku/shinjuku_nurseryFacilities.csv": "Name",
    "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv": "Name",
    "childcare/tokyo23/tokyo23_nurseryFacilities_2016.geojson": "Name",
    "kml/chofu_aedmap_20141211_overpass.kml": "name",
    "kml/gsimaps_sakuzu_kodaira.kml": "name",
    "kml/hiroshima2018_water-supply_google-mymaps.kml": "name",
    "kml/wakayama_abnormal_weather_regulation_points_20150213.kml": "地先名",
    "messy/170003_public_toilet.csv": "名称",
    "opendata/hokkaido_hospital_list.csv": "hospital_name",
    "opendata/derived/suzu_p20_codes.geojson": "P20_002",
    "opendata/derived/tottori_hiezu_jgd2000.shp": "MOJI",
    "opendata/derived/toyama_titled_merged.xlsx": "Name",
    "opendata/real/fukui_fukuishieki_linkdata.csv": "駅名",
    "opendata/real/kobe_UDseibisisetu.xlsx": "column_4",
    "opendata/real/kobe_emergency_water_20170915.csv": "施設名",
    "opendata/real/kobe_tourism_od2707_trimmed.csv": "スポット名",
    "opendata/real/nanao_shelter_reference_data.csv": "名称",
    "opendata/real/takamatsu_evacuation_space.xlsx": "name",
    "opendata/real/yaizu_222127_evacuation_space.csv": "名称",
    "opendata/real/yaizu_222127_nouen_cp932.csv": "農園名",
    "opendata/real/yaizu_222127_park_info.csv": "公園名",
    "opendata/real/yaizu_ic_taxi_facilities.shp": "SAFIELD002",
    "opendata/real/yaizu_machinakasuzumidokoro.csv": "指定暑熱避難施設の名称",
    "opendata/real_new/chofu_hinanjo.geojson": "title",
    "opendata/real_new/koriyama_P29-13_07_07203_CUT.shp": "P29_005",
    "opendata/real_new/towada_022063_evacuation_space.json": "名称",
    "opendata/real_new/towada_022063_hospital.json": "名称",
    "opendata/real_new/towada_022063_public_facility.json": "名称",
    "opendata/real_new/wakayama_30205_goboshi_refuge_area.csv": "避難先名称",
    "opendata/real_new/wakayama_30422_taiji_hinansaki07_2016.csv": "名称",
    "shelters/gsi/evacuation_172014.json": "施設・場所名",
    "shelters/ishikawa/170003_evacuation_space.csv": "名称",
    "shelters/ishikawa/suzukinkyushelter.csv": "名称",
    "umap/mapprint_sample_legacy.umap": "name",
}


@pytest.fixture(scope="module")
def read_once():
    """``read_path``, each file read once a module with the options ``make bench`` reads it with.

    The bench table (``bench/bench_names.py``) reads every data file, the real files of
    :data:`REAL_NAME_COLUMNS` among them: the two tests share those readings (nothing
    changes a result). A file that cannot be read raises each time it is asked for.
    """
    memo = {}

    def read(path: Path, *, layer: str, options: dict | None = None):
        key = (str(path), layer, tuple(sorted((options or {}).items())))
        if key not in memo:
            memo[key] = read_path(path, layer=layer, options=options)
        return memo[key]

    return read


def _as_bench_reads(read, path: Path):
    """``path`` read as ``bench_names.row`` reads it (coordinates not required of a table)."""
    opts = {"_require_coordinates": False} if kind_for_path(path) in ("csv", "excel") else {}
    return read(path, layer="bench", options=opts)


@pytest.mark.parametrize("rel", sorted(REAL_NAME_COLUMNS))
def test_every_real_file_keeps_its_names(rel, read_once):
    """No mapped place lacks a name where the file has one (the name column's cell is filled)."""
    path = TESTS / "data" / rel
    result = _as_bench_reads(read_once, path)
    _balanced(result)
    column = REAL_NAME_COLUMNS[rel]
    assert result.info["columns"]["name"] == column
    f = result.features
    source = f[column] if column in f.columns else f["name"]
    has_one = source.astype(object).where(source.notna(), "").astype(str).str.strip() != ""
    unnamed = f[has_one & (f["name"].astype(str).str.strip() == "")]
    assert unnamed.empty, unnamed["source_ref"].tolist()[:5]
    assert len(f) > 0


def test_papamama_description_row_is_a_header_annotation_not_a_bad_place():
    result = _read(DATA / "papamama_description_row.csv")
    _balanced(result)
    assert not result.rejected and len(result.features) == 2
    assert result.info["header_annotations"][0].startswith("施設ID,名称")


def test_headers_kept_as_published_and_layer_file_may_type_them_folded(tmp_path):
    """緯度：北緯（…） stays as published in every output; columns: may type 緯度:北緯(…)."""
    path = tmp_path / "published.csv"
    path.write_text(
        "施設名,緯度：北緯（世界測地系）,経度：東経（世界測地系）,ＴＥＬ\n"
        "西早稲田集会所,35.7070,139.7080,03-0000-0000\n",
        encoding="utf-8",
    )
    result = _read(path, columns={"lat": "緯度:北緯(世界測地系)", "lon": "経度:東経(世界測地系)"})
    assert result.info["columns"]["lat"] == "緯度：北緯（世界測地系）"
    assert (
        "ＴＥＬ" in result.features.columns
        and "緯度：北緯（世界測地系）" in result.features.columns
    )
    assert len(result.features) == 1


def _bench_names():
    spec = importlib.util.spec_from_file_location("bench_names", ROOT / "bench" / "bench_names.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_table_every_file_accounts_for_every_row(read_once):
    """The table `make bench` prints: for each readable file, mapped + rejected + skipped = rows."""
    bench = _bench_names()
    bench.read_path = read_once  # its own module object: the files read above are not read again
    rows = [bench.row(p) for p in bench.files()]
    assert len(rows) >= 60
    readable = [r for r in rows if "error" not in r]
    errors = {r["file"] for r in rows if "error" in r}
    # the two files in metres with no CRS are refused on purpose (see test_crs.py)
    assert errors == {
        "opendata/derived/gsi_131041_epsg6677_no_crs.geojson",
        "opendata/derived/shinjuku_plane9_metres_only.csv",
    }
    for r in readable:
        assert r["mapped"] + r["rejected"] + r["skipped"] == r["rows"], r
        assert r["named"] <= r["mapped"]
    named = sum(r["named"] for r in readable)
    mapped = sum(r["mapped"] for r in readable)
    assert named / mapped > 0.99
    assert "| file | rows | mapped |" in bench.table(rows[:2])


def test_headers_about_something_else_are_never_the_name_or_category(tmp_path):
    """Kana, operators, municipalities, people and paid/unpaid flags come before the name here."""
    path = tmp_path / "decoys.csv"
    path.write_text(
        "市区町村名,設置者名,施設名（カナ）,医師名,有料区分,避難所名称,施設種類,緯度,経度\n"
        "新宿区,新宿区,ニシワセダ,山田,無料,西早稲田集会所,集会所,35.7070,139.7080\n"
        "新宿区,新宿区,トヤマ,佐藤,有料,戸山集会所,集会所,35.7050,139.7060\n",
        encoding="utf-8",
    )
    result = _read(path)
    assert result.info["columns"]["name"] == "避難所名称"
    assert result.info["columns"]["category"] == "施設種類"
    assert list(result.features["name"]) == ["西早稲田集会所", "戸山集会所"]


def test_headerless_spreadsheet_is_read_from_row_one(tmp_path):
    """The same rule for workbooks: a first row that is a place is read, not taken as a header."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    for i in range(30):
        ws.append(
            [
                i + 1,
                f"第{i + 1}避難所",
                f"新宿区戸山{i + 1}-1",
                35.70 + i / 1000,
                139.70 + i / 1000,
                "Y",
            ]
        )
    path = tmp_path / "no_header.xlsx"
    wb.save(path)
    result = _read(path)
    _balanced(result)
    assert len(result.features) == result.info["rows"] == 30
    assert result.features["name"].iloc[0] == "第1避難所"


def test_one_cell_list_keeps_the_official_landslide_name_whole(tmp_path):
    """崖崩れ、土石流及び地滑り holds a list separator itself: one disaster, not an unknown pair."""
    path = tmp_path / "list.csv"
    path.write_text(
        "名称,緯度,経度,対象とする災害\n"
        "第1避難所,36.60,136.60,崖崩れ、土石流及び地滑り、地震\n"
        "第2避難所,36.61,136.61,洪水 崖崩れ・土石流及び地滑り\n"
        "第3避難所,36.62,136.62,津波\n",
        encoding="utf-8",
    )
    result = _read(path)
    f = result.features
    assert f["serves_landslide"].tolist() == [True, True, False]
    assert f["serves_earthquake"].tolist() == [True, False, False]
    assert f["serves_flood"].tolist() == [False, True, False]


def test_kml_description_table_gives_the_name_when_name_is_empty(tmp_path):
    """地理院地図 作図 in table mode: no <name>, the attributes as a key/value table."""
    path = tmp_path / "sakuzu_table.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        "<Placemark><name></name><description><![CDATA[<table>"
        "<tr><td>名称</td><td>西早稲田給水所</td></tr>"
        "<tr><td>所在地</td><td>新宿区西早稲田1-1</td></tr></table>]]></description>"
        "<Point><coordinates>139.7085,35.7068</coordinates></Point></Placemark>"
        "<Placemark><name></name><description><![CDATA[<table>"
        "<tr><td>名称</td><td>戸山給水所</td></tr>"
        "<tr><td>所在地</td><td>新宿区戸山2-2</td></tr></table>]]></description>"
        "<Point><coordinates>139.7060,35.7050</coordinates></Point></Placemark>"
        "</Document></kml>",
        encoding="utf-8",
    )
    result = _read(path)
    _balanced(result)
    assert list(result.features["name"]) == ["西早稲田給水所", "戸山給水所"]
    assert list(result.features["address"]) == ["新宿区西早稲田1-1", "新宿区戸山2-2"]
