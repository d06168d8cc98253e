"""Issue 29: every row read whatever the header looks like, and every place keeps its name.

The files under tests/data/opendata/names/ are HAND-MADE (see tests/data/README.md): each
reproduces one header shape seen in municipal files. For each shape: mapped + rejected +
skipped = rows, and the share of mapped places with a name is asserted.
"""

from __future__ import annotations

from pathlib import Path

from civicmap.check import check_file
from civicmap.sources import read_path

DATA = Path(__file__).parent / "data" / "opendata" / "names"


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
