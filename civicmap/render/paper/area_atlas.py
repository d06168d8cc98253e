"""An area atlas: one page per polygon (町丁目, 学区, 自治会, municipality), as QGIS's atlas does.

Each page shows its area at a scale fitted to it (or the map's fixed
``scale:``), outlined, with everything outside dimmed, and names the
neighbouring areas and their pages at the frame's edges. Every place belongs
to the area it lies in; the one index across the booklet gives its page and
grid cell. ``skip_empty: true`` leaves out areas with no place.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import shapely
from shapely import STRtree

from civicmap import wording
from civicmap.errors import ConfigError, Problem
from civicmap.i18n import _
from civicmap.render.paper.areas import load_areas
from civicmap.render.paper.atlas import draw_sheet, index_pages_needed, sheet_frame_rect
from civicmap.render.paper.geometry import AtlasPage, MapFrame, fit_scale
from civicmap.render.paper.overview import OverviewShape, draw_overview
from civicmap.render.paper.renderer import Renderer

log = logging.getLogger(__name__)

#: A place this close to an area (metres) but outside all of them joins the nearest.
NEAR_M = 2000

#: Compass directions by angle sector (0° = east, counter-clockwise).
_DIRS = ("E", "NE", "N", "NW", "W", "SW", "S", "SE")


def _neighbour_label(r: Renderer, name: str, page: int) -> str:
    return (
        wording.words(r.lang)["paper.page_of"].replace("{name}", name).replace("{page}", str(page))
    )


def _spread(found: list[tuple[float, str]]) -> dict[str, str]:
    """Give each neighbour (angle in radians, label) its own edge box: the nearest free
    of the 8 compass directions; past 8 neighbours, labels share the nearest box."""
    taken: dict[int, list[str]] = {}
    for angle, label in sorted(found, key=lambda f: f[1]):
        want = math.degrees(angle) / 45.0
        order = sorted(range(8), key=lambda s: min(abs(want - s), 8 - abs(want - s)))
        free = [s for s in order if s not in taken]
        taken.setdefault(free[0] if free else order[0], []).append(label)
    return {_DIRS[s]: "・".join(v) for s, v in sorted(taken.items())}


def draw_area_atlas(r: Renderer, c) -> None:
    """Overview of the areas, one page per area, then the index."""
    o = r.opts
    spec = o.atlas
    file = str(r.data.spec.file)
    areas = load_areas(
        spec.areas,
        name=spec.name,
        base_dir=r.data.spec.base_dir,
        map_file=file,
        crs=r.crs,
    )
    areas = areas[areas.intersects(r.area)].reset_index(drop=True)
    if areas.empty:
        msg = _(
            "none of the areas in %(areas)s overlaps the map's area; check the file (or the "
            "map's area:)"
        ) % {"areas": spec.areas}
        raise ConfigError([Problem(file, "outputs.paper.atlas.areas", msg)])
    geoms = list(areas.geometry)
    tree = STRtree(geoms)
    # Each place belongs to the (first) area it lies in.
    owner = np.full(len(r.entries), -1)
    if r.entries:
        pts = shapely.points([e.xy for e in r.entries])
        pi, ai = tree.query(pts, predicate="intersects")
        order = np.lexsort((ai, pi))
        for p, a in zip(pi[order][::-1], ai[order][::-1], strict=True):
            owner[p] = a  # the lowest area index wins
        # A place just outside every outline (a coast simplified in the boundary
        # file, a pier) belongs to the nearest area within NEAR_M.
        lost = np.flatnonzero(owner < 0)
        if len(lost):
            li, la = tree.query_nearest(pts[lost], max_distance=NEAR_M)
            owner[lost[li]] = la
            still = int((owner < 0).sum())
            if still:
                log.warning(_(
                    "area atlas: %(still)d place(s) lie more than %(near_m)d m outside every area "
                    "and are listed in the index as off the map"
                ), {"still": still, "near_m": NEAR_M})  # fmt: skip
    counts = np.bincount(owner[owner >= 0], minlength=len(areas))
    skip = spec.skip_empty is True
    kept = [i for i in range(len(areas)) if counts[i] > 0 or not skip]
    if skip and len(kept) < len(areas):
        log.info(
            _("area atlas: %(value)d of %(n)d areas have no place and are left out"),
            {"value": len(areas) - len(kept), "n": len(areas)},
        )
    if not kept:
        msg = _(
            "no area has a place on it; set skip_empty: false or check that the areas and the "
            "layers cover the same place"
        )
        raise ConfigError([Problem(file, "outputs.paper.atlas.skip_empty", msg)])
    index_pages = index_pages_needed(r)  # every page counts: overview, areas and index
    pages_total = len(kept) + 1 + index_pages
    if pages_total > o.max_pages:
        msg = _(
            "the atlas would have %(pages)d pages (%(areas)d areas, an overview and %(index)d "
            "index pages), more than the %(max)d allowed; use skip_empty: true, larger areas "
            "(e.g. municipalities or school districts), a smaller map area, or max_pages: "
            "%(pages)d"
        ) % {"pages": pages_total, "areas": len(kept), "index": index_pages, "max": o.max_pages}
        raise ConfigError([Problem(file, "outputs.paper.atlas", msg)])
    page_of = {a: 2 + k for k, a in enumerate(kept)}  # PDF page numbers; the overview is page 1
    for e, a in zip(r.entries, owner.tolist(), strict=True):
        e.page = page_of.get(a) if a >= 0 else None
    names = list(areas["name"])
    frame_rect = sheet_frame_rect(r)
    pages: list[AtlasPage] = []
    scales: dict[int, int] = {}
    for a in kept:
        geom = geoms[a]
        minx, miny, maxx, maxy = geom.bounds
        scale = (
            int(o.scale)
            if o.scale != "fit"
            else fit_scale(
                (maxx - minx) / r.k * 1.06, (maxy - miny) / r.k * 1.06, frame_rect.w, frame_rect.h
            )
        )
        centre = ((minx + maxx) / 2, (miny + maxy) / 2)
        found = []
        touch = max(5.0, 0.01 * math.sqrt(geom.area))  # simplified outlines leave gaps
        for b in tree.query(geom.buffer(touch), predicate="intersects").tolist():
            if b != a and b in page_of:
                q = geoms[b].representative_point()
                found.append(
                    (
                        math.atan2(q.y - centre[1], q.x - centre[0]),
                        _neighbour_label(r, names[b], page_of[b]),
                    )
                )
        neighbours = _spread(found)
        pages.append(AtlasPage(page_of[a], 0, len(pages), centre, neighbours))  # type: ignore[arg-type]
        scales[page_of[a]] = scale
    r.plan.atlas_pages = pages
    r.plan.page_scales = scales
    r.plan.atlas_areas = {page_of[a]: names[a] for a in kept}
    r.plan.scale = max(scales.values())
    shapes = [OverviewShape(geoms[a], page_of.get(a)) for a in range(len(areas))]
    draw_overview(r, c, shapes, sheet_scale=None)
    title = r.data.spec.title
    for a, pg in zip(kept, pages, strict=True):
        frame = MapFrame(frame_rect, pg.center[0], pg.center[1], scales[pg.number], r.k)
        draw_sheet(r, c, frame, pg, scale=scales[pg.number], title=f"{title}　{names[a]}",
                   focus=geoms[a])  # fmt: skip
    cols = r.continuation_page(c, first=True)
    items = r.index_items(cols[0].w, atlas=True, compact=r.opts.index == "compact")
    r.flow_index(c, items, cols, lambda: r.continuation_page(c))
