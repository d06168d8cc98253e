"""Readable or not printed: a crowded single sheet gets a 拡大図 (inset), or no PDF at all.

富山市's 159 nurseries at 1:200,000 were a starburst of leader lines around the city
centre; now the centre is drawn again 2–4× larger in a free corner of the sheet, boxed
and labelled 「拡大図A」 on the main map, with its own lower-case grid, and the index
sends its places to the inset's cells. Read back from the PDF (pdftotext -bbox) and
rendered with pdftoppm (colour and greyscale, kept in the test's output folder).
The whole 富山市 area on one A4 sheet (1:400,000) no inset can save: the build writes
nothing and the error names the fixes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from paper_maps import overlapping_words as _overlaps
from paper_maps import pdf_words as _words
from paper_maps import toyama_raw
from paths import ROOT, TESTS

import civicmap
from civicmap.errors import ConfigError
from civicmap.pipeline import collect
from civicmap.render.paper import render_paper, write_paper
from civicmap.render.paper.geometry import Rect
from civicmap.render.paper.inset import InsetGrid
from civicmap.render.paper.readability import UnreadableSheetError
from civicmap.spec.mapfile import parse_map
from civicmap.spec.paper import PaperOptions

DEMO = ROOT / "civicmap" / "data" / "demo"

pytestmark = [
    pytest.mark.pdf,
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("pdftotext", "pdftoppm")),
        reason="poppler-utils not installed",
    ),
]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """Where the PDFs and page images stay after the run, to look at."""
    return tmp_path_factory.mktemp("inset")


@pytest.fixture(scope="module")
def toyama(out):
    """富山市's nurseries; the area is the city (137.0–137.55 E), mountains included."""
    return collect(parse_map(toyama_raw(), file=str(out / "toyama.yaml"), base_dir=out))


def _inside(w, r: Rect, page_h: float, pad: float = 0.5) -> bool:
    """Whether the centre of PDF word ``w`` (top-left origin) lies in page rect ``r``."""
    x, y = (w[0] + w[2]) / 2, page_h - (w[1] + w[3]) / 2
    return r.x - pad <= x <= r.x1 + pad and r.y - pad <= y <= r.y1 + pad


def _text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.slow
def test_toyama_at_1_200000_gets_an_inset_read_back_from_the_pdf(toyama, out):
    opts = PaperOptions.from_dict({"scale": 200000}, file="<test>")
    pdf, plan = render_paper(toyama, options=opts)
    path = out / "toyama-200000.pdf"
    path.write_bytes(pdf)
    # The same sheet printed as it is fails the check: the inset is what makes it pass.
    _, bare = render_paper(
        toyama, options=PaperOptions.from_dict({"scale": 200000, "unreadable": "print"}, file="t")
    )
    assert bare.readability.unreadable and not bare.insets
    assert not plan.readability.unreadable, plan.readability
    assert plan.scale == 200000 and len(plan.insets) == 1
    ins = plan.insets[0]
    assert 2 <= ins.zoom <= 4 and ins.scale in (100000, 75000, 50000)
    main, inset = plan.frames[0], ins.frame
    assert plan.frames == [main, inset]
    assert ins.panel.inside(main.frame.rect) and not ins.box.intersects(ins.window)
    assert "拡大図" in plan.note or "inset A" in plan.note

    ph = plan.page_h
    words = _words(path)[0]
    assert not _overlaps(words), _overlaps(words)[:5]
    # The window on the main map is labelled 「拡大図A」, and so is the inset's band.
    tabs = [w for w in words if w[4].startswith("拡大図A")]
    assert any(_inside(w, ins.box, ph) for w in tabs)
    near = Rect(ins.window.x - 2, ins.window.y - 20, ins.window.w + 4, ins.window.h + 40)
    assert any(_inside(w, near, ph) and not _inside(w, ins.box, ph) for w in tabs)
    assert any(f"1:{ins.scale:,}" in w[4] for w in words if _inside(w, ins.box, ph))
    # Its own grid, lower case along its top edge, 1.. down its left edge, inside its frame.
    grid = inset.grid
    assert isinstance(grid, InsetGrid) and grid.cols == 4
    top = Rect(ins.panel.x, ins.panel.y1 - 12, ins.panel.w, 12)
    letters = {w[4] for w in words if _inside(w, top, ph)}
    assert {"a", "b", "c", "d"} <= letters
    left = Rect(ins.panel.x, ins.panel.y, 10, ins.panel.h)
    assert {str(j + 1) for j in range(grid.rows)} <= {w[4] for w in words if _inside(w, left, ph)}
    # Its numbers are printed in it, in their boxes; none of them again on the main map.
    assert inset.numbers and {lab.number for lab in inset.numbers} == set(ins.numbers)
    for lab in inset.numbers:
        assert any(w[4] == str(lab.number) and _inside(w, lab.box, ph, pad=1) for w in words)
    outside = Counter(
        w[4]
        for w in words
        if _inside(w, main.frame.rect, ph) and not _inside(w, ins.box, ph) and w[4].isdigit()
    )
    assert not (set(outside) & {str(n) for n in ins.numbers})
    # One numbering: every place once, on the main map or in the inset.
    numbered = [lab.number for fp in plan.frames for lab in fp.numbers]
    numbered += [n for fp in plan.frames for n, _c, _xy in fp.unplaced]
    assert sorted(numbered) == sorted(e.number for e in plan.entries if e.ref)
    # The index sends the inset's places to the inset's cells (拡大A b2), the others to B3.
    text = _text(path).replace("\n", " ")
    for e in plan.entries:
        if e.number in ins.numbers:
            assert re.fullmatch(r"拡大A [a-d][1-9]", e.ref), e.ref
            assert e.ref in text
        elif e.ref:
            assert re.fullmatch(r"[A-Z]\d+", e.ref), e.ref
    # The page, in colour and in greyscale, kept to look at.
    for extra, name in (([], "toyama-200000"), (["-gray"], "toyama-200000-gray")):
        subprocess.run(["pdftoppm", "-png", *extra, "-r", "100", "-f", "1", "-l", "1",
                        "-singlefile", str(path), str(out / name)], check=True)  # fmt: skip
        assert (out / f"{name}.png").stat().st_size > 50_000


@pytest.mark.slow
def test_a_sheet_no_inset_can_save_is_not_written_and_the_error_names_the_fixes(toyama, out):
    path = out / "whole.pdf"
    opts = PaperOptions.from_dict({}, file="<test>")
    with pytest.raises(UnreadableSheetError) as exc:
        write_paper(toyama, path, options=opts, overwrite=True)
    assert not path.exists()
    text = str(exc.value)
    assert "too crowded to read and was not written" in text
    for fix in ("unreadable: atlas", "fit: data", "size: A3", "fewer layers", "unreadable: print"):
        assert fix in text, fix
    assert "拡大図" in text  # it says an inset was tried
    assert exc.value.plan.readability.unreadable
    # ``stop`` refuses without trying an inset; ``print`` prints it, with the warning.
    with pytest.raises(UnreadableSheetError) as stop:
        render_paper(toyama, options=PaperOptions.from_dict({"unreadable": "stop"}, file="t"))
    assert "拡大図" not in str(stop.value)
    printed = write_paper(
        toyama, path, options=PaperOptions.from_dict({"unreadable": "print"}, file="t"),
        overwrite=True,
    )  # fmt: skip
    assert printed == [path] and path.read_bytes().startswith(b"%PDF")


@pytest.mark.slow
def test_unreadable_atlas_prints_the_first_readable_grid_atlas_instead(toyama):
    _pdf, plan = render_paper(
        toyama, options=PaperOptions.from_dict({"unreadable": "atlas"}, file="<test>")
    )
    assert plan.atlas_pages and plan.pages > 2 and not plan.readability.unreadable
    assert "grid atlas at 1:" in plan.note and f"({plan.pages} pages)" in plan.note
    assert all(e.ref for e in plan.entries)


def test_unreadable_is_checked_when_the_map_loads(tmp_path):
    raw = toyama_raw()
    raw["outputs"] = {"paper": {"file": "out/map.pdf", "unreadable": "shrink"}}
    with pytest.raises(ConfigError) as exc:
        parse_map(raw, file=str(tmp_path / "map.yaml"), base_dir=tmp_path)
    assert "outputs.paper.unreadable" in str(exc.value) and "print" in str(exc.value)
    spec = parse_map(
        {**raw, "outputs": {"paper": {"file": "out/map.pdf", "unreadable": "print"}}},
        file=str(tmp_path / "map.yaml"),
        base_dir=tmp_path,
    )
    assert spec.paper.on_unreadable == "print"
    assert PaperOptions().on_unreadable == "inset"


def test_inset_cells_are_lower_case_and_name_the_inset():
    grid = InsetGrid(Rect(100, 100, 200, 200), 4, 4, label="A", lang="ja")
    assert grid.cell(101, 299) == "拡大A a1" and grid.cell(299, 101) == "拡大A d4"
    en = InsetGrid(Rect(100, 100, 200, 200), 4, 4, label="B", lang="en")
    assert en.cell(160, 240) == "Inset B b2"


@pytest.mark.slow
def test_no_free_corner_puts_the_inset_in_the_index_place_and_the_index_moves_on(tmp_path):
    """The README's 新宿区 map (its data supplied from the demo): places all over the frame."""
    block = re.search(r"```yaml\n(title: 西早稲田.*?)```", (ROOT / "README.md").read_text(), re.S)
    (tmp_path / "data").mkdir()
    for name, src in (
        ("area.osm.pbf", TESTS / "data" / "osm" / "SmallAroundWaseda.osm.pbf"),
        ("evacuation_131041.json", DEMO / "evacuation_131041.json"),
        ("emergency_131041.json", DEMO / "emergency_131041.json"),
    ):
        shutil.copy(src, tmp_path / "data" / name)
    (tmp_path / "map.yaml").write_text(block.group(1), encoding="utf-8")
    data = civicmap.collect(civicmap.load_map(tmp_path / "map.yaml"), offline=True)
    pdf, plan = render_paper(data)
    path = tmp_path / "map.pdf"
    path.write_bytes(pdf)
    bare_pdf, bare = render_paper(
        data, options=PaperOptions.from_dict({"unreadable": "print"}, file="t")
    )
    assert bare.readability.unreadable
    (tmp_path / "bare.pdf").write_bytes(bare_pdf)
    name = plan.entries[0].name  # the index's first entry
    assert name in "".join(w[4] for w in _words(tmp_path / "bare.pdf")[0])  # was on page 1
    assert not plan.readability.unreadable and len(plan.insets) == 1
    ins, frame = plan.insets[0], plan.frames[0].frame.rect
    assert not ins.box.intersects(frame) and ins.box.y1 < frame.y  # under the map, not on it
    pages = _words(path)
    assert len(pages) == plan.pages >= 2
    for words in pages:
        assert not _overlaps(words), _overlaps(words)[:5]
    first, second = ("".join(w[4] for w in page) for page in pages[:2])
    assert name not in first and name in second  # the index moved on to page 2
    assert "拡大図A" in first and any(e.ref.startswith("拡大A ") for e in plan.entries)
