"""One PDF, a section per language (``outputs.paper.languages: sections``), read back.

The demo built with ``language: [ja, en, vi]``: one PDF whose pages are the Japanese sheet,
then the English one, then the Vietnamese one (each with its index pages), each section in
its own language, every script's font embedded, no two words overlapping on any page.
"""

from __future__ import annotations

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
LANGS = ("ja", "en", "vi")


def _page_texts(pdf) -> list[str]:
    out = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True)
    return out.stdout.split("\f")[:-1]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sections")
    for f in (ROOT / "civicmap" / "data" / "demo").iterdir():
        shutil.copy(f, folder / f.name)
    text = (folder / "demo.yaml").read_text(encoding="utf-8")
    text = text.replace("language: ja", f"language: [{', '.join(LANGS)}]")
    text = text.replace(", png: true", ", languages: sections")
    (folder / "demo.yaml").write_text(text, encoding="utf-8")
    return build(load_map(folder / "demo.yaml"), overwrite=True, formats=("paper", "web"))


def test_one_pdf_holds_a_section_per_language_in_order(built):
    assert [p.name for p in built["paper"]] == ["demo.pdf"]
    assert len(built["web"]) == len(LANGS)  # the web pages stay one per language
    pages = _page_texts(built["paper"][0])
    # each section starts with its sheet: the legend's heading in its language
    starts = [
        next(i for i, page in enumerate(pages) if wording.text(lang, "paper.legend") in page)
        for lang in LANGS
    ]
    assert starts[0] == 0 and starts == sorted(starts) and len(set(starts)) == len(LANGS)
    for lang, start, end in zip(LANGS, starts, [*starts[1:], len(pages)], strict=True):
        section = "".join(pages[start:end])
        for key in ("paper.index", "paper.scale", "paper.sources", "layer.childcare.title"):
            for word in wording.text(lang, key).split():
                assert word in section, (lang, key, word)
        others = [lang2 for lang2 in LANGS if lang2 != lang]
        for lang2 in others:  # and not the other sections' legend
            assert wording.text(lang2, "paper.legend") not in section, (lang, lang2)


def test_every_scripts_font_is_embedded(built):
    rows = subprocess.run(
        ["pdffonts", str(built["paper"][0])], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    assert rows and all(row.split()[-5] == "yes" for row in rows)
    names = " ".join(row.split()[0] for row in rows)
    assert "IPAexGothic" in names and "NotoSans" in names  # Vietnamese's diacritics


def test_no_two_words_overlap_on_any_page(built):
    pages = pdf_words(built["paper"][0])
    assert len(pages) >= len(LANGS)
    for n, words in enumerate(pages, start=1):
        bad = overlapping_words(words)
        assert not bad, (n, bad[:5])
