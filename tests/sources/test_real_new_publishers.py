"""Real files from publishers the other tests have not seen (issue 29).

Each file in tests/data/opendata/real_new/ comes from a public GitHub repository
(source, commit, licence and any cut in tests/data/README.md). Expected values are
read here with csv / struct, independently of civicmap's readers, and every row is
accounted for: mapped + rejected + skipped blank lines = rows in the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import unicodedata
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pandas as pd
import pytest
from paths import TESTS

from civicmap.sources import read_path

NEW = TESTS / "data/opendata/real_new"

# openpyxl cannot set 厚生労働省's print area (a defined name); it ignores it, and so do we
pytestmark = pytest.mark.filterwarnings("ignore:Print area cannot be set:UserWarning")

#: Half-width katakana (ﾅｰｻﾘｰ), which civicmap prints full-width; everything else stays as written.
_HALF_KANA = re.compile(r"[\uff61-\uff9f]+")


def _shown(text: str) -> str:
    return _HALF_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text.strip())


KORIYAMA = (37.25, 37.60, 140.05, 140.60)  # 郡山市 (south, north, west, east), rounded outwards


def _accounted(result, rows_in_file: int) -> None:
    info = result.info
    assert info["mapped"] == len(result.features)
    assert info["mapped"] + len(result.rejected) + info.get("skipped_blank", 0) == rows_in_file


def _inside(features, box: tuple[float, float, float, float]) -> bool:
    s, n, w, e = box
    return bool(features.geometry.y.between(s, n).all() and features.geometry.x.between(w, e).all())


def _dbf(path: Path, encoding: str) -> list[dict[str, str]]:
    """Every record of a .dbf as text (dBASE III header, fixed-width records)."""
    raw = path.read_bytes()
    n, header_len, record_len = struct.unpack("<IHH", raw[4:12])
    offset, fields, pos = 1, {}, 32
    while raw[pos] != 0x0D:
        name = raw[pos : pos + 11].split(b"\0")[0].decode("ascii")
        fields[name] = (offset, raw[pos + 16])
        offset, pos = offset + raw[pos + 16], pos + 32
    recs = [raw[header_len + i * record_len :][:record_len] for i in range(n)]
    return [
        {k: r[o : o + s].decode(encoding).strip() for k, (o, s) in fields.items()} for r in recs
    ]


def _shp_points(path: Path) -> list[tuple[float, float]]:
    raw = path.read_bytes()
    assert struct.unpack("<i", raw[32:36])[0] == 1  # shape type 1: Point
    pts, pos = [], 100
    while pos < len(raw):
        length = struct.unpack(">i", raw[pos + 4 : pos + 8])[0] * 2
        pts.append(struct.unpack("<2d", raw[pos + 12 : pos + 28]))
        pos += 8 + length
    return pts


def test_koriyama_ksj_p29_13_schools_without_shx_or_prj_are_named_by_the_code_schema():
    """国土数値情報 P29-13 (学校, 福島県) as 郡山市 keeps it: .shp + .dbf only, Shift_JIS.

    In the 2013 layout the name is P29_005 and the address P29_006 (P29_004 is the
    学校分類 code, e.g. 16001), unlike P29-21 where P29_004 is the name.
    """
    shp = NEW / "koriyama_P29-13_07_07203_CUT.shp"
    assert not shp.with_suffix(".shx").exists() and not shp.with_suffix(".prj").exists()
    records = _dbf(shp.with_suffix(".dbf"), "cp932")
    points = _shp_points(shp)
    r = read_path(shp, layer="schools")
    _accounted(r, len(records))
    assert len(r.features) == len(records) == len(points) == 116
    f = r.features
    assert r.info["columns"]["name"] == "P29_005" and r.info["columns"]["address"] == "P29_006"
    assert list(f["name"]) == [x["P29_005"] for x in records]
    assert (f["name"] != "").all()
    assert {x["P29_004"] for x in records} >= {"16001", "16002"}  # codes, never names
    assert not set(f["name"]) & {x["P29_004"] for x in records}
    assert list(f["address"]) == [x["P29_006"] for x in records]
    assert f.geometry.x.tolist() == pytest.approx([p[0] for p in points], abs=1e-9)
    assert f.geometry.y.tolist() == pytest.approx([p[1] for p in points], abs=1e-9)
    assert _inside(f, KORIYAMA)
    assert any(".shx" in w["value"] for w in r.info["warnings"])  # said, not silent
    assert not shp.with_suffix(".shx").exists()  # and the folder is left as it was


def test_half_width_kana_folded_in_shown_names_and_addresses_and_kept_in_columns():
    """石川県's 指定緊急避難場所一覧 (CC BY 4.0) writes some names and addresses in half-width kana.

    ｻｲｴﾝｽﾊﾟｰｸ１号公園 and 石川県能美市道林町ﾍ99-3 are shown as サイエンスパーク１号公園 and
    …道林町ヘ99-3 (paper fonts render legacy-width kana badly); full-width digits and
    brackets stay; the publisher's own columns keep the text as published. (This case was
    shown on 郡山市's papamama CSV, which was dropped: no data licence could be shown.)
    """
    path = TESTS / "data/shelters/ishikawa/170003_evacuation_space.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"), newline="")))
    r = read_path(path, layer="shelters")
    f = r.features.set_index("source_ref")
    by_row = {f"{path.name}:{i}": x for i, x in enumerate(rows, 1)}
    kana = {
        ref: x
        for ref, x in by_row.items()
        if ref in f.index and _HALF_KANA.search(x["名称"] + x["所在地_連結表記"])
    }
    assert len(kana) == 8  # 4 バイパス, 2 サイエンスパーク names; 桔梗ｹ丘 and 道林町ﾍ addresses
    for ref, x in kana.items():
        assert f.at[ref, "name"] == _shown(x["名称"])
        assert f.at[ref, "address"] == _shown(x["所在地_連結表記"])
        assert f.at[ref, "所在地_連結表記"] == x["所在地_連結表記"]  # as published
        assert f.at[ref, "名称"] == x["名称"]
    assert "サイエンスパーク１号公園" in set(f["name"])  # １ stays full-width
    assert "石川県能美市道林町ヘ99-3" in set(f["address"])
    assert not f["name"].str.contains(_HALF_KANA).any()
    assert not f["address"].str.contains(_HALF_KANA).any()


TOWADA = (40.40, 40.72, 140.85, 141.35)  # 十和田市, 十和田湖畔 included


def _records(path: Path) -> list[dict[str, str]]:
    return json.loads(path.read_text("utf-8"))


@pytest.mark.parametrize(
    ("filename", "address_key", "category_key", "rows_expected"),
    [
        ("towada_022063_evacuation_space.json", "住所", None, 55),
        # 法人の名称 (the operator) beside 名称: the place's name is 名称
        ("towada_022063_hospital.json", "住所", "医療機関の種類", 65),
        # 名称_通称 beside 名称, and the address key 住所（地番） kept as published
        ("towada_022063_public_facility.json", "住所（地番）", None, 84),
    ],
)
def test_towada_records_array_json_recommended_dataset_layout(
    filename, address_key, category_key, rows_expected
):
    """十和田市's 推奨データセット files as a JSON array of records (keys = the CSV headers)."""
    path = NEW / filename
    recs = _records(path)
    r = read_path(path, layer="places")
    _accounted(r, len(recs))
    assert len(r.features) == len(recs) == rows_expected
    f = r.features
    assert r.info["columns"]["name"] == "名称"
    assert r.info["columns"]["address"] == address_key
    assert list(f["name"]) == [x["名称"].strip() for x in recs]
    assert (f["name"] != "").all()
    assert list(f["name_kana"]) == [x["名称_カナ"].strip() for x in recs]
    # shown with half-width kana folded (十和田市's 里ﾉ沢 → 里ノ沢), like the names
    assert list(f["address"]) == [_shown(x[address_key]) for x in recs]
    assert list(f[address_key].str.strip()) == [x[address_key].strip() for x in recs]
    if category_key:
        assert list(f["category"]) == [x[category_key].strip() for x in recs]
    assert f.geometry.y.tolist() == pytest.approx([float(x["緯度"]) for x in recs], abs=1e-9)
    assert f.geometry.x.tolist() == pytest.approx([float(x["経度"]) for x in recs], abs=1e-9)
    assert _inside(f, TOWADA)


def test_towada_capacity_written_with_thousands_commas_and_a_trailing_space():
    path = NEW / "towada_022063_evacuation_space.json"
    recs = _records(path)
    assert "1,201 " in {x["想定収容人数"] for x in recs}
    r = read_path(path, layer="shelters")
    assert list(r.features["capacity"]) == [int(x["想定収容人数"].replace(",", "")) for x in recs]


CHOFU = (35.62, 35.70, 139.50, 139.60)  # 調布市 and its edges (クリーンプラザふじみ sits in 三鷹市)
KML = "{http://www.opengis.net/kml/2.2}"


def test_chofu_overpass_kml_names_from_placemarks_and_none_invented():
    """Code for Chofu's AED map: an overpass-turbo KML export with OSM tags as ExtendedData.

    Two placemarks have no <name> (and no description): they are mapped, unnamed, not
    given a tag value as a name.
    """
    path = TESTS / "data/kml/chofu_aedmap_20141211_overpass.kml"
    placemarks = ElementTree.parse(path).getroot().iter(f"{KML}Placemark")
    names, points = [], []
    for p in placemarks:
        names.append((p.findtext(f"{KML}name") or "").strip())
        lon, lat = p.findtext(f"{KML}Point/{KML}coordinates").split(",")[:2]
        points.append((float(lon), float(lat)))
    r = read_path(path, layer="aed")
    _accounted(r, len(names))
    assert len(r.features) == len(names) == 202
    f = r.features
    assert list(f["name"]) == names
    assert names.count("") == 2 and (f["name"] != "").sum() == 200
    assert f.geometry.x.tolist() == pytest.approx([p[0] for p in points], abs=1e-9)
    assert f.geometry.y.tolist() == pytest.approx([p[1] for p in points], abs=1e-9)
    assert _inside(f, CHOFU)


def test_chofu_geojson_title_and_html_description_never_an_address():
    """Code for Chofu's 避難所 GeoJSON (from 調布市's list): ``title`` + an HTML ``description``.

    The description names 調布市 and a 番地 inside ``<strong>所在地:</strong> …<br />``
    markup; it is a popup text, and must not be printed as the address.
    """
    path = NEW / "chofu_hinanjo.geojson"
    features = json.loads(path.read_text("utf-8"))["features"]
    r = read_path(path, layer="shelters")
    _accounted(r, len(features))
    assert len(r.features) == len(features) == 32
    f = r.features
    assert r.info["columns"]["name"] == "title"
    assert list(f["name"]) == [x["properties"]["title"].strip() for x in features]
    assert (f["name"] != "").all()
    assert all("<strong>所在地:</strong>" in x["properties"]["description"] for x in features)
    assert r.info["columns"]["address"] != "description"
    assert not f["address"].str.contains("<", regex=False).any()
    assert _inside(f, CHOFU)


def test_mhlw_clinic_list_with_its_first_page_above_the_header_loses_no_place():
    """厚生労働省's list of 緊急避妊 clinics (鳥取県) as converted from PDF to CSV by c-3lab.

    The converter wrote the first page's 20 places, then the header (line 21), then
    the 20 places again. The lines above the header have a name, a postal code and
    an address but no coordinates: each is reported as a place above the header,
    none is dropped as a title.
    """
    path = NEW / "mhlw_ec_clinics_31_tottori_places_above_header.csv"
    records = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
    header_line = next(i for i, r in enumerate(records, 1) if r and r[0] == "施設名")
    assert header_line == 21 and len(records) == 41
    above, below = records[: header_line - 1], records[header_line:]
    r = read_path(path, layer="clinics", options={"_require_coordinates": False})
    _accounted(r, len(above) + len(below))
    assert r.info["header_row"] == header_line
    assert r.info["columns"]["name"] == "施設名" and r.info["columns"]["address"] == "住所"
    skipped = [p for p in r.rejected if p.code == "skipped_above_header"]
    assert [p.row for p in skipped] == [f"above the header, line {n}" for n in range(1, 21)]
    assert all("has an address" in p.reason and "is there a header?" in p.reason for p in skipped)
    # the rows under the header have addresses only: rejected (no geocoding here), one each
    address_only = [p for p in r.rejected if p.code == "address_only"]
    assert len(address_only) == len(below) == 20
    assert [p.reason.split("'")[1] for p in address_only] == [x[2] for x in below]


def test_mhlw_pharmacy_xlsx_title_group_row_and_unknown_headers():
    """厚生労働省's list of pharmacies (緊急避妊薬, 鳥取県) as the ministry publishes it (xlsx).

    A title on row 1, a blank row, a group row (薬局 | 薬剤師) over the header on row 4,
    and headers the alias table does not know (薬局名, 薬局所在地（市郡区以降）, with line
    breaks): the header is found by what its names mean, the title is not a place.
    """
    path = NEW / "mhlw_ec_pharmacies_31_tottori_title_group_header.xlsx"
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    assert rows[0][0].endswith("薬剤師及び薬局の一覧") and rows[2][1] == "薬局"
    header = [str(c) for c in rows[3]]
    assert header[3] == "薬局名" and header[5].startswith("薬局所在地")
    body = [r for r in rows[4:] if any(c not in (None, "") for c in r)]
    r = read_path(path, layer="pharmacies", options={"_require_coordinates": False})
    _accounted(r, len(body))
    assert r.info["header_row"] == 4
    assert r.info["columns"]["name"] == "薬局_薬局名"
    assert r.info["columns"]["address"].startswith("薬局_薬局所在地")
    # no coordinates in the file: each pharmacy is one 'address only' row, in file order
    assert [p.code for p in r.rejected] == ["address_only"] * len(body) == ["address_only"] * 146
    for problem, row in zip(r.rejected, body, strict=True):
        assert repr(str(row[5]).strip()) in problem.reason  # the address as the ministry wrote it


WAKAYAMA_GOBO = (33.82, 33.95, 135.10, 135.25)  # 御坊市, rounded outwards
#: 和歌山県's spelling of each disaster in 災害区分, as the file writes them.
WAKAYAMA_DISASTERS = {
    "洪水": "flood",
    "崖崩れ・土石流及び地滑り": "landslide",
    "高潮": "storm_surge",
    "内水氾濫": "inland_flood",
    "地震": "earthquake",
    "津波": "tsunami",
    "大規模な火事": "fire",
}


def test_wakayama_one_cell_disaster_list_split_on_full_width_spaces():
    """和歌山県's 避難先一覧 (御坊市): the disasters a site serves, listed in one cell.

    災害区分 holds ``洪水　崖崩れ・土石流及び地滑り　高潮　…　津波　`` (full-width spaces,
    a trailing one, and the official 崖崩れ、土石流及び地滑り written with ・); beside it a
    hazard-zone column (土砂災害・浸水・津波浸水予測地域) that names disasters but says
    where the site lies, not what it serves. 収容人数 0 beside 収容人数（一時） 370 is unknown.
    """
    path = NEW / "wakayama_30205_goboshi_refuge_area.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"), newline="")))
    r = read_path(path, layer="shelters")
    _accounted(r, len(rows))
    assert len(r.features) == len(rows) == 85
    f = r.features
    assert r.info["columns"]["name"] == "避難先名称" and r.info["columns"]["address"] == "所在地"
    assert list(f["name"]) == [x["避難先名称"].strip() for x in rows]
    assert (f["name"] != "").all() and (f["address"] != "").all()
    assert list(f["category"]) == [x["避難種別"] for x in rows]
    assert set(r.info["disaster_flags"].values()) == {"災害区分"}
    for key in WAKAYAMA_DISASTERS.values():
        expected = []
        for x in rows:
            listed = [t for t in x["災害区分"].split("\u3000") if t]
            assert set(listed) <= set(WAKAYAMA_DISASTERS)  # nothing unexpected in the file
            keys = {WAKAYAMA_DISASTERS[t] for t in listed}
            expected.append(key in keys if listed else None)
        assert f[f"serves_{key}"].tolist() == expected, key
    assert f["serves_volcano"].tolist() == [False if x["災害区分"] else None for x in rows]
    # 観音山 is a 津波 site only; 3 sites list nothing: unknown, not "serves nothing"
    first = f.iloc[0]
    assert first["name"] == "観音山" and first["serves_tsunami"] is True
    assert first["serves_flood"] is False and first["serves_landslide"] is False
    assert sum(not x["災害区分"] for x in rows) == 3
    # 名屋地区津波避難タワー: 収容人数 0 beside 収容人数（一時） 370 → capacity unknown
    tower = f[f["name"] == "名屋地区津波避難タワー"].iloc[0]
    assert pd.isna(tower["capacity"])
    assert int(f[f["name"] == "ふれあいセンター藤井"].iloc[0]["capacity"]) == 57
    assert f.geometry.y.tolist() == pytest.approx(
        [float(x["緯度：北緯（世界測地系10進法）"]) for x in rows], abs=1e-9
    )
    assert _inside(f, WAKAYAMA_GOBO)


WAKAYAMA_TAIJI = (33.57, 33.62, 135.90, 135.98)  # 太地町, rounded outwards


def test_wakayama_two_row_header_rates_disasters_and_lists_them_in_one_cell():
    """和歌山県's older 避難先一覧 for 太地町 (2016): a real two-row header.

    Row 1 holds group cells (緊急避難先レベル, 備蓄品目, 発電機, 施設面積（㎡）) over the names in
    row 2 (風水害 | 津波, …). The columns named after disasters rate each site ☆ to ☆☆☆;
    the disasters it is designated for are listed in 災害区分 (``洪水　地震　``). The ratings
    stay attributes under joined names; the flags come from the list.
    """
    path = NEW / "wakayama_30422_taiji_hinansaki07_2016.csv"
    records = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
    group, sub, body = records[0], records[1], records[2:]
    assert group[9] == "緊急避難先レベル" and sub[9:11] == ["風水害", "津波"]
    r = read_path(path, layer="shelters")
    _accounted(r, len(body))
    assert r.info["header_row"] == 2
    assert len(r.features) == len(body) == 19
    f = r.features
    assert list(f["name"]) == [x[0] for x in body]
    assert (f["name"] != "").all() and (f["address"] != "").all()
    assert list(f["address"]) == [x[26] for x in body]
    assert list(f["category"]) == [x[6] for x in body]
    # one name per column: group + sub-header
    assert list(f["緊急避難先レベル_津波"].fillna("")) == [x[10] for x in body]
    assert "備蓄品目_食料の有無" in f.columns and "施設面積（㎡）_屋外" in f.columns
    assert set(r.info["disaster_flags"].values()) == {"災害区分"}
    listed = [set(x[7].replace("\u3000", " ").split()) for x in body]
    names = {"洪水": "flood", "地震": "earthquake", "津波": "tsunami"}
    assert set().union(*listed) == set(names)
    for ja, key in names.items():
        assert f[f"serves_{key}"].tolist() == [ja in s for s in listed], key
    # 老人憩いの家: 洪水 地震 (rated ☆ for 風水害, nothing for 津波) — not a 津波 site
    first = f.iloc[0]
    assert first["name"] == "老人憩いの家" and first["serves_flood"] is True
    assert first["serves_earthquake"] is True and first["serves_tsunami"] is False
    assert f.geometry.x.tolist() == pytest.approx([float(x[17]) for x in body], abs=1e-9)
    assert f.geometry.y.tolist() == pytest.approx([float(x[18]) for x in body], abs=1e-9)
    assert _inside(f, WAKAYAMA_TAIJI)


WAKAYAMA = (33.40, 34.40, 135.00, 136.05)  # 和歌山県, rounded outwards
_TABLE_CELLS = re.compile(r"<td[^>]*>(.*?)</td><td[^>]*>(.*?)</td>")


def test_wakayama_web_gis_kml_label_in_the_description_table_not_in_name():
    """和歌山県's 異常気象時通行規制 points as exported by its web GIS (わかやま地図, 2015).

    The 電子国土 / 地理院地図 style: ``<name>`` holds only an ID (1 … 170), each
    placemark's fields are a ``<table>`` of key/value rows in ``<description>``
    (地先名, 規制条件, 路線名, 危険内容, 分類 …), and every placemark sits in its own
    folder named by the export's time stamp. The label is 地先名, the kind of place
    分類; the ID and the time stamp are neither.
    """
    path = TESTS / "data/kml/wakayama_abnormal_weather_regulation_points_20150213.kml"
    placemarks = list(ElementTree.parse(path).getroot().iter(f"{KML}Placemark"))
    fields = [dict(_TABLE_CELLS.findall(p.findtext(f"{KML}description"))) for p in placemarks]
    ids = [p.findtext(f"{KML}name") for p in placemarks]
    points = [
        tuple(map(float, p.findtext(f"{KML}Point/{KML}coordinates").split(",")[:2]))
        for p in placemarks
    ]
    assert ids == [str(i) for i in range(1, 171)]
    r = read_path(path, layer="regulations")
    _accounted(r, len(placemarks))
    assert len(r.features) == len(placemarks) == 170
    f = r.features
    assert r.info["columns"]["name"] == "地先名" and r.info["columns"]["category"] == "分類"
    assert list(f["name"]) == [x["地先名"] for x in fields]
    assert (f["name"] != "").all()
    assert f["name"].iloc[2] == "新宮市南磐盾～新宮市熊野川町・田辺市境界"
    assert set(f["category"]) == {"異常気象規制_点(点)"}
    assert list(f["name (in file)"]) == ids  # the ID is kept, as a column
    assert list(f["規制条件"]) == [x["規制条件"] for x in fields]
    assert f["規制条件"].iloc[2] == "通行止め：連続雨量200mm以上、時間雨量50mm以上"
    assert not f["category"].str.contains("2015/02/13").any()
    # the description was only its table: its rows are the columns above, not said twice
    assert (f["description"] == "").all()
    assert f.geometry.x.tolist() == pytest.approx([p[0] for p in points], abs=1e-9)
    assert f.geometry.y.tolist() == pytest.approx([p[1] for p in points], abs=1e-9)
    assert _inside(f, WAKAYAMA)


def test_digital_agency_headerless_address_list_is_read_from_line_one():
    """デジタル庁's list of 札幌市 school addresses has no header row: line 1 is the first place.

    Before, the first address became the column's name and that school vanished
    with no report (21 rows of 22).
    """
    path = NEW / "digital_agency_abr_sapporo_schools_headerless.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        addresses = [r[0] for r in csv.reader(fh) if r]
    assert len(addresses) == 22
    result = read_path(path, layer="x", offline=True)
    _accounted(result, len(addresses))
    assert result.info["rows"] == 22 and result.info["header_row"] == 0
    assert result.info["columns"]["address"] == "column_1"
    # no coordinates and no geocode: every line is an address-only place, line 1 included
    assert [p.row for p in result.rejected] == list(range(1, 23))
    assert all(p.code == "address_only" for p in result.rejected)
    assert all(repr(a) in p.reason for a, p in zip(addresses, result.rejected, strict=True))
    assert "北海道札幌市西区二十四軒４条２丁目６－１７" in result.rejected[0].reason
    assert any("no header row" in w["reason"] for w in result.info["warnings"])


def test_digital_agency_headerless_list_geocodes_its_first_line(geocoder):
    """With geocode: true, line 1 is asked for and mapped where デジタル庁's geocoder puts it.

    The test geocoder knows only that address (at abr-geocoder's own answer in the
    package's ``expects.json``); the other 21 are reported as not found.
    """
    path = NEW / "digital_agency_abr_sapporo_schools_headerless.csv"
    result = read_path(path, layer="x", options={"geocode": True})
    _accounted(result, 22)
    first = "北海道札幌市西区二十四軒４条２丁目６－１７"
    assert geocoder[0] == unicodedata.normalize("NFKC", first)  # asked first, digits folded
    assert len(result.features) == 1
    place = result.features.iloc[0]
    assert place["address"] == first and place["source_ref"].endswith(":1")
    assert (round(place.geometry.y, 5), round(place.geometry.x, 5)) == (43.07713, 141.30967)
    assert [p.row for p in result.rejected] == list(range(2, 23))
