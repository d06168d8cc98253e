"""The paper legend's category budget, read from the PDF with pdftotext.

Past ``settings.max_categories_paper`` categories, the largest keep a legend row of
their own and the rest share one row "その他（N種類・M件）"; every place is still
numbered in the index under its own category text.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from click.testing import CliRunner

from civicmap import settings
from civicmap.cli import main

#: Places per category in the CSV's order: 丙 and 戊 are the largest.
PLACES = {"甲": 1, "乙": 2, "丙": 5, "丁": 1, "戊": 5, "己": 1, "庚": 1}


def _build(folder: Path, language: str = "", paper: str = "") -> str:
    rows = ["name,lat,lon,category"]
    i = 0
    for cat, n in PLACES.items():
        for _k in range(n):
            rows.append(
                f"場所{i},{35.700 + (i % 4) * 2e-3:.4f},{139.700 + (i // 4) * 2e-3:.4f},{cat}"
            )
            i += 1
    (folder / "p.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "p.yaml").write_text(
        "id: p\ntitle: {ja: 施設, en: Places}\nsources:\n  - csv: {path: p.csv}\n"
        'style: {color: "#2f9e44", symbol: circle}\n',
        encoding="utf-8",
    )
    (folder / "map.yaml").write_text(
        f"title: 地図\n{language}area: {{bbox: [139.695, 35.695, 139.715, 35.71]}}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [p.yaml]\n"
        f"outputs:\n  paper: {{file: out/map.pdf, size: A4, orientation: portrait{paper}}}\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(main, ["--lang", "en", "build", str(folder / "map.yaml")])
    assert res.exit_code == 0, res.output
    out = subprocess.run(
        ["pdftotext", "-layout", str(folder / "out" / "map.pdf"), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    return out.stdout


def test_past_the_paper_budget_the_rest_share_one_legend_row(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_categories_paper", 3)
    text = _build(tmp_path)
    legend = set(re.findall(r"([甲乙丙丁戊己庚]) \((\d+)\)", text))
    assert legend == {("丙", "5"), ("戊", "5")}  # the two largest keep their own rows
    assert "その他（5種類・6件）" in text
    for cat in PLACES:  # every place is still in the index under its own category
        assert cat in text


def test_within_the_paper_budget_every_category_has_its_row(tmp_path):
    text = _build(tmp_path)
    legend = dict(re.findall(r"([甲乙丙丁戊己庚]) \((\d+)\)", text))
    assert legend == {k: str(n) for k, n in PLACES.items()}
    assert "その他" not in text


def test_the_other_row_speaks_the_sheets_language(tmp_path, monkeypatch):
    """The row's words came from the message catalog (ja and en only): a vi sheet printed
    "Other (5 kinds, 6 places)" in English. They are a glossary entry now."""
    monkeypatch.setattr(settings, "max_categories_paper", 3)
    text = _build(tmp_path, "language: vi\n")
    assert "Khác (5 loại, 6 địa điểm)" in text
    assert "Other (" not in text


def test_a_bilingual_sheet_prints_the_other_row_in_both(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_categories_paper", 3)
    text = _build(tmp_path, "language: [ja, vi]\n", ", languages: bilingual")
    assert "その他（5種類・6件） / Khác (5 loại, 6 địa điểm)" in " ".join(text.split())
