"""What a reader of the printed page sees, measured from the PDF itself.

No two words overlap on any page (pdftotext -bbox word boxes), in every paper
size and in large print, on the demo and on the real 金沢市 and 富山市 atlases;
large print really is large (font sizes read with pdfium); no marker is cut by
the frame; the scale bar's unit sits after its last number.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from paper_maps import kanazawa_raw, overlapping_words, pdf_words, toyama_raw
from paths import TESTS

import civicmap
from civicmap.pipeline import collect
from civicmap.render.paper import render_paper
from civicmap.spec.mapfile import parse_map
from civicmap.spec.paper import PaperOptions

DATA = TESTS / "data"
GSI = DATA / "shelters" / "gsi"

pytestmark = [
    pytest.mark.pdf,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed"),
]


def _assert_no_overlap(pdf: Path) -> int:
    pages = pdf_words(pdf)
    assert pages
    for n, words in enumerate(pages, start=1):
        assert not overlapping_words(words), (pdf.name, n, overlapping_words(words)[:5])
    return len(pages)


@pytest.fixture(scope="module")
def demo():
    return civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))


@pytest.fixture(scope="module")
def kanazawa(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kanazawa_print")
    raw = kanazawa_raw()
    return collect(parse_map(raw, file=str(tmp / "map.yaml"), base_dir=tmp))


@pytest.fixture(scope="module")
def toyama(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toyama_print")
    raw = toyama_raw()
    return collect(parse_map(raw, file=str(tmp / "map.yaml"), base_dir=tmp))


@pytest.fixture(scope="module")
def printed(request, tmp_path_factory):
    """``printed(which, opts)``: the PDF file and plan of map ``which`` (a fixture's name),
    rendered once per module: the tests only read them, and some print the same atlas."""
    folder = tmp_path_factory.mktemp("printed")
    made: dict[tuple[str, str], tuple[Path, object]] = {}

    def get(which: str, opts: dict) -> tuple[Path, object]:
        key = (which, json.dumps(opts, sort_keys=True))
        if key not in made:
            data = request.getfixturevalue(which)
            pdf, plan = render_paper(data, options=PaperOptions.from_dict(opts, file="<test>"))
            path = folder / f"{which}-{len(made)}.pdf"
            path.write_bytes(pdf)
            made[key] = (path, plan)
        return made[key]

    return get


@pytest.mark.parametrize(
    "opts",
    [
        {"size": "A4"},
        {"size": "A3", "orientation": "landscape"},
        {"size": "B4"},
        {"size": "B5"},
        {"size": "A4", "large_print": True},
        {"size": "A3", "large_print": True, "orientation": "landscape"},
        {"size": "B5", "large_print": True},
        {"atlas": True, "scale": 2500},
        {"atlas": True, "scale": 2500, "large_print": True},
    ],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()),
)
def test_demo_no_two_words_overlap_on_any_page(printed, opts):
    path, plan = printed("demo", opts)
    assert _assert_no_overlap(path) == plan.pages


@pytest.mark.parametrize(
    ("which", "opts"),
    [
        ("kanazawa", {"atlas": True, "scale": 10000, "size": "A3"}),
        ("kanazawa", {"atlas": True, "scale": 10000, "large_print": True, "max_pages": 150}),
        ("toyama", {"atlas": True, "scale": 15000, "max_pages": 200}),
        ("toyama", {"atlas": True, "scale": 15000, "size": "B4", "large_print": True}),
    ],
)
def test_real_atlases_no_two_words_overlap_on_any_page(printed, which, opts):
    path, plan = printed(which, opts)
    assert _assert_no_overlap(path) == plan.pages
    # No marker is cut by its frame: every drawn marker sits whole inside it.
    half = (13.0 if opts.get("large_print") else 8.0) / 2
    for fp in plan.frames:
        r = fp.frame.rect
        for lab in fp.numbers:
            x, y = lab.marker
            assert r.x + half <= x <= r.x1 - half and r.y + half <= y <= r.y1 - half


def _chars(page) -> tuple[str, list[float], list[tuple[float, float, float, float]]]:
    tp = page.get_textpage()
    n = tp.count_chars()
    text = tp.get_text_range(0, n)
    sizes = [pdfium_c.FPDFText_GetFontSize(tp.raw, i) for i in range(n)]
    boxes = [tp.get_charbox(i) for i in range(n)]
    return text, sizes, boxes


def test_large_print_sizes_measured_from_the_pdf(printed):
    # the same atlas as test_real_atlases_...[kanazawa-opts1] checks for overlaps
    path, plan = printed("kanazawa", {"atlas": True, "scale": 10000, "large_print": True,
                                      "max_pages": 150})  # fmt: skip
    pages = pdf_words(path)
    # Word heights from pdftotext -bbox are the font size (IPAex ascent + descent = 1 em).
    index = [w for n in plan.index_pages for w in pages[n - 1]]
    by_text: dict[str, list[float]] = {}
    for w in index:
        by_text.setdefault(w[4], []).append(w[3] - w[1])
    for e in plan.entries:
        # The number, the name and the page/cell reference: at least 12 pt.
        assert max(by_text[str(e.number)]) >= 11.95, e.number
        first = e.name.split()[0]
        names = [h for text, hs in by_text.items() if text.startswith(first[:6]) for h in hs]
        assert names and max(names) >= 11.95, e.name
        ref_cell = e.ref.split()[-1]
        assert max(by_text[ref_cell]) >= 11.95, e.ref
        # Its address: at least 10 pt (and smaller than the name, so the name stands out).
        for d in e.details[:1]:
            sizes = [
                h for text, hs in by_text.items() if text.startswith(d.split()[0][:8]) for h in hs
            ]
            assert sizes and 9.95 <= min(sizes) < 11.95, (e.number, d, sizes)
    doc = pdfium.PdfDocument(path)
    # The numbers beside the markers on the map pages: at least 12 pt.
    checked = 0
    for fp in plan.frames[1:]:
        text, sizes, boxes = _chars(doc[fp.pdf_page - 1])
        for lab in fp.numbers[:40]:
            b = lab.box
            inside = [s for (x0, y0, x1, y1), s, ch in zip(boxes, sizes, text, strict=True)
                      if ch.isdigit() and b.x <= (x0 + x1) / 2 <= b.x1 and b.y <= (y0 + y1) / 2 <= b.y1]  # fmt: skip
            assert inside and min(inside) >= 11.95, (lab.number, inside)
            checked += 1
    assert checked > 50
    doc.close()


def test_scale_bar_unit_does_not_touch_its_last_number(printed):
    for opts in ({}, {"large_print": True}, {"atlas": True, "scale": 2500}):
        path, _ = printed("demo", opts)
        words = pdf_words(path)[0] if not opts.get("atlas") else pdf_words(path)[1]
        unit = next(w for w in words if w[4] in ("m", "km"))
        last = max((w for w in words if abs(w[1] - unit[1]) < 1 and w[2] <= unit[0] + 0.3
                    and re.fullmatch(r"[\d.,]+", w[4])), key=lambda w: w[2])  # fmt: skip
        assert unit[0] - last[2] >= 1.0, (opts, last, unit)


def _dash_patterns(pdf: bytes) -> set[str]:
    """Every dash pattern (`[..] 0 d`) set in the PDF's (deflated) content streams."""
    import base64
    import zlib

    found: set[str] = set()
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        raw = m.group(1).strip()
        try:
            if raw.endswith(b"~>"):  # reportlab's page streams: ASCII85, then Flate
                raw = base64.a85decode(raw, adobe=True)
            body = zlib.decompressobj().decompress(raw)
        except (zlib.error, ValueError):
            continue
        found |= {p.decode() for p in re.findall(rb"\[([\d. ]*)\] 0 d", body)}
    return found


def test_routes_and_the_data_edge_have_different_lines_and_legend_entries(demo, tmp_path):
    import dataclasses

    from civicmap.render import basemap as bm

    data = civicmap.collect(dataclasses.replace(demo.spec, home=(35.7066, 139.7062)))
    assert data.routes is not None and data.data_edge is not None
    pdf, _ = render_paper(data, options=PaperOptions.from_dict({}, file="<test>"))
    dashes = _dash_patterns(pdf)
    edge = " ".join(f"{v:g}" for v in bm.EDGE_DASH)
    assert any(d.split() == edge.split() for d in dashes)  # the data edge: dash-dot
    assert any(d.split() == ["5", "2.5"] for d in dashes)  # a walked route that is not nearest
    path = tmp_path / "routes.pdf"
    path.write_bytes(pdf)
    text = " ".join(w[4] for w in pdf_words(path)[0])
    assert "避難所までの道のり" in text  # the routes' own legend block with line samples
    assert "地図データの範囲外" in text  # the data edge's legend entry
