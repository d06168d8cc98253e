"""The paper index past the category budget: one heading for the "Other" categories.

A layer with hundreds of categories printed one "■ category" heading each, so the index
of 2,000 categories had 2,000 headings. Past ``settings.max_categories_paper`` the index
groups its places as the legend does: the budgeted categories keep their headings, the
rest share one "その他（N種類・M件）" heading, each place still listed (its category as a
line under its name). The CSV is generated here; the PDF is read back with pdftotext.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from civicmap import settings
from civicmap.cli import main

KINDS = 60  # distinct categories
PLACES = 150  # 場所0 … 場所149; the places past KINDS are in 種別0 … 種別9
BUDGET = 5


def _build(folder: Path) -> str:
    rows = ["name,lat,lon,category"]
    for i in range(PLACES):
        kind = i if i < KINDS else i % 10
        rows.append(
            f"場所{i},{35.700 + (i // 15) * 1e-3:.4f},{139.700 + (i % 15) * 1e-3:.4f},種別{kind}"
        )
    (folder / "p.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "p.yaml").write_text(
        "id: p\ntitle: {ja: 施設, en: Places}\nsources:\n  - csv: {path: p.csv}\n"
        'style: {color: "#2f9e44", symbol: circle}\n',
        encoding="utf-8",
    )
    (folder / "map.yaml").write_text(
        "title: 地図\narea: {bbox: [139.695, 35.695, 139.72, 35.712]}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [p.yaml]\n"
        "outputs:\n  paper: {file: out/map.pdf, size: A4, orientation: portrait,"
        " unreadable: print}\n",
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


@pytest.mark.pdf
@pytest.mark.slow  # a real build read back with pdftotext: about 15 s here
def test_past_the_budget_the_index_has_one_heading_for_the_other_categories(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_categories_paper", BUDGET)
    text = _build(tmp_path)
    headings = {
        h.strip().removesuffix("（続き）")
        for line in text.splitlines()
        for h in re.findall(r"■ ([^■]+?)(?:\s{2,}|$)", line)
    }
    assert len(headings) <= BUDGET + 1, sorted(headings)
    rest = KINDS - (BUDGET - 1)  # 種別0-9 have 10 places each: 種別0-3 keep theirs
    other = f"その他（{rest}種類・{PLACES - 4 * 10}件）"
    assert other in headings
    assert {f"種別{k}" for k in range(BUDGET - 1)} <= headings
    # every place is still in the index, and a place under "Other" still says its category
    assert {int(n) for n in re.findall(r"場所(\d+)", text)} == set(range(PLACES))
    assert {int(n) for n in re.findall(r"種別(\d+)", text)} == set(range(KINDS))
