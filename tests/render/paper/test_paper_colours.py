"""Layer colours as printed: read off the rendered demo sheet, told apart with colour-vision deficiency.

The palette test (tests/render/test_colours.py) checks the colours the layer
files name; this one checks the colours the sheet actually draws, category
colours included. Each legend symbol is cut out of the page rendered at
200 dpi (pdftoppm), its fill colour is the median of its coloured pixels, and
every pair of the map's symbol colours must stay apart as seen with normal
vision, deuteranopia and protanopia (Machado 2009 matrices, CIE76 ΔE*ab ≥ 20).
In greyscale (a photocopy keeps only CIE L*) two symbols closer than 10 L*
must have different shapes.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from colour_vision import VISIONS, delta_e76, lab_of_rgb, rgb_of
from PIL import Image

import civicmap
from civicmap.render.paper import render_paper
from civicmap.spec.paper import PaperOptions

pytestmark = [
    pytest.mark.pdf,
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("pdftotext", "pdftoppm")),
        reason="poppler-utils not installed",
    ),
]

MIN_DELTA_E = 20.0  # CIE76, every vision
MIN_GREY_DL = 10.0  # L*: below this, only the shape tells two symbols apart
DPI = 200
_WORD = r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<'


def printed_symbol_colours(pdf: bytes, tmp: Path, marker: float) -> dict[str, np.ndarray]:
    """Legend label → the sRGB (0–1) fill of the symbol drawn left of it on page 1."""
    path = tmp / "sheet.pdf"
    path.write_bytes(pdf)
    xml = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-bbox", str(path), "-"],
        capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", str(path),
         str(tmp / "page")],
        check=True,
    )  # fmt: skip
    page = np.asarray(Image.open(tmp / "page.png").convert("RGB")).astype(float) / 255
    k = DPI / 72
    words = re.findall(_WORD, xml)
    out: dict[str, np.ndarray] = {}
    for prev, word in itertools.pairwise(words):
        if not re.fullmatch(r"\(\d+\)", word[4]):  # legend lines end with their count
            continue
        x, y0, y1 = float(prev[0]), float(prev[1]), float(prev[3])
        cy = (y0 + y1) / 2
        box = page[
            round((cy - marker / 2 - 1) * k) : round((cy + marker / 2 + 1) * k),
            round((x - 5 - marker - 1) * k) : round((x - 4) * k),
        ].reshape(-1, 3)
        coloured = box[box.max(axis=1) - box.min(axis=1) > 40 / 255]  # not white, grey, black
        if len(coloured) >= 20:  # a layer heading has no symbol
            out[prev[4]] = np.median(coloured, axis=0)
    return out


@pytest.fixture(scope="module")
def demo():
    return civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large_print"])
def test_printed_symbol_colours_differ_with_cvd_and_in_grey(demo, tmp_path, large):
    opts = PaperOptions.from_dict({"size": "A4", "large_print": large}, file="<test>")
    pdf, plan = render_paper(demo, options=opts)
    looks = {(e.look.symbol, e.look.color) for e in plan.entries if e.look}
    marker = 13.0 if large else 8.0
    printed = printed_symbol_colours(pdf, tmp_path, marker)
    # every symbol the map draws was found in the legend, and it is the colour asked for
    assert len(printed) == len(looks) >= 4, (printed.keys(), looks)
    symbol_of = {}
    for label, rgb in printed.items():
        sym, colour = min(looks, key=lambda lk: delta_e76(rgb, rgb_of(lk[1])))
        assert delta_e76(rgb, rgb_of(colour)) < 6, (label, rgb * 255, colour)
        symbol_of[label] = sym
    assert len(set(symbol_of.values())) == len(looks)  # one shape per symbol colour
    for (a, ra), (b, rb) in itertools.combinations(printed.items(), 2):
        for vision in VISIONS:
            de = delta_e76(ra, rb, vision)
            assert de >= MIN_DELTA_E, (a, b, vision, round(de, 1))
        grey = abs(lab_of_rgb(ra)[0] - lab_of_rgb(rb)[0])
        assert grey >= MIN_GREY_DL or symbol_of[a] != symbol_of[b], (a, b, round(grey, 1))
