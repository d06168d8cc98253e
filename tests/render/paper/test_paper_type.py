"""Type floors measured from the printed PDF (pdftotext -bbox-layout word boxes).

A normal print keeps every word at 7 pt or more (credits, route notes,
addresses, the north arrow's 「北」); a large print keeps 95 % of words at
9.5 pt or more and every word at 8 pt or more. Line breaks follow 行頭禁則.
"""

from __future__ import annotations

import html
import itertools
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from paper_maps import kanazawa_raw

import civicmap
from civicmap.pipeline import collect
from civicmap.render._fonts import register, text_width
from civicmap.render.paper import render_paper
from civicmap.render.paper.texts import NO_LINE_END, NO_LINE_START, wrap
from civicmap.spec.mapfile import parse_map
from civicmap.spec.paper import PaperOptions

pytestmark = [
    pytest.mark.pdf,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed"),
]

_WORD = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'


def word_sizes(pdf: bytes, tmp: Path) -> list[tuple[float, int, str]]:
    """(size in pt, page, word) for every word; a word's box height is its font size.

    A word set on a slant (street names along their street) has a box as wide
    as it is tall per character: its size is the narrower side of the box.
    """
    path = tmp / "sheet.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-bbox-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    sizes = []
    for n, page in enumerate(out.split("<page ")[1:], start=1):
        for x0, y0, x1, y1, word in re.findall(_WORD, page):
            w, h = float(x1) - float(x0), float(y1) - float(y0)
            size = max(w, h) if len(word) == 1 and not word.isascii() else h
            if len(word) > 1 and h > w * 1.5:  # along a steep street: the width is the size
                size = w
            sizes.append((size, n, html.unescape(word)))
    return sizes


@pytest.fixture(scope="module")
def demo():
    return civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))


@pytest.fixture(scope="module")
def kanazawa(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kanazawa_type")
    return collect(parse_map(kanazawa_raw(), file=str(tmp / "map.yaml"), base_dir=tmp))


def test_normal_print_has_no_word_under_7pt(demo, tmp_path):
    pdf, _ = render_paper(demo, options=PaperOptions.from_dict({"size": "A4"}, file="<test>"))
    sizes = word_sizes(pdf, tmp_path)
    small = [(round(s, 2), p, w) for s, p, w in sizes if s < 6.98]
    assert not small, small[:10]
    # the ones testers found too small are there and readable
    words = {w for _, _, w in sizes}
    assert "北" in words and any("OpenStreetMap" in w for w in words)


def _printed_scale(pdf: bytes, tmp: Path) -> str:
    path = tmp / "scale.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(path), "-"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    found = re.findall(r"縮尺\s*(1:[\d,]+)", text)
    assert len(found) == 1, found
    return found[0]


def test_large_print_sizes_and_scale(demo, tmp_path):
    normal_pdf, normal = render_paper(
        demo, options=PaperOptions.from_dict({"size": "A4"}, file="<test>")
    )
    pdf, plan = render_paper(
        demo, options=PaperOptions.from_dict({"size": "A4", "large_print": True}, file="<test>")
    )
    sizes = sorted(s for s, _, _ in word_sizes(pdf, tmp_path))
    assert sizes[0] >= 7.98, sizes[:5]
    below = [s for s in sizes if s < 9.48]
    assert len(below) <= 0.05 * len(sizes), (len(below), len(sizes), below[:10])
    # large print keeps the map's scale (read off both sheets); the index moves on
    assert _printed_scale(pdf, tmp_path) == _printed_scale(normal_pdf, tmp_path) == "1:7,500"
    assert plan.scale == normal.scale and plan.index_pages and not normal.index_pages
    # the full index would leave its last entry alone on a third page: the compact one fits one
    assert plan.pages == 2, plan.index_pages


@pytest.mark.slow
@pytest.mark.parametrize("large", [False, True])
def test_kanazawa_atlas_type_floor(kanazawa, tmp_path, large):
    opts = {"atlas": True, "scale": 10000, "size": "A3", "large_print": large, "max_pages": 200}
    pdf, _ = render_paper(kanazawa, options=PaperOptions.from_dict(opts, file="<test>"))
    sizes = word_sizes(pdf, tmp_path)
    floor = 7.98 if large else 6.98
    small = [(round(s, 2), p, w) for s, p, w in sizes if s < floor]
    assert not small, small[:10]
    if large:
        below = [s for s, _, _ in sizes if s < 9.48]
        assert len(below) <= 0.05 * len(sizes), (len(below), len(sizes))


TEXTS = [
    "避難所「戸山小学校」（新宿区）では、毎月一回の訓練があります。ペットは同行避難・ケージ持参。",
    "東京都新宿区大久保２丁目４番１号ウワーアネックス２階（エレベーターなし）、TEL 03-1234-5678",
    "出典：国土地理院「指定緊急避難場所データ」、新宿区オープンデータ「保育施設一覧」。",
    "【災害時】区の指示に従ってください。「避難所」・「避難場所」は違います！（ご注意ください）",
]


@pytest.mark.parametrize("width_chars", [3, 4, 5, 6, 7, 8, 9, 11, 13])
def test_wrap_keeps_kinsoku(width_chars):
    register()
    fs = 7.0

    def measure(s):
        return text_width(s, fs)

    for text in TEXTS:
        lines = wrap(text, width_chars * fs, measure)
        assert "".join(lines).replace(" ", "") == text.replace(" ", ""), lines  # nothing lost
        for prev, line in itertools.pairwise(lines):
            assert line[:1] not in NO_LINE_START, (width_chars, prev, line)
            assert prev[-1:] not in NO_LINE_END, (width_chars, prev, line)
