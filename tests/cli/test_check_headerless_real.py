"""`check` on a real file with no header row says it read the file from line 1 (issue 29)."""

from __future__ import annotations

import json

from click.testing import CliRunner
from paths import TESTS

from civicmap.cli import main

NEW = TESTS / "data/opendata/real_new"


def test_check_says_the_headerless_address_list_was_read_from_line_one():
    path = NEW / "digital_agency_abr_sapporo_schools_headerless.csv"
    out = CliRunner().invoke(main, ["--lang", "en", "check", "--json", str(path)])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["rows"] == 22 and report["rejected"][0]["row"] == 1
    assert report["renamed_columns"] == {"column_1": "no header row in the file"}
    assert any("line 1 is already a place" in w["reason"] for w in report["warnings"])
    ja = CliRunner().invoke(main, ["--lang", "ja", "check", str(path)])
    assert "北海道札幌市西区二十四軒４条２丁目６－１７" in ja.output
