"""Walking street networks for an area, from a local extract or from Overpass.

The graph is a :class:`networkx.MultiDiGraph` shaped like an osmnx graph
(nodes with ``x``/``y`` in degrees, ``graph["crs"]``, edges with ``osmid``,
``highway``, ``name`` and ``length`` in metres, both directions for every
walkable way), so :func:`osmnx.shortest_path` and networkx's algorithms work on
it directly. Lengths are geodesic metres on the WGS84 ellipsoid (pyproj), never
degrees.

Which ways are walkable follows osmnx's ``walk`` network type: every
``highway`` except motorways, construction and the like, and not
``foot=no``, ``access=private`` or ``service=private``. Ways cut by the edge
of an extract keep the part whose nodes are present.
"""

from __future__ import annotations

import logging
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import osmium
import pyproj
from shapely import prepared
from shapely.geometry import Point

from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.sources.osmfile import check_path
from civicmap.sources.overpass import build_query, run_query
from civicmap.tagfilter import TagFilter

if TYPE_CHECKING:
    import networkx as nx

    from civicmap.area import Area

log = logging.getLogger(__name__)

#: Walkable ways (osmnx's "walk" network filter, as a civicmap tag filter).
WALK_FILTER = TagFilter.parse(
    {
        "all": [
            {"highway": True},
            {
                "not": {
                    "highway": {
                        "regex": "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|raceway|razed"
                    }
                }
            },
            {"area": {"not": "yes"}},
            {"foot": {"not": "no"}},
            {"service": {"not": "private"}},
            {"access": {"not": "private"}},
        ]
    },
    where="walk",
)

_GEOD = pyproj.Geod(ellps="WGS84")


def _graph_from_source(
    source: str | osmium.io.FileBuffer, label: str, area: Area | None
) -> nx.MultiDiGraph:
    # networkx is imported here, not at the top: it costs 0.15 s of every civicmap
    # command's start, and only a map with routes builds a street graph
    import networkx as nx

    inside = prepared.prep(area.geometry) if area is not None else None
    graph = nx.MultiDiGraph(crs="epsg:4326", name=label)
    ways = 0
    try:
        fp = osmium.FileProcessor(source, osmium.osm.NODE | osmium.osm.WAY).with_locations()
        fp = fp.with_filter(osmium.filter.KeyFilter("highway"))
        for obj in fp:
            if not obj.is_way():
                continue
            tags = dict(obj.tags)
            if not WALK_FILTER.matches(tags):
                continue
            nodes = [(nd.ref, nd.lon, nd.lat) if nd.location.valid() else None for nd in obj.nodes]
            if inside is not None and not any(
                n and inside.contains(Point(n[1], n[2])) for n in nodes
            ):
                continue
            ways += 1
            for a, b in pairwise(nodes):
                if a is None or b is None or a[0] == b[0]:
                    continue  # a node cut off by the extract: the way breaks here
                for u in (a, b):
                    graph.add_node(u[0], x=u[1], y=u[2])
                length = _GEOD.inv(a[1], a[2], b[1], b[2])[2]
                attrs = {"osmid": obj.id, "highway": tags["highway"], "name": tags.get("name", ""),
                         "oneway": False, "length": float(length)}  # fmt: skip
                graph.add_edge(a[0], b[0], reversed=False, **attrs)
                graph.add_edge(b[0], a[0], reversed=True, **attrs)
    except RuntimeError as exc:
        raise SourceError(
            _("%(label)s: cannot read the OSM data (%(exc)s)") % {"label": label, "exc": exc}
        ) from None
    log.info(
        _("%(label)s: walking network of %(ways)d ways, %(value)d nodes"),
        {"label": label, "ways": ways, "value": graph.number_of_nodes()},
    )
    return graph


def walking_graph_from_extract(path: str | Path, area: Area | None = None) -> nx.MultiDiGraph:
    """The walking network in a local extract, limited to ways touching ``area``.

    Parameters
    ----------
    path : path
        An .osm, .osm.bz2 or .osm.pbf extract.
    area : Area, optional
        Keep only ways with a node inside it (default: the whole extract).

    Returns
    -------
    networkx.MultiDiGraph
        Edges carry ``length`` in metres.
    """
    path = Path(path)
    check_path(path)
    return _graph_from_source(str(path), path.name, area)


def walking_graph_from_bytes(
    data: bytes, *, label: str, area: Area | None = None
) -> nx.MultiDiGraph:
    """The walking network in OSM XML held in memory (an Overpass answer)."""
    return _graph_from_source(osmium.io.FileBuffer(data, "osm"), label, area)


def walking_query(area: Area) -> str:
    """The Overpass query for the walking network of ``area``."""
    return build_query({"walk": WALK_FILTER}, area, types={"walk": {"way"}})


def walking_graph_from_overpass(
    area: Area,
    *,
    url: str | None = None,
    pack: Path | None = None,
    refresh: bool = False,
    offline: bool | None = None,
) -> nx.MultiDiGraph:
    """The walking network of ``area`` from Overpass (or an offline pack / the cache).

    Parameters
    ----------
    area : Area
        The map's area; Overpass returns the walkable ways touching it.
    url : str, optional
        Overpass endpoint (default ``settings.overpass_url``).
    pack : path, optional
        An offline pack made by ``civicmap fetch`` (it stores this query).
    refresh : bool
        Ask the server again instead of using the cache.
    offline : bool, optional
        Use only the pack and the cache (``None``: ``settings.offline``).
    """
    resp = run_query(
        walking_query(area),
        what=_("the walking street network"),
        url=url,
        pack=pack,
        refresh=refresh,
        offline=offline,
    )
    return walking_graph_from_bytes(
        resp.body, label=_("Overpass (walking street network)"), area=area
    )
