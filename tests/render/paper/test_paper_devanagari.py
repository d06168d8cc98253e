"""Shaped Devanagari (Nepali) on paper reads back as the words written, not private-use codes.

HarfBuzz draws conjuncts (क्स, त्र) as glyphs with no character of their own, which
reportlab's ToUnicode map gives private-use codes, and the vowel sign ि before its consonant;
each line therefore carries its own text as /ActualText.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from reportlab.pdfgen import canvas as rl_canvas

from civicmap import wording
from civicmap.render._fonts import EXTRA, draw_text, register

pytestmark = [
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed"),
    pytest.mark.skipif(
        not EXTRA["NotoSansDevanagari"].file.is_file(), reason="fonts-noto-core not installed"
    ),
]
PRIVATE = re.compile(r"[\ue000-\uf8ff]")


def _read_back(tmp_path, lines: list[tuple[str, float]]) -> str:
    register("ne")
    pdf = tmp_path / "ne.pdf"
    c = rl_canvas.Canvas(str(pdf), pagesize=(595, 842), invariant=1)
    for i, (text, halo) in enumerate(lines):
        draw_text(c, 40, 800 - i * 30, text, 12, halo=halo)
    c.save()
    out = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True)
    return out.stdout


def test_nepali_lines_read_back_as_written(tmp_path):
    # conjuncts (क्सा, थ्या, ङ्क, न्द्र), a vowel sign drawn before its consonant (हि, कि), a
    # line with a halo (drawn twice: the white outline, then the text) and one mixing scripts
    lines = [
        (wording.text("ne", "paper.edge"), 0.0),
        (wording.text("ne", "paper.reading_note"), 0.0),
        (wording.text("ne", "paper.legend"), 1.5),
        ("戸山小学校 " + wording.text("ne", "category.指定避難所"), 0.0),
    ]
    text = _read_back(tmp_path, lines)
    assert not PRIVATE.search(text), PRIVATE.findall(text)[:5]
    flat = re.sub(r"\s+", " ", text)
    for line, _halo in lines:
        assert line in flat, line
    # the halo's outline is not read as a second copy of the words
    assert flat.count(wording.text("ne", "paper.legend")) == 1


def test_a_text_that_needs_no_shaping_is_drawn_as_before(tmp_path):
    # Japanese and Latin lines carry no marked content: their bytes are those of every
    # other paper map (the golden outputs stay as recorded)
    register("ne")
    pdf = tmp_path / "ja.pdf"
    c = rl_canvas.Canvas(str(pdf), pagesize=(595, 842), invariant=1, pageCompression=0)
    draw_text(c, 40, 800, "凡例 Legend", 12)
    c.save()
    assert b"ActualText" not in pdf.read_bytes()
