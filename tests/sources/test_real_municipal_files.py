"""Real files as municipalities and civic-tech groups publish them (issue 16).

Every file in tests/data/opendata/real/ is copied byte for byte from a public GitHub
repository (source, commit and licence in tests/data/README.md). The expected values
are read here with plain openpyxl / csv / json, independently of civicmap's readers,
and every row of every file is accounted for: mapped + rejected + skipped blank lines.
The bounding boxes are the municipalities' extents, rounded outwards by hand.
"""

from __future__ import annotations

import csv
import io
import struct
from pathlib import Path

import openpyxl
import pyproj
import pytest
from paths import TESTS

from civicmap.schema import serves_column
from civicmap.sources import read_path

REAL = TESTS / "data/opendata/real"

# openpyxl cannot parse 八王子市's print header/footer; it ignores it, and so do we
pytestmark = pytest.mark.filterwarnings("ignore:Cannot parse header or footer:UserWarning")

# (south, north, west, east) in degrees
TAKAMATSU = (34.10, 34.47, 133.90, 134.23)  # 高松市, 女木島・男木島 and 塩江 included
NANAO = (36.93, 37.20, 136.75, 137.10)  # 七尾市, 能登島 included
YAIZU = (34.75, 34.93, 138.20, 138.37)  # 焼津市 (旧大井川町 included)


def _xlsx_rows(path: Path) -> tuple[list[str], list[tuple], int]:
    """Header, non-blank data rows and the number of blank rows of the first sheet."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    header = [str(c) if c is not None else "" for c in rows[0]]
    body = [r for r in rows[1:] if any(c not in (None, "") for c in r)]
    return header, body, len(rows) - 1 - len(body)


def _csv_rows(path: Path, encoding: str = "utf-8-sig") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding), newline="")))


def _inside(features, box: tuple[float, float, float, float]) -> bool:
    s, n, w, e = box
    return bool(features.geometry.y.between(s, n).all() and features.geometry.x.between(w, e).all())


def _accounted(result, rows_in_file: int) -> None:
    info = result.info
    assert info["mapped"] == len(result.features)
    assert info["mapped"] + len(result.rejected) + info.get("skipped_blank", 0) == rows_in_file


@pytest.fixture(scope="module")
def takamatsu():
    return read_path(REAL / "takamatsu_evacuation_space.xlsx", layer="shelters")


def test_takamatsu_xlsx_every_row_placed_where_the_file_says(takamatsu):
    header, body, blank = _xlsx_rows(REAL / "takamatsu_evacuation_space.xlsx")
    col = {h: i for i, h in enumerate(header)}
    _accounted(takamatsu, len(body) + blank)
    assert len(takamatsu.features) == len(body) == 195
    f = takamatsu.features
    assert list(f["name"]) == [r[col["name"]] for r in body]
    assert (f["name"].str.strip() != "").all()
    assert list(f["address"]) == [r[col["address"]] or "" for r in body]
    lat = [float(r[col["latitude"]]) for r in body]
    lon = [float(r[col["longitude"]]) for r in body]
    assert f.geometry.y.tolist() == pytest.approx(lat, abs=1e-9)
    assert f.geometry.x.tolist() == pytest.approx(lon, abs=1e-9)
    assert _inside(f, TAKAMATSU)


def test_takamatsu_circle_flags_and_english_disaster_headers(takamatsu):
    """○ yes, × / − no, △ (conditional) stays unknown; English keys as 高松市 spells them."""
    header, body, _ = _xlsx_rows(REAL / "takamatsu_evacuation_space.xlsx")
    col = {h: i for i, h in enumerate(header)}
    flags = takamatsu.info["disaster_flags"]
    expected_cols = {
        "flood": "flood_L2",  # 想定最大規模 is preferred to flood_L1 (計画規模)
        "landslide": "sedimentDisaster",
        "storm_surge": "stormSurge",
        "tsunami": "tunami",  # sic
        "fire": "fire",
        "earthquake": "earthquake",
        "inland_flood": "inundation",
    }
    meaning = {"○": True, "×": False, "−": False, "-": False, "": False, "△": None}
    for key, h in expected_cols.items():
        assert flags[serves_column(key)] == h
        cells = [(r[col[h]] or "").strip() for r in body]
        assert set(cells) <= set(meaning), (h, set(cells) - set(meaning))
        assert list(takamatsu.features[serves_column(key)]) == [meaning[c] for c in cells], key
    # the file really uses all three marks, so the test is not vacuous
    assert {"○", "△", "×"} <= {(r[col["flood_L2"]] or "").strip() for r in body}


def test_nanao_csv_flags_written_as_one_point_zero():
    """A list re-published after the 2024 能登半島地震: flags are "1.0" / empty."""
    path = REAL / "nanao_shelter_reference_data.csv"
    rows = _csv_rows(path)
    r = read_path(path, layer="shelters")
    _accounted(r, len(rows))
    assert len(r.features) == len(rows) == 112
    f = r.features
    assert list(f["name"]) == [x["名称"] for x in rows]
    assert (f["name"].str.strip() != "").all()
    assert f.geometry.y.tolist() == pytest.approx([float(x["緯度"]) for x in rows], abs=1e-9)
    assert f.geometry.x.tolist() == pytest.approx([float(x["経度"]) for x in rows], abs=1e-9)
    assert _inside(f, NANAO)
    spellings = {x["災害種別_洪水"] for x in rows} | {x["災害種別_津波"] for x in rows}
    assert spellings == {"1.0", ""}
    for key, h in (("flood", "災害種別_洪水"), ("tsunami", "災害種別_津波"),
                   ("landslide", "災害種別_崖崩れ、土石流及び地滑り")):  # fmt: skip
        assert list(f[serves_column(key)]) == [x[h] == "1.0" for x in rows], key


def _shp_points(path: Path) -> list[tuple[float, float]]:
    """Point records of a .shp, read with struct (ESRI Shapefile Technical Description)."""
    raw = path.read_bytes()
    assert struct.unpack("<i", raw[32:36])[0] == 1  # shape type 1: Point
    pts, pos = [], 100
    while pos < len(raw):
        length = struct.unpack(">i", raw[pos + 4 : pos + 8])[0] * 2
        pts.append(struct.unpack("<2d", raw[pos + 12 : pos + 28]))
        pos += 8 + length
    return pts


def _dbf_column(path: Path, field: str, encoding: str) -> list[str]:
    """One text column of a .dbf (dBASE III header, fixed-width records)."""
    raw = path.read_bytes()
    n, header_len, record_len = struct.unpack("<IHH", raw[4:12])
    offset, fields, pos = 1, {}, 32
    while raw[pos] != 0x0D:
        name = raw[pos : pos + 11].split(b"\0")[0].decode("ascii")
        size = raw[pos + 16]
        fields[name] = (offset, size)
        offset, pos = offset + size, pos + 32
    start, size = fields[field]
    recs = [raw[header_len + i * record_len :][:record_len] for i in range(n)]
    return [r[start : start + size].decode(encoding).strip() for r in recs]


def test_yaizu_shapefile_in_plane_rectangular_zone_8_lands_within_a_metre():
    """焼津市 publishes shapefiles in JGD2000 平面直角座標系 第8系 (.prj) with Shift_JIS (.cpg).

    Its generic SIS field names (SAFIELD002 = 名称, per the city's attributes.csv) are named
    with ``columns: {name: ...}``, as a user would.
    """
    shp = REAL / "yaizu_ic_taxi_facilities.shp"
    assert "Japan_Zone_8" in shp.with_suffix(".prj").read_text("ascii")
    encoding = shp.with_suffix(".cpg").read_text("ascii").strip()
    assert encoding == "Shift_JIS"
    xy = _shp_points(shp)
    names = _dbf_column(shp.with_suffix(".dbf"), "SAFIELD002", "cp932")
    r = read_path(shp, layer="taxi", options={"columns": {"name": "SAFIELD002"}})
    _accounted(r, len(xy))
    assert len(r.features) == len(xy) == len(names) == 11
    assert list(r.features["name"]) == names and all(names)
    assert r.info["crs"].startswith("EPSG:2450")
    # 第8系: origin 36°N 138°30'E; JGD2000 and WGS84 agree to well under a metre here
    to_geo = pyproj.Transformer.from_crs("EPSG:2450", "EPSG:4326", always_xy=True)
    geod = pyproj.Geod(ellps="WGS84")
    for (x, y), got in zip(xy, r.features.geometry, strict=True):
        lon, lat = to_geo.transform(x, y)
        assert geod.inv(lon, lat, got.x, got.y)[2] < 1.0
    assert _inside(r.features, YAIZU)


@pytest.mark.parametrize(
    ("filename", "name_header", "address_header", "rows_expected"),
    [
        # 指定暑熱避難施設 (クーリングシェルター): the name is 指定暑熱避難施設の名称
        ("yaizu_machinakasuzumidokoro.csv", "指定暑熱避難施設の名称", "所在地", 108),
        # 公園一覧: 公園名 and 住所（番地まで）
        ("yaizu_222127_park_info.csv", "公園名", "住所（番地まで）", 142),
        # ファミリー農園: Shift_JIS (cp932), 農園名
        ("yaizu_222127_nouen_cp932.csv", "農園名", "住所", 9),
    ],
)
def test_yaizu_lists_whose_name_column_is_not_meishou(
    filename, name_header, address_header, rows_expected
):
    path = REAL / filename
    encoding = "cp932" if filename.endswith("_cp932.csv") else "utf-8-sig"
    rows = _csv_rows(path, encoding)
    r = read_path(path, layer="places")
    _accounted(r, len(rows))
    assert len(r.features) == len(rows) == rows_expected
    assert r.info["columns"]["name"] == name_header
    # headers are kept as published (（番地まで） stays full-width, issue 29)
    assert r.info["columns"]["address"] == address_header
    f = r.features
    assert list(f["address"]) == [x[address_header].strip() for x in rows]
    assert list(f["name"]) == [x[name_header].strip() for x in rows]
    assert (f["name"] != "").all()
    assert f.geometry.y.tolist() == pytest.approx([float(x["緯度"]) for x in rows], abs=1e-9)
    assert f.geometry.x.tolist() == pytest.approx([float(x["経度"]) for x in rows], abs=1e-9)
    assert _inside(f, YAIZU)


def test_yaizu_evacuation_csv_circle_flags():
    path = REAL / "yaizu_222127_evacuation_space.csv"
    rows = _csv_rows(path)
    r = read_path(path, layer="shelters")
    _accounted(r, len(rows))
    assert len(r.features) == len(rows) == 31
    assert _inside(r.features, YAIZU)
    marks = {x[h] for x in rows for h in x if h.startswith("災害種別_")}
    assert marks == {"○", ""}
    for key, h in (("earthquake", "災害種別_地震"), ("tsunami", "災害種別_津波"),
                   ("flood", "災害種別_洪水")):  # fmt: skip
        assert list(r.features[serves_column(key)]) == [x[h] == "○" for x in rows], key
    # the towers are 津波避難タワー: flagged for 津波, so the test is not vacuous
    assert r.features[serves_column("tsunami")].sum() > 0


def _sheet(path: Path, title: str) -> list[tuple]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(wb[title].iter_rows(values_only=True))
    wb.close()
    return rows


def _filled(cell: object) -> bool:
    return cell is not None and str(cell).strip() != ""


def test_takamatsu_template_rows_numbered_but_empty_are_skipped_not_rejected():
    """高松市's 公共施設一覧 template: 1 place, then rows numbered 2…10 with nothing else."""
    path = REAL / "takamatsu_exchange_center.xlsx"
    rows = _sheet(path, "Sheet0")
    header, body = rows[0], rows[1:]
    assert header[0] == "#property"
    places = [r for r in body if any(_filled(c) for c in r[1:])]
    numbered_only = [r for r in body if _filled(r[0]) and not any(_filled(c) for c in r[1:])]
    assert (len(places), len(numbered_only)) == (1, 9)
    r = read_path(path, layer="places")
    assert r.info["sheet"] == "Sheet0"  # the first sheet with a table, reported
    assert set(r.info["sheets"]) == {"Sheet0", "入力例"}
    assert r.rejected == []
    assert r.info["skipped_blank"] == len(numbered_only)
    _accounted(r, len(body))
    col = {h: i for i, h in enumerate(header)}
    assert list(r.features["name"]) == [p[col["名称"]] for p in places]
    assert r.features.geometry.y.tolist() == pytest.approx([p[col["緯度"]] for p in places])
    assert _inside(r.features, TAKAMATSU)


def test_takamatsu_example_sheet_has_its_title_row_above_the_header():
    """The same workbook's 入力例 sheet: a title line, then the header on row 2."""
    path = REAL / "takamatsu_exchange_center.xlsx"
    rows = _sheet(path, "入力例")
    # by hand: the header is the first row with at least five filled cells
    h = next(i for i, row in enumerate(rows) if sum(map(_filled, row)) >= 5)
    assert h == 1 and [c for c in rows[0] if _filled(c)] == ["(例)公共施設一覧"]
    header, body = rows[h], rows[h + 1 :]
    col = {c: i for i, c in enumerate(header) if c}
    places = [x for x in body if any(_filled(c) for c in x[1:])]
    r = read_path(path, layer="places", options={"sheet": "入力例"})
    assert r.info["sheet"] == "入力例"
    assert r.info["header_row"] == h + 1
    assert r.info["preamble"] == ["(例)公共施設一覧"]
    _accounted(r, len(body))
    assert list(r.features["name"]) == [x[col["名称"]] for x in places] == ["○○公民館", "○○図書館"]
    # the template's placeholder coordinates are in 札幌 (43.06 N 141.35 E), kept as given
    assert r.features.geometry.y.tolist() == pytest.approx([float(x[col["緯度"]]) for x in places])
    assert r.features.geometry.x.tolist() == pytest.approx([float(x[col["経度"]]) for x in places])


FUKUI = (35.85, 36.20, 135.95, 136.55)  # 福井市 (越廼 on the coast to 美山 in the east)


def test_fukui_linkdata_table_header_on_line_7_under_hash_lines():
    """福井市's 駅 list as published through LinkData.org: six ``#`` lines (``#LINK``,
    ``#license`` ...), the header in the ``#property`` row (line 7), then two ``#`` lines
    typing the columns (``#object_type_xsd``, ``#property_context``) before the places."""
    path = REAL / "fukui_fukuishieki_linkdata.csv"
    records = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
    # by hand: the header is the record whose first cell is #property
    h = next(i for i, rec in enumerate(records) if rec[0] == "#property")
    assert h == 6 and all(rec[0].startswith("#") for rec in records[:h])
    header = records[h]
    notes = [rec for rec in records[h + 1 :] if rec[0].startswith("#")]
    body = [rec for rec in records[h + 1 :] if not rec[0].startswith("#")]
    assert [n[0] for n in notes] == ["#object_type_xsd", "#property_context"]
    assert records[h + 1 : h + 3] == notes  # right under the header
    col = {c: j for j, c in enumerate(header)}
    r = read_path(path, layer="stations")
    assert r.info["header_row"] == h + 1 == 7
    assert any("creativecommons.org/licenses/by/3.0" in p for p in r.info["preamble"])
    assert [a.split(",")[0] for a in r.info["header_annotations"]] == [n[0] for n in notes]
    assert r.rejected == []  # the type lines are not places
    _accounted(r, len(body))
    assert len(r.features) == len(body) == 47
    f = r.features
    assert list(f["name"]) == [x[col["駅名"]] for x in body]
    assert list(f["name_kana"]) == [x[col["えきめい_かな"]] for x in body]
    assert list(f["address"]) == [x[col["所在地"]] for x in body]
    assert f.geometry.y.tolist() == pytest.approx([float(x[col["緯度"]]) for x in body], abs=1e-9)
    assert f.geometry.x.tolist() == pytest.approx([float(x[col["経度"]]) for x in body], abs=1e-9)
    assert _inside(f, FUKUI)


KOBE = (34.55, 34.95, 134.90, 135.32)  # 神戸市 (垂水・須磨の海岸から北区淡河まで)


def _cp932_records(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text("cp932"), newline="")))


def test_kobe_csv_header_on_line_2_under_an_empty_line():
    """神戸市 応急給水拠点一覧 (2017): Shift_JIS, a first line of empty cells, the header on
    line 2 after an empty first column, and eight lines of empty cells at the end."""
    path = REAL / "kobe_emergency_water_20170915.csv"
    records = _cp932_records(path)
    h = next(i for i, rec in enumerate(records) if "緯度" in rec)
    assert h == 1 and not any(c.strip() for c in records[0])
    header, body = records[h], records[h + 1 :]
    col = {c: j for j, c in enumerate(header) if c}
    places = [x for x in body if any(c.strip() for c in x)]
    blank = len(body) - len(places)
    assert (len(places), blank) == (60, 8)
    r = read_path(path, layer="water")
    assert r.info["encoding"] == "cp932"
    assert r.info["header_row"] == h + 1 == 2
    assert r.info["skipped_blank"] == blank and r.rejected == []
    _accounted(r, len(body))
    f = r.features
    assert list(f["name"]) == [x[col["施設名"]] for x in places]
    assert list(f["address"]) == [x[col["所在地"]] for x in places]
    assert f.geometry.y.tolist() == pytest.approx([float(x[col["緯度"]]) for x in places])
    assert f.geometry.x.tolist() == pytest.approx([float(x[col["経度"]]) for x in places])
    assert _inside(f, KOBE)


def test_kobe_xlsx_header_on_row_3_merged_name_header_and_heading_rows():
    """神戸市 こうべ・だれでもトイレ設置施設一覧: a blank row and a legend row
    (◎大型多目的シート ○ベビーシート) above the header on row 3; the header cell
    ``施　設　名`` is merged over two columns, the marks ◎/○ and the names; rows such as
    都心地域 / 公共交通機関 are section headings with nothing else."""
    path = REAL / "kobe_UDseibisisetu.xlsx"
    wb = openpyxl.load_workbook(path)  # not read-only: the merged ranges are wanted
    ws = wb.worksheets[0]
    merged = {str(m) for m in ws.merged_cells.ranges}
    rows = [tuple(c.value for c in row) for row in ws.iter_rows()]
    wb.close()
    h = next(i for i, row in enumerate(rows) if sum(map(_filled, row)) >= 5)
    assert h == 2 and "C3:D3" in merged  # 施　設　名 spans the mark and the name columns
    header, body = rows[h], rows[h + 1 :]
    col = {c: j for j, c in enumerate(header) if c}
    name_col = col["施\u3000設\u3000名"] + 1  # the name sits right of the mark
    places = [x for x in body if isinstance(x[col["緯度"]], float)]
    headings = [x for x in body if sum(map(_filled, x)) == 1]
    assert (len(places), len(headings)) == (92, 3)
    assert {x[name_col - 1] for x in places} == {"◎", "○"}
    r = read_path(path, layer="toilets")
    assert r.info["sheet"] == "Sheet1" and r.info["header_row"] == h + 1 == 3
    assert any("ベビーシート" in p for p in r.info["preamble"])
    assert "column_4" in r.info["name_column_note"]
    from click.testing import CliRunner

    from civicmap.cli import main

    shown = CliRunner().invoke(main, ["check", str(path)]).output
    assert "name column: names taken from 'column_4'" in shown, shown
    _accounted(r, len(body))
    assert len(r.features) == len(places)
    f = r.features
    assert list(f["name"]) == [x[name_col].strip() for x in places]
    assert f.geometry.y.tolist() == pytest.approx([x[col["緯度"]] for x in places])
    assert f.geometry.x.tolist() == pytest.approx([x[col["経度"]] for x in places])
    assert _inside(f, KOBE)
    # each heading row is reported with its text, not as a nameless place
    texts = [next(str(c) for c in x if _filled(c)) for x in headings]
    assert texts == ["都心地域", "都心地域外", "公共交通機関"]
    assert len(r.rejected) == 3
    for problem, text in zip(r.rejected, texts, strict=True):
        assert "heading row" in problem.reason and text in problem.reason


def test_kobe_imi_ic_headers_address_and_name():
    """神戸市 観光施設情報 (2015): 共通語彙基盤 (IMI) headers ``ic:住所_表記`` and
    ``ic:定型住所_区`` beside plain ones (スポット名, 緯度, 経度); Shift_JIS, line breaks
    inside quoted cells, a duplicated 電話番号/URL header."""
    path = REAL / "kobe_tourism_od2707_trimmed.csv"
    records = _cp932_records(path)
    header, body = records[0], records[1:]
    assert {"ic:住所_表記", "ic:定型住所_区"} <= set(header)
    col = {c: j for j, c in enumerate(header) if c and c not in ("電話番号", "URL")}
    assert len(body) == 91
    r = read_path(path, layer="tourism")
    assert r.info["columns"]["address"] == "ic:住所_表記"
    assert r.info["columns"]["name"] == "スポット名"
    _accounted(r, len(body))
    assert r.rejected == [] and len(r.features) == len(body)
    f = r.features
    # surrounding spaces (some names end in two full-width ones) are trimmed, nothing else
    assert list(f["name"]) == [x[col["スポット名"]].strip() for x in body]
    assert list(f["address"]) == [x[col["ic:住所_表記"]].strip() for x in body]
    assert all(a.startswith("神戸市") for a in f["address"])
    assert f.geometry.y.tolist() == pytest.approx([float(x[col["緯度"]]) for x in body])
    assert f.geometry.x.tolist() == pytest.approx([float(x[col["経度"]]) for x in body])
    assert _inside(f, KOBE)


def test_kobe_imi_file_as_published_with_16331_columns(tmp_path):
    """The published file ends every line with 16,298 more empty cells (16,331 columns,
    1.5 MB of commas); rebuilt here from the trimmed copy, it reads the same."""
    records = _cp932_records(REAL / "kobe_tourism_od2707_trimmed.csv")
    wide = tmp_path / "tourism_od2707.csv"
    with wide.open("w", encoding="cp932", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(r + [""] * 16298 for r in records)
    assert len(next(csv.reader(wide.open(encoding="cp932")))) == 16331
    published = read_path(wide, layer="tourism")
    trimmed = read_path(REAL / "kobe_tourism_od2707_trimmed.csv", layer="tourism")
    _accounted(published, len(records) - 1)
    assert list(published.features["name"]) == list(trimmed.features["name"])
    assert list(published.features["address"]) == list(trimmed.features["address"])
    # `civicmap check` says so in one line, not one line per padded column
    from click.testing import CliRunner

    from civicmap.cli import main

    out = CliRunner().invoke(main, ["check", str(wide)]).output
    padded = [line for line in out.splitlines() if "column_" in line]
    empty = sum(1 for cell in records[0] + [""] * 16298 if not cell.strip())
    assert len(padded) == 1 and f"{empty} columns renamed" in padded[0], out[:2000]
