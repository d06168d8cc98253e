"""The place numbers of the paper index, for every output that shows numbers.

The paper map numbers its places once, in index order (layer, category, 五十音
by reading, one number per site: :func:`civicmap.render.paper.plan.build_entries`).
A reader who prints the web map next to the PDF must find 大久保第一保育園 under
the same number on both, so the web page asks here, from the same
:class:`~civicmap.mapdata.MapData` and the same paper options, instead of counting
its own way.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable

import geopandas as gpd

from civicmap.mapdata import MapData
from civicmap.render.paper.index_keys import index_prefixes
from civicmap.render.paper.plan import entries_for
from civicmap.schema import estimate_utm_crs
from civicmap.spec.paper import PaperOptions

log = logging.getLogger(__name__)


def place_numbers(
    data: MapData, *, options: PaperOptions | None = None
) -> dict[tuple[str, Hashable], int]:
    """``{(layer id, row label): number}`` exactly as the paper index prints them.

    Places drawn with another (the same site in two layers, or one site under two
    names) share that place's number. ``options`` default to the map's
    ``outputs.paper`` (their index prefixes change the 五十音 order), else the
    defaults, as :func:`civicmap.render.paper.render.render_paper` does.
    """
    opts = options or (data.spec.paper if data.spec.paper is not None else PaperOptions())
    area = gpd.GeoSeries([data.area.geometry], crs="EPSG:4326")
    # inside :func:`~civicmap.render.paper.plan.entries_reused` (a build), the paper map
    # takes these same entries instead of making its places a second time
    entries = entries_for(data, estimate_utm_crs(area), prefixes=index_prefixes(data, opts))
    return {key: e.number for e in entries for key in e.keys}
