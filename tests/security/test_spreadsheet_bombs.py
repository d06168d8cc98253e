"""Spreadsheet bombs: .xlsx/.ods files that would unpack or expand past any memory (issue #31).

A 1 MB .xlsx or .ods can unpack to gigabytes (a zip bomb), and a small .ods
can ask for 200,000 rows (odfpy builds about 2.5 kB per cell, pandas then
repeats "repeated" rows and pads every sheet to a full grid). Now a workbook
must pass the zip limits KMZ files have and a budget of rows and cells,
checked before pandas, openpyxl or odfpy open it; the message names the file,
the limit and the way out (save as CSV).

The files are made here by hand (a zip of a few XML parts), small on disk.
"""

from __future__ import annotations

import json
import os
import resource
import time
import traceback
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from zip_bombs import bomb_member

from civicmap import settings
from civicmap.cli import main
from civicmap.errors import SourceError
from civicmap.sources import excel, read_path
from civicmap.sources.excel import load_sheets

DATA = Path(__file__).resolve().parents[1] / "data"

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
        f'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="{_CT}'
        '.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{_CT}.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_NS_PKG}"><Relationship '
        f'Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">'
        '<sheets><sheet name="一覧" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_NS_PKG}"><Relationship '
        f'Id="rId1" Type="{_NS_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}
ODS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    '<office:body><office:spreadsheet><table:table table:name="一覧">'
)
ODS_TAIL = "</table:table></office:spreadsheet></office:body></office:document-content>"
ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:'
    'names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry '
    'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
    'spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" '
    'manifest:media-type="text/xml"/></manifest:manifest>'
)


def _stream(zf: zipfile.ZipFile, name: str, parts, *, bomb: bool = False) -> None:
    """``parts`` streamed into member ``name``; ``bomb``: its repeated megabytes deflated once."""
    with bomb_member(zf, name) if bomb else zf.open(name, "w", force_zip64=True) as f:
        for part in parts:
            f.write(part if isinstance(part, bytes) else part.encode("utf-8"))


def make_xlsx(path: Path, rows, *, extra: dict | None = None, bomb: bool = False) -> Path:
    """A one-sheet .xlsx whose sheetData is ``rows`` (XML text pieces, streamed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in XLSX_PARTS.items():
            zf.writestr(name, text)
        head = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_NS_MAIN}"><sheetData>'
        _stream(
            zf, "xl/worksheets/sheet1.xml", [head, *rows, "</sheetData></worksheet>"], bomb=bomb
        )
        for name, parts in (extra or {}).items():
            _stream(zf, name, parts)
    return path


def make_ods(path: Path, rows, *, bomb: bool = False) -> Path:
    """A one-table .ods whose table holds ``rows`` (XML text pieces, streamed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("META-INF/manifest.xml", ODS_MANIFEST)
        _stream(zf, "content.xml", [ODS_HEAD, *rows, ODS_TAIL], bomb=bomb)
    return path


def ods_cell(text: str) -> str:
    return (
        f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'
    )


def header_xlsx_row() -> str:
    return (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>名称</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>緯度</t></is></c></row>'
    )


MB = 1 << 20


def bomb_xlsx(path: Path) -> Path:
    """200 MB of one letter in a cell: deflates about 1000:1, a file of a few hundred kB."""
    text = (b"A" * MB for _ in range(200))
    return make_xlsx(
        path,
        [
            header_xlsx_row(),
            '<row r="2"><c r="A2" t="inlineStr"><is><t>',
            *text,
            "</t></is></c></row>",
        ],
        bomb=True,
    )


def bomb_ods(path: Path) -> Path:
    text = (b"A" * MB for _ in range(200))
    row = ["<table:table-row>", '<table:table-cell office:value-type="string"><text:p>']
    return make_ods(
        path, [*row, *text, "</text:p></table:table-cell></table:table-row>"], bomb=True
    )


def read_in_child(path: Path) -> dict:
    """Read a workbook in a forked child: the outcome, the time and the memory it took.

    A child of its own, so what the read allocates is measured by itself (its peak
    resident size, from the fork on) and dies with it; forked rather than a fresh
    Python, which spent about two seconds importing civicmap before the read.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: read, answer on the pipe, exit without pytest's clean-up
        code = 1
        try:
            os.close(r)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            t0 = time.monotonic()
            try:
                load_sheets(path)
                error = ""
            except SourceError as exc:
                error = str(exc)
            grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
            out = {"error": error, "seconds": time.monotonic() - t0, "grew_mb": grew / 1024}
            os.write(w, json.dumps(out).encode())
            code = 0
        except BaseException:
            os.write(w, traceback.format_exc().encode())
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, encoding="utf-8") as answer:
        text = answer.read()
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    return json.loads(text)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("make", [bomb_xlsx, bomb_ods], ids=["xlsx", "ods"])
def test_a_zip_bomb_workbook_is_refused_fast_with_little_memory(make, tmp_path):
    path = make(tmp_path / f"爆弾.{make.__name__.split('_')[1]}")
    assert path.stat().st_size < 1 * MB  # a small file ...
    out = read_in_child(path)  # ... that would unpack to 200 MB
    assert "爆弾" in out["error"] and "zip bomb" in out["error"], out
    assert out["seconds"] < 5 and out["grew_mb"] < 64, out


def test_a_workbook_over_the_zip_limit_in_all_is_refused(tmp_path, monkeypatch):
    """Many members, each under the limits, that unpack past the limit together."""
    noise = "".join(f"<x>{i * 7919 % 100003}</x>" for i in range(60_000))  # ~0.7 MB, ~5:1
    path = make_xlsx(
        tmp_path / "many.xlsx",
        [header_xlsx_row()],
        extra={f"xl/parts/p{i}.xml": [f"<p>{noise}</p>"] for i in range(4)},
    )
    monkeypatch.setattr(settings, "max_zip_member_bytes", 2 * MB)
    with pytest.raises(SourceError, match=r"many\.xlsx: the spreadsheet would unpack to more than"):
        load_sheets(path)


def test_an_ods_of_300000_repeated_rows_is_refused_naming_the_limit_and_csv(tmp_path):
    row = f'<table:table-row table:number-rows-repeated="300000">{ods_cell("保育園")}</table:table-row>'
    path = make_ods(tmp_path / "行が多い.ods", [row])
    t0 = time.monotonic()
    with pytest.raises(SourceError) as err:
        read_path(path, layer="x")
    assert time.monotonic() - t0 < 5
    message = str(err.value)
    assert "行が多い.ods" in message and "'一覧'" in message
    assert "100,000 rows" in message and "CSV" in message


def test_an_ods_of_real_rows_past_the_budget_stops_early(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_sheet_rows", 2_000)
    rows = (
        f"<table:table-row>{ods_cell(f'施設{i}')}{ods_cell('36.5')}</table:table-row>"
        for i in range(5_000)
    )
    path = make_ods(tmp_path / "big.ods", rows)
    with pytest.raises(SourceError, match=r"big\.ods: sheet '一覧' has more than 2,000 rows"):
        load_sheets(path)


def test_a_sparse_xlsx_is_counted_as_the_grid_pandas_would_build(tmp_path):
    """A1 and XFD1000: two cells on disk, 16 million once pandas pads the grid."""
    rows = [
        '<row r="1"><c r="A1" t="inlineStr"><is><t>名称</t></is></c><c r="XFD1"><v>1</v></c></row>',
        '<row r="1000"><c r="A1000"><v>2</v></c></row>',
    ]
    path = make_xlsx(tmp_path / "sparse.xlsx", rows)
    t0 = time.monotonic()
    with pytest.raises(SourceError) as err:
        load_sheets(path)
    assert time.monotonic() - t0 < 5
    message = str(err.value)
    assert "sparse.xlsx" in message and "250,000 cells" in message
    assert "1,000 rows × 16,384 columns" in message and "CSV" in message


def test_a_far_row_in_an_xlsx_counts_as_rows(tmp_path):
    rows = [header_xlsx_row(), '<row r="150000"><c r="A150000"><v>1</v></c></row>']
    path = make_xlsx(tmp_path / "far.xlsx", rows)
    with pytest.raises(SourceError, match=r"far\.xlsx: sheet '一覧' has more than 100,000"):
        load_sheets(path)


def test_a_flood_of_shared_strings_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_sheet_cells", 1_000)  # element budget: 104,000
    strings = (f"<si><t>{i}</t></si>" for i in range(60_000))
    path = make_xlsx(
        tmp_path / "strings.xlsx",
        [header_xlsx_row()],
        extra={"xl/sharedStrings.xml": [f'<sst xmlns="{_NS_MAIN}">', *strings, "</sst>"]},
    )
    with pytest.raises(SourceError, match=r"strings\.xlsx: xl/sharedStrings\.xml holds more than"):
        load_sheets(path)


def test_the_cli_says_it_in_one_line_in_japanese(tmp_path):
    row = f'<table:table-row table:number-rows-repeated="300000">{ods_cell("x")}</table:table-row>'
    path = make_ods(tmp_path / "rows.ods", [row])
    res = CliRunner().invoke(main, ["--lang", "ja", "check", str(path)])
    assert res.exit_code == 1, res.output
    last = res.output.strip().splitlines()[-1]
    assert "rows.ods" in last and "100,000" in last and "CSV" in last and "行" in last
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    "path",
    sorted([*DATA.rglob("*.xlsx"), *DATA.rglob("*.ods")]),
    ids=lambda p: p.name,
)
def test_real_workbooks_pass_the_checks(path):
    excel.check_workbook(path)
    assert load_sheets(path)
