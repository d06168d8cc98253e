"""A batch never writes an unreadable sheet: each area is inset, atlased or failed with its reason.

金沢市 on one A4 sheet of the 石川県 evacuation-site list was a page with 230 of 501
numbers left off the map. In a batch that area now falls back to a grid atlas (the sheet
and any 拡大図 fail the readability check), says so in the manifest, and the other areas are
built; with too few pages allowed for an atlas it fails with the reason, and the others
are still built.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from paths import DATA

from civicmap.batch import batch

ISHIKAWA_CSV = DATA / "shelters" / "ishikawa" / "170003_evacuation_space.csv"

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")


def _map(folder: Path, *, paper: str = "") -> Path:
    shutil.copy(ISHIKAWA_CSV, folder / "basho.csv")
    (folder / "basho.yaml").write_text(
        "id: basho\ntitle: {ja: 指定緊急避難場所, en: Evacuation sites}\n"
        "sources:\n  - csv: {path: basho.csv}\n"
        'style: {color: "#2f9e44", symbol: triangle}\n',
        encoding="utf-8",
    )
    (folder / "map.yaml").write_text(
        "title: 避難場所マップ\narea: {bbox: [136.2, 36.0, 137.4, 37.9]}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [basho.yaml]\n"
        f"outputs:\n  paper: {{file: out/map.pdf, size: A4{paper}}}\n",
        encoding="utf-8",
    )
    return folder / "map.yaml"


def _pages(pdf: Path) -> int:
    doc = pdfium.PdfDocument(str(pdf))
    try:
        return len(doc)
    finally:
        doc.close()


def _text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-raw", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.slow
def test_a_batch_area_that_fails_readability_is_inset_atlased_or_failed(tmp_path):
    out = tmp_path / "out"
    result = batch(_map(tmp_path), each="municipalities:17", where="name=金沢市,野々市市,輪島市",
                   out_dir=out, workers=0)  # fmt: skip
    rows = {r["name"]: r for r in result.rows}
    assert set(rows) == {"金沢市", "野々市市", "輪島市"}
    for name, row in rows.items():
        pdf = out / row["key"] / "map.pdf"
        if row["status"] == "failed":  # with its reason, and nothing written
            assert "too crowded" in row["error"] and not pdf.exists(), name
            continue
        assert row["status"] == "ok", row
        note = row.get("paper", "")
        if not note:  # written as one sheet: then every number is on the map
            assert _pages(pdf) <= 2 and "位置を示せない番号" not in _text(pdf), name
    # 金沢市's 501 sites: neither the sheet nor an inset is readable: a grid atlas instead.
    kanazawa = rows["金沢市"]
    assert kanazawa["status"] == "ok"
    assert "grid atlas at 1:" in kanazawa["paper"]
    assert kanazawa["paper"] in kanazawa["warnings"]
    pdf = out / kanazawa["key"] / "map.pdf"
    assert _pages(pdf) > 5 and "位置を示せない番号" not in _text(pdf)
    # 輪島市's sites crowd at two places: one sheet with two insets, A and B. (珠洲市 was the
    # case until its sheet was centred on the middle of the city: it is now readable whole.)
    wajima = rows["輪島市"]
    assert "inset A" in wajima["paper"] and "inset B" in wajima["paper"]
    text = _text(out / wajima["key"] / "map.pdf")
    assert "拡大図A" in text and "拡大図B" in text and "位置を示せない番号" not in text
    # The manifest says it, in both files.
    doc = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert any("grid atlas" in r.get("paper", "") for r in doc["rows"])
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as f:
        by_area = {r["area"]: r for r in csv.DictReader(f)}
    assert "grid atlas at 1:" in by_area["金沢市"]["warnings"]


@pytest.mark.slow
def test_an_area_nothing_makes_readable_fails_with_the_reason_and_the_rest_are_built(tmp_path):
    out = tmp_path / "out"
    # At most 3 pages: no atlas of 金沢市 fits, and its sheet is unreadable even with an inset.
    result = batch(_map(tmp_path, paper=", max_pages: 3"), each="municipalities:17",
                   where="name=金沢市,野々市市", out_dir=out, workers=0)  # fmt: skip
    rows = {r["name"]: r for r in result.rows}
    assert rows["金沢市"]["status"] == "failed"
    error = rows["金沢市"]["error"]
    assert "too crowded to read and was not written" in error and "unreadable: print" in error
    assert not (out / rows["金沢市"]["key"] / "map.pdf").exists()
    assert rows["野々市市"]["status"] == "ok"
    assert (out / rows["野々市市"]["key"] / "map.pdf").is_file()
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as f:
        by_area = {r["area"]: r for r in csv.DictReader(f)}
    assert by_area["金沢市"]["status"] == "failed"
    assert "too crowded" in by_area["金沢市"]["error"]
