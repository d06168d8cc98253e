"""One bilingual paper map (``outputs.paper.languages: bilingual``), read back from the PDF.

The demo built with ``language: [ja, X]`` and a bilingual sheet, with one 指定緊急避難場所
moved into the area so the index prints a ○/× strip and the legend says what it means (the
disaster names). One PDF only; its legend, headings and notes carry Japanese and X
together; each name its reading beside it; both scripts' fonts embedded; no two words
overlap, though the lines are longer than either language's alone.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from paper_maps import overlapping_words, pdf_words
from paths import ROOT

from civicmap import wording
from civicmap.pipeline import build
from civicmap.spec.mapfile import load_map

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed"),
]

SECOND = ("vi", "en", "ko")
#: The legend's and headings' entries of this sheet, by glossary key (the disaster names are
#: those of ``paper.strip_legend``, the legend's line on what the index's ○/× strip means).
SHOWN = (
    "paper.legend", "paper.index", "paper.scale", "paper.notes", "paper.sources",
    "paper.road_major", "paper.road_minor", "paper.building", "paper.park",
    "paper.strip_legend", "paper.reading_note", "paper.routes", "layer.childcare.title",
    "layer.shelters.title", "category.指定避難所", "category.指定緊急避難場所",
    "category.認可保育所", "category.認証保育所", "category.認可外保育施設",
)  # fmt: skip
#: A font of each second language's script (IPAex Gothic draws Japanese and, for en, Latin).
SCRIPT_FONT = {"vi": "NotoSans", "en": "IPAexGothic", "ko": "NanumGothic"}


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module", params=SECOND)
def sheet(request, tmp_path_factory):
    second = request.param
    folder = tmp_path_factory.mktemp(f"bilingual_{second}")
    for f in (ROOT / "civicmap" / "data" / "demo").iterdir():
        shutil.copy(f, folder / f.name)
    sites = json.loads((folder / "emergency_131041.json").read_text(encoding="utf-8"))
    # おとめ山公園 (地震○ 火事○) into the area, beside 戸山公園: a site with a ○/× strip
    sites["features"][0]["geometry"]["coordinates"] = [139.7052, 35.7072]
    (folder / "emergency_131041.json").write_text(json.dumps(sites), encoding="utf-8")
    text = (folder / "demo.yaml").read_text(encoding="utf-8")
    # a home: the route box's heading and distances are printed in both languages too
    text = text.replace(
        "language: ja",
        f"language: [ja, {second}]\nhome: {{point: [35.7066, 139.7062], disaster: 地震}}",
    )
    text = text.replace(", png: true", ", languages: bilingual")
    (folder / "demo.yaml").write_text(text, encoding="utf-8")
    spec = load_map(folder / "demo.yaml")
    written = build(spec, overwrite=True, formats=("paper", "web"))
    return second, written


def test_one_pdf_for_both_languages_and_a_web_page_each(sheet):
    second, written = sheet
    assert [p.name for p in written["paper"]] == ["demo.pdf"]
    assert {p.name for p in written["web"]} == {"demo.html", f"demo.{second}.html"}


def test_every_legend_and_heading_entry_is_printed_in_both_languages(sheet):
    second, written = sheet
    text = re.sub(r"\s+", "", _run("pdftotext", str(written["paper"][0]), "-"))
    pair = wording.pair("ja", second)
    for key in SHOWN:
        ja, other = wording.text("ja", key), wording.text(second, key)
        assert ja != other, key  # the test shows both only where they differ
        assert re.sub(r"\s+", "", ja) in text, (key, ja)
        for word in other.split():
            assert word in text, (key, word)
    # short entries as one line: 「凡例 / Chú giải」
    for key in ("paper.legend", "paper.index", "paper.notes", "category.指定避難所"):
        assert re.sub(r"\s+", "", wording.text(pair, key)) in text, key


def test_place_names_are_japanese_with_their_reading_beside(sheet):
    second, written = sheet
    text = re.sub(r"\s+", "", _run("pdftotext", str(written["paper"][0]), "-"))
    if second in wording.LATIN:
        assert "戸山小学校（ToyamaShogakko）" in text
        assert "おとめ山公園地区一帯（OtomeYamaKoenChikuIttai）" in text
    else:  # Korean: no reading in Hangul; the Japanese name as written
        assert "戸山小学校" in text and "（Toyama" not in text


def test_both_scripts_fonts_are_embedded(sheet):
    second, written = sheet
    rows = _run("pdffonts", str(written["paper"][0])).splitlines()[2:]
    assert rows and all(row.split()[-5] == "yes" for row in rows), rows
    names = " ".join(row.split()[0] for row in rows)
    assert "IPAexGothic" in names and SCRIPT_FONT[second] in names, names


def test_no_two_words_overlap(sheet):
    second, written = sheet
    pages = pdf_words(written["paper"][0])
    assert pages
    for n, words in enumerate(pages, start=1):
        bad = overlapping_words(words)
        assert not bad, (second, n, bad[:5])


def test_the_credits_are_printed_though_the_panel_is_longer(sheet):
    # the bilingual panel (legend, route box, notes) is taller than the strip under the map:
    # its last blocks go overleaf, never past the foot of the paper
    _second, written = sheet
    text = _run("pdftotext", str(written["paper"][0]), "-")
    assert "© OpenStreetMap contributors" in text
    for page in pdf_words(written["paper"][0]):
        assert all(0 <= w[1] and w[3] <= 842 for w in page)  # A4 is 842 pt high
