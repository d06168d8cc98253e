"""The demo's paper map in every map language, read back from the PDFs.

Built once with ``language: [ja, ja-easy, en, zh-Hans, zh-Hant, ko, vi, pt, tl, ne]``
(one PDF each). Each PDF holds its language's fixed texts, no Japanese fixed text where
the reader has another language (Japanese left only in place names, addresses and the
map author's own words), every font embedded (``pdffonts``) with the script's own font,
and no two words overlapping.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from paper_maps import overlapping_words, pdf_words
from paths import ROOT

from civicmap import wording
from civicmap.pipeline import build_with_data
from civicmap.render.background import credit_lines
from civicmap.render.paper.texts import TEXT
from civicmap.spec.mapfile import load_map

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed"),
]

#: The script fonts a language's PDF must embed (see civicmap/render/_fonts.py).
SCRIPT_FONT = {
    "ko": "NanumGothic",
    "zh-Hans": "LXGWWenKai",
    "zh-Hant": "LXGWWenKai",
    "vi": "NotoSans",
    "pt": "NotoSans",
    "tl": "NotoSans",
    "ne": "NotoSansDevanagari",
}
JAPANESE_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff々〆ー]+")
KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30fa\u30fc-\u30ff]")
#: Fixed texts of the demo's sheet, by glossary key.
SHOWN = ("paper.legend", "paper.index", "paper.scale", "paper.notes", "paper.sources",
         "paper.road_major", "paper.building", "layer.childcare.title",
         "layer.shelters.title", "category.指定避難所", "category.認可保育所")  # fmt: skip


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paper_languages")
    for f in (ROOT / "civicmap" / "data" / "demo").iterdir():
        shutil.copy(f, folder / f.name)
    text = (folder / "demo.yaml").read_text(encoding="utf-8")
    langs = ", ".join(wording.LANGUAGES)
    (folder / "demo.yaml").write_text(
        text.replace("language: ja", f"language: [{langs}]").replace(", png: true", ""),
        encoding="utf-8",
    )
    spec = load_map(folder / "demo.yaml")
    # the data the build drew (the map's first language, ja), not collected a second time
    data, written = build_with_data(spec, overwrite=True, formats=("paper",))
    pdfs = {p.name: p for p in written["paper"]}
    # what may stay Japanese: the data (names, addresses, categories of the files), the
    # basemap's names, the credits and the map author's title, subtitle and notes
    strings = [spec.title, spec.subtitle, spec.notes, *credit_lines(data)]
    frames = [layer.features for layer in data.layers]
    frames += [data.basemap] if data.basemap is not None else []
    for frame in frames:
        for col in frame.columns:
            if col != "geometry":
                strings += [str(v) for v in frame[col] if isinstance(v, str)]
    blob = re.sub(r"\s+", "", "\n".join(strings))
    return pdfs, blob


def _pdf(pdfs, lang):
    return pdfs["demo.pdf" if lang == "ja" else f"demo.{lang}.pdf"]


def test_one_pdf_per_language(built):
    pdfs, _blob = built
    assert len(pdfs) == len(wording.LANGUAGES)


@pytest.mark.parametrize("lang", wording.LANGUAGES)
def test_every_fixed_text_is_printed_in_the_language(built, lang):
    pdfs, _blob = built
    text = re.sub(r"\s+", "", _run("pdftotext", str(_pdf(pdfs, lang)), "-"))
    words = wording.words(lang)
    for key in SHOWN:
        expected = words[key]
        # shaped Devanagari too: each line carries its text as /ActualText, so conjuncts
        # and the vowel sign ि drawn before its consonant read back as written
        assert not re.search(r"[\ue000-\uf8ff]", text), lang  # no private-use codes
        for word in expected.split():
            assert word in text, (lang, key, word)


@pytest.mark.parametrize(
    "lang", [lang for lang in wording.LANGUAGES if lang not in wording.JAPANESE]
)
def test_no_japanese_fixed_text_where_the_reader_has_another_language(built, lang):
    pdfs, blob = built
    text = _run("pdftotext", "-layout", str(_pdf(pdfs, lang)), "-")
    stray = []
    # a credit line's bullet ・ and the list's separators join runs: cut there
    for run in (r.strip("・") for r in JAPANESE_RUN.findall(text) for r in r.split("・")):
        if not run:
            continue
        if lang.startswith("zh") and not KANA.search(run):
            continue  # Chinese is written in hanzi: only kana betray Japanese
        if run not in blob:
            stray.append(run)
    assert not stray, (lang, stray[:10])
    # and the Japanese words of the sheet are not there
    japanese = wording.words("ja")
    for key in ("paper.legend", "paper.index", "paper.scale", "paper.sources"):
        if wording.words(lang)[key] != japanese[key]:  # 索引 is Chinese too
            assert japanese[key] not in text, (lang, key)


@pytest.mark.parametrize("lang", wording.LANGUAGES)
def test_every_font_is_embedded_with_the_scripts_own(built, lang):
    pdfs, _blob = built
    rows = _run("pdffonts", str(_pdf(pdfs, lang))).splitlines()[2:]
    assert rows
    for row in rows:
        cols = row.split()
        emb = cols[-5]
        assert emb == "yes", row
    names = " ".join(r.split()[0] for r in rows)
    if lang in SCRIPT_FONT:
        assert SCRIPT_FONT[lang] in names, (lang, names)


@pytest.mark.parametrize("lang", wording.LANGUAGES)
def test_no_two_words_overlap(built, lang):
    pdfs, _blob = built
    for n, words in enumerate(pdf_words(_pdf(pdfs, lang)), start=1):
        bad = overlapping_words(words)
        assert not bad, (lang, n, bad[:5])


def test_the_sheet_words_come_from_the_glossary():
    assert TEXT["ne"]["legend"] == wording.text("ne", "paper.legend")
