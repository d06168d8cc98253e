"""Spreadsheets (.xlsx, .xls, .ods) and headers below title rows (issue 16).

The fixtures are DERIVED from real files in tests/data (see tests/data/README.md and
tests/data/opendata/derived/make_derived.py); expected counts come from openpyxl, xlrd,
pandas and the csv module here, independently of civicmap's reader.
"""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest
import xlrd
from click.testing import CliRunner
from paths import TESTS

from civicmap.cli import main
from civicmap.errors import SourceError
from civicmap.schema import check_schema
from civicmap.sources import read_path
from civicmap.sources.excel import read_excel

DATA = TESTS / "data"
DER = DATA / "opendata/derived"


@pytest.fixture(scope="module")
def toyama():
    return read_excel(DER / "toyama_titled_merged.xlsx", layer="childcare")


def test_xlsx_first_usable_sheet_is_chosen_and_every_sheet_reported(toyama):
    wb = openpyxl.load_workbook(DER / "toyama_titled_merged.xlsx")
    assert wb.sheetnames == ["説明", "一覧"]
    assert toyama.info["sheet"] == "一覧"
    assert "first sheet with a table" in toyama.info["sheet_chosen_because"]
    assert set(toyama.info["sheets"]) == {"説明", "一覧"}
    assert toyama.info["sheets"]["説明"]["known_columns"] == 0


def test_xlsx_title_rows_skipped_and_merged_two_row_header_joined(toyama):
    ws = openpyxl.load_workbook(DER / "toyama_titled_merged.xlsx")["一覧"]
    # by hand: the group cell 位置 is merged over the two cells holding 緯度 and 経度
    merged = [str(m) for m in ws.merged_cells.ranges]
    lat_col = next(c.column for c in ws[5] if c.value == "緯度")
    assert ws.cell(4, lat_col).value == "位置" and any(
        m.startswith(ws.cell(4, lat_col).coordinate) for m in merged
    )
    assert toyama.info["header_row"] == 5
    assert toyama.info["preamble"][0].startswith("富山市 幼稚園・保育所一覧")
    assert toyama.info["columns"]["lat"] == "緯度" and toyama.info["columns"]["lon"] == "経度"
    assert check_schema(toyama.features) == []


def test_xlsx_every_row_accounted_for_against_openpyxl(toyama):
    ws = openpyxl.load_workbook(DER / "toyama_titled_merged.xlsx")["一覧"]
    lat_col = next(c.column for c in ws[5] if c.value == "緯度")
    data = [row for row in ws.iter_rows(min_row=6, values_only=True)]
    with_coords = [r for r in data if r[lat_col - 1] is not None]
    assert toyama.info["rows"] == len(data) == 160
    assert len(toyama.features) == len(with_coords) == 159
    assert [p.row for p in toyama.rejected] == [
        i for i, r in enumerate(data, 1) if r[lat_col - 1] is None
    ]
    assert toyama.info["mapped"] + len(toyama.rejected) + toyama.info["skipped_blank"] == 160
    # the points are the real 富山市 coordinates of the source CSV
    src = pd.read_csv(DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv", dtype=str)
    first = src.iloc[0]
    assert toyama.features.iloc[0]["name"] == first["Name"]
    assert toyama.features.geometry.iloc[0].y == pytest.approx(float(first["Y"]))


def test_xlsx_wareki_dates_in_a_date_column_become_iso(toyama):
    ws = openpyxl.load_workbook(DER / "toyama_titled_merged.xlsx")["一覧"]
    date_col = next(c.column for c in ws[4] if c.value == "更新日")
    values = {r[date_col - 1] for r in ws.iter_rows(min_row=6, values_only=True)}
    assert values == {"令和5年4月1日", "R5.4.1"}
    assert toyama.info["dates_converted"] == {"更新日": 160}
    assert set(toyama.features["更新日"]) == {"2023-04-01"}


def test_xls_header_on_line_25_found_and_rows_counted_with_xlrd():
    path = DER / "shinjuku_header_line25.xls"
    sh = xlrd.open_workbook(path).sheet_by_index(0)
    header_line = next(i for i in range(sh.nrows) if sh.cell_value(i, 0) == "HID") + 1
    assert header_line == 25
    r = read_path(path, layer="childcare")
    assert r.info["header_row"] == 25 and r.info["sheet"] == sh.name
    assert len(r.info["preamble"]) == 24
    assert r.info["rows"] == sh.nrows - 25 == 133
    assert len(r.features) == 133 and r.rejected == []
    assert r.features.iloc[0]["name"] == sh.cell_value(
        25, [sh.cell_value(24, j) for j in range(sh.ncols)].index("Name")
    )


def test_csv_header_on_line_25_is_found_too():
    path = DER / "shinjuku_header_line25.csv"
    recs = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    assert recs[24][0] == "HID"
    r = read_path(path, layer="childcare")
    assert r.info["header_row"] == 25 and r.info["rows"] == len(recs) - 25 == 133
    assert len(r.features) == 133


def test_ods_blank_line_is_skipped_and_counted_not_rejected():
    path = DER / "minato_hoikuen.ods"
    frame = pd.read_excel(path, engine="odf", dtype=object, header=0)
    blank = [
        i for i, row in enumerate(frame.itertuples(index=False), 1) if all(pd.isna(v) for v in row)
    ]
    no_lat = [i for i, v in enumerate(frame["緯度"].tolist(), 1) if pd.isna(v) and i not in blank]
    r = read_path(path, layer="childcare")
    assert r.info["sheet"] == "保育園" and r.info["rows"] == len(frame) == 113
    assert r.info["blank_rows"] == blank == [112]
    assert sorted(p.row for p in r.rejected) == no_lat
    assert r.info["mapped"] + len(r.rejected) + r.info["skipped_blank"] == len(frame)


def test_sheet_by_name_number_and_a_bad_sheet_names_the_choices():
    path = DER / "toyama_titled_merged.xlsx"
    assert read_excel(path, layer="x", options={"sheet": 2}).info["sheet"] == "一覧"
    assert read_excel(path, layer="x", options={"sheet": "一覧"}).info["sheet"] == "一覧"
    with pytest.raises(SourceError, match=r"sheet: got 'なし'.*'説明', '一覧'.*1–2"):
        read_excel(path, layer="x", options={"sheet": "なし"})


def test_header_row_option_overrides_the_guess():
    r = read_excel(
        DER / "toyama_titled_merged.xlsx",
        layer="x",
        options={"header_row": 5, "columns": {"name": "Name"}},
    )
    assert r.info["header_row"] == 5 and r.info["columns"]["lat"] == "緯度"


def test_a_damaged_spreadsheet_is_a_clear_error_naming_the_file(tmp_path):
    bad = tmp_path / "壊れた.xlsx"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(SourceError, match=r"壊れた\.xlsx: cannot read as a \.xlsx spreadsheet"):
        read_path(bad, layer="x")


def test_check_shows_the_sheet_header_row_and_the_other_sheets():
    res = CliRunner().invoke(main, ["check", str(DER / "toyama_titled_merged.xlsx")])
    assert res.exit_code == 0, res.output
    assert "sheet:    一覧 (the first sheet with a table of places)" in res.output
    assert "sheet '説明': 2 rows, no table of places" in res.output
    assert "header found on lines 4 to 5 (a header of 2 lines" in res.output  # two merged rows


def test_a_layer_file_with_an_excel_source_and_sheet_crs_extent_keys_reads(tmp_path):
    import shutil

    import yaml

    from civicmap.sources import read_file_source
    from civicmap.spec.layers import load_layer

    shutil.copy(DER / "toyama_titled_merged.xlsx", tmp_path / "hoikuen.xlsx")
    (tmp_path / "hoikuen.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "hoikuen",
                "title": "保育園",
                "sources": [
                    {
                        "excel": {
                            "path": "hoikuen.xlsx",
                            "sheet": "一覧",
                            "extent": [136, 36, 138, 37.5],
                        }
                    }
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    spec = load_layer(tmp_path / "hoikuen.yaml")
    (source,) = spec.sources
    assert source.kind == "excel" and source.options["sheet"] == "一覧"
    r = read_file_source(source, layer="hoikuen")
    assert len(r.features) == 159 and r.info["sheet"] == "一覧"


def test_bad_extent_is_an_error_naming_the_file_and_the_shape_expected():
    with pytest.raises(SourceError, match=r"toyama_titled_merged\.xlsx: extent: got 'japan'"):
        read_excel(DER / "toyama_titled_merged.xlsx", layer="x", options={"extent": "japan"})
