"""A single sheet that refuses to be unreadable: measured, warned about, and `fit: data`."""

from __future__ import annotations

import logging
import math

import pypdfium2 as pdfium
import pytest
from paths import TESTS

import civicmap
from civicmap.errors import ConfigError
from civicmap.pipeline import collect
from civicmap.render.paper import render_paper
from civicmap.render.paper.atlas import atlas_outline, index_pages_needed
from civicmap.render.paper.geometry import MM
from civicmap.render.paper.plan import entries_reused
from civicmap.render.paper.render import layouts_only
from civicmap.render.paper.renderer import Renderer
from civicmap.spec.mapfile import parse_map
from civicmap.spec.paper import PaperOptions

DATA = TESTS / "data"
TOYAMA = DATA / "childcare" / "toyama" / "toyama_nurseryFacilities_utf8bom.csv"


#: Print the sheet as it is (the measures are what these tests read; a build refuses it).
PRINT = PaperOptions.from_dict({"unreadable": "print"}, file="<test>")


def _raw(**paper) -> dict:
    return {
        "title": "富山市の保育施設",
        # The whole 富山市 area, mountains included: the nurseries sit in its north-west.
        "area": {"bbox": [137.0, 36.3, 137.75, 36.8]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [{"id": "childcare", "title": {"ja": "保育施設", "en": "Childcare"},
                    "sources": [{"csv": {"path": str(TOYAMA)}}]}],
        "outputs": {"paper": {"file": "out/map.pdf", **paper}},
    }  # fmt: skip


@pytest.fixture(scope="module")
def toyama(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toyama_single")
    return collect(parse_map(_raw(), file=str(tmp / "map.yaml"), base_dir=tmp))


def test_toyama_on_one_a4_sheet_is_measured_and_warned_about(toyama, caplog):
    with caplog.at_level(logging.WARNING):
        _, plan = render_paper(toyama, options=PRINT)
    m = plan.readability
    # Measured again here, from the numbers the plan placed.
    labs = [lab for fp in plan.frames for lab in fp.numbers]
    far = [
        lab
        for lab in labs
        if math.dist(lab.marker, (lab.box.x + lab.box.w / 2, lab.box.y + lab.box.h / 2)) > 15 * MM
    ]
    apart = [n for fp in plan.frames for n, _, _ in fp.unplaced]
    assert sorted([lab.number for lab in labs] + apart) == list(range(1, 160))
    assert (m.numbers, m.far, m.unplaced) == (159, len(far), len(apart))
    assert m.unreadable
    warning = [r.getMessage() for r in caplog.records if "hard to read" in r.getMessage()]
    assert len(warning) == 1
    text = warning[0]
    assert f"{m.far} of 159 numbers" in text and f"1:{plan.scale:,}" in text
    assert f"{len(apart)} found no room near their marker" in text
    assert "fit: data" in text and "atlas: {areas:" in text


def test_fit_data_zooms_to_the_places(toyama, caplog):
    _, whole = render_paper(toyama, options=PRINT)
    _, data = render_paper(
        toyama, options=PaperOptions.from_dict({"fit": "data", "unreadable": "print"}, file="<t>")
    )
    assert data.scale < whole.scale
    # Every place is still on the sheet, whole.
    assert all(e.ref for e in data.entries)
    frame = data.frames[0].frame
    x0, y0, x1, y1 = frame.extent
    assert all(x0 < e.xy[0] < x1 and y0 < e.xy[1] < y1 for e in data.entries)
    assert data.readability.far <= whole.readability.far


def test_demo_is_readable_and_not_warned_about(caplog):
    demo = civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))
    with caplog.at_level(logging.WARNING):
        _, plan = render_paper(demo, options=PaperOptions.from_dict({}, file="<test>"))
    assert not plan.readability.unreadable
    assert plan.readability.overlapping == 0
    assert not [r for r in caplog.records if "hard to read" in r.getMessage()]


def test_paper_options_are_one_validated_frozen_dataclass(tmp_path):
    opts = PaperOptions.from_dict({"fit": "data", "max_pages": 150, "atlas": True}, file="m.yaml")
    assert (opts.fit, opts.max_pages, opts.scale) == ("data", 150, 5000)
    assert opts.atlas.areas is None
    with pytest.raises(AttributeError):
        opts.fit = "area"  # frozen
    # Through the map file: every bad key named, with what would fix it.
    bad = _raw(fit="places", max_pages=0, atlas={"areas": 3, "skip_empty": "yes"})
    with pytest.raises(ConfigError) as exc:
        parse_map(bad, file=str(tmp_path / "map.yaml"), base_dir=tmp_path)
    text = str(exc.value)
    for key, fix in (
        ("outputs.paper.fit", "expected area"),
        ("outputs.paper.max_pages", "whole number"),
        ("outputs.paper.atlas.areas", "polygon file"),
        ("outputs.paper.atlas.skip_empty", "true or false"),
    ):
        assert key in text and fix in text, key


@pytest.mark.parametrize("scale", [100000, 50000])
def test_an_atlas_planned_without_drawing_is_the_atlas_drawn(toyama, scale):
    """`civicmap init` skips drawing the atlases the plan already rules out: it must agree."""
    opts = PaperOptions.from_dict(
        {"atlas": True, "scale": scale, "unreadable": "print"}, file="<test>"
    )
    planner = Renderer(toyama, opts)
    planned, index_pages = atlas_outline(planner, scale), index_pages_needed(planner)
    _, plan = render_paper(toyama, options=opts)
    assert planned.sheets == len(plan.atlas_pages) > 1
    assert planned.sheets + 1 + index_pages == plan.pages  # overview, sheets, index
    assert planned.peak_density == plan.readability.peak_density > 0


def test_layouts_tried_on_one_map_share_its_places_but_not_their_page_references(toyama):
    atlas = PaperOptions.from_dict(
        {"atlas": True, "scale": 50000, "unreadable": "print"}, file="<test>"
    )
    _, alone = render_paper(toyama, options=PRINT)
    with entries_reused():
        _, drawn_atlas = render_paper(toyama, options=atlas)
        _, sheet = render_paper(toyama, options=PRINT)
        again = Renderer(toyama, PRINT).entries
    assert any(e.page for e in drawn_atlas.entries)
    # the sheet drawn after an atlas is the sheet drawn alone: references of its own
    assert [(e.number, e.name, e.xy, e.ref, e.page) for e in sheet.entries] == [
        (e.number, e.name, e.xy, e.ref, e.page) for e in alone.entries
    ]
    assert sheet.readability == alone.readability
    assert not any(e.page or e.ref for e in again)


@pytest.mark.parametrize("atlas", [False, True])
def test_a_layout_only_measured_is_the_layout_printed(toyama, atlas):
    """`civicmap init` measures its trial layouts without writing their PDF: same plan."""
    opts = PaperOptions.from_dict(
        {"atlas": atlas, "scale": 50000 if atlas else "fit", "unreadable": "print"}, file="<test>"
    )
    pdf, printed = render_paper(toyama, options=opts)
    with layouts_only():
        blank, measured = render_paper(toyama, options=opts)
    assert pdf.startswith(b"%PDF") and blank == b""

    def seen(plan):
        frames = [(f.pdf_page, f.numbers, f.unplaced, f.neighbour_boxes) for f in plan.frames]
        return (
            plan.scale,
            plan.pages,
            plan.readability,
            frames,
            [(e.number, e.ref, e.page) for e in plan.entries],
        )

    assert seen(measured) == seen(printed)


def test_the_atlas_printed_instead_of_a_crowded_sheet_is_a_whole_pdf(toyama):
    """The layouts tried before it were only measured; the one that passes is printed."""
    pdf, plan = render_paper(
        toyama, options=PaperOptions.from_dict({"unreadable": "atlas"}, file="<test>")
    )
    assert "grid atlas at 1:" in plan.note and not plan.readability.unreadable
    doc = pdfium.PdfDocument(pdf)
    try:
        assert len(doc) == plan.pages > 2
    finally:
        doc.close()
