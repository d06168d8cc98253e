"""What every page shares: projected data, text sizes for normal or large print, the header."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager

import geopandas as gpd
from pyproj import Geod, Transformer

from civicmap.mapdata import MapData
from civicmap.render._fonts import draw_text, register, text_width
from civicmap.render.paper.geometry import MM, page_size
from civicmap.render.paper.index_keys import index_prefixes
from civicmap.render.paper.plan import PaperPlan, build_route_legs, entries_for
from civicmap.render.paper.texts import TEXT, wrap
from civicmap.schema import estimate_utm_crs
from civicmap.spec.paper import PaperOptions

log = logging.getLogger(__name__)

#: Smallest type on a normal print and on a large print (points, measured from the PDF).
NORMAL_MIN_PT = 7.0
LARGE_PRINT_MIN_PT = 9.5


class PageContext:
    """Draws one paper map; holds the projected data and the sizes for normal or large print."""

    def __init__(self, data: MapData, opts: PaperOptions):
        register(data.paper_language)
        self.data = data
        self.opts = opts
        self.lang = data.paper_language  # ja+vi on a bilingual sheet (wording.pair)
        self.t = TEXT[self.lang]
        lp = opts.large_print
        self.f = 1.4 if lp else 1.0  # text factor
        # No word on the sheet smaller than this (credits, notes, addresses, the
        # north arrow's 「北」): 7 pt is the smallest a reader of a normal print
        # reads without a loupe; large print keeps every word at 9.5 pt or more.
        self.min_fs = LARGE_PRINT_MIN_PT if lp else NORMAL_MIN_PT
        # Large print is for older readers: numbers and names at least 12 pt,
        # addresses and other details at least 10 pt (measured from the PDF in tests).
        self.marker = 13.0 if lp else 8.0
        self.num_fs = 12.0 if lp else 7.0
        self.index_fs = 12.0 if lp else 7.8  # × 0.9 for the unplaced note: 7 pt
        self.detail_fs = 10.0 if lp else 7.0
        self.pw, self.ph = page_size(opts.size, opts.orientation)
        area = gpd.GeoSeries([data.area.geometry], crs="EPSG:4326")
        self.crs = estimate_utm_crs(area)
        self.area = area.to_crs(self.crs).iloc[0]
        self.basemap = (
            data.basemap.to_crs(self.crs)
            if data.basemap is not None and not data.basemap.empty
            else None
        )
        self.edge = (
            gpd.GeoSeries([data.data_edge], crs="EPSG:4326").to_crs(self.crs).iloc[0]
            if data.data_edge is not None
            else None
        )
        c = self.area.centroid
        lon, lat = data.area.geometry.centroid.coords[0]
        fwd = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        # Point scale factor (projected / true length) and grid-north → true-north angle.
        x0, y0 = fwd.transform(lon, lat)
        x1, y1 = fwd.transform(lon + 0.01, lat)
        true_len = Geod(ellps="GRS80").inv(lon, lat, lon + 0.01, lat)[2]
        self.k = math.hypot(x1 - x0, y1 - y0) / true_len if true_len else 1.0
        xn, yn = fwd.transform(lon, lat + 0.01)
        self.north_angle = math.degrees(math.atan2(xn - x0, yn - y0))
        self.centre = (c.x, c.y)
        self.entries = entries_for(data, self.crs, prefixes=index_prefixes(data, opts))
        self.routes = build_route_legs(data, self.crs, self.entries)
        self.home = None
        if self.routes and data.spec.home is not None:
            self.home = fwd.transform(data.spec.home[1], data.spec.home[0])
        elif self.routes and self.routes[0].coords:
            self.home = self.routes[0].coords[0]
        # homes: several starting points, each drawn with its name (the first is self.home)
        self.other_homes = [
            (leg.home, leg.coords[0])
            for leg in self.routes
            if leg.home and leg.coords and leg.rank == 1 and leg.coords[0] != self.home
        ]
        self.plan = PaperPlan(
            size=opts.size,
            orientation=opts.orientation,
            page_w=self.pw,
            page_h=self.ph,
            scale=0,
            crs=str(self.crs),
            large_print=lp,
            language=self.lang,
            entries=self.entries,
            routes=self.routes,
            home=self.home,
        )
        self.page_no = 1
        self.edge_drawn = False

    # ---- sizes
    def fs(self, base: float) -> float:
        """A text size: ``base`` (normal print) times the large-print factor, never below the floor."""
        return max(base * self.f, self.min_fs)

    @contextmanager
    def normal_sizes(self) -> Iterator[None]:
        """Measure with a normal print's sizes (large print lays its map out as a normal one).

        A large print keeps the normal sheet's map frame, so its scale: the
        layout asks how tall the normal panel would be, inside this block.
        """
        saved = (self.f, self.min_fs, self.marker, self.num_fs, self.index_fs, self.detail_fs)
        self.f, self.min_fs, self.marker = 1.0, NORMAL_MIN_PT, 8.0
        self.num_fs, self.index_fs, self.detail_fs = 7.0, 7.8, 7.0
        try:
            yield
        finally:
            self.f, self.min_fs, self.marker, self.num_fs, self.index_fs, self.detail_fs = saved

    # ---- header
    def header(self, c, *, title: str, subtitle: str, right: str = "") -> float:
        """Title and subtitle at the top; returns the header height (``c`` None: only measure)."""
        m = 10 * MM
        ts = self.fs(15)
        max_w = self.pw - 2 * m - (text_width(right, self.fs(9)) + 8 if right else 0)
        while text_width(title, ts) > max_w and ts > 8:
            ts -= 0.5
        y = self.ph - m - ts
        if c is not None:
            draw_text(c, m, y, title, ts, bold=True)
        h = ts + 2
        if right and c is not None:
            draw_text(c, self.pw - m, y, right, self.fs(9), anchor="end", bold=True)
        if subtitle:
            ss = self.fs(8)
            for line in wrap(subtitle, self.pw - 2 * m, lambda s: text_width(s, ss)):
                h += ss * 1.3
                if c is not None:
                    draw_text(c, m, self.ph - m - h, line, ss)
        return h + 3
