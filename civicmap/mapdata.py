"""What the pipeline hands to the renderers: the area, each layer's features, the basemap.

Renderers (web, paper, export) take a :class:`MapData` and nothing else, so
they never read files or call sources themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from civicmap.area import Area
from civicmap.layers import LayerSpec
from civicmap.mapfile import MapSpec
from civicmap.schema import Credit, RowProblem, osm_credit

#: Basemap feature kinds (the ``kind`` column of :attr:`MapData.basemap`).
BASEMAP_KINDS = (
    "water", "park", "landuse", "building", "railway", "station",
    "road_major", "road_minor", "path", "school",
)  # fmt: skip


def build_time() -> dt.datetime:
    """When the map is built: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now.

    The date is printed on the maps; fixing it makes a rebuild on another day give the
    same bytes (https://reproducible-builds.org/specs/source-date-epoch/).
    """
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    return dt.datetime.now().astimezone()


@dataclass
class LayerReport:
    """Counts and reasons for one layer, from read to render (the quality report).

    ``read`` counts every row and OSM element the sources gave (rejected ones
    too); ``mapped`` the features that reached cleaning (OSM and files
    together); ``merged`` the official-list × OSM pairs drawn as one.
    """

    read: int = 0
    mapped: int = 0
    merged: int = 0
    deduplicated: int = 0
    clipped: int = 0
    rejected: list[RowProblem] = field(default_factory=list)
    repaired: list[RowProblem] = field(default_factory=list)
    removed: list[RowProblem] = field(default_factory=list)
    #: Source warnings kept as they came (``SourceResult.info["warnings"]``):
    #: dicts with ``source``, ``row``, ``reason`` (and ``column``, ``value``),
    #: e.g. a 法人番号 a spreadsheet turned into 5.22001E+12. The row is kept
    #: on the map; the warning tells the user to fix the source file.
    warnings: list[dict] = field(default_factory=list)
    #: When a layer has OSM and file sources: what the conflation found
    #: (see :func:`civicmap.join.conflate`); ``civicmap diff`` writes it.
    diff: gpd.GeoDataFrame | None = None
    #: Rows of this layer merged into a shelter site (one place, several official
    #: designations; see :func:`civicmap.join.sites.merge_sites`): dicts with
    #: ``source``, ``row`` and ``reason`` (which site, how far, why).
    site_merges: list[dict] = field(default_factory=list)

    @property
    def shown(self) -> int:
        """Features left to draw: every mapped row, less merged pairs and removed rows.

        Counts every removal (empty geometry too, not only ``clipped`` and
        ``deduplicated``) and every row merged into a shelter site, so it
        equals ``len(LayerData.features)``.
        """
        return self.mapped - self.merged - len(self.removed) - len(self.site_merges)


@dataclass
class LayerData:
    """One layer ready to draw: its spec, features (common schema) and credits."""

    spec: LayerSpec
    features: gpd.GeoDataFrame
    credits: list[Credit] = field(default_factory=list)
    report: LayerReport = field(default_factory=LayerReport)

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass
class MapData:
    """Everything a renderer needs.

    Attributes
    ----------
    spec : MapSpec
        The validated map file (title, language, outputs and their options).
    area : Area
        The map's area.
    layers : list of LayerData
        In the order of the map file.
    basemap : GeoDataFrame or None
        OSM features to draw under the layers, with a ``kind`` column (one of
        :data:`BASEMAP_KINDS`), ``name`` and ``geometry``.
    data_edge : geometry or None
        Where the OSM data is complete (an extract's bounds); outside it the
        basemap thins out and maps say so.
    osm_base : str
        The OSM data timestamp, printed as "OSM data as of ...".
    built : datetime
        When the data was collected (printed as the print date).
    routes : GeoDataFrame or None
        Lines from the map's ``home`` point to its nearest shelters.
    """

    spec: MapSpec
    area: Area
    layers: list[LayerData]
    basemap: gpd.GeoDataFrame | None = None
    data_edge: BaseGeometry | None = None
    osm_base: str = ""
    built: dt.datetime = field(default_factory=lambda: build_time())
    uses_osm: bool = True
    #: Nearest shelters of the map's ``home`` point, one row per shelter with a
    #: LineString (walking route, or straight line when ``route == "straight"``)
    #: and shelter_name, category, straight_m, walk_m, walk_min, rank_straight,
    #: rank_walk (see :func:`civicmap.join.nearest_shelters`); None without ``home``.
    routes: gpd.GeoDataFrame | None = None
    #: What the maps print with the routes: which layers counted as shelters,
    #: sites without information on the asked disaster, and any straight-line
    #: fallback with its reason (see :mod:`civicmap.shelter_routes`).
    route_notes: list[str] = field(default_factory=list)

    @property
    def language(self) -> str:
        return self.spec.language

    def credits(self) -> list[Credit]:
        """Every credit to print: OpenStreetMap first, then each layer's, without repeats."""
        out: list[Credit] = []
        if self.uses_osm or self.basemap is not None:
            out.append(osm_credit(self.osm_base[:10]))
        from civicmap.render.background import background_credits  # tiles, 承認番号, N03

        out.extend(background_credits(self))
        for layer in self.layers:
            for c in layer.credits:
                if c.source == "OpenStreetMap":
                    continue
                if c not in out:
                    out.append(c)
        return out

    def layer(self, layer_id: str) -> LayerData:
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise KeyError(layer_id)
