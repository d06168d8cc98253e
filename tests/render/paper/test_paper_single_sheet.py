"""One sheet with hundreds of places: never two texts on top of each other, and honest about it.

金沢市 (700+ shelters, 507 numbered spots) and 富山市 (159 nurseries) each on ONE
sheet, A4 and A3 portrait, normal and large print. Read back from the PDF: no
two word boxes overlap on any page; every place's number is printed exactly
once, on the map or (when the map has no room near its marker) in the
位置を示せない番号 block of the index with its grid cell; the readability
warning says how many numbers sit far from their marker and how many found
no room. The first page of each is kept as a PNG in the test's output folder.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from paper_maps import kanazawa_raw, toyama_raw
from paper_maps import overlapping_words as _overlaps
from paper_maps import pdf_words as _words
from shapely.geometry import Point
from test_paper import _frame, _with_layer

import civicmap
from civicmap.pipeline import collect
from civicmap.render.paper import render_paper
from civicmap.render.paper.geometry import MM, BoxIndex, Rect
from civicmap.render.paper.placement import place_numbers
from civicmap.spec.mapfile import parse_map
from civicmap.spec.paper import PaperOptions

pytestmark = [
    pytest.mark.pdf,
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("pdftotext", "pdftoppm")),
        reason="poppler-utils not installed",
    ),
]

# ``unreadable: print``: these sheets are unreadable on purpose, printed to check that even
# then no text overlaps another (without it the build refuses them: test_paper_inset.py).
SHEETS = [
    {"size": "A4", "unreadable": "print"},
    {"size": "A3", "unreadable": "print"},
    {"size": "A4", "large_print": True, "unreadable": "print"},
    {"size": "A3", "large_print": True, "unreadable": "print"},
]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """Where the PDFs and PNGs stay after the run, to look at."""
    return tmp_path_factory.mktemp("single_sheet")


@pytest.fixture(scope="module")
def kanazawa(out):
    return collect(parse_map(kanazawa_raw(), file=str(out / "kanazawa.yaml"), base_dir=out))


@pytest.fixture(scope="module")
def toyama(out):
    return collect(parse_map(toyama_raw(), file=str(out / "toyama.yaml"), base_dir=out))


def _text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.parametrize("opts", SHEETS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("which", ["kanazawa", "toyama"])
def test_one_sheet_never_prints_text_over_text(request, out, caplog, which, opts):
    data = request.getfixturevalue(which)
    with caplog.at_level(logging.WARNING):
        pdf, plan = render_paper(data, options=PaperOptions.from_dict(opts, file="<test>"))
    name = f"{which}-{opts['size']}{'-large' if opts.get('large_print') else ''}"
    path = out / f"{name}.pdf"
    path.write_bytes(pdf)
    assert not plan.atlas_pages and len(plan.frames) == 1  # one map sheet

    # No two words overlap on any page, read from the PDF itself.
    pages = _words(path)
    assert len(pages) == plan.pages
    for n, words in enumerate(pages, start=1):
        assert not _overlaps(words), (name, n, _overlaps(words)[:5])

    # Every place's number exactly once: on the map, or listed apart with its cell.
    fp = plan.frames[0]
    placed = [lab.number for lab in fp.numbers]
    apart = {n: cell for n, cell, _ in fp.unplaced}
    assert sorted(placed + list(apart)) == sorted(e.number for e in plan.entries)
    # 金沢: 510 spots less 3 sites two lists name apart (金沢市立泉中学校 / 泉中学校 86 m,
    # 金沢市野町公民館 / 野町公民館 90 m, 金沢市三谷公民館 / 三谷公民館 43 m): one entry each
    assert len(plan.entries) == (507 if which == "kanazawa" else 159)
    r = fp.frame.rect
    ph = plan.page_h
    in_frame = Counter(
        w[4]
        for w in pages[0]
        if r.x < (w[0] + w[2]) / 2 < r.x1 and r.y < ph - (w[1] + w[3]) / 2 < r.y1
        and w[4].isdigit()
    )  # fmt: skip
    assert in_frame == Counter(str(n) for n in placed)
    text = _text(path).replace("\n", "")
    if apart:
        assert "位置を示せない番号" in text
        for n, cell in apart.items():
            assert f"{n}({cell})" in text, n
    else:
        assert "位置を示せない番号" not in text

    # Measured readability, computed again here from the boxes the plan placed.
    far = sum(
        math.dist(lab.marker, (lab.box.x + lab.box.w / 2, lab.box.y + lab.box.h / 2)) > 15 * MM
        for lab in fp.numbers
    )
    m = plan.readability
    assert (m.numbers, m.far, m.unplaced, m.overlapping) == (len(plan.entries), far, len(apart), 0)
    # No leader longer than 20 mm: a longer line cannot be followed on a crowded sheet.
    assert all(
        math.dist(lab.marker, (lab.box.x + lab.box.w / 2, lab.box.y + lab.box.h / 2)) <= 20 * MM
        for lab in fp.numbers
    )
    warning = [x.getMessage() for x in caplog.records if "hard to read" in x.getMessage()]
    assert len(warning) == 1  # hundreds of places on one sheet are never called readable
    assert f"{far} of {len(plan.entries)} numbers sit more than 15 mm" in warning[0]
    assert f"{len(apart)} found no room near their marker" in warning[0]

    # The page as a reader sees it, kept in the test output folder.
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                    str(path), str(out / name)], check=True)  # fmt: skip
    assert (out / f"{name}.png").stat().st_size > 20_000


# ----------------------------------------------------------------------------- hand-made edges


def test_a_number_goes_to_the_nearest_free_spot_or_nowhere():
    # Every 10 pt tile of the frame is taken (a legend, say) except two holes:
    # one 45 pt east of the marker, one 115 pt east. The number goes to the
    # nearer hole, on a leader; with a shorter leader allowed it goes nowhere.
    holes = [Rect(140, 100, 30, 20), Rect(210, 100, 30, 20)]
    avoid = BoxIndex()
    for i in range(40):
        for j in range(40):
            tile = Rect(i * 10.0, j * 10.0, 10.0, 10.0)
            if not any(tile.inside(h) for h in holes) and not tile.intersects(
                Rect(100, 100, 10, 10)  # the marker's own tile
            ):
                avoid.add(tile)
    frame = Rect(0, 0, 400, 400)
    one = [(7, 105.0, 105.0)]
    got = place_numbers(one, marker_size=6, box_w=lambda n: 10.0, box_h=8.0, bounds=frame,
                        avoid=avoid)  # fmt: skip
    assert got.unplaced == [] and len(got.labels) == 1
    lab = got.labels[0]
    assert lab.leader and lab.box.inside(holes[0]), lab
    assert not avoid.hits(lab.box)
    short = place_numbers(one, marker_size=6, box_w=lambda n: 10.0, box_h=8.0, bounds=frame,
                          avoid=avoid, max_leader=30.0)  # fmt: skip
    assert short.labels == [] and short.unplaced == one


def test_hundreds_of_markers_on_one_spot_never_overlap_and_the_rest_are_listed():
    # 400 markers within 12 pt in a 120 × 120 pt frame: room for some numbers only.
    markers = [(n + 1, 60.0 + (n % 20) * 0.6, 60.0 + (n // 20) * 0.6) for n in range(400)]
    frame = Rect(0, 0, 120, 120)
    got = place_numbers(markers, marker_size=6, box_w=lambda n: 4.0 + 3.6 * len(str(n)),
                        box_h=8.5, bounds=frame)  # fmt: skip
    assert sorted([lab.number for lab in got.labels] + [n for n, _, _ in got.unplaced]) == list(
        range(1, 401)
    )
    assert 60 < len(got.labels) < 400 and got.unplaced  # a full frame, honestly so
    placed = BoxIndex()
    for lab in got.labels:
        assert lab.box.inside(frame) and not placed.hits(lab.box), lab
        placed.add(lab.box)


def test_an_overfull_demo_sheet_lists_the_numbers_it_cannot_place(out, caplog):
    # 300 places within about 60 m, at 1:5000: the PDF shows no overlapping
    # words, and the numbers with no room are listed in the index, counted
    # in the warning.
    demo = civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))
    rows = [
        {"name": f"施設{i}",
         "geometry": Point(139.7065 + (i % 20) * 0.00003, 35.7065 + (i // 20) * 0.00003)}
        for i in range(300)
    ]  # fmt: skip
    data = _with_layer(demo, _frame(rows))
    with caplog.at_level(logging.WARNING):
        pdf, plan = render_paper(
            data,
            options=PaperOptions.from_dict(
                {"size": "A4", "scale": 5000, "unreadable": "print"}, file="<test>"
            ),
        )
    path = out / "overfull.pdf"
    path.write_bytes(pdf)
    for n, words in enumerate(_words(path), start=1):
        assert not _overlaps(words), (n, _overlaps(words)[:5])
    fp = plan.frames[0]
    assert len(fp.numbers) + len(fp.unplaced) == 300 and fp.unplaced
    text = _text(path).replace("\n", "")
    listed = re.findall(r"(\d+)\(([A-Z]\d+)\)", text.split("位置を示せない番号", 1)[1])
    assert {int(n) for n, _ in listed} == {n for n, _, _ in fp.unplaced}
    warning = [x.getMessage() for x in caplog.records if "hard to read" in x.getMessage()]
    assert len(warning) == 1 and f"{len(fp.unplaced)} found no room" in warning[0]
