"""How readable the printed map is, measured on the layout actually drawn.

A sheet can be laid out and still be useless: 159 nurseries on one A4 sheet
at 1:350,000 print as a hairball of leader lines. These measures turn that
into numbers a user can act on. :func:`warn_if_unreadable` says so with the
numbers and a concrete way out (``unreadable: print``, or an atlas);
:func:`refusal` is the error when a single sheet stays unreadable even with
a 拡大図 (inset), so no starburst of leader lines is ever written silently.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

from civicmap.errors import CivicMapError
from civicmap.i18n import _
from civicmap.render.paper.geometry import MM, NICE_SCALES, BoxIndex
from civicmap.render.paper.plan import PaperPlan

log = logging.getLogger(__name__)

#: A number this far (mm) from its marker is hard to match with it.
FAR_MM = 15.0
#: Side (mm) of the square in which marker density is counted.
CELL_MM = 20.0
#: Thresholds above which the sheet is called unreadable.
MAX_FAR_SHARE = 0.2
MAX_PER_CELL = 12


@dataclass(frozen=True)
class Readability:
    """Readability measures of the map frames of one PDF.

    Attributes
    ----------
    numbers
        Numbered markers on the map pages (their number placed or listed apart).
    far
        Numbers whose box centre is more than ``FAR_MM`` from their marker.
    overlapping
        Numbers that could not be placed apart and overlap another number.
    unplaced
        Numbers with no room on the map near their marker, listed apart.
    peak_density
        Most markers in one ``CELL_MM`` × ``CELL_MM`` square of paper.
    smallest_text_pt
        The smallest text size on the map pages (basemap labels, credits).
    """

    numbers: int
    far: int
    overlapping: int
    peak_density: int
    smallest_text_pt: float
    unplaced: int = 0

    @property
    def unreadable(self) -> bool:
        return (
            self.overlapping > 0
            or self.unplaced > 0
            or (self.numbers > 0 and self.far > MAX_FAR_SHARE * self.numbers)
            or self.peak_density > MAX_PER_CELL
        )


class UnreadableSheetError(CivicMapError):
    """The paper map fails the readability check and the map asks not to print it so.

    ``plan`` is the layout that was measured (what a caller such as ``civicmap init``
    or a batch may try next is decided from it); no file was written.
    """

    def __init__(self, message: str, *, plan: PaperPlan):
        super().__init__(message)
        self.plan = plan


def far_numbers(fp) -> list:
    """The numbers of frame plan ``fp`` whose box centre is more than ``FAR_MM`` from their marker."""
    return [
        lab
        for lab in fp.numbers
        if math.dist(lab.marker, (lab.box.x + lab.box.w / 2, lab.box.y + lab.box.h / 2))
        > FAR_MM * MM
    ]


def measure(plan: PaperPlan, *, smallest_text_pt: float) -> Readability:
    """Measure the plan's frames (every map page; the overview has no numbers).

    An inset (拡大図) is a frame of its own: the places it numbers count there,
    at its scale, and not on the main map, which leaves their numbers to it.
    """
    numbers = far = overlapping = peak = unplaced = 0
    for fp in plan.frames:
        unplaced += len(fp.unplaced)
        numbers += len(fp.unplaced)
        placed = BoxIndex()
        for lab in fp.numbers:
            numbers += 1
            b = lab.box
            if math.dist(lab.marker, (b.x + b.w / 2, b.y + b.h / 2)) > FAR_MM * MM:
                far += 1
            if placed.hits(b):
                overlapping += 1
            placed.add(b)
        # Density counts every marker, numbered or not.
        markers = [lab.marker for lab in fp.numbers] + [xy for _n, _cell, xy in fp.unplaced]
        peak = max(peak, peak_density(markers))
    return Readability(numbers, far, overlapping, peak, smallest_text_pt, unplaced)


def peak_density(markers: Iterable[tuple[float, float]]) -> int:
    """Most of ``markers`` (centres on one page, in points) in one ``CELL_MM`` square.

    One count for the measure of a drawn frame and for a layout only planned
    (:func:`civicmap.render.paper.atlas.atlas_outline`): over ``MAX_PER_CELL``
    the layout is unreadable whatever its numbers do.
    """
    cell = CELL_MM * MM
    counts: dict[tuple[int, int], int] = {}
    for x, y in markers:
        key = (int(x // cell), int(y // cell))
        counts[key] = counts.get(key, 0) + 1
    return max(counts.values(), default=0)


def _ways(plan: PaperPlan, *, atlas: bool, fit: str, size: str = "") -> tuple[list[str], str]:
    """Ways out of an unreadable layout, and where it is (the sheet or the area atlas)."""
    ways = []
    if not atlas and fit != "data":
        ways.append(_("fit: data (zoom to where the places are)"))
    better = next((s for s in reversed(NICE_SCALES) if s <= plan.scale / 4), 2500)
    if plan.atlas_areas:
        # already one page per area: the crowded pages need smaller areas or a grid
        ways.append(_("smaller areas (町丁目 or school districts instead of municipalities)"))
        ways.append(_("atlas: true with scale: 10000 (a grid of sheets)"))
        where = _("the area atlas (%(n)d area pages)") % {"n": len(plan.atlas_areas)}
    else:
        ways.append(
            _(
                "atlas: {areas: FILE, name: FIELD} (one page per 町丁目 or school district, "
                "or areas: municipalities:NN)"
            )
        )
        ways.append(_("atlas: true with scale: %(scale)s (a grid of sheets)") % {"scale": better})
        where = _("the paper map at 1:%(scale)s") % {"scale": f"{plan.scale:,}"}
    if not atlas and size and size != "A3":
        ways.append(_("size: A3 (larger paper)"))
    ways.append(_("a smaller area or fewer layers"))
    return ways, where


def warn_if_unreadable(
    plan: PaperPlan, m: Readability, *, file: str, atlas: bool, fit: str = "area", size: str = ""
) -> None:
    """Log one warning with the measures and ways out when the sheet is unreadable."""
    if not m.unreadable:
        return
    ways, where = _ways(plan, atlas=atlas, fit=fit, size=size)
    log.warning(
        _(
            "%(file)s: %(where)s is hard to read: %(far)d of %(numbers)d numbers sit more "
            "than %(far_mm)g mm from their marker, %(overlapping)d overlap another number, "
            "%(unplaced)d found no room near their marker (listed apart in the index), "
            "up to %(peak_density)d markers share one %(cell_mm)g×%(cell_mm)g mm square of "
            "paper, smallest text %(smallest_text_pt).1f pt. Try %(ways)s"
        ),
        {
            "file": file,
            "where": where,
            "far": m.far,
            "numbers": m.numbers,
            "far_mm": FAR_MM,
            "overlapping": m.overlapping,
            "unplaced": m.unplaced,
            "peak_density": m.peak_density,
            "cell_mm": CELL_MM,
            "smallest_text_pt": m.smallest_text_pt,
            "ways": _("; or ").join(ways),
        },
    )


def refusal(
    plan: PaperPlan,
    m: Readability,
    *,
    file: str,
    atlas: bool,
    fit: str,
    size: str,
    inset_tried: bool,
    atlas_tried: bool = False,
) -> UnreadableSheetError:
    """The error for a layout that stays unreadable: the measures, what was tried, the fixes.

    A starburst of leader lines is never written silently: the map file asks
    for a fix (an atlas, larger paper, fewer layers), or says ``unreadable:
    print`` to print it anyway.
    """
    ways, where = _ways(plan, atlas=atlas, fit=fit, size=size)
    if not atlas and not atlas_tried:
        ways.insert(0, _("unreadable: atlas (the first grid atlas that is readable)"))
    tried = []
    if inset_tried:
        tried.append(_("a 拡大図 (inset) of its densest part, 2 to 4 times larger, does not help"))
    if atlas_tried:
        tried.append(_("no grid atlas at 1:100,000 to 1:5,000 within max_pages is readable"))
    text = _(
        "%(file)s: %(where)s is too crowded to read and was not written: %(far)d of "
        "%(numbers)d numbers sit more than %(far_mm)g mm from their marker, %(unplaced)d "
        "found no room near their marker, up to %(peak_density)d markers share one "
        "%(cell_mm)g×%(cell_mm)g mm square of paper%(tried)s. Try %(ways)s; or "
        "unreadable: print to print it anyway"
    ) % {
        "file": file,
        "where": where,
        "far": m.far,
        "numbers": m.numbers,
        "far_mm": FAR_MM,
        "unplaced": m.unplaced,
        "peak_density": m.peak_density,
        "cell_mm": CELL_MM,
        "tried": "".join(_("; %(what)s") % {"what": t} for t in tried),
        "ways": _("; or ").join(ways),
    }
    return UnreadableSheetError(text, plan=plan)
